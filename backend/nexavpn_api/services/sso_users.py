"""Users of single sign-on: found by (provider, subject) or created on first sign-in, with
their groups and admin role following the provider's claims on every sign-in."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..models import User, UserIdentity
from ..models._types import utcnow
from ..request_meta import NO_REQUEST, RequestMeta
from . import audit, provisioning
from .oidc_providers import Provider

_USERNAME_BAD = re.compile(r"[^A-Za-z0-9._@-]+")
_GROUP_BAD = re.compile(r"[^A-Za-z0-9._-]+")


class LoginRefused(Exception):
    """The provider's answer does not sign anyone in; ``code`` goes back to the client."""

    def __init__(self, code: str, why: str) -> None:
        super().__init__(why)
        self.code = code


def _groups_from(provider: Provider, claims: dict[str, Any]) -> list[str] | None:
    """The provider's groups as our group names (None when no groups claim is configured)."""
    if not provider.groups_claim:
        return None
    raw = claims.get(provider.groups_claim)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    names = []
    for item in raw:
        if not isinstance(item, str):
            continue
        name = _GROUP_BAD.sub("_", item.strip().lstrip("/"))[:64].strip("_")
        if name:
            names.append(name)
    return sorted(set(names))[:100]


def _free_username(claims: dict[str, Any]) -> str:
    """A unique username from preferred_username or email (suffixed -2, -3 … when taken).

    Never an existing local account: a provider asserting "alice" must not become our Alice.
    """
    wanted = ""
    for key in ("preferred_username", "email"):
        if isinstance(claims.get(key), str) and claims[key].strip():
            wanted = claims[key].strip()
            break
    base = _USERNAME_BAD.sub("-", wanted)[:56].strip("-") or "user"
    for n in range(1, 1000):
        name = base if n == 1 else f"{base}-{n}"
        taken = db.session.execute(
            select(User.id).where(func.lower(User.username) == name.lower()).limit(1)
        ).first()
        if taken is None:
            return name
    return f"{base[:40]}-{secrets.token_hex(4)}"


def user_for(
    provider: Provider, claims: dict[str, Any], *, meta: RequestMeta = NO_REQUEST
) -> User:
    """The user linked to (provider, sub), created on first sign-in; groups and admin role
    follow the provider on every sign-in, and a change of groups bumps the user's devices."""
    sub = claims["sub"]
    link = db.session.execute(
        select(UserIdentity).where(
            UserIdentity.provider == provider.id, UserIdentity.subject == sub
        )
    ).scalar_one_or_none()
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    if email is not None and (len(email) > 254 or "@" not in email):
        email = None
    if link is None:
        user = User(
            username=_free_username(claims),
            email=email,
            role="user",
            sso_provider=provider.id,
        )
        user.password_hash = ""
        db.session.add(user)
        db.session.flush()
        link = UserIdentity(user_id=user.id, provider=provider.id, subject=sub)
        db.session.add(link)
        audit.record(
            "user.create",
            actor_type="system",
            target_type="user",
            target_id=user.id,
            ip=meta.ip,
            details={"username": user.username, "method": "oidc", "provider": provider.id},
        )
        created = True
    else:
        user = db.session.get(User, link.user_id)
        created = False
    link.last_login_at = utcnow()
    if user.disabled:
        raise LoginRefused("user_disabled", "the user is disabled")

    changed: dict[str, Any] = {}
    groups = _groups_from(provider, claims)
    if groups is not None and groups != user.groups:
        user.groups = groups
        changed["groups"] = groups
    if provider.admin_group and groups is not None:
        role = "admin" if provider.admin_group in groups else "user"
        if role != user.role:
            user.role = role
            changed["role"] = role
    if email and email != user.email:
        user.email = email
    db.session.flush()
    if "groups" in changed and not created:
        provisioning.refresh_users([user.id])
    if changed and not created:
        audit.record(
            "user.update",
            actor_type="system",
            target_type="user",
            target_id=user.id,
            ip=meta.ip,
            details={
                "changed": sorted(changed),
                **changed,
                "method": "oidc",
                "provider": provider.id,
            },
        )
    db.session.commit()
    return user
