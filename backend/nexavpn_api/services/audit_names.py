"""Names for the ids in the audit trail: filter by a user name or target name, show names.

Events keep ids (names change, objects get deleted); an admin thinks in names. A name filter
matches the objects that carry that name today (case-insensitively), so events about a deleted
object are found by its id only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select

from ..extensions import db
from ..models import AuditEvent, Device, Gateway, Policy, User

_NAMED: dict[str, tuple[Any, Any]] = {
    "user": (User, User.username),
    "policy": (Policy, Policy.name),
    "gateway": (Gateway, Gateway.name),
    "device": (Device, Device.name),
}
ACTOR_KINDS = ("user", "gateway")
TARGET_KINDS = ("user", "policy", "gateway", "device")
_MAX_ID_DIGITS = 18  # ids are stored as text; anything longer cannot be a row id


def _ids_named(kind: str, name: str) -> list[str]:
    model, column = _NAMED[kind]
    rows = db.session.execute(select(model.id).where(func.lower(column) == name.lower()))
    return [str(i) for i in rows.scalars()]


def name_filter(type_col: Any, id_col: Any, kinds: tuple[str, ...], name: str) -> ColumnElement:
    """Events whose (type, id) is one of the objects of ``kinds`` named ``name``."""
    terms = [and_(type_col == kind, id_col.in_(ids))
             for kind in kinds if (ids := _ids_named(kind, name))]
    return or_(*terms) if terms else false()


def actor_filter(name: str) -> ColumnElement:
    """Events done by the user or gateway called ``name``."""
    return name_filter(AuditEvent.actor_type, AuditEvent.actor_id, ACTOR_KINDS, name)


def target_filter(name: str) -> ColumnElement:
    """Events about the user, policy, gateway or device called ``name``."""
    return name_filter(AuditEvent.target_type, AuditEvent.target_id, TARGET_KINDS, name)


def _names(wanted: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for kind, (model, column) in _NAMED.items():
        ids = {int(i) for k, i in wanted
               if k == kind and i.isdigit() and len(i) <= _MAX_ID_DIGITS}
        if ids:
            for row_id, name in db.session.execute(
                    select(model.id, column).where(model.id.in_(ids))):
                out[(kind, str(row_id))] = name
    return out


def with_names(events: list[AuditEvent]) -> list[dict[str, Any]]:
    """The events as dicts plus ``actor_name``/``target_name`` (None: no such object now)."""
    wanted = {(e.actor_type, e.actor_id) for e in events if e.actor_id} | {
        (e.target_type, e.target_id) for e in events if e.target_type and e.target_id}
    names = _names(wanted)
    return [{
        "id": e.id, "at": e.at, "actor_type": e.actor_type, "actor_id": e.actor_id,
        "action": e.action, "target_type": e.target_type, "target_id": e.target_id,
        "ip": e.ip, "details": e.details,
        "actor_name": names.get((e.actor_type, e.actor_id or "")),
        "target_name": names.get((e.target_type or "", e.target_id or "")),
    } for e in events]
