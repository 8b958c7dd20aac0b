"""The client facade: everything the GUI and the CLI do goes through :class:`ClientApp`.

Plain Python, no Qt: long steps report through a ``progress(step, fraction)`` callable and
failures are the typed exceptions of :mod:`nexavpn_client.errors`. Methods may be called from
worker threads; state changes are serialised with one lock.

Where things live: tokens, server URL, pinned fingerprint and the device private key in the
keyring (:class:`SecretStore`); user, device and profile in an encrypted state file in the
app-data dir (read and written as a :class:`~nexavpn_client.state.SavedState`); the pinned
server certificate (public) next to it.

:class:`ClientApp` is the facade: the CLI and the desktop call only it. Checking and pinning a
server's certificate lives in :mod:`nexavpn_client.trust_flow`, the sign-in paths (password,
TOTP, single sign-on) in :mod:`nexavpn_client.signin`; the facade delegates to them and keeps
what they share (the lock, the API client and session, the saved state, progress reporting).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform as _platform
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from requests.adapters import BaseAdapter

from nexavpn_shared import keys, wgconf
from nexavpn_shared.netaddr import InvalidValue, validate_name

from . import __version__, errors
from .api import DEFAULT_TIMEOUT, ApiClient, RequestObserver
from .connstate import (
    HANDSHAKE_FRESH_SECONDS,
    ConnectionKind,
    ConnectionState,
    tunnel_kind,
)
from .fingerprint import device_fingerprint
from .instance import TUNNEL_NAME_ENV, WatchLock, install_tunnel_name
from .runner import Runner, SubprocessRunner
from .secrets.base import SecretKey, SecretStore
from .session import TokenSession
from .signin import Provider, SignIn, UserInfo, open_browser
from .state import SavedState
from .storage import (
    StateStore,
    atomic_write,
    default_data_dir,
    ensure_private_dir,
    remove_file,
)
from .tls import (
    Trust,
    utcnow,
)
from .trust_flow import ServerCheck, ServerTrust
from .tunnel import (
    DEFAULT_TUNNEL_NAME,
    DISCONNECTED,
    HandoffBackend,
    TunnelBackend,
    TunnelConfig,
    TunnelStatus,
    choose_backend,
    qr_png,
    qr_text,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, float | None], None]
#: How long the server may hold a profile long-poll (the contract allows 0-60 s).
LONG_POLL_SECONDS = 50
#: After a quick 304 (a server without long-poll) wait this long before asking again.
POLL_FALLBACK_SECONDS = 5.0
#: Backoff after failures: from this, doubling, up to the maximum.
BACKOFF_START_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0


def _platform_name(plat: str) -> str:
    if plat == "darwin":
        return "macos"
    if plat in ("win32", "cygwin"):
        return "windows"
    return "linux"


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def _saved_revision(state: SavedState) -> Any:
    """The revision of the saved profile (None without one)."""
    return state.profile.get("revision") if state.profile else None


# ---------------------------------------------------------------------- results


@dataclass(frozen=True)
class DeviceInfo:
    """This computer's device record as the server sees it."""

    id: Any
    name: str
    vpn_ip: str | None
    vpn_ip6: str | None
    profile_revision: int | None
    created: bool = False
    status: str = "active"


@dataclass(frozen=True)
class SyncResult:
    """What a sync did: ``changed`` (new revision applied), ``rotated``, or ``offline``."""

    changed: bool
    revision: int | None
    rotated: bool = False
    offline: bool = False
    offline_since: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Status:
    """Everything ``status`` shows; :meth:`to_dict` is the ``status --json`` document."""

    server: str | None
    user: str | None
    logged_in: bool
    enrolled: bool
    device_id: Any = None
    device_name: str | None = None
    vpn_ip: str | None = None
    vpn_ip6: str | None = None
    profile_revision: int | None = None
    allowed_resources: list[dict[str, Any]] = field(default_factory=list)
    tunnel_backend: str | None = None
    connection: str = DISCONNECTED
    handshake_age: float | None = None
    rx_bytes: int | None = None
    tx_bytes: int | None = None
    last_sync: str | None = None
    offline_since: str | None = None
    revoked: bool = False
    trust: str | None = None
    detail: str = ""
    pending_approval: bool = False
    key_mismatch: bool = False
    state: ConnectionState = field(
        default_factory=lambda: ConnectionState(ConnectionKind.DISCONNECTED)
    )
    device_public_key: str | None = None
    device_fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (no secrets in it)."""
        data = asdict(self)
        data["state"] = self.state.to_dict()
        return data


@dataclass(frozen=True)
class LogoutResult:
    """Whether the server ended the session, removed the device, and local problems."""

    server_revoked: bool
    problems: list[str] = field(default_factory=list)
    device_removed: bool = False
    device_registered: bool = False


# ---------------------------------------------------------------------- the facade


class ClientApp:
    """The GUI-free NexaVPN client (one server, one device per installation)."""

    def __init__(
        self,
        secrets_store: SecretStore,
        data_dir: Path | None = None,
        *,
        runner: Runner | None = None,
        backend: TunnelBackend | None = None,
        platform: str | None = None,
        progress: Progress | None = None,
        observer: RequestObserver | None = None,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        tunnel_name: str | None = None,
        fingerprint: Callable[[SecretStore], str] | None = None,
        ca_file: str | None = None,
        transport: BaseAdapter | None = None,
    ) -> None:
        self.secrets = secrets_store
        self._transport = transport
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.runner = runner or SubprocessRunner()
        self._backend = backend
        self.platform = platform or sys.platform
        self.progress = progress
        self.observer = observer
        self.timeout = timeout
        self._tunnel_name = tunnel_name
        #: "Connected" needs a handshake younger than this (WireGuard's reject-after time).
        self.handshake_fresh_seconds = HANDSHAKE_FRESH_SECONDS
        self.long_poll_seconds = LONG_POLL_SECONDS
        self.poll_fallback_seconds = POLL_FALLBACK_SECONDS
        self.open_browser: Callable[[str], bool] = open_browser
        self._fingerprint = fingerprint
        self._ca_file = ca_file
        self.state_store = StateStore(self.data_dir, self.secrets)
        self._lock = threading.RLock()
        self._api: ApiClient | None = None
        self._api_key: tuple[str, Trust] | None = None
        self._session: TokenSession | None = None
        self._trust = ServerTrust(self)
        self._signin = SignIn(self)

    @property
    def tunnel_name(self) -> str:
        """This installation's tunnel (interface) name, decided once and kept in the state.

        New installations get ``nxv-<hash of the state dir>`` (two installations never share
        one); an installation set up by a version that used the fixed name ``nexavpn`` keeps
        it, so an upgrade does not leave its running tunnel behind.
        """
        if self._tunnel_name is None:
            try:
                self._tunnel_name = self._resolve_tunnel_name()
            except errors.StorageError:
                return install_tunnel_name(self.data_dir)  # not cached: storage may come back
        return self._tunnel_name

    @tunnel_name.setter
    def tunnel_name(self, value: str) -> None:
        self._tunnel_name = value

    def _resolve_tunnel_name(self) -> str:
        if os.environ.get(TUNNEL_NAME_ENV):
            return install_tunnel_name(self.data_dir)
        state = self._load()
        if state.tunnel_name:
            return state.tunnel_name
        if state.device is not None:
            return DEFAULT_TUNNEL_NAME  # the one fixed name earlier versions used
        return install_tunnel_name(self.data_dir)

    def _remember_tunnel_name(self, state: SavedState) -> None:
        state.tunnel_name = self.tunnel_name

    @classmethod
    def from_environment(cls, progress: Progress | None = None, **kwargs: Any) -> ClientApp:
        """The real thing: OS keyring, platform app-data dir (or ``$NEXAVPN_CLIENT_STATE_DIR``)."""
        from .secrets import KeyringStore

        return cls(KeyringStore(), default_data_dir(), progress=progress, **kwargs)

    # -------------------------------------------------------------- small helpers

    def _step(self, text: str, fraction: float | None = None) -> None:
        log.info("%s", text)
        if self.progress is not None:
            try:
                self.progress(text, fraction)
            except Exception:  # a broken callback must not break the flow
                log.exception("progress callback failed")

    def _load(self) -> SavedState:
        """The saved state; an unreadable file counts as none (re-enrolling recovers it)."""
        try:
            return SavedState.from_dict(self.state_store.load())
        except errors.ProfileCorrupt:
            log.warning("saved state is unreadable; starting from an empty state")
            return SavedState()

    def _save(self, state: SavedState) -> None:
        self.state_store.save(state.to_dict())

    @property
    def pinned_cert_path(self) -> Path:
        """Where the pinned server certificate (PEM, public) is kept."""
        return self._trust.pinned_cert_path

    def _trust_for(self, url: str, state: SavedState | None = None) -> Trust:
        """A pin if one was stored for this host:port, else the CA file, else system CAs."""
        return self._trust.trust_for(url, state)

    def _new_api(self, url: str, trust: Trust) -> ApiClient:
        return ApiClient(
            url, trust, timeout=self.timeout, observer=self.observer, transport=self._transport
        )

    def _api_for(self, url: str, trust: Trust) -> ApiClient:
        if self._api is None or self._api_key != (url, trust):
            if self._api is not None:
                self._api.close()
            self._api = self._new_api(url, trust)
            self._api_key = (url, trust)
            self._session = TokenSession(self._api, self.secrets)
        return self._api

    def _server(self) -> tuple[str, TokenSession, SavedState]:
        """Server URL, session and state for a signed-in user."""
        url = self.secrets.get(SecretKey.SERVER_URL)
        if not url or not self.secrets.get(SecretKey.REFRESH_TOKEN):
            raise errors.NotLoggedIn()
        state = self._load()
        self._api_for(url, self._trust_for(url, state))
        assert self._session is not None
        return url, self._session, state

    def backend(self) -> TunnelBackend:
        """The tunnel backend (chosen once: the platform's own, else the import handoff)."""
        if self._backend is None:
            self._backend = choose_backend(self.data_dir, self.runner, self.platform)
        return self._backend

    # -------------------------------------------------------------- server + trust

    def check_server(self, url: str) -> ServerCheck:
        """Validate the URL and reach ``/api/v1/health`` over verified TLS.

        Raises the typed error for DNS, refused, timeout, expired certificate, host name
        mismatch, a changed pin or "not a NexaVPN server". An untrusted certificate is not an
        exception here: the result says ``trusted=False`` and carries its fingerprint.
        """
        return self._trust.check_server(url)

    def trust(self, url: str, fingerprint: str) -> ServerCheck:
        """Pin the server's certificate after the user confirmed its SHA-256 fingerprint.

        The certificate the server presents must have exactly this fingerprint
        (:class:`PinMismatch` otherwise) and the server must then answer as NexaVPN over the
        pinned connection; only then is the pin stored.
        """
        return self._trust.trust(url, fingerprint)

    # -------------------------------------------------------------- login

    def login(
        self,
        url: str,
        username: str,
        password: str,
        *,
        trust_fingerprint: str | None = None,
        ca_file: str | None = None,
    ) -> UserInfo:
        """Sign in and keep the tokens and the server URL in the keyring.

        An untrusted certificate raises :class:`CertificateUntrusted` carrying the fingerprint
        to confirm (then call again with ``trust_fingerprint``, or :meth:`trust` first).
        """
        return self._signin.login(
            url, username, password, trust_fingerprint=trust_fingerprint, ca_file=ca_file
        )

    def login_mfa(
        self, url: str, mfa_token: str, code: str, *, username: str | None = None
    ) -> UserInfo:
        """Finish a sign-in that answered :class:`MfaRequired` with a TOTP or recovery code."""
        return self._signin.login_mfa(url, mfa_token, code, username=username)

    def providers(self, url: str) -> list[Provider]:
        """The single sign-on providers the server offers (empty: password only)."""
        return self._signin.providers(url)

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
        """Sign in through the organisation's identity provider in the system browser.

        A loopback listener on 127.0.0.1:<ephemeral> receives the redirect (RFC 8252); PKCE
        S256 and ``state`` bind it to this attempt. ``on_url(url, opened)`` hears the URL
        to open and whether a browser took it (the CLI prints it when none did).
        """
        return self._signin.login_sso(
            url, provider_id, on_url=on_url, timeout=timeout, cancelled=cancelled,
            ca_file=ca_file,
        )

    # -------------------------------------------------------------- enrollment

    def _device_fingerprint(self) -> str:
        if self._fingerprint is not None:
            return self._fingerprint(self.secrets)
        return device_fingerprint(self.secrets, platform=self.platform, runner=self.runner)

    @staticmethod
    def _default_name() -> str:
        try:
            return validate_name(socket.gethostname() or "")
        except InvalidValue:
            return "My computer"

    def _check_profile(self, profile: dict[str, Any], private_key: str) -> str:
        """Validate a received profile by filling in the key (strict parse); return the text."""
        config = profile.get("config")
        if not isinstance(config, str):
            raise errors.ProtocolError("The server sent a profile without a configuration.")
        try:
            return wgconf.fill_private_key(config, private_key)
        except ValueError as exc:
            raise errors.ProtocolError(
                f"The server sent a VPN profile this client refuses ({exc})."
            ) from None

    def enroll(self, name: str | None = None, *, rotate: bool = False) -> DeviceInfo:
        """Register this computer: make the keypair here, send only the public key.

        Re-enrolling the same computer keeps its device record and VPN address; ``rotate``
        (or a server's ``rotation_required``) makes a fresh keypair.
        """
        with self._lock:
            _url, session, state = self._server()
            try:
                dev_name = validate_name(name if name is not None else
                                         state.device_name or self._default_name())
            except InvalidValue as exc:
                raise errors.UsageError(f"The device name is not valid: {exc.message}.") from None
            self._step("Preparing device identity", 0.1)
            fingerprint = self._device_fingerprint()
            private = self.secrets.get(SecretKey.DEVICE_PRIVATE_KEY)
            if rotate or not private or not keys.is_valid_key(private):
                self._step("Generating keys", 0.2)
                private = keys.generate_private_key()
            for attempt in range(2):
                public = keys.public_key_from_private(private)
                body = {
                    "name": dev_name,
                    "fingerprint": fingerprint,
                    "public_key": public,
                    "platform": _platform_name(self.platform),
                    "os_version": f"{_platform.system()} {_platform.release()}"[:64],
                    "client_version": __version__,
                }
                self._step("Registering this device", 0.5)
                try:
                    data, created = session.call(
                        lambda token, b=body: session.api.enroll(token, b)
                    )
                    break
                except (errors.PublicKeyInUse, errors.PublicKeyRevoked):
                    if attempt:
                        raise
                    log.info("public key refused (in use or revoked); making a new keypair")
                    private = keys.generate_private_key()
            device, profile = data["device"], data["profile"]
            if device.get("public_key") not in (None, public):
                raise errors.ProtocolError("The server registered a different key than ours.")
            text = self._check_profile(profile, private)
            self._step("Saving the profile", 0.8)
            self.secrets.set(SecretKey.DEVICE_PRIVATE_KEY, private)
            self._remember_tunnel_name(state)
            state.device = device
            state.profile = profile
            state.device_name = dev_name
            state.revoked = state.key_mismatch = False
            state.last_sync_at = _iso(utcnow())
            state.offline_since = None
            self._save(state)
            self._reapply_if_connected(text)
            self._refresh_export(text)
            self._step("Device registered", 1.0)
            return DeviceInfo(
                id=device.get("id"),
                name=device.get("name", dev_name),
                vpn_ip=device.get("vpn_ip"),
                vpn_ip6=device.get("vpn_ip6"),
                profile_revision=profile.get("revision"),
                created=created,
                status=str(device.get("status") or "active"),
            )

    # -------------------------------------------------------------- sync

    def _require_device(self, state: SavedState) -> dict[str, Any]:
        device = state.device
        if device is None or state.profile is None:
            raise errors.NotEnrolled()
        if state.revoked:
            raise errors.DeviceRevoked()
        return device

    def sync(self, wait: int | None = None, *, check_device: bool = True) -> SyncResult:
        """Fetch the profile if its revision changed and apply it.

        ``wait`` long-polls (the server holds the request until the revision changes, the
        device is revoked or ``wait`` seconds pass); the lock is not held meanwhile, so
        connect/disconnect/status stay responsive. 304 → nothing to do. A new revision is
        applied only when the server's key for this device is the local key
        (:class:`KeyMismatch` otherwise, tunnel down). ``rotation_required`` → new keypair and
        re-enroll. 410 → the local profile is marked unusable, the tunnel removed,
        :class:`DeviceRevoked` raised. No network → the last profile is kept and the result
        says "offline since …".
        """
        with self._lock:
            _url, session, state = self._server()
            device = self._require_device(state)
            if state.key_mismatch:
                raise errors.KeyMismatch()
            assert state.profile is not None  # _require_device checked it
            revision = state.profile.get("revision")
        if wait is None:
            self._step("Checking for profile updates")
        try:
            profile = session.call(
                lambda token: session.api.profile(token, device["id"], revision, wait=wait)
            )
            server_device = None
            if profile is not None or check_device:
                server_device = session.call(
                    lambda token: session.api.device(token, device["id"])
                )
        except errors.DeviceRevoked:
            with self._lock:
                self._mark_revoked(self._load())
            raise
        except errors.ApiError as exc:
            if exc.status != 404:
                raise
            with self._lock:  # deleted on the server: as final as a revoke
                self._mark_revoked(self._load())
            raise errors.DeviceRevoked(
                "This device was removed from the server and can no longer connect. Register "
                "it again or contact your administrator.", code=exc.code, status=404
            ) from None
        except errors.ServerUnreachable as exc:
            with self._lock:
                state = self._load()
                since = state.offline_since or _iso(utcnow())
                state.offline_since = since
                self._save(state)
            return SyncResult(
                changed=False,
                revision=revision,
                offline=True,
                offline_since=since,
                message=f"Offline since {since}: {exc.message}",
            )
        with self._lock:
            state = self._load()
            current = self._require_device(state)
            if current.get("id") != device.get("id"):  # signed out and in again meanwhile
                return SyncResult(changed=False, revision=_saved_revision(state))
            state.offline_since = None
            state.last_sync_at = _iso(utcnow())
            if server_device is not None:
                if server_device.get("status") == "revoked":
                    self._mark_revoked(state)
                    raise errors.DeviceRevoked()
                state.device = {**current, **server_device}
                if not profile or not profile.get("rotation_required"):
                    self._check_key(state, server_device)
            if profile is None or profile.get("revision") == _saved_revision(state):
                self._save(state)
                return SyncResult(changed=False, revision=revision, message="Up to date.")
            if profile.get("rotation_required"):
                self._save(state)
                self._step("The server asked for a new key; re-registering")
                info = self.enroll(state.device_name, rotate=True)
                return SyncResult(
                    changed=True,
                    revision=info.profile_revision,
                    rotated=True,
                    message="New device key made and registered.",
                )
            private = self.secrets.get(SecretKey.DEVICE_PRIVATE_KEY)
            if not private:
                raise errors.ProfileCorrupt("The device key is missing; register again.")
            text = self._check_profile(profile, private)
            state.profile = profile
            self._save(state)
            self._reapply_if_connected(text)
            self._refresh_export(text)
            return SyncResult(
                changed=True,
                revision=profile.get("revision"),
                message=f"Profile updated to revision {profile.get('revision')}.",
            )

    def _check_key(self, state: SavedState, server_device: dict[str, Any]) -> None:
        """Refuse (and take the tunnel down) when the server's device key is not ours."""
        server_key = server_device.get("public_key")
        private = self.secrets.get(SecretKey.DEVICE_PRIVATE_KEY)
        if not server_key or not private or not keys.is_valid_key(private):
            return
        if keys.public_key_from_private(private) == server_key:
            return
        log.warning("the server's key for this device is not ours; refusing the profile")
        state.key_mismatch = True
        self._save(state)
        self._take_down()
        raise errors.KeyMismatch()

    def _take_down(self) -> None:
        """Remove the tunnel and the handoff export (both hold a profile that must not run)."""
        try:
            self.backend().remove(self.tunnel_name)
        except errors.ClientError as exc:
            log.warning("could not remove the tunnel: %s", exc)
        with contextlib.suppress(errors.ClientError, OSError):
            self._handoff().remove(self.tunnel_name)
        state = self._load()
        if state.connected_at is not None:
            state.connected_at = None
            self._save(state)

    def _handoff(self) -> HandoffBackend:
        return HandoffBackend(self.runner, self.data_dir / "export", platform=self.platform)

    def _refresh_export(self, text: str) -> None:
        """An exported handoff file never keeps an outdated profile: rewrite it if it exists."""
        handoff = self._handoff()
        if handoff.config_path(self.tunnel_name).exists():
            with contextlib.suppress(errors.ClientError, OSError):
                handoff.export(TunnelConfig.from_text(self.tunnel_name, text))

    def watch(
        self,
        stop: threading.Event,
        on_result: Callable[[SyncResult], None] | None = None,
        on_error: Callable[[errors.ClientError], None] | None = None,
        *,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        """Keep the profile live until ``stop`` is set: sync now, then long-poll and apply.

        Errors back off (1 s doubling to 60 s); a revoked device, an ended session, a key
        mismatch or a missing device end the loop (after ``on_error``).
        """
        wait_for = sleep or stop.wait
        backoff = BACKOFF_START_SECONDS
        first = True
        while not stop.is_set():
            began = time.monotonic()
            polled = not first
            try:
                result = self.sync(self.long_poll_seconds if polled else None,
                                   check_device=first)
            except (errors.DeviceRevoked, errors.SessionExpired, errors.NotLoggedIn,
                    errors.NotEnrolled, errors.KeyMismatch, errors.ProfileCorrupt) as exc:
                if on_error and not stop.is_set():
                    on_error(exc)
                return
            except errors.ClientError as exc:
                if on_error and not stop.is_set():
                    on_error(exc)
                wait_for(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                continue
            except Exception:
                log.exception("unexpected failure while watching the profile; will retry")
                wait_for(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                continue
            first = False
            if stop.is_set():  # stopped while the request was held: nobody listens now
                return
            if on_result:
                on_result(result)
            if result.offline:
                wait_for(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                continue
            backoff = BACKOFF_START_SECONDS
            quick = time.monotonic() - began < min(2.0, self.long_poll_seconds / 2)
            if polled and not result.changed and quick:
                # The server answered 304 at once: it does not hold requests; poll politely.
                wait_for(self.poll_fallback_seconds)

    def start_watcher(
        self,
        on_result: Callable[[SyncResult], None] | None = None,
        on_error: Callable[[errors.ClientError], None] | None = None,
        *,
        holder: str = "nexavpn-client",
    ) -> Watcher:
        """The live watcher in a daemon thread; :class:`TunnelInUse` if another one runs."""
        lock = WatchLock(self.data_dir, holder)
        lock.acquire()
        watcher = Watcher(self, lock, on_result, on_error)
        watcher.start()
        return watcher

    def _mark_revoked(self, state: SavedState) -> None:
        """Revoked on the server: mark the profile unusable, tunnel and export file gone."""
        log.warning("device revoked by the server; removing the tunnel")
        state.revoked = True
        self._save(state)
        self._take_down()

    def _reapply_if_connected(self, text: str) -> None:
        """A connected tunnel picks up a new profile at once (handoff: the user re-imports)."""
        try:
            backend = self.backend()
            if backend.is_handoff:
                return
            if backend.status(self.tunnel_name).connected:
                self._step("Applying the new profile to the tunnel")
                backend.install(TunnelConfig.from_text(self.tunnel_name, text))
        except errors.BackendUnavailable:
            return

    def auto_sync(
        self,
        interval: float,
        on_result: Callable[[SyncResult], None] | None = None,
        on_error: Callable[[errors.ClientError], None] | None = None,
    ) -> AutoSync:
        """Start a background thread that syncs every ``interval`` seconds (stop() to end)."""
        runner = AutoSync(self, interval, on_result, on_error)
        runner.start()
        return runner

    # -------------------------------------------------------------- tunnel

    def tunnel_config(self) -> TunnelConfig:
        """The complete tunnel config (private key filled in locally)."""
        state = self._load()
        self._require_device(state)
        assert state.profile is not None  # _require_device checked it
        private = self.secrets.get(SecretKey.DEVICE_PRIVATE_KEY)
        if not private:
            raise errors.ProfileCorrupt("The device key is missing; register again.")
        return TunnelConfig.from_text(
            self.tunnel_name, self._check_profile(state.profile, private)
        )

    def connect(self) -> TunnelStatus:
        """Bring the tunnel up with the stored profile (no network call).

        Refused for a key mismatch or a device awaiting approval (a tunnel that cannot
        handshake is never brought up). A tunnel this installation already runs (the CLI and
        the desktop share it) is updated in place, not torn down.
        """
        with self._lock:
            state = self._load()
            if state.key_mismatch:
                raise errors.KeyMismatch()
            if state.device_status == "pending":
                raise errors.PendingApproval()
            config = self.tunnel_config()
            backend = self.backend()
            self._step(f"Connecting ({backend.name})")
            if not backend.is_handoff and backend.status(self.tunnel_name).connected:
                backend.install(config)
            else:
                backend.connect(config)
                self._remember_tunnel_name(state)
                state.connected_at = time.time()
                self._save(state)
            return backend.status(self.tunnel_name)

    def disconnect(self) -> TunnelStatus:
        """Bring the tunnel down."""
        with self._lock:
            backend = self.backend()
            self._step("Disconnecting")
            backend.disconnect(self.tunnel_name)
            state = self._load()
            if state.connected_at is not None:
                state.connected_at = None
                self._save(state)
            return backend.status(self.tunnel_name)

    def export_config(self, path: Path | None = None) -> Path:
        """Import handoff: write the complete config user-only (0600) and return its path."""
        config = self.tunnel_config()
        if path is None:
            handoff = HandoffBackend(self.runner, self.data_dir / "export", platform=self.platform)
            return handoff.export(config)
        atomic_write(Path(path), config.text.encode("utf-8"), mode=0o600, own_dir=False)
        return Path(path)

    def open_in_wireguard_app(self) -> Path:
        """Import handoff: write the file and open it with the system WireGuard app."""
        config = self.tunnel_config()
        handoff = HandoffBackend(self.runner, self.data_dir / "export", platform=self.platform)
        handoff.connect(config)
        return handoff.config_path(config.name)

    def config_qr_text(self) -> str:
        """The complete config as a terminal QR code (for a phone's WireGuard app)."""
        return qr_text(self.tunnel_config().text)

    def config_qr_png(self, scale: int = 6) -> bytes:
        """The complete config as PNG bytes of a QR code (for the GUI)."""
        return qr_png(self.tunnel_config().text, scale=scale)

    # -------------------------------------------------------------- status

    def status(self) -> Status:
        """Local view: no network call (sync for fresh data)."""
        state = self._load()
        url = self.secrets.get(SecretKey.SERVER_URL)
        logged_in = bool(url and self.secrets.get(SecretKey.REFRESH_TOKEN))
        device = state.device
        profile = state.profile or {}
        user = state.user or {}
        tunnel: TunnelStatus | None = None
        backend_name: str | None = None
        detail = ""
        try:
            backend = self.backend()
            backend_name = backend.name
            tunnel = backend.status(self.tunnel_name)
        except errors.ClientError as exc:
            detail = exc.message
        pending = bool(device and device.get("status") == "pending")
        mismatch = state.key_mismatch
        conn = self._connection_state(state, tunnel, pending=pending, mismatch=mismatch)
        if mismatch:
            detail = errors.KeyMismatch.default_message
        elif pending:
            detail = errors.PendingApproval.default_message
        return Status(
            server=url,
            user=user.get("username"),
            logged_in=logged_in,
            enrolled=device is not None,
            device_id=device.get("id") if device else None,
            device_name=device.get("name") if device else None,
            vpn_ip=device.get("vpn_ip") if device else None,
            vpn_ip6=device.get("vpn_ip6") if device else None,
            profile_revision=profile.get("revision"),
            allowed_resources=list(profile.get("allowed_resources") or []),
            tunnel_backend=backend_name,
            connection=conn.kind.value,
            handshake_age=tunnel.handshake_age if tunnel else None,
            rx_bytes=tunnel.rx_bytes if tunnel else None,
            tx_bytes=tunnel.tx_bytes if tunnel else None,
            last_sync=state.last_sync_at,
            offline_since=state.offline_since,
            revoked=state.revoked,
            trust=self._trust_for(url, state).mode if url else None,
            detail=detail or (tunnel.detail if tunnel else ""),
            device_public_key=device.get("public_key") if device else None,
            device_fingerprint=device.get("fingerprint") if device else None,
            pending_approval=pending,
            key_mismatch=mismatch,
            state=conn,
        )

    def _connection_state(
        self,
        state: SavedState,
        tunnel: TunnelStatus | None,
        *,
        pending: bool,
        mismatch: bool,
    ) -> ConnectionState:
        """The one honest state: revoked/mismatch/pending first, then the handshake's age."""
        last_sync = state.last_sync_at
        if state.revoked:
            return ConnectionState(ConnectionKind.REVOKED, last_sync=last_sync)
        if mismatch:
            return ConnectionState(ConnectionKind.KEY_MISMATCH, last_sync=last_sync)
        if tunnel is None:
            return ConnectionState(ConnectionKind.UNAVAILABLE, last_sync=last_sync)
        kind, since, verified = tunnel_kind(
            tunnel,
            started_at=state.connected_at,
            fresh_within=self.handshake_fresh_seconds,
        )
        if pending and kind is ConnectionKind.DISCONNECTED:
            kind = ConnectionKind.PENDING_APPROVAL
        return ConnectionState(
            kind,
            since=since,
            handshake_age=tunnel.handshake_age,
            last_sync=last_sync,
            verified=verified,
            detail=tunnel.detail,
        )

    def me(self) -> UserInfo:
        """Ask the server who is signed in (checks the session is alive)."""
        _url, session, _state = self._server()
        data = session.call(session.api.me)
        return UserInfo(data.get("id"), str(data.get("username")), str(data.get("role")))

    # -------------------------------------------------------------- logout

    def _forget_device(self, state: SavedState) -> None:
        state.forget_device()
        self.secrets.delete(SecretKey.DEVICE_PRIVATE_KEY)

    def logout(self, remove_device: bool = False) -> LogoutResult:
        """End the session on the server, remove the tunnel, delete every local secret.

        ``remove_device`` also removes this device from the server first (owner delete; a
        server that keeps deletes for admins gets an owner revoke, which ends it as surely).
        Without it the device stays registered (``device_registered`` in the result).
        """
        problems: list[str] = []
        server_revoked = False
        device_removed = False
        with self._lock:
            url = self.secrets.get(SecretKey.SERVER_URL)
            state = self._load()
            device = state.device
            registered = bool(device) and not state.revoked
            if remove_device and registered and url and self.secrets.get(
                    SecretKey.REFRESH_TOKEN):
                assert device is not None
                self._step("Removing this device from the server")
                try:
                    self._remove_device_on_server(device["id"])
                    device_removed = True
                    registered = False
                except errors.DeviceRevoked:
                    device_removed = True
                    registered = False
                except errors.ClientError as exc:
                    problems.append(f"This device could not be removed: {exc.message}")
            if url and self.secrets.get(SecretKey.ACCESS_TOKEN):
                self._step("Signing out on the server")
                try:
                    _url, session, _state = self._server()
                    session.call(session.api.logout)
                    server_revoked = True
                except errors.DeviceRevoked:
                    # Revoking or deleting the device ended the sessions bound to it already.
                    server_revoked = True
                except (errors.SessionExpired, errors.NotLoggedIn) as exc:
                    if device_removed:  # removing the device ended its session already
                        server_revoked = True
                    else:
                        problems.append(f"The server could not be told: {exc.message}")
                except errors.ClientError as exc:
                    problems.append(f"The server could not be told: {exc.message}")
            self._step("Removing the tunnel")
            try:
                self.backend().remove(self.tunnel_name)
            except errors.ClientError as exc:
                problems.append(f"The tunnel could not be removed: {exc.message}")
            with contextlib.suppress(errors.ClientError):
                self._handoff().remove(self.tunnel_name)
            self._step("Deleting local secrets")
            for key in (
                SecretKey.ACCESS_TOKEN,
                SecretKey.REFRESH_TOKEN,
                SecretKey.DEVICE_PRIVATE_KEY,
                SecretKey.SERVER_URL,
                SecretKey.PINNED_FINGERPRINT,
            ):
                try:
                    self.secrets.delete(key)
                except errors.StorageError as exc:
                    problems.append(exc.message)
            self.state_store.clear()
            remove_file(self.pinned_cert_path)
            if self._api is not None:
                self._api.close()
            self._api = self._api_key = self._session = None
        return LogoutResult(
            server_revoked=server_revoked,
            problems=problems,
            device_removed=device_removed,
            device_registered=registered,
        )

    def _remove_device_on_server(self, device_id: Any) -> None:
        """Owner delete; a 403 (deletes are for admins on this server) → owner revoke."""
        _url, session, _state = self._server()
        try:
            session.call(lambda token: session.api.delete_device(token, device_id))
        except errors.PermissionDenied:
            session.call(lambda token: session.api.revoke(token, device_id))
        except errors.ApiError as exc:
            if exc.status != 404:
                raise


class Watcher(threading.Thread):
    """The live profile watcher (long-poll) in a daemon thread, holding the install's lock."""

    def __init__(
        self,
        app: ClientApp,
        lock: WatchLock,
        on_result: Callable[[SyncResult], None] | None,
        on_error: Callable[[errors.ClientError], None] | None,
    ) -> None:
        super().__init__(name="nexavpn-watcher", daemon=True)
        self.app = app
        self.lock = lock
        self.on_result = on_result
        self.on_error = on_error
        self.stop_event = threading.Event()

    def run(self) -> None:
        """Watch until stopped or until a final error; the lock is released either way."""
        try:
            self.app.watch(self.stop_event, self.on_result, self.on_error)
        finally:
            self.lock.release()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end (a held long-poll ends with its request) and wait briefly."""
        self.stop_event.set()
        self.lock.release()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)


class AutoSync(threading.Thread):
    """Periodic sync in a daemon thread; results and errors go to plain callbacks."""

    def __init__(
        self,
        app: ClientApp,
        interval: float,
        on_result: Callable[[SyncResult], None] | None,
        on_error: Callable[[errors.ClientError], None] | None,
    ) -> None:
        super().__init__(name="nexavpn-autosync", daemon=True)
        self.app = app
        self.interval = max(1.0, float(interval))
        self.on_result = on_result
        self.on_error = on_error
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Sync, wait, repeat until stopped; a revoked device or ended session stops it."""
        while not self._stop_event.is_set():
            try:
                result = self.app.sync()
                if self.on_result:
                    self.on_result(result)
            except (errors.DeviceRevoked, errors.SessionExpired, errors.NotLoggedIn,
                    errors.NotEnrolled) as exc:
                if self.on_error:
                    self.on_error(exc)
                return
            except errors.ClientError as exc:
                if self.on_error:
                    self.on_error(exc)
            except Exception:
                log.exception("unexpected failure in periodic sync; will retry")
            self._stop_event.wait(self.interval)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it."""
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)


def ensure_data_dir(app: ClientApp) -> Path:
    """Create the app-data dir user-only (the CLI calls this first)."""
    return ensure_private_dir(app.data_dir)
