"""Login rate limiting that holds across server processes.

The audit trail is the counter: every failed login is already an ``auth.login_failed`` row, so
counting recent rows per username and per client address needs no shared memory, no extra
table and survives restarts. Attempts refused by the limiter are audited with reason
``rate_limited`` and do not count, so the lock-out ends one window after the last real try.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditEvent
from ..models._types import utcnow

LOGIN_OK = "auth.login"
LOGIN_FAILED = "auth.login_failed"
REASON_RATE_LIMITED = "rate_limited"


def _limits() -> tuple[int, int, int]:
    """(max failures per username, max failures per IP, window seconds) from the config."""
    cfg = current_app.config
    per_user = int(cfg.get("NEXAVPN_LOGIN_MAX_FAILURES", 5))
    per_ip = int(cfg.get("NEXAVPN_LOGIN_MAX_FAILURES_PER_IP") or 0) or per_user * 4
    return per_user, per_ip, int(cfg.get("NEXAVPN_LOGIN_WINDOW_SECONDS", 300))


def _failure_times(condition, since: datetime, limit: int) -> list[datetime]:
    """The newest ``limit`` counted failures matching ``condition`` after ``since``."""
    stmt = (
        select(AuditEvent.at)
        .where(
            AuditEvent.action == LOGIN_FAILED,
            AuditEvent.at > since,
            condition,
            AuditEvent.details["reason"].as_string() != REASON_RATE_LIMITED,
        )
        .order_by(AuditEvent.at.desc())
        .limit(limit)
    )
    return list(db.session.execute(stmt).scalars())


def _wait(times: list[datetime], limit: int, window: int, now: datetime) -> float | None:
    """Seconds until fewer than ``limit`` failures remain in the window, or None if not over."""
    if limit <= 0 or len(times) < limit:
        return None
    return (times[limit - 1] + timedelta(seconds=window) - now).total_seconds()


def retry_after(username: str, ip: str | None) -> int | None:
    """Seconds the caller must wait before another login attempt, or None when allowed.

    Per username the count restarts after a successful login of that username (its owner
    proved the password); per address it never does (an attacker could log into their own
    account to reset it).
    """
    per_user, per_ip, window = _limits()
    now = utcnow()
    start = now - timedelta(seconds=window)
    waits: list[float] = []

    user_cond = AuditEvent.details["username"].as_string() == username
    last_ok = db.session.execute(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.action == LOGIN_OK, AuditEvent.at > start, user_cond
        )
    ).scalar_one_or_none()
    since = max(start, last_ok) if last_ok is not None else start
    wait = _wait(_failure_times(user_cond, since, per_user), per_user, window, now)
    if wait is not None:
        waits.append(wait)

    if ip:
        wait = _wait(_failure_times(AuditEvent.ip == ip, start, per_ip), per_ip, window, now)
        if wait is not None:
            waits.append(wait)

    if not waits:
        return None
    return max(1, math.ceil(max(waits)))
