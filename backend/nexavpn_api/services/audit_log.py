"""Reading the audit trail (writing is :mod:`.audit`): filters, newest first, pagination."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..models import AuditEvent
from ..pagination import paginate
from .audit_names import actor_filter, target_filter, with_names


def list_events(args: dict[str, Any]) -> dict[str, Any]:
    """One page of events matching every given filter, newest first."""
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    for field in ("actor_type", "actor_id", "target_type", "target_id"):
        if args.get(field) is not None:
            stmt = stmt.where(getattr(AuditEvent, field) == args[field])
    action = args.get("action")
    if action:
        if action.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == action)
    if args.get("since") is not None:
        stmt = stmt.where(AuditEvent.at >= args["since"])
    if args.get("until") is not None:
        stmt = stmt.where(AuditEvent.at <= args["until"])
    if args.get("actor"):
        stmt = stmt.where(actor_filter(args["actor"]))
    if args.get("target"):
        stmt = stmt.where(target_filter(args["target"]))
    page = paginate(stmt, args["page"], args["per_page"])
    return {**page, "items": with_names(list(page["items"]))}
