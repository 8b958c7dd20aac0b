"""HTTP calls of the NexaVPN API v1 (docs/api.md); error envelopes → typed errors.

One :class:`ApiClient` per server. It knows nothing about storage: tokens are passed in, the
:mod:`session` module keeps and refreshes them. No request ever carries a private key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import BaseAdapter

from nexavpn_shared import contract

from . import errors
from .tls import Trust, classify_exception, make_session

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 30.0)
USER_AGENT = "nexavpn-client"

_CODE_TO_ERROR: dict[str, type[errors.ApiError]] = {
    contract.INVALID_CREDENTIALS: errors.InvalidCredentials,
    contract.USER_DISABLED: errors.UserDisabled,
    contract.RATE_LIMITED: errors.RateLimited,
    contract.UNAUTHORIZED: errors.SessionExpired,
    contract.TOKEN_REVOKED: errors.SessionExpired,
    contract.TOKEN_EXPIRED: errors.SessionExpired,
    contract.FORBIDDEN: errors.PermissionDenied,
    contract.DEVICE_LIMIT_REACHED: errors.DeviceLimitReached,
    contract.NO_ACTIVE_GATEWAY: errors.NoActiveGateway,
    contract.IP_POOL_EXHAUSTED: errors.IpPoolExhausted,
    contract.PUBLIC_KEY_IN_USE: errors.PublicKeyInUse,
    contract.DEVICE_REVOKED: errors.DeviceRevoked,
    contract.INTERNAL_ERROR: errors.ServerError,
}

_STATUS_TO_ERROR: dict[int, type[errors.ApiError]] = {
    401: errors.SessionExpired,
    403: errors.PermissionDenied,
    410: errors.DeviceRevoked,
    429: errors.RateLimited,
}

RequestObserver = Callable[[requests.PreparedRequest], None]


def error_from_response(resp: requests.Response) -> errors.ApiError:
    """Build the typed error for a non-2xx answer from its ``{"error": {…}}`` envelope."""
    code, message, details = "", "", {}
    try:
        body = resp.json()
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            code = str(err.get("code") or "")
            message = str(err.get("message") or "")
            details = err.get("details") if isinstance(err.get("details"), dict) else {}
    except (ValueError, json.JSONDecodeError):
        pass
    cls = _CODE_TO_ERROR.get(code) or _STATUS_TO_ERROR.get(resp.status_code)
    if cls is None:
        if resp.status_code >= 500:
            cls = errors.ServerError
        elif code:
            cls = errors.ApiError
        else:
            cls = errors.ProtocolError
    # Our own wording first (it tells the user what to do); the server's words as detail.
    text = cls.default_message
    if cls in (errors.ApiError, errors.ServerError) and message:
        text = f"{cls.default_message} ({message})"
    return cls(text, code=code, status=resp.status_code, details=details)


class ApiClient:
    """Talks to one NexaVPN server with the given TLS trust."""

    def __init__(
        self,
        base_url: str,
        trust: Trust | None = None,
        *,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        observer: RequestObserver | None = None,
        transport: BaseAdapter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.trust = trust or Trust()
        self.timeout = timeout
        self.observer = observer
        self._session = make_session(self.trust)
        if transport is not None:  # tests: an in-memory server instead of the network
            self._session.mount("https://", transport)

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    # -------------------------------------------------------------- plumbing

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> requests.Response:
        """Send one request; network/TLS failures and non-``ok`` answers raise typed errors."""
        hdrs = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        if headers:
            hdrs.update(headers)
        req = requests.Request(
            method,
            f"{self.base_url}{contract.API_PREFIX}{path}",
            headers=hdrs,
            json=body,
        )
        prepared = self._session.prepare_request(req)
        if self.observer is not None:
            self.observer(prepared)
        try:
            resp = self._session.send(prepared, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise classify_exception(
                exc, pinned=bool(self.trust.pinned_fingerprint)
            ) from None
        if resp.status_code not in ok:
            raise error_from_response(resp)
        return resp

    @staticmethod
    def _json(resp: requests.Response) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError:
            raise errors.ProtocolError(status=resp.status_code) from None
        if not isinstance(data, dict):
            raise errors.ProtocolError(status=resp.status_code)
        return data

    # -------------------------------------------------------------- endpoints

    def health(self) -> dict[str, Any]:
        """GET /health; anything but NexaVPN's exact answer → :class:`NotNexaVpnServer`."""
        try:
            resp = self.request("GET", "/health")
        except errors.ApiError:
            raise errors.NotNexaVpnServer() from None
        try:
            data = resp.json()
        except ValueError:
            raise errors.NotNexaVpnServer() from None
        if (
            not isinstance(data, dict)
            or data.get("service") != "nexavpn"
            or data.get("status") != "ok"
        ):
            raise errors.NotNexaVpnServer()
        if data.get("api") != contract.API_VERSION:
            raise errors.NotNexaVpnServer(
                "This NexaVPN server speaks a different API version than this client "
                f"({data.get('api')!s} instead of {contract.API_VERSION}). Update the client."
            )
        return data

    def login(self, username: str, password: str) -> dict[str, Any]:
        """POST /auth/login → tokens and the user; 401 is :class:`InvalidCredentials`."""
        try:
            resp = self.request(
                "POST", "/auth/login", body={"username": username, "password": password}
            )
        except errors.SessionExpired as exc:  # a bare 401 here means bad credentials
            raise errors.InvalidCredentials(code=exc.code, status=exc.status) from None
        data = self._json(resp)
        for key in ("access_token", "refresh_token"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise errors.ProtocolError(status=resp.status_code)
        return data

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """POST /auth/refresh with the refresh token as bearer → new token pair."""
        data = self._json(self.request("POST", "/auth/refresh", token=refresh_token))
        if not isinstance(data.get("access_token"), str):
            raise errors.ProtocolError()
        return data

    def logout(self, access_token: str) -> None:
        """POST /auth/logout: the session's tokens stop working at once."""
        self.request("POST", "/auth/logout", token=access_token, ok=(200, 204))

    def me(self, access_token: str) -> dict[str, Any]:
        """GET /auth/me → the signed-in user."""
        return self._json(self.request("GET", "/auth/me", token=access_token))

    def enroll(self, access_token: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """POST /devices/enroll → (``{"device", "profile"}``, created: 201 new / 200 again)."""
        if "private_key" in body:  # belt and braces: the contract rejects it anyway
            raise ValueError("an enrollment request never carries a private key")
        resp = self.request(
            "POST", "/devices/enroll", token=access_token, body=body, ok=(200, 201)
        )
        data = self._json(resp)
        if not isinstance(data.get("device"), dict) or not isinstance(data.get("profile"), dict):
            raise errors.ProtocolError()
        return data, resp.status_code == 201

    def device(self, access_token: str, device_id: str | int) -> dict[str, Any]:
        """GET /devices/{id}."""
        return self._json(self.request("GET", f"/devices/{device_id}", token=access_token))

    def profile(
        self, access_token: str, device_id: str | int, revision: int | None = None
    ) -> dict[str, Any] | None:
        """GET /devices/{id}/profile; None when unchanged (304 on ``If-None-Match``)."""
        headers = {"If-None-Match": f'"{revision}"'} if revision is not None else None
        resp = self.request(
            "GET",
            f"/devices/{device_id}/profile",
            token=access_token,
            headers=headers,
            ok=(200, 304),
        )
        if resp.status_code == 304:
            return None
        return self._json(resp)

    def revoke(self, access_token: str, device_id: str | int) -> dict[str, Any]:
        """POST /devices/{id}/revoke (owner may revoke their own device)."""
        return self._json(
            self.request("POST", f"/devices/{device_id}/revoke", token=access_token, body={})
        )
