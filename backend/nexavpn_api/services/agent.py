"""What a gateway agent sees and reports: its desired state, and heartbeats with peer stats."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from nexavpn_shared.contract import DEFAULT_LISTEN_PORT
from nexavpn_shared.keys import InvalidKey, validate_key

from ..errors import ApiError
from ..extensions import db
from ..models import Device, Gateway
from ..models._types import utcnow
from ..request_meta import NO_REQUEST, RequestMeta
from . import audit, ipam, notify, provisioning
from .policy_resolution import destinations

log = logging.getLogger(__name__)

CHUNK = 500


def listen_port_of(gateway: Gateway) -> int:
    """The UDP port: as the agent reported it, else the endpoint's port."""
    if gateway.listen_port:
        return gateway.listen_port
    _host, _, port = (gateway.endpoint or "").rpartition(":")
    return int(port) if port.isdigit() and 0 < int(port) < 65536 else DEFAULT_LISTEN_PORT


def build_config(gateway_id: int) -> dict[str, Any] | None:
    """The gateway's desired state. The revision is read before the peers, so the peers are
    never older than the revision the agent will report back as ``after``."""
    gateway = db.session.execute(
        select(Gateway).where(Gateway.id == gateway_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if gateway is None:
        return None
    pools = ipam.pools_of(gateway)
    address, address6 = pools.gateway_interface()
    rows = db.session.execute(
        select(Device.id, Device.public_key, Device.vpn_ip, Device.vpn_ip6, Device.resources)
        .where(Device.gateway_id == gateway_id, Device.status == provisioning.ACTIVE)
        .order_by(Device.id)
    ).all()
    peers = []
    for dev_id, key, ip4, ip6, resources in rows:
        if not ip4:
            continue
        allowed = [f"{ip4}/32"] + ([f"{ip6}/128"] if ip6 else [])
        peers.append(
            {
                "public_key": key,
                "allowed_ips": allowed,
                "destinations": destinations(resources or []),
                "device_id": dev_id,
            }
        )
    return {
        "revision": gateway.revision,
        "interface": {
            "address": address,
            "address6": address6,
            "listen_port": listen_port_of(gateway),
            "mtu": gateway.mtu,
            "dns": list(gateway.dns or []),
        },
        "peers": peers,
    }


def clamp_wait(wait: float | None) -> float:
    """``wait`` limited to 0..min(60, NEXAVPN_LONGPOLL_MAX_SECONDS)."""
    return notify.clamp_wait(wait)


def config_or_wait(gateway_id: int, after: int | None, wait: float) -> dict[str, Any] | None:
    """The config now, or after the revision moves past ``after`` (None: unchanged → 304)."""
    current = db.session.execute(
        select(Gateway.revision).where(Gateway.id == gateway_id)
    ).scalar_one()
    if after is None or current != after:
        return build_config(gateway_id)
    if wait <= 0:
        return None

    def revision() -> int | None:
        return db.session.execute(
            select(Gateway.revision).where(Gateway.id == gateway_id)
        ).scalar_one_or_none()

    moved = notify.wait_for(
        notify.gateway_topic(gateway_id),
        revision,
        lambda rev: rev != after,
        wait,
        exclusive_key=f"agent:{gateway_id}",  # a second poll with the token replaces the first
    )
    if moved is None:
        return None
    return build_config(gateway_id)


def _handshake_time(ts: int) -> datetime | None:
    if not ts:
        return None
    try:
        when = datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return min(when, utcnow())


def key_holder(key: str, *, exclude_gateway: int | None = None) -> str | None:
    """Who already uses ``key``: "gateway", "device" (any status: a revoked device's key
    stays burnt) or None. One key must name one peer, or traffic could be steered."""
    other_gw = select(Gateway.id).where(Gateway.public_key == key)
    if exclude_gateway is not None:
        other_gw = other_gw.where(Gateway.id != exclude_gateway)
    if db.session.execute(other_gw.limit(1)).first() is not None:
        return "gateway"
    if db.session.execute(select(Device.id).where(Device.public_key == key).limit(1)).first():
        return "device"
    return None


def heartbeat(gateway: Gateway, data: dict[str, Any], *, meta: RequestMeta = NO_REQUEST) -> None:
    """Store what the agent reports: key, port, liveness and per-peer handshakes/counters;
    ``meta`` is the agent's connection, whose address the audit rows keep."""
    try:
        key = validate_key(data["public_key"])
    except InvalidKey as exc:
        raise ApiError(
            400, "invalid_public_key", "The public key is not a WireGuard key.",
            {"public_key": [exc.message]},
        ) from None
    gateway.last_seen_at = utcnow()
    if key != gateway.public_key:
        holder = key_holder(key, exclude_gateway=gateway.id)
        if holder is not None:
            audit.record(
                "gateway.key_refused",
                actor_type="gateway",
                actor_id=gateway.id,
                target_type="gateway",
                target_id=gateway.id,
                ip=meta.ip,
                details={"public_key": key, "in_use_by": holder},
            )
            db.session.commit()
            raise ApiError(
                409,
                "public_key_in_use",
                "This public key belongs to another gateway or a device; generate a new one.",
                {"public_key": [f"in use by a {holder}"]},
            )
        previous = gateway.public_key
        gateway.public_key = key
        db.session.flush()
        provisioning.refresh_gateway(gateway.id)
        audit.record(
            "gateway.update",
            actor_type="gateway",
            actor_id=gateway.id,
            target_type="gateway",
            target_id=gateway.id,
            ip=meta.ip,
            details={
                "changed": ["public_key"],
                "public_key": key,
                "replaced": previous is not None,
                "previous_public_key": previous,
            },
        )
    port = data.get("listen_port")
    if port is not None and port != gateway.listen_port:
        gateway.listen_port = port
        db.session.flush()
        provisioning.bump_gateways([gateway.id])
    _store_peer_stats(gateway.id, data.get("peers") or [])
    db.session.commit()


def _store_peer_stats(gateway_id: int, peers: list[dict[str, Any]]) -> None:
    reported = {p["public_key"]: p for p in peers}
    keys = sorted(reported)
    updates: list[dict[str, Any]] = []
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        rows = db.session.execute(
            select(
                Device.id,
                Device.public_key,
                Device.last_handshake_at,
                Device.rx_bytes,
                Device.tx_bytes,
            ).where(
                Device.gateway_id == gateway_id,
                Device.status == provisioning.ACTIVE,
                Device.public_key.in_(chunk),
            )
        ).all()
        for dev_id, key, seen, rx, tx in rows:
            stat = reported[key]
            when = _handshake_time(stat["latest_handshake"])
            new_seen = when if when is not None and (seen is None or when > seen) else seen
            if (new_seen, stat["rx_bytes"], stat["tx_bytes"]) != (seen, rx, tx):
                updates.append(
                    {
                        "id": dev_id,
                        "last_handshake_at": new_seen,
                        "rx_bytes": stat["rx_bytes"],
                        "tx_bytes": stat["tx_bytes"],
                    }
                )
    if updates:
        db.session.execute(update(Device), updates)
