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
from .net_errors import classify_exception
from .tls import Trust, make_session

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
    # API v1.1 (the codes are spelled here until the shared contract module lists them)
    "session_bound_to_device": errors.SessionBoundToDevice,
    "public_key_revoked": errors.PublicKeyRevoked,
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
    retry = _retry_after(resp)
    if retry is not None and not isinstance(details.get("retry_after"), int):
        details = {**details, "retry_after": retry}
    cls = _CODE_TO_ERROR.get(code) or _STATUS_TO_ERROR.get(resp.status_code)
    if resp.status_code == 401 and details.get("reason") in ("device_revoked", "device_deleted"):
        # The session was bound to this device and ended with it: the device is gone, and
        # signing in again would not bring it back.
        cls = errors.DeviceRevoked
    if cls is None:
        if resp.status_code >= 500:
            cls = errors.ServerError
        elif code:
            cls = errors.ApiError
        else:
            cls = errors.ProtocolError
    # Our own wording first (it tells the user what to do); the server's words as detail.
    text = cls.default_message
    if cls is errors.RateLimited:
        wait = details.get("retry_after")
        text = errors.rate_limited_sentence(wait if isinstance(wait, int) and wait > 0 else None)
    if cls in (errors.ApiError, errors.ServerError) and message:
        text = f"{cls.default_message} ({message})"
    return cls(text, code=code, status=resp.status_code, details=details)


def _retry_after(resp: requests.Response) -> int | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form), if any."""
    value = resp.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return max(1, min(int(value), 86400))
    return None


def _tokens_or_mfa(resp: requests.Response, data: dict[str, Any]) -> dict[str, Any]:
    """A login-shaped answer: tokens, or :class:`MfaRequired` carrying the mfa token."""
    if data.get("mfa_required"):
        token = data.get("mfa_token")
        if not isinstance(token, str) or not token:
            raise errors.ProtocolError(status=resp.status_code)
        methods = data.get("methods")
        raise errors.MfaRequired(
            token, [str(m) for m in methods] if isinstance(methods, list) else None
        )
    for key in ("access_token", "refresh_token"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise errors.ProtocolError(status=resp.status_code)
    return data


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
        timeout: tuple[float, float] | float | None = None,
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
            resp = self._session.send(
                prepared, timeout=timeout or self.timeout, allow_redirects=False
            )
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
        return _tokens_or_mfa(resp, self._json(resp))

    def mfa_verify(self, mfa_token: str, code: str) -> dict[str, Any]:
        """POST /auth/mfa/verify → a login's body; a refused code → :class:`InvalidMfaCode`."""
        try:
            resp = self.request(
                "POST", "/auth/mfa/verify", body={"mfa_token": mfa_token, "code": code}
            )
        except errors.RateLimited:
            raise
        except errors.ApiError as exc:
            if exc.status in (400, 401, 403) and not isinstance(exc, errors.UserDisabled):
                raise errors.InvalidMfaCode(code=exc.code, status=exc.status) from None
            raise
        return _tokens_or_mfa(resp, self._json(resp))

    def providers(self) -> dict[str, Any]:
        """GET /auth/providers → ``{"password": bool, "oidc": [{"id", "name"}]}``.

        A server without single sign-on (404) answers as password-only.
        """
        try:
            data = self._json(self.request("GET", "/auth/providers"))
        except errors.ApiError as exc:
            if exc.status in (404, 405):
                return {"password": True, "oidc": []}
            raise
        oidc = data.get("oidc") if isinstance(data.get("oidc"), list) else []
        return {
            "password": bool(data.get("password", True)),
            "oidc": [
                {"id": str(p["id"]), "name": str(p.get("name") or p["id"])}
                for p in oidc
                if isinstance(p, dict) and p.get("id") is not None
            ],
        }

    def oidc_start_url(
        self, provider_id: str, redirect_uri: str, state: str, code_challenge: str
    ) -> str:
        """The URL the system browser opens to start single sign-on (RFC 8252 loopback)."""
        from urllib.parse import quote, urlencode

        query = urlencode({
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        })
        return (
            f"{self.base_url}{contract.API_PREFIX}/auth/oidc/{quote(provider_id, safe='')}"
            f"/start?{query}"
        )

    def oidc_token(self, code: str, code_verifier: str) -> dict[str, Any]:
        """POST /auth/oidc/token: the one-time code and the PKCE verifier → a login's body."""
        try:
            resp = self.request(
                "POST", "/auth/oidc/token", body={"code": code, "code_verifier": code_verifier}
            )
        except errors.SessionExpired as exc:
            raise errors.SignInCancelled(
                "The server did not accept the sign-in (the code expired or was used). "
                "Try again."
            ) from exc
        except errors.ApiError as exc:
            if exc.status == 400:
                raise errors.SignInCancelled(
                    "The server did not accept the sign-in (the code expired or was used). "
                    "Try again."
                ) from None
            raise
        return _tokens_or_mfa(resp, self._json(resp))

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
        self,
        access_token: str,
        device_id: str | int,
        revision: int | None = None,
        wait: int | None = None,
    ) -> dict[str, Any] | None:
        """GET /devices/{id}/profile; None when unchanged (304 on ``If-None-Match``).

        ``wait`` (with a revision) long-polls: the server holds the request until the revision
        changes (200), the device is revoked (410) or ``wait`` seconds pass (304).
        """
        headers = {"If-None-Match": f'"{revision}"'} if revision is not None else None
        path = f"/devices/{device_id}/profile"
        timeout: tuple[float, float] | None = None
        if wait is not None and revision is not None:
            wait = max(0, min(int(wait), 60))
            path += f"?wait={wait}"
            connect = self.timeout[0] if isinstance(self.timeout, tuple) else self.timeout
            timeout = (float(connect), float(wait) + 15.0)
        resp = self.request(
            "GET", path, token=access_token, headers=headers, ok=(200, 304), timeout=timeout
        )
        if resp.status_code == 304:
            return None
        return self._json(resp)

    def delete_device(self, access_token: str, device_id: str | int) -> None:
        """DELETE /devices/{id} → 204 (the device and its key are gone for good)."""
        self.request("DELETE", f"/devices/{device_id}", token=access_token, ok=(200, 204))

    def revoke(self, access_token: str, device_id: str | int) -> dict[str, Any]:
        """POST /devices/{id}/revoke (owner may revoke their own device)."""
        return self._json(
            self.request("POST", f"/devices/{device_id}/revoke", token=access_token, body={})
        )
