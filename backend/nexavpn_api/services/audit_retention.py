"""Audit retention: the trail is append-only for the API, and bounded in time by the operator."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_

from ..extensions import db
from ..models import AuditEvent, LoginThrottle
from ..models._types import utcnow
from . import audit


def prune(days: int) -> int:
    """Delete audit events older than ``days`` (and stale sign-in counters); the caller commits.

    The deletion itself is audited, so a pruned trail says when and how far it was cut.
    """
    now = utcnow()
    cutoff = now - timedelta(days=days)
    removed = db.session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff)).rowcount
    window = int(current_app.config.get("NEXAVPN_LOGIN_WINDOW_SECONDS", 300))
    known_days = int(current_app.config.get("NEXAVPN_LOGIN_KNOWN_CLIENT_DAYS", 30))
    db.session.execute(
        delete(LoginThrottle).where(
            or_(
                (LoginThrottle.scope != "known")
                & (LoginThrottle.window_start < now - timedelta(seconds=window)),
                LoginThrottle.window_start < now - timedelta(days=max(known_days, 1)),
            )
        )
    )
    audit.record_by_system(
        "audit.prune", details={"removed": removed, "before": cutoff.isoformat(), "days": days}
    )
    return removed
