"""Device lookups and life-cycle actions (list, profile sync, rotate, approve, revoke, delete).

Every lookup is scoped by the caller: a user sees only its own devices and gets 404 for any
other, an admin sees all.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from nexavpn_shared import contract

from .. import sql
from ..errors import ApiError, not_found
from ..extensions import db
from ..models import Device, Gateway, User
from ..models._types import utcnow
from ..pagination import paginate
from ..request_meta import NO_REQUEST, RequestMeta
from . import audit, notify, profiles, provisioning
from .tokens import revoke_all_sessions, revoke_device_sessions

log = logging.getLogger(__name__)


def get_visible_device(caller: User, device_id: int, *, fresh: bool = False) -> Device:
    """The device if the caller may see it (owner or admin), else 404; ``fresh`` reads the
    row again even if this session holds it (after a lock was taken)."""
    device = db.session.get(Device, device_id, populate_existing=fresh)
    if device is None or (not caller.is_admin and device.user_id != caller.id):
        raise not_found("Device")
    return device


def list_devices(caller: User, args: dict[str, Any]) -> dict[str, Any]:
    """One page of devices: admins all (with filters), users only their own."""
    stmt = select(Device).order_by(Device.id)
    if caller.is_admin:
        if args.get("user_id") is not None:
            stmt = stmt.where(Device.user_id == args["user_id"])
        if args.get("gateway_id") is not None:
            stmt = stmt.where(Device.gateway_id == args["gateway_id"])
    else:
        stmt = stmt.where(Device.user_id == caller.id)
        if args.get("user_id") is not None and args["user_id"] != caller.id:
            stmt = stmt.where(Device.id.is_(None))  # other users' devices: an empty page
        if args.get("gateway_id") is not None:
            stmt = stmt.where(Device.gateway_id == args["gateway_id"])
    if args.get("status"):
        stmt = stmt.where(Device.status == args["status"])
    return paginate(stmt, args["page"], args["per_page"])


def _require_active(device: Device) -> None:
    """Refuse revoked devices (410); pending ones have a profile and may rotate."""
    if device.status not in provisioning.LIVE:
        raise ApiError(410, contract.DEVICE_REVOKED, "This device has been revoked.")


def profile_for(caller: User, device_id: int) -> tuple[Device, dict[str, Any] | None]:
    """The device and its rendered profile (410 once revoked)."""
    device = get_visible_device(caller, device_id)
    _require_active(device)
    gateway = db.session.get(Gateway, device.gateway_id) if device.gateway_id else None
    if gateway is None:
        raise ApiError(410, contract.DEVICE_REVOKED, "This device has no gateway any more.")
    if not gateway.public_key:
        raise ApiError(
            503, "service_unavailable", "The device's gateway has not reported its key yet."
        )
    return device, profiles.build_profile(device, gateway)


def profile_when_changed(
    caller: User, device_id: int, if_none_match: str | None, wait: float
) -> tuple[str, dict[str, Any] | None, bool]:
    """(ETag, profile, unchanged): at once, or after a long-poll of up to ``wait`` seconds.

    With ``If-None-Match`` naming the current revision the request waits until the profile's
    revision or the device's status changes (then 200, or 410 once revoked) or ``wait``
    passes (unchanged → 304).
    """
    caller_id = caller.id
    device, profile = profile_for(caller, device_id)
    unchanged = profiles.etag_matches(if_none_match, device)
    tag = profiles.etag(device)
    if not unchanged or wait <= 0:
        return tag, profile, unchanged
    held = (device.profile_revision, device.status)

    def state() -> tuple[int, str] | None:
        row = db.session.execute(
            select(Device.profile_revision, Device.status).where(Device.id == device_id)
        ).first()
        return None if row is None else (row[0], row[1])

    moved = notify.wait_for(
        notify.device_topic(device_id), state, lambda now: now != held, wait
    )
    if moved is None:
        return tag, profile, True
    caller = db.session.get(User, caller_id)
    if caller is None:
        raise not_found("Device")
    device, profile = profile_for(caller, device_id)
    return profiles.etag(device), profile, profiles.etag_matches(if_none_match, device)


def touch_sync(device_id: int) -> None:
    """Record that the device fetched its profile, in a short write of its own.

    Called after the read transaction ended: on SQLite a deferred read transaction that later
    writes can fail at once when another writer committed meanwhile; a transaction whose first
    statement is the write waits on the busy timeout instead.
    """
    db.session.execute(update(Device).where(Device.id == device_id).values(last_sync_at=utcnow()))
    db.session.commit()


def rotate(caller: User, device_id: int, *, meta: RequestMeta = NO_REQUEST) -> Device:
    """Ask the device to re-enroll with a new key pair (its profile says so)."""
    device = get_visible_device(caller, device_id)
    _require_active(device)
    provisioning.lock_users([device.user_id])
    db.session.refresh(device)
    _require_active(device)
    if not device.rotation_required:
        device.rotation_required = True
        device.profile_revision = device.profile_revision + 1
    provisioning.record_device_event("device.rotate", device, caller, ip=meta.ip)
    db.session.commit()
    return device


def approve(caller: User, device_id: int, *, meta: RequestMeta = NO_REQUEST) -> Device:
    """Approve a pending device (admins): it becomes a peer on its gateway. Approving an active
    device changes nothing; a revoked one answers 410."""
    device = db.session.get(Device, device_id)
    if device is None:
        raise not_found("Device")
    provisioning.lock_users([device.user_id])
    db.session.refresh(device)
    _require_active(device)
    provisioning.approve_device(device, actor=caller, ip=meta.ip)
    db.session.commit()
    return device


def revoke(
    caller: User,
    device_id: int,
    *,
    revoke_sessions: bool = False,
    meta: RequestMeta = NO_REQUEST,
) -> Device:
    """Revoke a device (owner or admin): the sessions bound to it end with it; an admin may
    also end all its owner's other sessions."""
    if revoke_sessions and not caller.is_admin:
        get_visible_device(caller, device_id)  # someone else's device stays a 404
        raise ApiError(
            403, "forbidden", "Only an administrator can end the owner's sessions.",
            {"revoke_sessions": ["admins only"]},
        )
    if caller.is_admin:
        device = get_visible_device(caller, device_id)
        provisioning.lock_users([device.user_id])
        db.session.refresh(device)
    else:
        # A user's device can only be their own: lock their row first, then read the device
        # once, current (one round trip fewer on the path a waiting gateway agent waits on).
        provisioning.lock_users([caller.id])
        device = get_visible_device(caller, device_id, fresh=True)
    provisioning.revoke_device(device, actor=caller, reason="revoked", ip=meta.ip)
    if revoke_sessions:
        ended = _revoke_all_sessions(device.user_id)
        audit.record_by_user(
            "session.revoke_all",
            caller,
            target_type="user",
            target_id=device.user_id,
            ip=meta.ip,
            details={"sessions": ended, "device_id": device.id},
        )
    # The answer is the device as just written; reading it again would run beside the waiting
    # agents' config builds that this commit wakes.
    sql.commit_keeping_state()
    return device


def _revoke_all_sessions(user_id: int) -> int:
    return revoke_all_sessions(user_id, "admin_ended")


def delete(caller: User, device_id: int, *, meta: RequestMeta = NO_REQUEST) -> None:
    """Delete a device (admins): revoked first if live, so its addresses return to the pool,
    its sessions end and its key stays refused after the record is gone."""
    device = db.session.get(Device, device_id)
    if device is None:
        raise not_found("Device")
    provisioning.lock_users([device.user_id])
    db.session.refresh(device)
    if not provisioning.revoke_device(device, actor=caller, reason="deleted", ip=meta.ip):
        provisioning.forbid_key(device)  # revoked before the key list existed
        revoke_device_sessions(device.id, "device_deleted")
    provisioning.record_device_event(
        "device.delete",
        device,
        caller,
        {"vpn_ip": device.vpn_ip, "status": device.status},
        ip=meta.ip,
    )
    db.session.delete(device)
    db.session.commit()
