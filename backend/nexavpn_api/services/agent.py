"""What a gateway agent sees and reports: its desired state, and heartbeats with peer stats."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Text, cast, select, update

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
PEER_CACHE_SIZE = 65536  # serialised peers kept per process (~300 bytes each)


def listen_port_of(gateway: Gateway) -> int:
    """The UDP port: as the agent reported it, else the endpoint's port."""
    if gateway.listen_port:
        return gateway.listen_port
    _host, _, port = (gateway.endpoint or "").rpartition(":")
    return int(port) if port.isdigit() and 0 < int(port) < 65536 else DEFAULT_LISTEN_PORT


def config_json(gateway_id: int) -> str | None:
    """The gateway's desired state as the JSON document the agent receives (None: no gateway)."""
    built = _revision_and_config(gateway_id)
    return built[1] if built else None


def _revision_and_config(gateway_id: int) -> tuple[int, str] | None:
    """(revision, config document) of the gateway, or None when there is no such gateway.

    The revision is read before the peers, so the peers are never older than the revision the
    agent will report back as ``after``. Each peer's JSON is built once per distinct row and
    reused (:func:`_peer_json`): this document is what every change waits on, and decoding
    1,000 ``resources`` columns and serialising 1,000 peers again on every wake-up cost ~10 ms.
    """
    gateway = db.session.execute(
        select(Gateway).where(Gateway.id == gateway_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if gateway is None:
        return None
    pools = ipam.pools_of(gateway)
    address, address6 = pools.gateway_interface()
    peer_rows = Device.__table__.c  # Core columns: no ORM row processing for 1,000 rows
    rows = db.session.connection().execute(
        select(
            peer_rows.id,
            peer_rows.public_key,
            peer_rows.vpn_ip,
            peer_rows.vpn_ip6,
            cast(peer_rows.resources, Text),  # the stored text: the cache key, decoded on a miss
        )
        .where(peer_rows.gateway_id == gateway_id, peer_rows.status == provisioning.ACTIVE)
        .order_by(peer_rows.id)
    ).all()
    interface = {
        "address": address,
        "address6": address6,
        "listen_port": listen_port_of(gateway),
        "mtu": gateway.mtu,
        "dns": list(gateway.dns or []),
    }
    peers = ",".join(_peer_json(*row) for row in rows if row[2])
    return gateway.revision, (
        f'{{"revision":{int(gateway.revision)},'
        f'"interface":{json.dumps(interface, separators=(",", ":"))},'
        f'"peers":[{peers}]}}'
    )


@lru_cache(maxsize=PEER_CACHE_SIZE)
def _peer_json(
    device_id: int, public_key: str, ip4: str, ip6: str | None, resources_text: str | None
) -> str:
    """One peer of the agent config, serialised; keyed by every column it is built from, so a
    changed row is a new entry (and old ones age out)."""
    resources = json.loads(resources_text) if resources_text else []
    return json.dumps(
        {
            "public_key": public_key,
            "allowed_ips": [f"{ip4}/32"] + ([f"{ip6}/128"] if ip6 else []),
            "destinations": destinations(resources or []),
            "device_id": device_id,
        },
        separators=(",", ":"),
    )


def clamp_wait(wait: float | None) -> float:
    """``wait`` limited to 0..min(60, NEXAVPN_LONGPOLL_MAX_SECONDS)."""
    return notify.clamp_wait(wait)


def config_or_wait(gateway_id: int, after: int | None, wait: float) -> str | None:
    """The config now, or after the revision moves past ``after`` (None: unchanged → 304)."""
    if after is None:
        return config_json(gateway_id)
    if _revision(gateway_id) != after:
        return config_json(gateway_id)
    if wait <= 0:
        return None
    woken = False

    def read() -> tuple[int | None, str | None]:
        # Before the wait only the revision matters. A wake-up means the revision has almost
        # surely moved, so the document is built in that same short transaction: a revoke
        # reaches the agent one transaction (three round trips on PostgreSQL) sooner.
        nonlocal woken
        if not woken:
            woken = True
            return _revision(gateway_id), None
        return _revision_and_config(gateway_id) or (None, None)

    moved = notify.wait_for(
        notify.gateway_topic(gateway_id),
        read,
        lambda value: value[0] != after,
        wait,
        exclusive_key=f"agent:{gateway_id}",  # a second poll with the token replaces the first
    )
    if moved is None:
        return None
    revision, document = moved
    if document is None and revision is not None:  # it moved before the wait began
        return config_json(gateway_id)
    return document


def _revision(gateway_id: int) -> int | None:
    return db.session.execute(
        select(Gateway.revision).where(Gateway.id == gateway_id)
    ).scalar_one_or_none()


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
