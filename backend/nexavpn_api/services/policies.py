"""Policies (admin side): CRUD with strict destinations, then re-provision the users reached."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from nexavpn_shared.netaddr import InvalidValue, normalize_network, validate_name

from ..errors import ApiError, not_found, validation_error
from ..extensions import db
from ..models import Policy, PolicyGroup, PolicyUser, User
from ..pagination import paginate
from ..request_meta import NO_REQUEST, RequestMeta
from . import audit, provisioning

log = logging.getLogger(__name__)

FIELDS = ("name", "description", "enabled", "user_ids", "groups", "destinations")


def get_policy(policy_id: int) -> Policy:
    """A policy by id, or 404."""
    policy = db.session.get(Policy, policy_id)
    if policy is None:
        raise not_found("Policy")
    return policy


def list_policies(args: dict[str, Any]) -> dict[str, Any]:
    """One page of policies, by name substring, enabled, a named user or a named group."""
    stmt = select(Policy).order_by(Policy.id)
    q = (args.get("q") or "").strip().lower()
    if q:
        stmt = stmt.where(func.lower(Policy.name).contains(q, autoescape=True))
    if args.get("enabled") is not None:
        stmt = stmt.where(Policy.enabled.is_(bool(args["enabled"])))
    if args.get("user_id") is not None:
        stmt = stmt.where(
            Policy.id.in_(select(PolicyUser.policy_id).where(PolicyUser.user_id == args["user_id"]))
        )
    if args.get("group"):
        stmt = stmt.where(
            Policy.id.in_(select(PolicyGroup.policy_id).where(PolicyGroup.name == args["group"]))
        )
    return paginate(stmt, args["page"], args["per_page"])


def _destinations(values: list[Any]) -> list[str]:
    """Canonical CIDRs, duplicates dropped; host bits set → 400 naming the entry."""
    out: list[str] = []
    errors: dict[str, list[str]] = {}
    for i, value in enumerate(values):
        try:
            cidr = normalize_network(value, "destinations", strict=True)
        except InvalidValue as exc:
            errors[str(i)] = [exc.message]
            continue
        if cidr not in out:
            out.append(cidr)
    if errors:
        raise validation_error({"destinations": errors}, "A destination is not a valid network.")
    return out


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Validate the given fields (400 naming them); user_ids must name existing users."""
    out = dict(data)
    if "name" in data:
        try:
            out["name"] = validate_name(data["name"], "name")
        except InvalidValue as exc:
            raise validation_error({"name": [exc.message]}) from None
    if "destinations" in data:
        out["destinations"] = _destinations(data["destinations"])
    if "user_ids" in data:
        wanted = sorted(set(data["user_ids"]))
        found = set(db.session.execute(select(User.id).where(User.id.in_(wanted))).scalars())
        missing = [u for u in wanted if u not in found]
        if missing:
            raise validation_error(
                {"user_ids": [f"no such user: {', '.join(map(str, missing[:20]))}"]}
            )
        out["user_ids"] = wanted
    if "groups" in data:
        out["groups"] = sorted(set(data["groups"]))
    return out


def _name_taken(name: str, exclude_id: int | None = None) -> bool:
    """Names are unique regardless of case in every script: compared with Python's casefold,
    since SQLite's lower() folds only ASCII (policies are few; this reads their names)."""
    stmt = select(Policy.name)
    if exclude_id is not None:
        stmt = stmt.where(Policy.id != exclude_id)
    want = name.casefold()
    return any(n.casefold() == want for n in db.session.execute(stmt).scalars())


def _flush_or_conflict() -> None:
    """Flush; a unique-name race lost to a concurrent request is a 409, never a 500."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _conflict() from None


def _conflict() -> ApiError:
    return ApiError(409, "conflict", "A policy with this name exists.", {"name": ["taken"]})


def _commit_or_conflict() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _conflict() from None


def _snapshot(policy: Policy) -> dict[str, Any]:
    return {f: getattr(policy, f) for f in FIELDS}


def create_policy(
    actor: User, data: dict[str, Any], *, meta: RequestMeta = NO_REQUEST
) -> Policy:
    """Create a policy and re-provision the users it reaches."""
    values = _normalise(data)
    if _name_taken(values["name"]):
        raise _conflict()
    policy = Policy(
        name=values["name"],
        description=values.get("description", ""),
        enabled=values.get("enabled", True),
        destinations=values["destinations"],
    )
    policy.user_ids = values.get("user_ids", [])
    policy.groups = values.get("groups", [])
    db.session.add(policy)
    _flush_or_conflict()
    provisioning.refresh_users(provisioning.user_ids_for_policy(policy.id))
    audit.record_by_user(
        "policy.create",
        actor,
        target_type="policy",
        target_id=policy.id,
        ip=meta.ip,
        details=_snapshot(policy),
    )
    _commit_or_conflict()
    return policy


def update_policy(
    actor: User, policy: Policy, data: dict[str, Any], *, meta: RequestMeta = NO_REQUEST
) -> Policy:
    """Apply a PATCH; users reached before or after the change are re-provisioned."""
    for field in FIELDS:
        if field in data and data[field] is None:
            raise validation_error({field: ["may not be null"]})
    values = _normalise(data)
    changed = [f for f in FIELDS if f in values and values[f] != getattr(policy, f)]
    if not changed:
        return policy
    if "name" in changed and _name_taken(values["name"], exclude_id=policy.id):
        raise _conflict()
    before = provisioning.user_ids_for_policy(policy.id)
    for field in changed:
        setattr(policy, field, values[field])
    _flush_or_conflict()
    if changed != ["description"]:
        provisioning.refresh_users(before | provisioning.user_ids_for_policy(policy.id))
    audit.record_by_user(
        "policy.update",
        actor,
        target_type="policy",
        target_id=policy.id,
        ip=meta.ip,
        details={"changed": changed, **{f: getattr(policy, f) for f in changed}},
    )
    _commit_or_conflict()
    return policy


def delete_policy(actor: User, policy: Policy, *, meta: RequestMeta = NO_REQUEST) -> None:
    """Delete a policy; the users it reached lose its destinations at once."""
    before = provisioning.user_ids_for_policy(policy.id)
    policy_id, name = policy.id, policy.name
    db.session.delete(policy)
    db.session.flush()
    provisioning.refresh_users(before)
    audit.record_by_user(
        "policy.delete",
        actor,
        target_type="policy",
        target_id=policy_id,
        ip=meta.ip,
        details={"name": name},
    )
    db.session.commit()
