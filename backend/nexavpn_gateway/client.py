"""HTTP client for the control plane's gateway-agent endpoints (long-poll config, heartbeat).

TLS is always verified: against the system store, against ``ca_file`` for a private CA, or
against one certificate pinned by its SHA-256 fingerprint (``server_fingerprint``) for a
self-signed server, the same trust model as the desktop client (see ``nexavpn_shared.tls_pin``).
A failed verification is reported in words that say what to pass.
Plain ``http://`` is accepted only for loopback hosts (tests, local development), with a warning.
The agent token goes only into the Authorization header; it is never logged.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

import requests

from nexavpn_gateway import __version__
from nexavpn_gateway.pinning import PinnedAdapter
from nexavpn_shared.exc_chain import exception_chain
from nexavpn_shared.tls_pin import (
    PinMismatch,
    der_fingerprint,
    format_fingerprint,
    is_pin_failure,
    normalize_fingerprint,
    peek_certificate,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
CONFIG_PATH = f"{API_PREFIX}/gateway-agent/config"
HEARTBEAT_PATH = f"{API_PREFIX}/gateway-agent/heartbeat"


class ControlPlaneError(Exception):
    """The control plane answered with an error (``code``/``message`` from its envelope)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"HTTP {status} {code}: {message}")


class Unauthorized(ControlPlaneError):
    """The agent token was refused (401): wrong, revoked, or the gateway was deleted."""


class ServerUnreachable(Exception):
    """No answer from the control plane (DNS, connect, TLS or timeout failure)."""


class TlsVerificationFailed(ServerUnreachable):
    """The server's certificate was not trusted; the message says why and what to pass."""


UNTRUSTED_HINT = (
    "TLS verification failed: the server's certificate is self-signed or from an unknown "
    "issuer (self-signed or unknown issuer): pass --server-fingerprint <SHA-256> (shown in the "
    "admin UI) or --ca-file <the private CA's PEM>"
)
_EXPIRED_CODES = {9, 10}  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
_HOSTNAME_CODES = {62}  # X509_V_ERR_HOSTNAME_MISMATCH


def _cert_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    return next((cur for cur in exception_chain(exc)
                 if isinstance(cur, ssl.SSLCertVerificationError)), None)


def describe_tls_failure(exc: BaseException, host: str, *, pinned: bool) -> str:
    """Say in words why the certificate was refused and what the operator can pass.

    With a pin, a certificate that does not chain to the pinned one is a replaced certificate.
    """
    cert_exc = _cert_error(exc)
    code = getattr(cert_exc, "verify_code", None)
    text = (getattr(cert_exc, "verify_message", "") or "").lower()
    replaced = pinned and cert_exc is not None and code not in _EXPIRED_CODES
    if is_pin_failure(exc) or replaced:
        return ("TLS verification failed: the server's certificate does not match "
                "--server-fingerprint (was it replaced? take the current fingerprint from the "
                "admin UI or the server's start-up output)")
    if code in _EXPIRED_CODES or "expired" in text or "not yet valid" in text:
        return ("TLS verification failed: the server's certificate has expired or is not yet "
                "valid (check both clocks, renew the certificate)")
    if code in _HOSTNAME_CODES or "hostname" in text or "ip address mismatch" in text:
        return (f"TLS verification failed: the server's certificate is not issued for {host}: "
                "use a --server URL with a name the certificate carries, or pin it with "
                "--server-fingerprint <SHA-256> (shown in the admin UI)")
    if pinned:
        return ("TLS verification failed: the pinned certificate was refused "
                f"({text or type(exc).__name__})")
    return UNTRUSTED_HINT


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """Return the base URL without a trailing slash; refuse http:// unless it is loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("server must be an https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("server URL must not carry credentials, a query or a fragment")
    if parts.scheme == "http":
        if not _is_loopback(parts.hostname):
            raise ValueError("plain http:// is allowed only for loopback hosts; use https://")
        log.warning("using plain http to a loopback control plane (tests/development only)",
                    extra={"fields": {"server": url}})
    return url.rstrip("/")


class ControlPlaneClient:
    """Talks to ``/gateway-agent/*`` with the agent token; one requests.Session per instance."""

    def __init__(
        self,
        server: str,
        token: str,
        *,
        ca_file: str | None = None,
        server_fingerprint: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base = check_server_url(server)
        if ca_file and server_fingerprint:
            raise ValueError("pass either --ca-file or --server-fingerprint, not both")
        self.pin = normalize_fingerprint(server_fingerprint) if server_fingerprint else None
        if self.pin and not self.base.startswith("https://"):
            raise ValueError("--server-fingerprint needs an https:// server URL")
        parts = urlsplit(self.base)
        self.host, self.port = parts.hostname or "", parts.port or 443
        self._pin_lock = threading.Lock()
        self._pinned = False
        self.timeout = timeout
        self.session = session or requests.Session()
        # A CA bundle path narrows trust to the private CA; True means the system store. Passed
        # on every request too: requests lets REQUESTS_CA_BUNDLE override ``session.verify``.
        self.verify: str | bool = ca_file if ca_file else True
        self.session.verify = self.verify
        self.session.headers.update({
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": f"nexavpn-gateway/{__version__}",
        })

    def set_token(self, token: str) -> bool:
        """Use another agent token from now on; True when it differs from the current one."""
        header = f"Bearer {token}"
        if self.session.headers.get("Authorization") == header:
            return False
        self.session.headers["Authorization"] = header
        return True

    def close(self) -> None:
        """Release the connection pool."""
        self.session.close()

    def _ensure_pin(self) -> None:
        """Before the first request: accept the presented certificate only if it is the pin."""
        if self.pin is None or self._pinned:
            return
        with self._pin_lock:
            if self._pinned:
                return
            try:
                der = peek_certificate(self.host, self.port, self.timeout)
            except (OSError, ssl.SSLError) as exc:
                raise ServerUnreachable(type(exc).__name__) from None
            actual = der_fingerprint(der)
            if actual != self.pin:
                mismatch = PinMismatch(self.pin, actual)
                raise TlsVerificationFailed(
                    "TLS verification failed: the server's certificate does not match "
                    f"--server-fingerprint ({mismatch}); if the server's certificate was "
                    "replaced, take the current fingerprint from the admin UI") from None
            self.session.mount("https://", PinnedAdapter(der, self.pin))
            self._pinned = True
            log.info("server certificate matches the pinned fingerprint",
                     extra={"fields": {"fingerprint": format_fingerprint(actual)}})

    def _request(self, method: str, path: str, read_timeout: float, **kwargs: Any) -> Any:
        self._ensure_pin()
        try:
            return self.session.request(
                method, self.base + path, timeout=(self.timeout, read_timeout), verify=self.verify,
                **kwargs,
            )
        except requests.exceptions.SSLError as exc:
            raise TlsVerificationFailed(
                describe_tls_failure(exc, self.host, pinned=self.pin is not None)) from None
        except requests.RequestException as exc:
            raise ServerUnreachable(type(exc).__name__) from None
        except OSError as exc:
            # requests raises a bare OSError when the CA bundle cannot be read (e.g. the file
            # was removed while the agent runs): keep the applied state and retry, like any
            # other unreachable server, instead of ending the poll loop.
            raise ServerUnreachable(f"cannot read the CA file: {type(exc).__name__}") from None

    @staticmethod
    def _raise_for(resp: requests.Response) -> None:
        code, message = "http_error", resp.reason or "error"
        try:
            body = resp.json()
            err = body.get("error", {}) if isinstance(body, dict) else {}
            code = str(err.get("code", code))[:100]
            message = str(err.get("message", message))[:300]
        except ValueError:
            pass  # not JSON (a proxy's HTML page): keep the status line
        cls = Unauthorized if resp.status_code == 401 else ControlPlaneError
        raise cls(resp.status_code, code, message)

    def fetch_config(self, after: int | None = None, wait: float = 0) -> dict[str, Any] | None:
        """The desired config; None when it is still at ``after`` after ``wait`` seconds (304)."""
        params: dict[str, Any] = {}
        if after is not None:
            params = {"after": after, "wait": int(wait)}
        resp = self._request("GET", CONFIG_PATH, self.timeout + max(wait, 0), params=params)
        if resp.status_code == 304:
            return None
        if resp.status_code != 200:
            self._raise_for(resp)
        try:
            body = resp.json()
        except ValueError:
            raise ControlPlaneError(
                resp.status_code, "bad_response", "config is not JSON") from None
        if not isinstance(body, dict):
            raise ControlPlaneError(resp.status_code, "bad_response", "config is not an object")
        return body

    def heartbeat(self, payload: dict[str, Any]) -> None:
        """Report public key, port and peer stats (204 expected)."""
        resp = self._request("POST", HEARTBEAT_PATH, self.timeout, json=payload)
        if resp.status_code not in (200, 204):
            self._raise_for(resp)
