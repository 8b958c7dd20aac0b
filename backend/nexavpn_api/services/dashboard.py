"""The admin dashboard's figures, each from one aggregate query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from ..extensions import db
from ..models import AuditEvent, Device, Gateway, User
from .enrollment import online_cutoff

RECENT = 10


def summary() -> dict[str, Any]:
    """Counts of users, devices and gateways plus the latest enrollments and audit events."""
    users = db.session.execute(select(func.count()).select_from(User)).scalar_one()
    by_status = dict(
        db.session.execute(select(Device.status, func.count()).group_by(Device.status)).all()
    )
    cutoff = online_cutoff()
    online_expr = case((Gateway.last_seen_at >= cutoff, 1), else_=0)
    online, total = db.session.execute(
        select(func.coalesce(func.sum(online_expr), 0), func.count()).select_from(Gateway)
    ).one()
    recent_devices = (
        db.session.execute(
            select(Device).order_by(Device.created_at.desc(), Device.id.desc()).limit(RECENT)
        )
        .scalars()
        .all()
    )
    recent_audit = (
        db.session.execute(
            select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(RECENT)
        )
        .scalars()
        .all()
    )
    return {
        "users": users,
        "devices": {
            "active": by_status.get("active", 0),
            "pending": by_status.get("pending", 0),
            "revoked": by_status.get("revoked", 0),
        },
        "gateways": {"online": int(online), "offline": int(total) - int(online)},
        "recent_enrollments": recent_devices,
        "recent_audit": recent_audit,
    }
