"""Gateways: admin CRUD, pool rules (no overlaps, room for devices) and one-time agent tokens."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from nexavpn_shared.keys import InvalidKey, validate_key
from nexavpn_shared.netaddr import (
    InvalidValue,
    pool_layout,
    pools_overlap,
    validate_dns,
    validate_endpoint,
    validate_name,
)

from ..errors import ApiError, not_found, validation_error
from ..extensions import db
from ..models import Device, Gateway, IpLease, User
from ..models._types import utcnow
from ..pagination import paginate
from ..request_meta import NO_REQUEST, RequestMeta
from ..security import hash_token
from . import audit, provisioning
from .server_info import agent_command

log = logging.getLogger(__name__)

# Fields whose change alters every device profile of the gateway (and the agent's config).
PROFILE_FIELDS = ("endpoint", "public_key", "dns", "mtu", "vpn_cidr", "vpn_cidr6")
POOL_FIELDS = ("vpn_cidr", "vpn_cidr6")
ACTIVE = "active"


def new_agent_token() -> tuple[str, str]:
    """A fresh agent token and the SHA-256 hex that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def is_online(gw: Gateway) -> bool:
    """A heartbeat younger than NEXAVPN_GATEWAY_ONLINE_SECONDS means online."""
    if gw.last_seen_at is None:
        return False
    limit = int(current_app.config.get("NEXAVPN_GATEWAY_ONLINE_SECONDS", 90))
    return utcnow() - gw.last_seen_at < timedelta(seconds=limit)


def present(gw: Gateway, peer_count: int | None = None) -> dict[str, Any]:
    """The API view of a gateway (status and peer count are derived)."""
    if peer_count is None:
        peer_count = provisioning.active_device_count(gw.id)
    return {
        "id": gw.id,
        "name": gw.name,
        "endpoint": gw.endpoint,
        "public_key": gw.public_key,
        "vpn_cidr": gw.vpn_cidr,
        "vpn_cidr6": gw.vpn_cidr6,
        "dns": list(gw.dns or []),
        "mtu": gw.mtu,
        "enabled": gw.enabled,
        "status": "online" if is_online(gw) else "offline",
        "last_seen_at": gw.last_seen_at,
        "peer_count": peer_count,
        "listen_port": gw.listen_port,
        "created_at": gw.created_at,
    }


def get_gateway(gateway_id: int) -> Gateway:
    """A gateway by id, or 404."""
    gw = db.session.get(Gateway, gateway_id)
    if gw is None:
        raise not_found("Gateway")
    return gw


def list_gateways(args: dict[str, Any]) -> dict[str, Any]:
    """One page of gateways with their peer counts (one grouped count query per page)."""
    page = paginate(select(Gateway).order_by(Gateway.id), args["page"], args["per_page"])
    ids = [gw.id for gw in page["items"]]
    counts: dict[int, int] = {}
    if ids:
        counts = dict(
            db.session.execute(
                select(Device.gateway_id, func.count())
                .where(Device.gateway_id.in_(ids), Device.status == ACTIVE)
                .group_by(Device.gateway_id)
            ).all()
        )
    page["items"] = [present(gw, counts.get(gw.id, 0)) for gw in page["items"]]
    return page


def _check_pool(cidr: str, field: str, version: int) -> str:
    """A strict CIDR of the right family with room for the gateway and at least one device."""
    layout = pool_layout(cidr, field)
    if layout.network.version != version:
        raise InvalidValue(field, f"must be an IPv{version} network")
    if layout.capacity < 1:
        raise InvalidValue(field, "leaves no address for devices; use a larger network")
    return str(layout.network)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Validate and canonicalise the given fields (400 naming the field; bad key → 400
    ``invalid_public_key``)."""
    out = dict(data)
    try:
        if "name" in data:
            out["name"] = validate_name(data["name"], "name")
        if "endpoint" in data:
            out["endpoint"] = validate_endpoint(data["endpoint"], "endpoint")
        if "vpn_cidr" in data:
            out["vpn_cidr"] = _check_pool(data["vpn_cidr"], "vpn_cidr", 4)
        if data.get("vpn_cidr6") is not None:
            out["vpn_cidr6"] = _check_pool(data["vpn_cidr6"], "vpn_cidr6", 6)
        if "dns" in data:
            out["dns"] = validate_dns(data["dns"], "dns")
    except InvalidValue as exc:
        raise validation_error({exc.field: [exc.message]}) from None
    if data.get("public_key") is not None:
        try:
            out["public_key"] = validate_key(data["public_key"], "public_key")
        except InvalidKey as exc:
            raise ApiError(
                400,
                "invalid_public_key",
                "The public key is not a valid WireGuard key.",
                {exc.field: [exc.message]},
            ) from None
    return out


def _check_unique(values: dict[str, Any], exclude_id: int | None) -> None:
    """409 when the name is taken or a pool overlaps another gateway's pool."""
    stmt = select(Gateway)
    if exclude_id is not None:
        stmt = stmt.where(Gateway.id != exclude_id)
    others = db.session.execute(stmt).scalars().all()
    name = values.get("name")
    if name is not None and any(o.name.casefold() == name.casefold() for o in others):
        raise ApiError(409, "conflict", "A gateway with this name exists.", {"name": ["taken"]})
    for field in POOL_FIELDS:
        cidr = values.get(field)
        if cidr is None:
            continue
        for other in others:
            theirs = getattr(other, field)
            if theirs and pools_overlap(cidr, theirs):
                raise ApiError(
                    409,
                    "conflict",
                    "The address pool overlaps another gateway's pool.",
                    {field: [f"overlaps the pool of gateway {other.id} ({other.name})"]},
                )


def _commit_or_conflict(*, flush_only: bool = False) -> None:
    """Commit (or flush); a unique-name race lost to a concurrent request is a 409."""
    try:
        if flush_only:
            db.session.flush()
        else:
            db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(
            409, "conflict", "A gateway with this name exists.", {"name": ["taken"]}
        ) from None


def create_gateway(
    actor: User, data: dict[str, Any], *, origin: str, meta: RequestMeta = NO_REQUEST
) -> dict[str, Any]:
    """Create a gateway; the answer carries the agent token, shown this once."""
    values = _normalise(data)
    _check_unique(values, None)
    token, digest = new_agent_token()
    gw = Gateway(
        name=values["name"],
        endpoint=values["endpoint"],
        public_key=values.get("public_key"),
        vpn_cidr=values["vpn_cidr"],
        vpn_cidr6=values.get("vpn_cidr6"),
        dns=values.get("dns", []),
        mtu=values.get("mtu", 1420),
        enabled=values.get("enabled", True),
        agent_token_hash=digest,
        revision=1,
    )
    db.session.add(gw)
    _commit_or_conflict(flush_only=True)
    audit.record_by_user(
        "gateway.create",
        actor,
        target_type="gateway",
        target_id=gw.id,
        ip=meta.ip,
        details={
            k: getattr(gw, k) for k in ("name", "endpoint", "vpn_cidr", "vpn_cidr6", "enabled")
        },
    )
    _commit_or_conflict()
    return {**present(gw, 0), "agent_token": token, "agent_command": _agent_command(gw, origin)}


def update_gateway(
    actor: User, gw: Gateway, data: dict[str, Any], *, meta: RequestMeta = NO_REQUEST
) -> dict[str, Any]:
    """Apply a PATCH. Profile-relevant changes bump the devices' and the gateway's revisions."""
    for field in ("name", "endpoint", "vpn_cidr", "dns", "mtu", "enabled"):
        if field in data and data[field] is None:
            raise validation_error({field: ["may not be null"]})
    values = _normalise(data)
    changed = [k for k, v in values.items() if getattr(gw, k) != v]
    if not changed:
        return present(gw)
    pool_change = [f for f in POOL_FIELDS if f in changed]
    if pool_change and provisioning.live_device_count(gw.id) > 0:
        raise ApiError(
            409,
            "gateway_in_use",
            "Devices (active or awaiting approval) use this gateway's address pool; "
            "revoke them before changing it.",
            {f: ["in use by active devices"] for f in pool_change},
        )
    _check_unique({k: values[k] for k in changed if k in ("name", *POOL_FIELDS)}, gw.id)
    for field in changed:
        setattr(gw, field, values[field])
    _commit_or_conflict(flush_only=True)
    if any(f in PROFILE_FIELDS for f in changed):
        provisioning.refresh_gateway(gw.id)
    elif "enabled" in changed:
        provisioning.bump_gateways([gw.id])
    audit.record_by_user(
        "gateway.update",
        actor,
        target_type="gateway",
        target_id=gw.id,
        ip=meta.ip,
        details={"changed": changed, **{f: getattr(gw, f) for f in changed}},
    )
    _commit_or_conflict()
    db.session.refresh(gw)
    return present(gw)


def rotate_agent_token(
    actor: User, gw: Gateway, *, origin: str, meta: RequestMeta = NO_REQUEST
) -> dict[str, Any]:
    """Replace the agent token (the old one stops working at once); the new one is shown once.

    Audited as ``gateway.update`` with ``changed: ["agent_token"]`` (never the token).
    """
    token, digest = new_agent_token()
    gw.agent_token_hash = digest
    audit.record_by_user(
        "gateway.update",
        actor,
        target_type="gateway",
        target_id=gw.id,
        ip=meta.ip,
        details={"changed": ["agent_token"]},
    )
    db.session.commit()
    return {**present(gw), "agent_token": token, "agent_command": _agent_command(gw, origin)}


def _agent_command(gw: Gateway, origin: str) -> str:
    """The agent's start command for this gateway (listen port from its public endpoint)."""
    port = gw.endpoint.rsplit(":", 1)[-1]
    return agent_command(int(port) if port.isdigit() else 51820, origin)


def delete_gateway(actor: User, gw: Gateway, *, meta: RequestMeta = NO_REQUEST) -> None:
    """Delete a gateway no active device uses (409 ``gateway_in_use`` otherwise).

    Revoked devices keep their records, detached from the gateway.
    """
    if provisioning.live_device_count(gw.id) > 0:
        raise ApiError(
            409,
            "gateway_in_use",
            "Devices (active or awaiting approval) use this gateway; revoke or delete them first.",
        )
    gw_id, name = gw.id, gw.name
    db.session.execute(
        update(Device)
        .where(Device.gateway_id == gw_id)
        .values(gateway_id=None)
        .execution_options(synchronize_session="fetch")
    )
    db.session.execute(delete(IpLease).where(IpLease.gateway_id == gw_id))
    db.session.delete(gw)
    audit.record_by_user(
        "gateway.delete",
        actor,
        target_type="gateway",
        target_id=gw_id,
        ip=meta.ip,
        details={"name": name},
    )
    db.session.commit()
