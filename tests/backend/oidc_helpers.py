"""Identity providers for the single sign-on tests, all real HTTP servers on loopback:

- ``MockIdp``: the `oidc-provider-mock` package run as its own process (a real authorization
  server: discovery, JWKS, authorize, token, UserInfo); users and claims are set over its API.
- ``SigningIdp``: a tiny provider whose ID tokens the test shapes (wrong issuer, audience,
  nonce, expiry, signature key) and whose keys it rotates.
- ``LiveServer``: the NexaVPN app itself served over HTTP on a loopback port.

Plus ``sign_in``: the client's side of the flow done by an HTTP client (the browser step too).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from flask import Flask, jsonify, redirect
from flask import request as flask_request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

CLIENT_REDIRECT = "http://127.0.0.1:53682/callback"  # a desktop's loopback listener (never hit)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Threaded:
    """A WSGI app on a loopback port in a thread."""

    def __init__(self, app: Any) -> None:
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LiveServer(_Threaded):
    """The NexaVPN app over real HTTP."""

    @property
    def api(self) -> str:
        return self.url + "/api/v1"


class MockIdp:
    """`python -m oidc_provider_mock` on a free loopback port (nonce required)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oidc_provider_mock",
                "--port",
                str(self.port),
                "--require-nonce",
                "true",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.url + "/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("oidc-provider-mock did not start")
            time.sleep(0.1)

    def set_user(self, sub: str, **claims: Any) -> None:
        resp = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert resp.status_code == 204, resp.text

    def authorize(self, authorize_url: str, sub: str) -> str:
        """The browser step: the user picks ``sub`` at the provider; answers where it sends
        the browser next (our callback)."""
        resp = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
        assert resp.status_code == 302, resp.text
        return resp.headers["Location"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class SigningIdp:
    """A provider whose ID tokens the test controls. ``tamper`` claims override the right ones;
    ``sign_key`` (when set) signs instead of the published key."""

    client_id: str = "nexavpn"
    keys: list[RSAKey] = field(default_factory=list)
    tamper: dict[str, Any] = field(default_factory=dict)
    sign_key: RSAKey | None = None
    sub: str = "signing-user-1"
    extra: dict[str, Any] = field(default_factory=dict)
    userinfo_claims: dict[str, Any] = field(default_factory=dict)
    jwks_fetches: int = 0

    def __post_init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.codes: dict[str, dict[str, str]] = {}
        app = Flask("signing-idp")
        app.add_url_rule("/.well-known/openid-configuration", view_func=self._discovery)
        app.add_url_rule("/jwks", view_func=self._jwks)
        app.add_url_rule("/authorize", view_func=self._authorize)
        app.add_url_rule("/token", view_func=self._token, methods=["POST"])
        app.add_url_rule("/userinfo", view_func=self._userinfo)
        self.server = _Threaded(app)
        self.url = self.server.url

    def rotate(self, kid: str) -> None:
        """A new signing key replaces the old one (as providers rotate)."""
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": kid})]

    def _discovery(self):
        return jsonify(
            issuer=self.url,
            authorization_endpoint=self.url + "/authorize",
            token_endpoint=self.url + "/token",
            userinfo_endpoint=self.url + "/userinfo",
            jwks_uri=self.url + "/jwks",
        )

    def _jwks(self):
        self.jwks_fetches += 1
        return jsonify(KeySet(self.keys).as_dict(private=False))

    def _authorize(self):
        args = flask_request.args
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": args.get("nonce", ""),
            "challenge": args.get("code_challenge", ""),
        }
        target = args["redirect_uri"] + "?" + urlencode({"code": code, "state": args["state"]})
        return redirect(target, 302)

    def _token(self):
        form = flask_request.form
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None:
            return jsonify(error="invalid_grant"), 400
        verifier = form.get("code_verifier", "")
        if s256(verifier) != grant["challenge"]:
            return jsonify(error="invalid_grant", error_description="PKCE"), 400
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": self.client_id,
            "sub": self.sub,
            "nonce": grant["nonce"],
            "iat": now,
            "exp": now + 300,
            "preferred_username": "signer",
            **self.extra,
            **self.tamper,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.sign_key or self.keys[0]
        token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return jsonify(
            access_token="at-" + secrets.token_hex(8), token_type="Bearer", id_token=token
        )

    def _userinfo(self):
        return jsonify({"sub": self.sub, **self.userinfo_claims})

    def stop(self) -> None:
        self.server.stop()


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def pkce() -> tuple[str, str]:
    """A client's (verifier, challenge)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def start(
    server: LiveServer,
    provider: str,
    *,
    redirect_uri: str = CLIENT_REDIRECT,
    state: str = "client-state",
    challenge: str | None = None,
) -> requests.Response:
    """GET /auth/oidc/{provider}/start without following the redirect."""
    params = {
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": challenge or pkce()[1],
        "code_challenge_method": "S256",
    }
    return requests.get(
        f"{server.api}/auth/oidc/{provider}/start", params=params, allow_redirects=False, timeout=15
    )


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def sign_in(
    server: LiveServer, provider: str, browser_step, *, verifier: str | None = None
) -> tuple[requests.Response, dict[str, str]]:
    """The whole flow as a desktop client does it: start → provider (``browser_step`` turns
    the provider's authorize URL into the callback URL) → callback → token. Answers the token
    response and the parameters the client's loopback listener received."""
    verifier_, challenge = pkce()
    resp = start(server, provider, challenge=challenge)
    assert resp.status_code == 302, resp.text
    callback_url = browser_step(resp.headers["Location"])
    assert callback_url.startswith(server.api + f"/auth/oidc/{provider}/callback"), callback_url
    back = requests.get(callback_url, allow_redirects=False, timeout=15)
    assert back.status_code == 302, back.text
    landed = back.headers["Location"]
    assert landed.startswith(CLIENT_REDIRECT + "?"), landed
    params = query(landed)
    assert params["state"] == "client-state"
    if "code" not in params:
        return back, params
    token = requests.post(
        f"{server.api}/auth/oidc/token",
        json={"code": params["code"], "code_verifier": verifier or verifier_},
        timeout=15,
    )
    return token, params


def follow_signing_idp(authorize_url: str) -> str:
    """The SigningIdp redirects at once (no user to pick)."""
    resp = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text
    return resp.headers["Location"]
