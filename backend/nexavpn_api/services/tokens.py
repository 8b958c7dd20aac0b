"""Sessions: login, token families, refresh rotation with reuse detection, logout, revocation.

A login starts a token family (one ``TokenFamily`` row); every access and refresh token
carries its id in the ``fam`` claim, and the row is the blocklist, so revoking it ends all
the family's tokens at once in every server process. Only the family's newest refresh token
may be spent; presenting an older one means it leaked, and the whole family is revoked.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import func, or_, select, update

from nexavpn_shared import contract

from .. import sql
from ..clock import Clock, resolve
from ..db_setup import read_phase
from ..errors import ApiError
from ..extensions import db
from ..models import TokenFamily, User
from ..models._types import utcnow
from ..request_meta import NO_REQUEST, RequestMeta
from . import audit, login_limiter, mfa
from .passwords import hash_password, needs_rehash, verify_password

log = logging.getLogger(__name__)

TOKEN_TYPE = "Bearer"


def _seconds(value: Any) -> int:
    """A lifetime from the config (int seconds or timedelta) in seconds."""
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)


def access_lifetime() -> int:
    """Access token lifetime in seconds (the login answer's ``expires_in``)."""
    return _seconds(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"])


def refresh_lifetime() -> int:
    """Refresh token (and idle session) lifetime in seconds."""
    return _seconds(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"])


def session_max_lifetime() -> int:
    """How long a session may live from its sign-in, however often it is refreshed."""
    return int(current_app.config.get("NEXAVPN_SESSION_MAX_SECONDS") or 30 * 24 * 3600)


def _issue(user: User, family_id: str, *, sso: bool = False) -> tuple[str, str, str]:
    """Mint an access and a refresh token of ``family_id``; also return the refresh jti."""
    claims: dict[str, Any] = {"fam": family_id}
    if sso:
        claims["sso"] = True  # the session's lifetime is capped (see sso_session_ended)
    if mfa.setup_required(user):
        claims["mfa_setup"] = True  # only the TOTP setup calls until it is confirmed
    refresh_jti = str(uuid.uuid4())
    access = create_access_token(identity=user, additional_claims=claims)
    refresh = create_refresh_token(identity=user, additional_claims={**claims, "jti": refresh_jti})
    return access, refresh, refresh_jti


def _pair(access: str, refresh: str, user: User) -> dict[str, Any]:
    pair: dict[str, Any] = {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": TOKEN_TYPE,
        "expires_in": access_lifetime(),
    }
    if mfa.setup_required(user):
        pair["mfa_setup_required"] = True
    return pair


def _login_key(username: str) -> str:
    """How a login attempt is keyed for lookup (usernames ignore case)."""
    return login_limiter.normalise(username)


def find_user_by_username(username: str) -> User | None:
    """Case-insensitive lookup (usernames are unique regardless of case)."""
    return db.session.execute(
        select(User).where(func.lower(User.username) == _login_key(username))
    ).scalar_one_or_none()


def login(
    username: str,
    password: str,
    *,
    meta: RequestMeta = NO_REQUEST,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Check the credentials and start a session; the answer of POST /auth/login.

    Unknown users and wrong passwords take the same time and get the same 401; a disabled
    user with the right password learns it is disabled (403), with a wrong one it does not.
    Users created by single sign-on have no password (an empty hash), so theirs is "wrong".
    With TOTP on, the right password answers a challenge instead of tokens. ``clock`` (default:
    the app's) measures the limiter's windows and the new session's lifetime.
    """
    key = _login_key(username)
    attempt = login_limiter.check(key, meta.ip, clock=clock)
    # Read, hash, then write: the password check (tens of ms) runs outside any transaction,
    # so on SQLite the write lock is held only for the short write at the end.
    with read_phase():
        found = find_user_by_username(key)
        user_id, stored_hash = (found.id, found.password_hash or None) if found else (None, None)

    ok = verify_password(stored_hash, password)
    new_hash = hash_password(password) if ok and stored_hash and needs_rehash(stored_hash) else None
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is not None and (user.password_hash or None) != stored_hash:
        ok = False  # the password changed while we were checking the old one
    if user is None or not ok:
        login_limiter.record_failure(
            attempt, "unknown_user" if user is None else "bad_password", user
        )
        raise ApiError(401, "invalid_credentials", "The username or password is incorrect.")
    if user.disabled:
        login_limiter.record_failure(attempt, "disabled", user)
        raise ApiError(403, "user_disabled", "This account is disabled.")

    if new_hash is not None:
        user.password_hash = new_hash
    login_limiter.record_success(attempt, clock=clock)
    if user.totp_enabled:
        db.session.commit()
        return {"mfa_required": True, "mfa_token": mfa.challenge_token(user), "methods": ["totp"]}
    return complete_login(user, "password", key, meta=meta, clock=clock)


def complete_login(
    user: User,
    method: str,
    key: str | None = None,
    *,
    meta: RequestMeta = NO_REQUEST,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Start a session for a user who proved who they are (``method``): the login answer."""
    family = start_family(user, meta=meta, clock=clock)
    access, refresh, jti = _issue(user, family.id, sso=method == "oidc")
    family.current_refresh_jti = jti
    audit.record_by_user(
        login_limiter.LOGIN_OK,
        user,
        target_type="session",
        target_id=family.id,
        ip=meta.ip,
        details={"username": key or _login_key(user.username), "method": method},
    )
    db.session.commit()
    return {**_pair(access, refresh, user), "user": user}


def verify_mfa(
    mfa_token: str,
    code: str,
    *,
    meta: RequestMeta = NO_REQUEST,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Second step of a password sign-in with TOTP on: a code (or recovery code) → session.

    Wrong codes are failed logins of that username, so the login limiter covers them too.
    """
    user = mfa.challenge_user(mfa_token)
    key = _login_key(user.username)
    user_id = user.id
    attempt = login_limiter.check(key, meta.ip, clock=clock)
    user = db.session.get(User, user_id)
    if user.disabled:
        login_limiter.record_failure(attempt, "disabled", user)
        raise ApiError(403, "user_disabled", "This account is disabled.")
    used = mfa.check_code(user, code)
    if used is None:
        db.session.rollback()
        login_limiter.record_failure(attempt, "bad_totp", user)
        raise ApiError(401, "invalid_code", "The two-factor code is not right or was used already.")
    login_limiter.record_success(attempt, clock=clock)
    result = complete_login(user, "totp", key, meta=meta, clock=clock)
    if used == "recovery":
        audit.record_by_user(
            "user.mfa_recovery_used",
            user,
            target_type="user",
            target_id=user.id,
            ip=meta.ip,
            details={"left": mfa.recovery_codes_left(user.id)},
        )
        db.session.commit()
    return result


def start_family(
    user: User, *, meta: RequestMeta = NO_REQUEST, clock: Clock | None = None
) -> TokenFamily:
    """Add a new session row for ``user`` (the caller sets the refresh jti and commits);
    it remembers the caller's address and User-Agent (cut to the column's 255)."""
    now = resolve(clock)()
    family = TokenFamily(
        id=str(uuid.uuid4()),
        user_id=user.id,
        current_refresh_jti="",
        generation=0,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(seconds=min(refresh_lifetime(), session_max_lifetime())),
        ip=meta.ip,
        user_agent=(meta.user_agent or "")[:255] or None,
    )
    db.session.add(family)
    return family


def rotate(
    user: User,
    claims: dict[str, Any],
    *,
    meta: RequestMeta = NO_REQUEST,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Spend a (verified, unrevoked) refresh token: a new pair in the same family.

    The swap is one conditional UPDATE, so of two racing refreshes with the same token exactly
    one wins and the other counts as reuse, in any number of processes. ``clock`` (default: the
    app's) dates the refresh and caps it at the session's absolute end.
    """
    now = resolve(clock)()
    family_id = claims.get("fam")
    jti = claims.get("jti")
    if claims.get("sso"):
        _end_if_sso_session_too_old(user, family_id, meta, now)
    access, refresh, new_jti = _issue(user, family_id, sso=bool(claims.get("sso")))
    created = db.session.execute(
        select(TokenFamily.created_at).where(TokenFamily.id == family_id)
    ).scalar_one_or_none()
    expires = now + timedelta(seconds=refresh_lifetime())
    if created is not None:  # sliding, but never past the absolute end of the session
        expires = min(expires, created + timedelta(seconds=session_max_lifetime()))
    result = db.session.execute(
        update(TokenFamily)
        .where(
            TokenFamily.id == family_id,
            TokenFamily.current_refresh_jti == jti,
            TokenFamily.revoked_at.is_(None),
        )
        .values(
            current_refresh_jti=new_jti,
            generation=TokenFamily.generation + 1,
            last_used_at=now,
            expires_at=expires,
        )
    )
    if result.rowcount != 1:
        db.session.rollback()
        revoke_family(family_id, "reuse")
        audit.record_by_user(
            "auth.refresh_reuse",
            user,
            target_type="session",
            target_id=family_id,
            ip=meta.ip,
            details={"reason": "spent refresh token presented; session revoked"},
        )
        db.session.commit()
        log.warning("refresh token reuse: session %s of user %s revoked", family_id, user.id)
        raise ApiError(401, "token_revoked", "This refresh token was already used; sign in again.")
    db.session.commit()
    return _pair(access, refresh, user)


def _end_if_sso_session_too_old(
    user: User, family_id: str, meta: RequestMeta, now: datetime
) -> None:
    """A single sign-on session lives at most NEXAVPN_SSO_SESSION_SECONDS, then the user signs
    in at the provider again: that is when groups removed there (or a user removed there) take
    effect here, since the provider is asked only at sign-in."""
    limit = int(current_app.config.get("NEXAVPN_SSO_SESSION_SECONDS") or 0)
    if limit <= 0:
        return
    created = db.session.execute(
        select(TokenFamily.created_at).where(TokenFamily.id == family_id)
    ).scalar_one_or_none()
    if created is not None and created + timedelta(seconds=limit) > now:
        return
    revoke_family(family_id, "sso_session_expired")
    audit.record_by_user(
        "auth.session_expired",
        user,
        target_type="session",
        target_id=family_id,
        ip=meta.ip,
        details={"reason": "single sign-on session older than its limit", "limit": limit},
    )
    db.session.commit()
    raise ApiError(401, "session_expired", "Sign in with your identity provider again.")


def revoke_family(family_id: str, reason: str) -> bool:
    """End one session (all its tokens); True if it was live. The caller commits."""
    result = db.session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason[:32])
    )
    return result.rowcount > 0


def logout(user: User, family_id: str, *, meta: RequestMeta = NO_REQUEST) -> None:
    """End the caller's session only; the user's other sessions keep working."""
    revoke_family(family_id, "logout")
    audit.record_by_user(
        "auth.logout", user, target_type="session", target_id=family_id, ip=meta.ip
    )
    db.session.commit()


def revoke_all_sessions(
    user_id: int, reason: str = "revoked", *, except_family: str | None = None
) -> int:
    """End every live session of a user (disable, password change, admin request).

    Returns how many sessions ended. The caller commits (so it joins the caller's change).
    """
    stmt = (
        update(TokenFamily)
        .where(TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason[:32])
    )
    if except_family:
        stmt = stmt.where(TokenFamily.id != except_family)
    return db.session.execute(stmt).rowcount


def revoke_device_sessions(device_id: int, reason: str = "device_revoked") -> int:
    """End every live session bound to a device (revoked or deleted); returns how many.

    The caller commits (the sessions end in the same transaction as the device). A Core
    statement: the ORM's bulk-update bookkeeping cost more than the update on every revoke.
    """
    return sql.execute(
        update(TokenFamily)
        .where(TokenFamily.device_id == device_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason[:32])
    ).rowcount


def bind_to_device(family_id: str | None, device_id: int) -> None:
    """Bind the session that enrolled a device to it; the caller commits.

    Conditional on the session being unbound (or bound to this very device), so of two
    enrollments of different devices racing on one fresh session only the first binds; the
    other is refused (403) and rolls back its device.
    """
    if not family_id:
        return
    result = sql.execute(  # Core: the ORM's bulk-update bookkeeping cost ~0.7 ms per enrollment
        update(TokenFamily)
        .where(
            TokenFamily.id == family_id,
            or_(TokenFamily.device_id.is_(None), TokenFamily.device_id == device_id),
        )
        .values(device_id=device_id)
    )
    if result.rowcount != 1:
        raise ApiError(
            403,
            contract.SESSION_BOUND_TO_DEVICE,
            "This session belongs to another device; sign in again to register this one.",
        )
