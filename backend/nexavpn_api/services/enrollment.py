"""The enrollment engine: one transaction that creates or updates a device, places it on a
gateway, leases its addresses, resolves its destinations, updates the gateway's desired state,
renders its profile and records the audit event.

The session that enrolls a device is bound to it: it may re-enroll that device (rotation) but
no other, and ends when the device is revoked or deleted. A revoked or deleted device's key is
refused forever. With device approval on, a new device starts ``pending``: it has its address
and profile but is on no gateway until an admin approves it.

Any refusal (key in use or revoked, bound session, device limit, full pools, no gateway) raises
:class:`ApiError` after a rollback, so nothing is half-written. Unique-constraint races and
PostgreSQL deadlocks or serialisation failures roll back and retry the whole transaction a few
times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, insert, literal_column, select, true, union_all
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from nexavpn_shared import contract
from nexavpn_shared.keys import InvalidKey, validate_key

from .. import sql
from ..errors import ApiError
from ..extensions import db
from ..models import Device, Gateway, RevokedPublicKey, User
from ..models._types import utcnow
from ..request_meta import NO_REQUEST, RequestMeta
from . import ipam, profiles, provisioning, tokens
from .policy_resolution import resources_for_user

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


@dataclass
class EnrollResult:
    """What the view needs: the device, whether it is new, and its rendered profile."""

    device: Device
    created: bool
    profile: dict[str, Any]


@dataclass
class _Placed:
    """An enrollment's outcome before its profile is rendered (after the commit, outside the
    write transaction: rendering and checking the config takes ~0.5 ms)."""

    device: Device
    created: bool
    gateway: Gateway


def _retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if sqlstate in _RETRY_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def enroll(
    user_id: int,
    data: dict[str, Any],
    *,
    session_id: str | None = None,
    bound_device_id: int | None = None,
    meta: RequestMeta = NO_REQUEST,
) -> EnrollResult:
    """Enroll (or re-enroll) a device of ``user_id`` and commit; see the module docstring.

    ``session_id`` is the caller's session (bound to the device unless it already is);
    ``bound_device_id`` the device it is bound to, the only one it may enroll; ``meta`` the
    HTTP caller, whose address the audit row keeps.
    """
    _check_public_key(data["public_key"])
    last_exc: DBAPIError | None = None
    for attempt in range(MAX_ATTEMPTS):
        try:
            placed = _enroll_once(user_id, data, bound_device_id, meta.ip)
            if bound_device_id is None:
                tokens.bind_to_device(session_id, placed.device.id)
            sql.commit_keeping_state()
            return EnrollResult(
                placed.device, placed.created, profiles.build_profile(placed.device, placed.gateway)
            )
        except ApiError:
            db.session.rollback()
            raise
        except DBAPIError as exc:
            db.session.rollback()
            if not _retryable(exc):
                raise
            last_exc = exc
            log.info("enrollment attempt %d hit a concurrent change; retrying", attempt + 1)
    log.warning("enrollment gave up after %d attempts: %s", MAX_ATTEMPTS, type(last_exc).__name__)
    raise ApiError(
        503, "service_unavailable", "The server is busy; retry the enrollment shortly."
    )


def _check_public_key(public_key: object) -> None:
    """400 ``invalid_public_key`` unless it is a WireGuard key; checked here rather than in a
    view so every caller of :func:`enroll` gets it, and before any query."""
    try:
        validate_key(public_key)
    except InvalidKey as exc:
        raise ApiError(
            400,
            "invalid_public_key",
            "The public key is not a WireGuard key.",
            {"public_key": [exc.message]},
        ) from None


def approval_required() -> bool:
    """New devices wait for an admin's approval (``NEXAVPN_DEVICE_APPROVAL=required``)."""
    return current_app.config.get("NEXAVPN_DEVICE_APPROVAL") == "required"


def online_cutoff():
    """Gateways heard from after this instant count as online."""
    return utcnow() - timedelta(seconds=current_app.config["NEXAVPN_GATEWAY_ONLINE_SECONDS"])


def gateway_usable(gateway: Gateway | None) -> bool:
    """Enabled, online and with a public key: a gateway a device can be placed on."""
    return (
        gateway is not None
        and gateway.enabled
        and bool(gateway.public_key)
        and gateway.last_seen_at is not None
        and gateway.last_seen_at >= online_cutoff()
    )


_CANDIDATES = select(Gateway).where(
    Gateway.enabled.is_(True),
    Gateway.public_key.is_not(None),
    Gateway.last_seen_at >= bindparam("cutoff"),
)

# ``status <> 'revoked'`` is written as a literal so the planners can use the partial unique
# indexes (a bound parameter cannot prove the index predicate). A UNION ALL keeps each half on
# its own index; an OR would make SQLite walk every live device.
_IS_LIVE = Device.status != literal_column("'revoked'")
_MATCH_COLUMNS = (Device.id, Device.user_id, Device.fingerprint, Device.public_key)
_MATCHES = union_all(
    select(*_MATCH_COLUMNS).where(_IS_LIVE, Device.public_key == bindparam("public_key")),
    select(*_MATCH_COLUMNS).where(
        _IS_LIVE, Device.user_id == bindparam("user_id"), Device.fingerprint == bindparam("fp")
    ),
).subquery()

# Counting stops at the limit: enough to decide, and bounded however many devices a user has.
_ACTIVE_COUNT = (
    select(func.count())
    .select_from(
        select(literal_column("1"))
        .select_from(Device)
        .where(Device.user_id == bindparam("user_id"), _IS_LIVE)
        .limit(bindparam("limit"))
        .subquery()
    )
    .scalar_subquery()
)

_KEY_REVOKED = (
    select(literal_column("1"))
    .select_from(RevokedPublicKey)
    .where(RevokedPublicKey.public_key == bindparam("public_key"))
    .exists()
)

# One round trip for everything enrollment needs to know about existing devices: the user's
# live-device count (pending ones count toward the limit) and whether the key was ever revoked,
# beside each match (this user's device with the fingerprint, and any live device of anyone
# holding the public key). The outer join to a one-row table keeps the count when nothing
# matches.
_ONE_ROW = select(literal_column("1").label("one")).subquery()
_LOOKUP = select(
    _ACTIVE_COUNT.label("active"),
    _KEY_REVOKED.label("key_revoked"),
    _MATCHES.c.id,
    _MATCHES.c.user_id,
    _MATCHES.c.fingerprint,
    _MATCHES.c.public_key,
).select_from(_ONE_ROW.outerjoin(_MATCHES, true()))

# PostgreSQL: the user's row is locked before counting, in its own statement, so the count is
# read after the lock is granted (a subquery in the locking statement would be read from the
# snapshot taken before waiting, and two racing enrollments could both pass the limit). On
# SQLite every writer already holds the database lock from BEGIN IMMEDIATE.
_LOCK_USER = select(User.id).where(User.id == bindparam("user_id")).with_for_update()


def _candidates() -> list[Gateway]:
    """Enabled, online gateways with a key, least loaded first (by their kept lease count)."""
    gateways = db.session.execute(_CANDIDATES, {"cutoff": online_cutoff()}).scalars().all()
    return sorted(gateways, key=lambda gw: (gw.lease_count, gw.id))


def _place() -> tuple[Gateway, int]:
    """Pick the least loaded usable gateway with room and its lowest free offset.

    The chosen gateway's revision is bumped before its leases are read: a placement always
    changes the gateway's peer set, and on PostgreSQL the UPDATE is also the row lock that keeps
    everyone else off the offset until commit (one round trip instead of a SELECT ... FOR
    UPDATE and a later UPDATE), returning the lease count under that lock. A candidate found
    full after all keeps a harmless extra bump (its agent re-reads an unchanged peer set). The
    caller records the lease once the device row exists.
    """
    candidates = _candidates()
    if not candidates:
        raise ApiError(
            503, contract.NO_ACTIVE_GATEWAY, "No gateway is enabled and online right now."
        )
    for gateway in candidates:
        pools = ipam.pools_of(gateway)
        if gateway.lease_count >= pools.capacity:
            continue
        used = provisioning.bump_gateway_for_placement(gateway.id)
        offset = ipam.lowest_free_offset(gateway.id, pools, count_hint=used)
        if offset is not None:
            return gateway, offset
    raise ApiError(
        409, contract.IP_POOL_EXHAUSTED, "Every active gateway's address pool is full."
    )


def _assign(device: Device, gateway: Gateway, offset: int) -> None:
    v4, v6 = ipam.pools_of(gateway).addresses(offset)
    device.gateway_id = gateway.id
    device.vpn_ip = v4
    device.vpn_ip6 = v6


def _enroll_once(
    user_id: int, data: dict[str, Any], bound_device_id: int | None, ip: str | None
) -> _Placed:
    limit = current_app.config["NEXAVPN_DEVICE_LIMIT"]
    if ipam.is_postgres() and sql.execute(_LOCK_USER, {"user_id": user_id}).first() is None:
        user = None
    else:
        user = db.session.get(User, user_id)  # loaded by the token check: no query
    if user is None:  # deleted between token check and now
        raise ApiError(401, "unauthorized", "This account no longer has access.")
    public_key, fp = data["public_key"], data["fingerprint"]
    rows = sql.execute(
        _LOOKUP, {"public_key": public_key, "user_id": user_id, "fp": fp, "limit": limit}
    ).all()
    active = rows[0].active
    existing_id = next(
        (r.id for r in rows if r.id is not None and r.user_id == user_id and r.fingerprint == fp),
        None,
    )
    holder = next((r.id for r in rows if r.id is not None and r.public_key == public_key), None)
    if bound_device_id is not None and existing_id != bound_device_id:
        raise ApiError(
            403,
            contract.SESSION_BOUND_TO_DEVICE,
            "This session belongs to another device; sign in again to register this one.",
            {"device_id": bound_device_id},
        )
    if rows[0].key_revoked and holder is None:
        raise ApiError(
            409,
            contract.PUBLIC_KEY_REVOKED,
            "This public key belonged to a revoked device and can never be used again; "
            "generate a new key pair.",
        )
    if holder is not None and holder != existing_id:
        raise ApiError(
            409, contract.PUBLIC_KEY_IN_USE, "This public key is already used by another device."
        )
    existing = db.session.get(Device, existing_id) if existing_id is not None else None
    if existing is not None and existing.rotation_required and existing.public_key == public_key:
        raise ApiError(
            409,
            contract.PUBLIC_KEY_IN_USE,
            "This device must rotate its key: re-enroll with a new key pair.",
        )
    if existing is None and active >= limit:
        raise ApiError(
            403,
            contract.DEVICE_LIMIT_REACHED,
            f"You already have {limit} devices; revoke one first.",
            {"limit": limit},
        )

    resources = resources_for_user(user_id)
    if existing is None:
        return _enroll_new(user, data, resources, ip)
    return _reenroll(user, existing, data, resources, ip)


_INSERT_DEVICE = insert(Device)


def _insert_device(user: User, values: dict[str, Any]) -> Device:
    """INSERT a new device with Core and put the identical object into the session.

    The unit of work's flush of one new object costs more Python time than the INSERT itself;
    an object built from exactly the values written and attached with
    ``make_transient_to_detached`` is persistent without a second write, so later changes in
    the same transaction still flush as UPDATEs.
    """
    now = utcnow()
    row = {
        **values,
        "created_at": now,
        "updated_at": now,
        "last_sync_at": None,
        "last_handshake_at": None,
        "revoked_at": None,
        "rx_bytes": 0,
        "tx_bytes": 0,
    }
    device_id = sql.execute(_INSERT_DEVICE, row).inserted_primary_key[0]
    device = Device(id=device_id, **row)
    device.user = user
    make_transient_to_detached(device)
    db.session.add(device)
    return device


def _enroll_new(
    user: User, data: dict[str, Any], resources: list[dict[str, str]], ip: str | None
) -> _Placed:
    gateway, offset = _place()
    v4, v6 = ipam.pools_of(gateway).addresses(offset)
    device = _insert_device(
        user,
        {
            "user_id": user.id,
            "gateway_id": gateway.id,
            "name": data["name"],
            "fingerprint": data["fingerprint"],
            "public_key": data["public_key"],
            "platform": data["platform"],
            "os_version": data.get("os_version"),
            "client_version": data.get("client_version"),
            "status": provisioning.PENDING if approval_required() else provisioning.ACTIVE,
            "vpn_ip": v4,
            "vpn_ip6": v6,
            "profile_revision": 1,
            "rotation_required": False,
            "resources": resources,
        },
    )
    ipam.add_lease(gateway.id, offset, device.id)  # _place bumped the gateway's revision
    provisioning.record_device_event(
        "device.enroll",
        device,
        user,
        {
            "gateway_id": gateway.id,
            "vpn_ip": device.vpn_ip,
            "platform": device.platform,
            "status": device.status,
        },
        ip=ip,
    )
    return _Placed(device, True, gateway)


def _reenroll(
    user: User,
    device: Device,
    data: dict[str, Any],
    resources: list[dict[str, str]],
    ip: str | None,
) -> _Placed:
    key_changed = device.public_key != data["public_key"]
    old_gateway = db.session.get(Gateway, device.gateway_id) if device.gateway_id else None
    lease = ipam.lease_of(device.id)
    gateway = old_gateway
    placed = not gateway_usable(old_gateway) or lease is None
    old_addresses = (device.vpn_ip, device.vpn_ip6)
    if placed:
        ipam.release(device.id)
        db.session.flush()
        gateway, offset = _place()  # bumps the new gateway's revision
        ipam.add_lease(gateway.id, offset, device.id)
        _assign(device, gateway, offset)
    gateway_changed = old_gateway is None or gateway.id != old_gateway.id
    resources_changed = (device.resources or []) != resources
    profile_changed = (
        key_changed
        or gateway_changed
        or resources_changed
        or device.rotation_required
        or device.vpn_ip is None
        or (device.vpn_ip, device.vpn_ip6) != old_addresses
    )

    device.name = data["name"]
    device.platform = data["platform"]
    if "os_version" in data:
        device.os_version = data["os_version"]
    if "client_version" in data:
        device.client_version = data["client_version"]
    device.public_key = data["public_key"]
    device.resources = resources
    device.rotation_required = False
    if profile_changed:
        device.profile_revision = device.profile_revision + 1
    db.session.flush()

    touched = set()
    if (key_changed or resources_changed or gateway_changed) and not placed:
        touched.add(gateway.id)
    if gateway_changed and old_gateway is not None:
        touched.add(old_gateway.id)
    provisioning.bump_gateways(touched)
    provisioning.record_device_event(
        "device.reenroll",
        device,
        user,
        {
            "gateway_id": gateway.id,
            "vpn_ip": device.vpn_ip,
            "key_changed": key_changed,
            "gateway_changed": gateway_changed,
        },
        ip=ip,
    )
    return _Placed(device, False, gateway)
