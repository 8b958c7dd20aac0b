"""Keep devices' profiles and gateways' desired state in step with policies, users and gateways.

Other services call these after changing what a device may reach (policy create/edit/delete,
group membership, user disable/delete, gateway endpoint/key/DNS/MTU). Every function works with
queries over the affected rows only, adds to the caller's transaction and never commits; the
agents' and clients' long-polls are woken after the caller's commit (see :mod:`.notify`): every
change of a device's ``profile_revision`` or status here marks the device, through the ORM
(:func:`.notify._collect_device_changes`) or explicitly for bulk updates.

Lock order (PostgreSQL), shared with enrollment so concurrent writers queue instead of
deadlocking: users (by id) → devices → gateways (by id).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, select, union, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from .. import sql
from ..extensions import db
from ..models import Device, Gateway, PolicyGroup, PolicyUser, RevokedPublicKey, User, UserGroup
from ..models._types import utcnow
from . import audit, ipam, notify, tokens
from .policy_resolution import resources_for_users

log = logging.getLogger(__name__)

ACTIVE = "active"
PENDING = "pending"
REVOKED = "revoked"
# Devices that hold an address and a profile: active ones and those awaiting approval. Only
# active devices are peers on their gateway.
LIVE = (ACTIVE, PENDING)
CHUNK = 500


def _chunks(ids: list[int], size: int = CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def user_ids_for_policy(policy_id: int) -> set[int]:
    """Users the policy reaches now, directly or through a group (call before and after edits)."""
    direct = select(PolicyUser.user_id).where(PolicyUser.policy_id == policy_id)
    via_group = (
        select(UserGroup.user_id)
        .join(PolicyGroup, PolicyGroup.name == UserGroup.name)
        .where(PolicyGroup.policy_id == policy_id)
    )
    return {int(u) for u in db.session.execute(union(direct, via_group)).scalars()}


def lock_users(user_ids: Iterable[int]) -> None:
    """Row-lock users in id order so concurrent recomputations for a user queue (PostgreSQL)."""
    if not ipam.is_postgres():
        return
    ids = sorted({int(u) for u in user_ids})
    for chunk in _chunks(ids):
        sql.execute(
            select(User.id).where(User.id.in_(chunk)).order_by(User.id).with_for_update()
        ).all()


_BUMP = (
    update(Gateway)
    .where(Gateway.id.in_(bindparam("gateway_ids", expanding=True)))
    .values(revision=Gateway.revision + 1)
    .execution_options(synchronize_session=False)
)


def bump_gateways(gateway_ids: Iterable[int | None]) -> None:
    """Grow the revision of each gateway (in id order) and wake its agent after commit."""
    ids = sorted({int(g) for g in gateway_ids if g is not None})
    if not ids:
        return
    postgres = ipam.is_postgres()
    for chunk in _chunks(ids):
        # Locking several rows in id order keeps concurrent bumps from deadlocking; a single
        # row is locked by its UPDATE alone (one round trip less on every enrollment).
        if postgres and len(chunk) > 1:
            sql.execute(
                select(Gateway.id)
                .where(Gateway.id.in_(chunk))
                .order_by(Gateway.id)
                .with_for_update()
            ).all()
        sql.execute(_BUMP, {"gateway_ids": chunk})
    _bumped(ids)


_BUMP_ONE = (
    update(Gateway)
    .where(Gateway.id == bindparam("gateway_id"))
    .values(revision=Gateway.revision + 1)
    .returning(Gateway.lease_count)
)


def bump_gateway_for_placement(gateway_id: int) -> int:
    """Grow one gateway's revision and return its lease count as of now.

    The UPDATE is also the gateway's row lock on PostgreSQL (SQLite writers hold the database
    lock), so the count is read by the statement that takes the lock, not before it: exact,
    however many enrollments race for the gateway.
    """
    count = sql.execute(_BUMP_ONE, {"gateway_id": gateway_id}).scalar_one()
    _bumped([gateway_id])
    return int(count)


def _bumped(ids: Iterable[int]) -> None:
    """Loaded gateway objects must not keep showing the old revision; wake agents on commit."""
    ids = list(ids)
    for gid in ids:
        obj = db.session.identity_map.get(identity_key(Gateway, gid))
        if obj is not None:
            db.session.expire(obj, ["revision", "lease_count"])
    notify.mark_changed(ids)


def refresh_users(user_ids: Iterable[int]) -> None:
    """Recompute the resources of these users' live (active and pending) devices.

    Devices whose resolved destinations changed get the new list and a higher
    ``profile_revision``; the gateways serving them get a higher revision and a wake-up.
    """
    ids = sorted({int(u) for u in user_ids})
    if not ids:
        return
    lock_users(ids)
    wanted = resources_for_users(ids)
    by_resources: dict[str, list[int]] = defaultdict(list)
    gateways: set[int] = set()
    for chunk in _chunks(ids):
        rows = db.session.execute(
            select(Device.id, Device.user_id, Device.gateway_id, Device.resources).where(
                Device.user_id.in_(chunk), Device.status.in_(LIVE)
            )
        ).all()
        for dev_id, user_id, gateway_id, current in rows:
            new = wanted[user_id]
            if (current or []) != new:
                by_resources[json.dumps(new, sort_keys=True)].append(dev_id)
                if gateway_id is not None:
                    gateways.add(gateway_id)
    for encoded, dev_ids in by_resources.items():
        new = json.loads(encoded)
        for chunk in _chunks(sorted(dev_ids)):
            db.session.execute(
                update(Device)
                .where(Device.id.in_(chunk))
                .values(resources=new, profile_revision=Device.profile_revision + 1)
                .execution_options(synchronize_session="fetch")
            )
            notify.mark_devices_changed(chunk)
    bump_gateways(gateways)


def refresh_gateway(gateway_id: int) -> None:
    """The gateway's endpoint, key, DNS or MTU changed: every live device's profile did too."""
    changed = db.session.execute(
        update(Device)
        .where(Device.gateway_id == gateway_id, Device.status.in_(LIVE))
        .values(profile_revision=Device.profile_revision + 1)
        .returning(Device.id)
        .execution_options(synchronize_session="fetch")
    ).scalars()
    notify.mark_devices_changed(list(changed))
    bump_gateways([gateway_id])


def active_device_count(gateway_id: int) -> int:
    """Active devices served by the gateway (its ``peer_count``)."""
    return db.session.execute(
        select(func.count())
        .select_from(Device)
        .where(Device.gateway_id == gateway_id, Device.status == ACTIVE)
    ).scalar_one()


def live_device_count(gateway_id: int) -> int:
    """Devices holding an address on the gateway (active or pending): they keep it in use."""
    return db.session.execute(
        select(func.count())
        .select_from(Device)
        .where(Device.gateway_id == gateway_id, Device.status.in_(LIVE))
    ).scalar_one()


def record_device_event(
    action: str,
    device: Device,
    actor: Any,
    details: dict[str, Any] | None = None,
    *,
    ip: str | None = None,
) -> None:
    """Audit a device action by a user, a gateway or the system (``actor=None``); ``ip`` is
    the HTTP caller's address (``RequestMeta.ip``), None outside a request."""
    kwargs: dict[str, Any] = {
        "target_type": "device",
        "target_id": device.id,
        "ip": ip,
        "details": {"user_id": device.user_id, "name": device.name, **(details or {})},
    }
    if actor is None:
        audit.record_by_system(action, **kwargs)
    elif isinstance(actor, User):
        audit.record_by_user(action, actor, **kwargs)
    elif isinstance(actor, Gateway):
        audit.record(action, actor_type="gateway", actor_id=actor.id, **kwargs)
    else:
        audit.record(action, actor_type="system", actor_id=getattr(actor, "id", None), **kwargs)


def revoke_device(
    device: Device, *, actor: Any, reason: str | None = None, ip: str | None = None
) -> bool:
    """Revoke one device: status, address back to the pool, peer off its gateway, its key
    refused from now on, the sessions bound to it ended, audit.

    Returns False (and does nothing) when the device was already revoked.
    """
    if device.status not in LIVE:
        return False
    was_peer = device.status == ACTIVE
    _mark_revoked(device)
    ipam.release(device.id)
    forbid_key(device)
    ended = tokens.revoke_device_sessions(
        device.id, "device_deleted" if reason == "deleted" else "device_revoked"
    )
    if was_peer:
        bump_gateways([device.gateway_id])
    details: dict[str, Any] = {"gateway_id": device.gateway_id, "sessions_ended": ended}
    if not was_peer:
        details["was_pending"] = True
    if reason:
        details["reason"] = reason
    record_device_event("device.revoke", device, actor, details, ip=ip)
    return True


def _mark_revoked(device: Device) -> None:
    """The device's row says revoked (a Core UPDATE), and the loaded object says so too.

    Through the ORM's unit of work this one UPDATE cost ~1 ms of bookkeeping on the path a
    waiting gateway agent waits on; the object is told the committed values directly.
    """
    now = utcnow()
    values = {"status": REVOKED, "revoked_at": now, "rotation_required": False, "updated_at": now}
    sql.execute(update(Device).where(Device.id == device.id).values(**values))
    for key, value in values.items():
        set_committed_value(device, key, value)
    notify.mark_devices_changed([device.id])  # its client's profile long-poll answers 410


def forbid_key(device: Device) -> None:
    """Put the device's public key on the list of keys that may never enroll again."""
    forbid_public_key(device.public_key, device_id=device.id, user_id=device.user_id,
                      at=device.revoked_at)


def forbid_public_key(
    public_key: str, *, device_id: int | None, user_id: int | None, at: Any = None
) -> None:
    """Refuse ``public_key`` forever; a key already refused keeps its first record.

    One statement (insert, ignored on a conflict) rather than a read and an insert: it sits
    inside every revocation, which a waiting gateway agent is waiting for.
    """
    values = {
        "public_key": public_key,
        "device_id": device_id,
        "user_id": user_id,
        "revoked_at": at or utcnow(),
    }
    if ipam.is_postgres():
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    sql.execute(insert(RevokedPublicKey).values(**values).on_conflict_do_nothing())


def approve_device(device: Device, *, actor: Any, ip: str | None = None) -> bool:
    """Make a pending device a peer on its gateway; False when it was not pending.

    Its profile revision grows (the client learns its status changed) and its gateway's
    revision grows (the agent adds the peer), through the usual bump so waiters wake.
    """
    if device.status != PENDING:
        return False
    device.status = ACTIVE
    device.profile_revision = device.profile_revision + 1
    db.session.flush()
    bump_gateways([device.gateway_id])
    record_device_event(
        "device.approve",
        device,
        actor,
        {"gateway_id": device.gateway_id, "vpn_ip": device.vpn_ip},
        ip=ip,
    )
    return True


def revoke_user_devices(
    user_id: int, *, actor: Any, reason: str = "user_revoked", ip: str | None = None
) -> int:
    """Revoke every live device of a user (user disabled or deleted); returns how many."""
    lock_users([user_id])
    devices = (
        db.session.execute(
            select(Device)
            .where(Device.user_id == user_id, Device.status.in_(LIVE))
            .order_by(Device.id)
        )
        .scalars()
        .all()
    )
    count = 0
    for device in devices:
        count += revoke_device(device, actor=actor, reason=reason, ip=ip)
    return count

