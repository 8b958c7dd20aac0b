"""Users: admin CRUD, self-service edits, and the lock-out rules (last admin, yourself)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..errors import ApiError, not_found, validation_error
from ..extensions import db
from ..models import Device, IpLease, PolicyUser, TokenFamily, User
from ..pagination import paginate
from ..request_meta import NO_REQUEST, RequestMeta
from . import audit, login_limiter, provisioning
from .passwords import hash_password, verify_password
from .tokens import revoke_all_sessions

log = logging.getLogger(__name__)

PASSWORD_CHECK_FAILED = "auth.password_check_failed"
SELF_EDITABLE = frozenset({"password", "current_password", "email"})
ADMIN_ONLY = ("username", "role", "groups", "disabled")


def get_user(user_id: int) -> User:
    """A user by id, or 404."""
    user = db.session.get(User, user_id)
    if user is None:
        raise not_found("User")
    return user


def get_visible_user(caller: User, user_id: int) -> User:
    """Admins see everyone; a user sees only itself (404 for others: existence stays hidden)."""
    if not caller.is_admin and caller.id != user_id:
        raise not_found("User")
    return get_user(user_id)


def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """One page of users, filtered by ``q`` (username/email substring), ``role``, ``disabled``."""
    stmt = select(User).options(selectinload(User.group_rows)).order_by(User.id)
    q = (args.get("q") or "").strip().lower()
    if q:
        stmt = stmt.where(
            or_(
                func.lower(User.username).contains(q, autoescape=True),
                func.lower(func.coalesce(User.email, "")).contains(q, autoescape=True),
            )
        )
    if args.get("role"):
        stmt = stmt.where(User.role == args["role"])
    if args.get("disabled") is not None:
        stmt = stmt.where(User.disabled.is_(bool(args["disabled"])))
    return paginate(stmt, args["page"], args["per_page"])


def _username_taken(username: str, *, exclude_id: int | None = None) -> bool:
    stmt = select(User.id).where(func.lower(User.username) == username.lower())
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.execute(stmt.limit(1)).first() is not None


def _conflict_username() -> ApiError:
    return ApiError(
        409, "conflict", "A user with this username already exists.", {"username": ["taken"]}
    )


def _enabled_admins(exclude_id: int | None = None) -> int:
    stmt = (
        select(func.count()).select_from(User).where(User.role == "admin", User.disabled.is_(False))
    )
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.execute(stmt).scalar_one()


def _commit_or_conflict() -> None:
    """Commit; a unique-constraint race (two creates of one username) becomes a 409."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _conflict_username() from None


@dataclass(frozen=True)
class PasswordWork:
    """A password change's slow part (argon2), done before the write transaction."""

    current_ok: bool
    new_hash: str


def hash_outside_transaction(password: str) -> str:
    """End the request's transaction (on SQLite: release the write lock), then hash."""
    db.session.rollback()
    return hash_password(password)


def password_work(actor: User, user: User, data: dict[str, Any]) -> PasswordWork | None:
    """Check ``current_password`` and hash the new one with no transaction open."""
    if "password" not in data:
        return None
    stored, is_self = user.password_hash, actor.id == user.id
    db.session.rollback()
    current = data.get("current_password")
    current_ok = (not is_self) or (bool(current) and verify_password(stored, current))
    return PasswordWork(current_ok, hash_password(data["password"]))


def create_user(
    actor: User,
    data: dict[str, Any],
    *,
    password_hash: str | None = None,
    meta: RequestMeta = NO_REQUEST,
) -> User:
    """Create a user (admin); ``password_hash`` precomputed outside the write transaction."""
    if _username_taken(data["username"]):
        raise _conflict_username()
    user = User(
        username=data["username"],
        email=data.get("email"),
        role=data.get("role", "user"),
        disabled=bool(data.get("disabled", False)),
    )
    user.password_hash = password_hash or hash_password(data["password"])
    user.groups = data.get("groups") or []
    db.session.add(user)
    db.session.flush()
    audit.record_by_user(
        "user.create",
        actor,
        target_type="user",
        target_id=user.id,
        ip=meta.ip,
        details={
            "username": user.username,
            "role": user.role,
            "groups": user.groups,
            "disabled": user.disabled,
        },
    )
    _commit_or_conflict()
    return user


def _check_self_service(actor: User, user: User, data: dict[str, Any]) -> None:
    """A non-admin editing itself may change password and email only (403 otherwise)."""
    if actor.is_admin:
        return
    changed = [f for f in ADMIN_ONLY if f in data and data[f] != getattr(user, f)]
    if changed:
        raise ApiError(
            403,
            "forbidden",
            "Only an administrator may change these fields.",
            {f: ["admin only"] for f in changed},
        )


def _check_current_password(user: User, current: str | None, meta: RequestMeta) -> None:
    """Changing your own password proves the current one; guesses count like sign-in failures
    (the same limiter, audited), so a stolen session is no unthrottled password oracle."""
    wrong = validation_error(
        {"current_password": ["the current password is required and must match"]}
    )
    if not current:
        raise wrong
    attempt = login_limiter.check(user.username, meta.ip)
    if not verify_password(user.password_hash, current):
        login_limiter.record_failure(
            attempt, "bad_current_password", user, action=PASSWORD_CHECK_FAILED
        )
        raise wrong
    login_limiter.record_success(attempt)


def update_user(
    actor: User,
    user: User,
    data: dict[str, Any],
    *,
    actor_family: str | None = None,
    prepared: PasswordWork | None = None,
    meta: RequestMeta = NO_REQUEST,
) -> User:
    """Apply a PATCH. Disabling ends the user's sessions and revokes its devices at once.

    Changing your own password needs ``current_password`` and ends your other sessions;
    an admin setting another user's password ends all of that user's sessions.
    """
    _check_self_service(actor, user, data)
    is_self = actor.id == user.id
    changed: list[str] = []
    if "current_password" in data and "password" not in data:
        raise validation_error({"current_password": ["only together with password"]})
    if "password" in data and is_self:
        _check_current_password(user, data.get("current_password"), meta)

    if "username" in data and data["username"] != user.username:
        if _username_taken(data["username"], exclude_id=user.id):
            raise _conflict_username()
        user.username = data["username"]
        changed.append("username")

    if "email" in data and data["email"] != user.email:
        user.email = data["email"]
        changed.append("email")

    demoting = "role" in data and data["role"] != user.role
    disabling = data.get("disabled") is True and not user.disabled
    if disabling and is_self:
        raise ApiError(409, "conflict", "You cannot disable yourself.", {"disabled": ["self"]})
    if (
        (demoting or disabling)
        and user.role == "admin"
        and not user.disabled
        and _enabled_admins(exclude_id=user.id) == 0
    ):
        field = "disabled" if disabling else "role"
        raise ApiError(
            409, "conflict", "The last enabled administrator must stay.", {field: ["last admin"]}
        )
    if demoting:
        user.role = data["role"]
        changed.append("role")

    groups_changed = "groups" in data and sorted(set(data["groups"])) != user.groups
    if groups_changed:
        user.groups = data["groups"]
        changed.append("groups")

    if "password" in data:
        if is_self:
            revoke_all_sessions(user.id, "password_change", except_family=actor_family)
        else:
            revoke_all_sessions(user.id, "password_change")
        user.password_hash = prepared.new_hash if prepared else hash_password(data["password"])
        changed.append("password")

    if "disabled" in data and data["disabled"] != user.disabled:
        user.disabled = data["disabled"]
        changed.append("disabled")

    db.session.flush()
    if disabling:
        revoke_all_sessions(user.id, "user_disabled")
        provisioning.revoke_user_devices(
            user.id, actor=actor, reason="user_disabled", ip=meta.ip
        )
    if groups_changed and not user.disabled:
        provisioning.refresh_users([user.id])

    if changed:
        details: dict[str, Any] = {"changed": changed}
        for f in ("username", "email", "role", "groups", "disabled"):
            if f in changed:
                details[f] = getattr(user, f)
        audit.record_by_user(
            "user.update",
            actor,
            target_type="user",
            target_id=user.id,
            ip=meta.ip,
            details=details,
        )
    _commit_or_conflict()
    return user


def delete_user(actor: User, user: User, *, meta: RequestMeta = NO_REQUEST) -> None:
    """Delete a user: its devices are revoked first (peers leave their gateways), then removed.

    Audit rows keep ids as strings, so the trail stays readable after the rows are gone.
    """
    if actor.id == user.id:
        raise ApiError(409, "conflict", "You cannot delete yourself.")
    if user.role == "admin" and not user.disabled and _enabled_admins(exclude_id=user.id) == 0:
        raise ApiError(409, "conflict", "The last enabled administrator must stay.")
    user_id, username = user.id, user.username
    revoked = provisioning.revoke_user_devices(
        user_id, actor=actor, reason="user_deleted", ip=meta.ip
    )
    device_ids = select(Device.id).where(Device.user_id == user_id)
    deleted_devices = db.session.execute(
        select(func.count()).select_from(Device).where(Device.user_id == user_id)
    ).scalar_one()
    db.session.execute(delete(IpLease).where(IpLease.device_id.in_(device_ids)))
    db.session.execute(delete(Device).where(Device.user_id == user_id))
    db.session.execute(delete(TokenFamily).where(TokenFamily.user_id == user_id))
    db.session.execute(delete(PolicyUser).where(PolicyUser.user_id == user_id))
    db.session.delete(user)
    audit.record_by_user(
        "user.delete",
        actor,
        target_type="user",
        target_id=user_id,
        ip=meta.ip,
        details={
            "username": username,
            "devices_revoked": revoked,
            "devices_deleted": deleted_devices,
        },
    )
    db.session.commit()
