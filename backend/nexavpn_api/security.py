"""Who is calling: JWT callbacks (DB-backed blocklist), role checks and gateway agent tokens."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache, wraps
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)
from typing import Any, TypeVar

from flask import g, request
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request
from sqlalchemy import bindparam, select

from .clock import app_clock
from .errors import ApiError
from .extensions import db, jwt
from .models import Gateway, TokenFamily, User

F = TypeVar("F", bound=Callable[..., Any])

#: Why a session ended when its device was revoked or deleted (``token_families.revoked_reason``).
DEVICE_REASONS = frozenset({"device_revoked", "device_deleted"})


def hash_token(token: str) -> str:
    """Agent tokens are stored only as SHA-256 hex (they are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


LOOPBACK_PROXIES = "127.0.0.0/8,::1/128"


@lru_cache(maxsize=16)
def trusted_networks(raw: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Parse a comma/space separated CIDR list (ValueError names a bad entry)."""
    nets = []
    for item in raw.replace(",", " ").split():
        try:
            nets.append(ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an address or CIDR: {item!r}") from None
    return tuple(nets)


def _parse_ip(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def _trusted(addr: IPv4Address | IPv6Address | None, nets) -> bool:
    return addr is not None and any(addr.version == n.version and addr in n for n in nets)


def client_ip() -> str | None:
    """The caller's address, as rate limits and the audit trail see it.

    Forwarding headers count only when the connection comes from a trusted proxy
    (``NEXAVPN_TRUSTED_PROXIES`` CIDRs; ``NEXAVPN_TRUST_PROXY=1`` trusts the packaged nginx on
    loopback). Then the client is the rightmost ``X-Forwarded-For`` hop that is not itself a
    trusted proxy (a client can prepend anything, but not append after its proxy), else the
    proxy's ``X-Real-IP``.
    """
    from flask import current_app

    remote = request.remote_addr
    cfg = current_app.config
    raw = str(cfg.get("NEXAVPN_TRUSTED_PROXIES") or "")
    if cfg.get("NEXAVPN_TRUST_PROXY"):
        raw = f"{raw},{LOOPBACK_PROXIES}"
    nets = trusted_networks(raw)
    if not nets or not _trusted(_parse_ip(remote or ""), nets):
        return remote
    hops = [h for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    last = remote
    for hop in reversed(hops):
        addr = _parse_ip(hop)
        if addr is None:  # a trusted proxy passed garbage on: believe no further
            return last
        if not _trusted(addr, nets):
            return str(addr)
        last = str(addr)
    real = _parse_ip(request.headers.get("X-Real-IP", ""))
    if real is not None and not hops:
        return str(real)
    return last


# The caller's token family and user in one query (a family belongs to exactly one user).
_FAMILY_AND_USER = (
    select(
        User,
        TokenFamily.revoked_at,
        TokenFamily.expires_at,
        TokenFamily.device_id,
        TokenFamily.revoked_reason,
    )
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
        user, revoked_at, expires_at, device_id, revoked_reason = row
        if revoked_at is not None or expires_at <= app_clock()():
            g.nexavpn_revoked_reason = revoked_reason if revoked_at is not None else None
            return True
        _refuse_until_mfa_setup(user)
        g.nexavpn_token_user = user
        g.nexavpn_session_device_id = device_id
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
        """Say why a session ended when it is known (``details.reason``), so a client whose
        device was revoked can tell its user that instead of a bare "signed out"."""
        from .errors import envelope

        reason = g.pop("nexavpn_revoked_reason", None)
        if reason in DEVICE_REASONS:
            return envelope(
                401,
                "token_revoked",
                "This device was removed by an administrator; sign in again to register anew.",
                {"reason": reason},
            )
        return envelope(
            401,
            "token_revoked",
            "This session has ended; sign in again.",
            {"reason": reason} if reason else None,
        )

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


def current_session_device_id() -> int | None:
    """The device the current session is bound to (it enrolled it), if any."""
    return g.get("nexavpn_session_device_id")


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
