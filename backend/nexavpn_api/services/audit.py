"""Append audit events in the caller's transaction, so an action and its record commit together.

Rows are written with a Core INSERT at once rather than added to the ORM session: nothing ever
reads an event back in the transaction that wrote it, and the unit of work costs more than the
insert itself on hot paths such as enrollment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from .. import sql
from ..models import AuditEvent

_INSERT = insert(AuditEvent)


def record(
    action: str,
    *,
    actor_type: str,
    actor_id: Any = None,
    target_type: str | None = None,
    target_id: Any = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one audit row in the current transaction (the caller commits).

    ``ip`` is the caller's address as the view handed it down (``RequestMeta.ip``); this module
    does not look at the HTTP request, so a row from the CLI simply has none.
    """
    sql.execute(
        _INSERT,
        {
            "actor_type": actor_type,
            "actor_id": None if actor_id is None else str(actor_id),
            "action": action,
            "target_type": target_type,
            "target_id": None if target_id is None else str(target_id),
            "ip": ip,
            "details": details or {},
        },
    )


def record_by_user(action: str, user: Any, **kwargs: Any) -> None:
    """An action taken by a signed-in user."""
    record(action, actor_type="user", actor_id=user.id, **kwargs)


def record_by_system(action: str, **kwargs: Any) -> None:
    """An action taken from the ops CLI."""
    record(action, actor_type="system", **kwargs)
