"""Browser sessions for the admin UI: the refresh token lives in an HttpOnly cookie (so a
reload or a new tab stays signed in and page scripts never see it), the access token only in
the page's memory. The cookie is read on exactly one call, the refresh (and cleared on logout);
that call also needs the double-submit CSRF header. Bearer clients are untouched.

A request asks for a browser session with ``X-NexaVPN-Session: cookie`` on a sign-in call.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Response, after_this_request, request

from ..errors import ApiError

MODE_HEADER = "X-NexaVPN-Session"
REFRESH_COOKIE = "nexavpn_refresh"
CSRF_COOKIE = "nexavpn_csrf"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_PATH = "/api/v1/auth"


def wants_cookie() -> bool:
    """Whether the caller (the admin UI) asked for its refresh token in a cookie."""
    return request.headers.get(MODE_HEADER, "").strip().lower() == "cookie"


def uses_cookie() -> bool:
    """A refresh that carries no bearer token but the browser's cookie."""
    return not request.headers.get("Authorization") and REFRESH_COOKIE in request.cookies


def check_csrf() -> None:
    """Double submit: the header must repeat the CSRF cookie (a cross-site page can send the
    cookie along but can neither read it nor set the header)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not hmac.compare_digest(cookie, header):
        raise ApiError(403, "csrf_failed", "The request lacks its CSRF token; reload the page.")


def hand_over(body: dict[str, Any], *, lifetime: int) -> dict[str, Any]:
    """Move a login/refresh answer's refresh token into the cookie (browser sessions only)."""
    if "refresh_token" not in body or not (wants_cookie() or uses_cookie()):
        return body
    refresh = body["refresh_token"]
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)

    @after_this_request
    def _set(resp: Response) -> Response:
        resp.set_cookie(
            REFRESH_COOKIE,
            refresh,
            max_age=lifetime,
            path=COOKIE_PATH,
            secure=True,
            httponly=True,
            samesite="Strict",
        )
        resp.set_cookie(
            CSRF_COOKIE,
            csrf,
            max_age=lifetime,
            path="/",
            secure=True,
            httponly=False,
            samesite="Strict",
        )
        resp.headers["Cache-Control"] = "no-store"
        return resp

    return {k: v for k, v in body.items() if k != "refresh_token"}


def clear() -> None:
    """Expire the session cookies on this answer (logout; harmless for bearer clients)."""

    @after_this_request
    def _clear(resp: Response) -> Response:
        if REFRESH_COOKIE in request.cookies or CSRF_COOKIE in request.cookies:
            resp.delete_cookie(
                REFRESH_COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="Strict"
            )
            resp.delete_cookie(CSRF_COOKIE, path="/", secure=True, samesite="Strict")
        return resp
