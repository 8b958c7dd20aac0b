"""HTTP client for the control plane's gateway-agent endpoints (long-poll config, heartbeat).

TLS is always verified: against the system store, or against ``ca_file`` for a private CA.
Plain ``http://`` is accepted only for loopback hosts (tests, local development), with a warning.
The agent token goes only into the Authorization header; it is never logged.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

import requests

from nexavpn_gateway import __version__

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
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base = check_server_url(server)
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

    def close(self) -> None:
        """Release the connection pool."""
        self.session.close()

    def _request(self, method: str, path: str, read_timeout: float, **kwargs: Any) -> Any:
        try:
            return self.session.request(
                method, self.base + path, timeout=(self.timeout, read_timeout), verify=self.verify,
                **kwargs,
            )
        except requests.exceptions.SSLError as exc:
            raise ServerUnreachable(f"TLS verification failed: {type(exc).__name__}") from None
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
