"""Append audit events in the caller's transaction, so an action and its record commit together."""

from __future__ import annotations

from typing import Any

from flask import has_request_context

from ..extensions import db
from ..models import AuditEvent


def record(
    action: str,
    *,
    actor_type: str,
    actor_id: Any = None,
    target_type: str | None = None,
    target_id: Any = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit row to the session (the caller commits)."""
    if ip is None and has_request_context():
        from ..security import client_ip

        ip = client_ip()
    event = AuditEvent(
        actor_type=actor_type,
        actor_id=None if actor_id is None else str(actor_id),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=ip,
        details=details or {},
    )
    db.session.add(event)
    return event


def record_by_user(action: str, user: Any, **kwargs: Any) -> AuditEvent:
    """An action taken by a signed-in user."""
    return record(action, actor_type="user", actor_id=user.id, **kwargs)


def record_by_system(action: str, **kwargs: Any) -> AuditEvent:
    """An action taken from the ops CLI."""
    return record(action, actor_type="system", **kwargs)
