"""Which destinations a user's devices may reach: the enabled policies naming the user or a group.

Matching is done in SQL (``policy_users`` / ``policy_groups`` ⋈ ``user_groups``) so affected
users are found without looking at every policy or device in Python.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import Select, bindparam, select, union

from nexavpn_shared.netaddr import InvalidValue, resolve_destinations

from .. import sql
from ..models import Policy, PolicyGroup, PolicyUser, UserGroup

log = logging.getLogger(__name__)

Resources = list[dict[str, str]]

# Stay well below SQLite's bound-parameter limit when users come in large batches.
CHUNK = 500


def _build_grants_stmt() -> Select:
    """(user_id, policy name, destinations) of the enabled policies reaching ``:user_ids``.

    Built once with an expanding bind parameter: constructing the union costs more Python
    time than running it.
    """
    user_ids = bindparam("user_ids", expanding=True)
    direct = (
        select(PolicyUser.user_id.label("user_id"), Policy.id.label("policy_id"))
        .join(Policy, Policy.id == PolicyUser.policy_id)
        .where(PolicyUser.user_id.in_(user_ids), Policy.enabled.is_(True))
    )
    via_group = (
        select(UserGroup.user_id.label("user_id"), Policy.id.label("policy_id"))
        .join(PolicyGroup, PolicyGroup.name == UserGroup.name)
        .join(Policy, Policy.id == PolicyGroup.policy_id)
        .where(UserGroup.user_id.in_(user_ids), Policy.enabled.is_(True))
    )
    pairs = union(direct, via_group).subquery()
    return (
        select(pairs.c.user_id, Policy.name, Policy.destinations)
        .join(Policy, Policy.id == pairs.c.policy_id)
        .order_by(pairs.c.user_id, Policy.name)
    )


_GRANTS = _build_grants_stmt()


def _resolve(grants: list[tuple[str, str]]) -> Resources:
    return [{"destination": dest, "policy": name} for dest, name in _collapse(tuple(grants))]


@lru_cache(maxsize=4096)
def _collapse(grants: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Normalise and collapse (a pure function of the grants, so cached: every enrollment of a
    user with the same policies would otherwise redo the same address arithmetic)."""
    try:
        pairs = resolve_destinations(grants)
    except InvalidValue:
        # Policies are validated on write; a bad stored value must not break every profile.
        log.error("a stored policy destination is invalid; skipping the bad entries")
        good = []
        for cidr, name in grants:
            try:
                resolve_destinations([(cidr, name)])
            except InvalidValue:
                continue
            good.append((cidr, name))
        pairs = resolve_destinations(good)
    return tuple((dest, name) for dest, name in pairs)


def resources_for_users(user_ids: Iterable[int]) -> dict[int, Resources]:
    """Effective destinations of each user (users with no policy map to an empty list)."""
    ids = sorted({int(u) for u in user_ids})
    grants: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for user_id, name, destinations in sql.execute(_GRANTS, {"user_ids": chunk}):
            for cidr in destinations or []:
                grants[user_id].append((cidr, name))
    return {uid: _resolve(grants.get(uid, [])) for uid in ids}


def resources_for_user(user_id: int) -> Resources:
    """Effective destinations of one user, each with the policy granting it."""
    return resources_for_users([user_id])[int(user_id)]


def destinations(resources: Resources) -> list[str]:
    """Just the CIDRs of resolved resources (already collapsed and ordered)."""
    return [r["destination"] for r in resources]
