"""Who is calling: JWT callbacks (DB-backed blocklist), role checks and gateway agent tokens."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request
from sqlalchemy import bindparam, select

from .errors import ApiError
from .extensions import db, jwt
from .models import Gateway, TokenFamily, User
from .models._types import utcnow

F = TypeVar("F", bound=Callable[..., Any])


def hash_token(token: str) -> str:
    """Agent tokens are stored only as SHA-256 hex (they are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def client_ip() -> str | None:
    """The caller's address (X-Forwarded-For only when NEXAVPN_TRUST_PROXY is on)."""
    from flask import current_app

    if current_app.config.get("NEXAVPN_TRUST_PROXY"):
        fwd = request.headers.get("X-Forwarded-For", "")
        if fwd:
            return fwd.split(",")[0].strip()[:64]
    return request.remote_addr


# The caller's token family and user in one query (a family belongs to exactly one user).
_FAMILY_AND_USER = (
    select(User, TokenFamily.revoked_at, TokenFamily.expires_at)
    .join(TokenFamily, TokenFamily.user_id == User.id)
    .where(TokenFamily.id == bindparam("fam"), User.id == bindparam("uid"))
)


# What a session may reach while NEXAVPN_MFA_REQUIRED waits for its user to set up TOTP.
MFA_SETUP_PATHS = frozenset(
    "/api/v1/auth/" + p for p in ("me", "logout", "refresh", "mfa/totp", "mfa/totp/confirm")
)


def _refuse_until_mfa_setup(user: User) -> None:
    """403 ``mfa_setup_required`` for anything but the setup calls while TOTP is owed.

    Checked on every token (not only on a claim minted at login), so turning the setting on
    takes effect for live sessions too, and confirming TOTP frees the same session at once.
    """
    from .services.mfa import setup_required

    if request.path not in MFA_SETUP_PATHS and setup_required(user):
        raise ApiError(
            403,
            "mfa_setup_required",
            "Set up two-factor sign-in first (POST /api/v1/auth/mfa/totp).",
        )


def init_jwt_callbacks() -> None:
    """Wire flask-jwt-extended to our users, token families and error envelope."""

    @jwt.user_identity_loader
    def _identity(user: User | int | str) -> str:
        return str(user.id if isinstance(user, User) else user)

    @jwt.token_in_blocklist_loader
    def _blocked(_header: dict, payload: dict) -> bool:
        """A token is live while its family is; the family's user is loaded in the same query
        (flask-jwt-extended checks the blocklist before it loads the user), which saves two
        round trips on every authenticated request."""
        fam_id = payload.get("fam")
        try:
            user_id = int(payload["sub"])
        except (KeyError, TypeError, ValueError):
            return True
        if not fam_id:
            return True
        row = db.session.execute(_FAMILY_AND_USER, {"fam": str(fam_id), "uid": user_id}).first()
        if row is None:
            return True
        user, revoked_at, expires_at = row
        if revoked_at is not None or expires_at <= utcnow():
            return True
        _refuse_until_mfa_setup(user)
        g.nexavpn_token_user = user
        return False

    @jwt.user_lookup_loader
    def _lookup(_header: dict, payload: dict) -> User | None:
        user = g.pop("nexavpn_token_user", None)
        if user is None or user.id != int(payload["sub"]):  # refresh/other paths: look it up
            user = db.session.get(User, int(payload["sub"]))
        if user is None or user.disabled:
            return None
        return user

    def _err(code: str, message: str, status: int = 401):
        from .errors import envelope

        return envelope(status, code, message)

    @jwt.user_lookup_error_loader
    def _lookup_error(_header: dict, _payload: dict):
        return _err("unauthorized", "This account no longer has access.")

    @jwt.revoked_token_loader
    def _revoked(_header: dict, _payload: dict):
        return _err("token_revoked", "This session has ended; sign in again.")

    @jwt.expired_token_loader
    def _expired(_header: dict, _payload: dict):
        return _err("token_expired", "The token has expired.")

    @jwt.invalid_token_loader
    def _invalid(reason: str):
        return _err("unauthorized", "The token is invalid.")

    @jwt.unauthorized_loader
    def _missing(reason: str):
        return _err("unauthorized", "Authentication is required.")

    @jwt.needs_fresh_token_loader
    def _fresh(_header: dict, _payload: dict):
        return _err("unauthorized", "A fresh sign-in is required.")


def login_required(fn: F) -> F:
    """Any signed-in, enabled user with a live access token."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_jwt_in_request()
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def admin_required(fn: F) -> F:
    """Admins only; a signed-in user who is not an admin gets 403."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_jwt_in_request()
        if not current_user.is_admin:
            raise ApiError(403, "forbidden", "Administrator role required.")
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def current_family_id() -> str | None:
    """The token family (session) of the current request's token."""
    return get_jwt().get("fam")


def agent_required(fn: F) -> F:
    """Gateway agents authenticate with their per-gateway token; sets ``g.gateway``."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "Gateway agent token required.")
        digest = hash_token(token.strip())
        gw = db.session.execute(
            db.select(Gateway).where(Gateway.agent_token_hash == digest)
        ).scalar_one_or_none()
        if gw is None or not hmac.compare_digest(gw.agent_token_hash, digest):
            raise ApiError(401, "unauthorized", "Unknown gateway agent token.")
        g.gateway = gw
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
