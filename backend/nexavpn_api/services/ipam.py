"""VPN address allocation: one lease row per device, by host offset in its gateway's pools.

A device at offset ``k`` gets ``vpn_cidr + k`` and, when the gateway has an IPv6 pool,
``vpn_cidr6 + k``. The gateway's own address is the first usable host of each pool, so device
offsets start after it and stop before the IPv4 broadcast address. The ``ip_leases`` primary
key (gateway_id, offset) makes a double allocation impossible; the lowest free offset is found
with index-backed SQL (never by loading devices into Python):

* dense fast path: ``count(*)`` and ``max(offset)`` of the gateway's leases; when they show no
  hole, the answer is ``max + 1`` (one index-only count plus one index seek);
* otherwise a gap query over the leases ordered by offset finds the first hole.

Concurrency: on PostgreSQL the caller's transaction locks the gateway row before allocating
(enrollment's revision bump is that lock), so allocations on one gateway queue instead of
colliding; the primary key is the second line of defence (a violation fails the transaction,
which the enrollment engine retries). On SQLite every write transaction already holds the database
write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, delete, func, insert, or_, select

from nexavpn_shared.netaddr import PoolLayout, pool_layout

from .. import sql
from ..extensions import db
from ..models import Gateway, IpLease

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class GatewayPools:
    """The offsets a gateway may hand to devices, and the pools they map into."""

    v4: PoolLayout
    v6: PoolLayout | None
    first: int
    last: int

    @property
    def capacity(self) -> int:
        """How many devices fit (0 when the pools leave no device address)."""
        return max(0, self.last - self.first + 1)

    def addresses(self, offset: int) -> tuple[str, str | None]:
        """The bare IPv4 (and IPv6) address at ``offset``."""
        v6 = self.v6.address_at(offset) if self.v6 is not None else None
        return self.v4.address_at(offset), v6

    def interfaces(self, offset: int) -> list[str]:
        """The device's interface addresses: ``a.b.c.d/32`` (and ``x::y/128``)."""
        out = [self.v4.device_interface(offset)]
        if self.v6 is not None:
            out.append(self.v6.device_interface(offset))
        return out

    def gateway_interface(self) -> tuple[str, str | None]:
        """The gateway's own interface addresses with the pools' prefixes."""
        return (
            self.v4.gateway_interface,
            self.v6.gateway_interface if self.v6 is not None else None,
        )


@lru_cache(maxsize=1024)
def _pools(vpn_cidr: str, vpn_cidr6: str | None) -> GatewayPools:
    v4 = pool_layout(vpn_cidr, "vpn_cidr")
    v6 = pool_layout(vpn_cidr6, "vpn_cidr6") if vpn_cidr6 else None
    first, last = v4.first_device_offset, v4.last_device_offset
    if v6 is not None:
        first = max(first, v6.first_device_offset)
        last = min(last, v6.last_device_offset)
    return GatewayPools(v4=v4, v6=v6, first=first, last=last)


def pools_of(gateway: Gateway) -> GatewayPools:
    """The pools of ``gateway`` (cached per CIDR pair; layouts are pure values)."""
    return _pools(gateway.vpn_cidr, gateway.vpn_cidr6 or None)


_GW, _FIRST, _LAST = bindparam("gw"), bindparam("first"), bindparam("last")
_IN_RANGE = (IpLease.gateway_id == _GW, IpLease.offset >= _FIRST, IpLease.offset <= _LAST)
_COUNT_MAX = select(func.count(), func.max(IpLease.offset)).where(*_IN_RANGE)
_MAX = select(func.max(IpLease.offset)).where(*_IN_RANGE)
_TAKEN = select(IpLease.offset).where(IpLease.gateway_id == _GW, IpLease.offset == _FIRST)
# The first hole: walk the gateway's leases in offset order beside each one's successor (a
# window function), and stop at the first whose successor is not the next offset. One ordered
# pass that a LIMIT can cut short, whatever the planner believes about the table. The former
# anti-join (NOT EXISTS offset + 1) depended on statistics: planned as a nested loop with a
# scanned inner side, as stale statistics after a bulk import allow, it is quadratic.
_ORDERED = (
    select(
        IpLease.offset.label("offset"),
        func.lead(IpLease.offset).over(order_by=IpLease.offset).label("next"),
    )
    .where(*_IN_RANGE)
    .subquery()
)
_GAP = (
    select(_ORDERED.c.offset + 1)
    .where(
        _ORDERED.c.offset < _LAST,
        or_(_ORDERED.c.next.is_(None), _ORDERED.c.next != _ORDERED.c.offset + 1),
    )
    .order_by(_ORDERED.c.offset)
    .limit(1)
)


def lowest_free_offset(
    gateway_id: int, pools: GatewayPools, count_hint: int | None = None
) -> int | None:
    """The lowest device offset with no lease, or None when the pool is full.

    ``count_hint`` is the gateway's lease count when the caller just read it (enrollment
    does, to pick the least loaded gateway); then only an index seek for ``max(offset)`` is
    needed on the dense path. A stale hint can only make the answer ``max + 1`` instead of a
    lower hole, which is still free (nothing lies above the maximum).
    """
    first, last = pools.first, pools.last
    if last < first:
        return None
    params = {"gw": gateway_id, "first": first, "last": last}
    if count_hint is None:
        count, top = sql.execute(_COUNT_MAX, params).one()
    else:
        count = count_hint
        top = sql.execute(_MAX, params).scalar()
    if not count or top is None:
        return first
    if top - first + 1 <= count and top < last:  # no hole below the highest lease
        return top + 1
    return _first_hole(params)


def _first_hole(params: dict[str, int]) -> int | None:
    """The lowest unleased offset below the highest lease (a gap query over the index)."""
    if sql.execute(_TAKEN, params).first() is None:
        return params["first"]
    return sql.execute(_GAP, params).scalar()


def is_postgres() -> bool:
    """Row locks only matter on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers."""
    return db.session.get_bind().dialect.name == "postgresql"




_INSERT_LEASE = insert(IpLease)


def add_lease(gateway_id: int, offset: int, device_id: int) -> None:
    """Record the lease at once (the primary key refuses a second holder of the offset, and
    the IntegrityError surfaces here, inside the caller's retry loop)."""
    sql.execute(
        _INSERT_LEASE, {"gateway_id": gateway_id, "offset": offset, "device_id": device_id}
    )




def lease_of(device_id: int) -> IpLease | None:
    """The device's current lease, if any."""
    return db.session.execute(
        select(IpLease).where(IpLease.device_id == device_id)
    ).scalar_one_or_none()


def release(device_id: int) -> None:
    """Return the device's addresses to its pool (at once: the lease row goes)."""
    sql.execute(delete(IpLease).where(IpLease.device_id == device_id))
