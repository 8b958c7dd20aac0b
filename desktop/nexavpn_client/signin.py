"""Signing in: password (with a TOTP step when the account asks) and single sign-on.

Split out of :mod:`nexavpn_client.app` so the sign-in paths, which all end the same way
(:meth:`SignIn.finish` keeps the tokens and who signed in), sit together. Each path first makes
sure the server is reachable and trusted through the facade's :meth:`ClientApp.check_server`,
so the trust rules live in one place (:mod:`nexavpn_client.trust_flow`).

Single sign-on is the RFC 8252 loopback flow: a listener on 127.0.0.1 receives the browser's
redirect, PKCE (S256) and ``state`` bind it to this attempt.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors
from .api import ApiClient
from .secrets.base import SecretKey
from .sso import LoopbackReceiver, new_pkce, new_state
from .tls import normalize_server_url

if TYPE_CHECKING:
    from .app import ClientApp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserInfo:
    """The signed-in user."""

    id: Any
    username: str
    role: str


@dataclass(frozen=True)
class Provider:
    """A single sign-on provider the server offers ("Sign in with <name>")."""

    id: str
    name: str


def open_browser(url: str) -> bool:
    """Open ``url`` in the system browser; False when there is none (headless, SSH)."""
    try:
        return bool(webbrowser.open(url, new=1))
    except webbrowser.Error:
        return False


class SignIn:
    """The sign-in flows of one :class:`ClientApp` (its lock, API client and storage)."""

    def __init__(self, app: ClientApp) -> None:
        self._app = app

    def login(
        self,
        url: str,
        username: str,
        password: str,
        *,
        trust_fingerprint: str | None = None,
        ca_file: str | None = None,
    ) -> UserInfo:
        """Password sign-in; see :meth:`ClientApp.login`."""
        app = self._app
        norm = normalize_server_url(url)
        if not username or not password:
            raise errors.UsageError("Enter your user name and password.")
        if ca_file is not None:
            app._ca_file = ca_file
        if trust_fingerprint:
            app.trust(norm, trust_fingerprint)
        with app._lock:
            api = self.checked_api(norm)
            app._step("Signing in", 0.5)
            data = api.login(username, password)  # MfaRequired: finish with login_mfa()
            return self.finish(norm, data, username, ca_file)

    def checked_api(self, norm: str) -> ApiClient:
        """The API client for a reachable, trusted server (else the typed error)."""
        app = self._app
        check = app.check_server(norm)
        if not check.trusted:
            raise errors.CertificateUntrusted(fingerprint=check.fingerprint)
        return app._api_for(norm, app._trust_for(norm))

    def finish(
        self, norm: str, data: dict[str, Any], username: str | None, ca_file: str | None
    ) -> UserInfo:
        """Keep the tokens of a login-shaped answer and who signed in."""
        app = self._app
        if data.get("mfa_setup_required"):
            # Such tokens only reach the TOTP setup calls: nothing this client can use.
            if app._api is not None:
                with contextlib.suppress(errors.ClientError):
                    app._api.logout(str(data["access_token"]))
            raise errors.MfaSetupRequired(
                f"{errors.MfaSetupRequired.default_message} ({norm})", status=200
            )
        state = app._load()
        previous = app.secrets.get(SecretKey.SERVER_URL)
        if previous and previous != norm:
            log.info("signed in to a different server; forgetting the old device")
            app._forget_device(state)
        assert app._session is not None
        app._session.store(data)
        app.secrets.set(SecretKey.SERVER_URL, norm)
        user = data.get("user") if isinstance(data.get("user"), dict) else {}
        state.user = {
            "id": user.get("id"),
            "username": user.get("username", username),
            "role": user.get("role", "user"),
        }
        if ca_file is not None:
            state.ca_file = ca_file
        app._save(state)
        app._step("Signed in", 1.0)
        return UserInfo(state.user["id"], state.user["username"], state.user["role"])

    def login_mfa(
        self, url: str, mfa_token: str, code: str, *, username: str | None = None
    ) -> UserInfo:
        """Finish a sign-in that answered :class:`MfaRequired` with a TOTP or recovery code."""
        app = self._app
        norm = normalize_server_url(url)
        code = "".join(str(code).split())
        if not code:
            raise errors.UsageError("Enter the code from your authenticator app.")
        with app._lock:
            api = app._api_for(norm, app._trust_for(norm))
            app._step("Checking the two-factor code", 0.7)
            data = api.mfa_verify(mfa_token, code)
            return self.finish(norm, data, username, None)

    def providers(self, url: str) -> list[Provider]:
        """The single sign-on providers the server offers (empty: password only)."""
        app = self._app
        norm = normalize_server_url(url)
        api = app._new_api(norm, app._trust_for(norm))
        try:
            data = api.providers()
        finally:
            api.close()
        return [Provider(p["id"], p["name"]) for p in data["oidc"]]

    def login_sso(
        self,
        url: str,
        provider_id: str,
        *,
        on_url: Callable[[str, bool], None] | None = None,
        timeout: float = 300.0,
        cancelled: threading.Event | None = None,
        ca_file: str | None = None,
    ) -> UserInfo:
        """Single sign-on in the system browser; see :meth:`ClientApp.login_sso`."""
        app = self._app
        norm = normalize_server_url(url)
        if ca_file is not None:
            app._ca_file = ca_file
        api = self.checked_api(norm)
        pkce, state = new_pkce(), new_state()
        with LoopbackReceiver() as receiver:
            start = api.oidc_start_url(provider_id, receiver.redirect_uri, state, pkce.challenge)
            app._step("Opening the browser to sign in", 0.2)
            try:
                opened = bool(app.open_browser(start))
            except Exception:  # no browser is not an error: the URL is shown instead
                log.info("no browser could be opened")
                opened = False
            if on_url is not None:
                on_url(start, opened)
            app._step("Waiting for the sign-in in the browser", 0.3)
            got = receiver.wait(timeout, cancelled)
        if got is None:
            raise errors.SignInCancelled(
                "The sign-in in the browser did not finish in time (or was cancelled)."
            )
        if got.state != state:
            raise errors.SignInCancelled(
                "The browser came back with an answer that does not belong to this sign-in "
                "attempt; it was ignored. Try again."
            )
        if got.error or not got.code:
            raise errors.SignInCancelled(
                f"The server refused the sign-in ({got.error or 'no code'})."
            )
        with app._lock:
            app._step("Signing in", 0.7)
            api = app._api_for(norm, app._trust_for(norm))
            data = api.oidc_token(got.code, pkce.verifier)
            return self.finish(norm, data, None, ca_file)
