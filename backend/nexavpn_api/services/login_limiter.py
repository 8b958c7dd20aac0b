"""Password-guess throttling for every step that checks a secret (sign-in, password change, MFA).

Three fixed-window failure counters, kept in ``login_throttle`` so they hold across server
processes and restarts:

* (username, client address): ``NEXAVPN_LOGIN_MAX_FAILURES`` per window, always enforced;
* username alone: ``NEXAVPN_LOGIN_MAX_FAILURES_PER_USER`` (default four times that), the slower
  global backoff against guessing from many addresses;
* client address alone: ``NEXAVPN_LOGIN_MAX_FAILURES_PER_IP`` (default four times), against
  spraying many usernames from one address.

A client address that signed in to the username successfully within
``NEXAVPN_LOGIN_KNOWN_CLIENT_DAYS`` is *known*: only its own (username, address) counter applies
to it, so nobody elsewhere can lock the owner out by failing on purpose.

An attempt is counted by :func:`check` *before* the secret is verified, in one short transaction
holding the counter rows locked, so concurrent guesses cannot all pass a check made before any
of them failed; :func:`record_success` hands the reservation back. Refused attempts are counted
apart (they neither extend a lock nor count as guesses) and audited in aggregate: one row at the
1st, 10th, 100th... refusal of a window, carrying the running count.

Usage (the caller's session must hold no uncommitted changes when it calls :func:`check`)::

    attempt = login_limiter.check(username, meta.ip)   # 429 ApiError when over a limit
    if not secret_ok:
        login_limiter.record_failure(attempt, "bad_password", user)   # audits and commits
    login_limiter.record_success(attempt)                  # joins the caller's transaction
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..clock import Clock, resolve
from ..errors import ApiError
from ..extensions import db
from ..models import LoginThrottle, User
from . import audit

LOGIN_OK = "auth.login"
LOGIN_FAILED = "auth.login_failed"
REASON_RATE_LIMITED = "rate_limited"

SCOPE_USER_IP = "user_ip"
SCOPE_USER = "user"
SCOPE_IP = "ip"
SCOPE_KNOWN = "known"


@dataclass(frozen=True)
class Attempt:
    """One counted try, as :func:`check` reserved it."""

    username: str  # normalised (stripped, lower case, at most 64 characters)
    digest: str
    ip: str
    known: bool
    scopes: tuple[tuple[str, str, str], ...]


def normalise(username: str) -> str:
    """How usernames are compared for throttling (they are unique regardless of case)."""
    return username.strip().lower()[:64]


def digest(username: str) -> str:
    """A keyed digest of a username: what the counters and, for unknown names, the audit keep."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, normalise(username).encode(), hashlib.sha256).hexdigest()


def audit_username(username: str, user: User | None) -> str:
    """The username as the audit trail may keep it: verbatim only if it names a real user."""
    if user is not None:
        return user.username
    return "sha256:" + digest(username)[:16]


def _limits() -> tuple[int, int, int, int, int]:
    """(per user+address, per user, per address, window seconds, known-client days)."""
    cfg = current_app.config
    per_pair = int(cfg.get("NEXAVPN_LOGIN_MAX_FAILURES", 5))
    per_user = int(cfg.get("NEXAVPN_LOGIN_MAX_FAILURES_PER_USER") or 0) or per_pair * 4
    per_ip = int(cfg.get("NEXAVPN_LOGIN_MAX_FAILURES_PER_IP") or 0) or per_pair * 4
    window = int(cfg.get("NEXAVPN_LOGIN_WINDOW_SECONDS", 300))
    known_days = int(cfg.get("NEXAVPN_LOGIN_KNOWN_CLIENT_DAYS", 30))
    return per_pair, per_user, per_ip, window, known_days


def _insert_missing(scope: str, username_digest: str, ip: str, now: datetime) -> None:
    """Create the counter row unless it exists (atomic on both databases)."""
    dialect = db.session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = (
        module.insert(LoginThrottle)
        .values(scope=scope, username_digest=username_digest, ip=ip, window_start=now, attempts=0)
        .on_conflict_do_nothing()
    )
    db.session.execute(stmt)


def _locked_counter(scope: tuple[str, str, str], now: datetime) -> tuple[datetime, int, int]:
    """Create the counter row if needed and lock it: (window_start, attempts, refused).

    On PostgreSQL a successful sign-in committing between our insert and our lock may delete
    the row (record_success restarts the counts); the row is then simply made again.
    """
    query = (
        select(LoginThrottle.window_start, LoginThrottle.attempts, LoginThrottle.refused)
        .where(
            LoginThrottle.scope == scope[0],
            LoginThrottle.username_digest == scope[1],
            LoginThrottle.ip == scope[2],
        )
        .with_for_update()
    )
    for _ in range(5):
        _insert_missing(*scope, now)
        row = db.session.execute(query).one_or_none()
        if row is not None:
            return row[0], row[1], row[2]
    raise RuntimeError("login counter row kept disappearing")  # pragma: no cover


def _is_known(username_digest: str, ip: str, now: datetime, days: int) -> bool:
    if not ip or days <= 0:
        return False
    since = now - timedelta(days=days)
    return (
        db.session.execute(
            select(LoginThrottle.window_start).where(
                LoginThrottle.scope == SCOPE_KNOWN,
                LoginThrottle.username_digest == username_digest,
                LoginThrottle.ip == ip,
                LoginThrottle.window_start > since,
            )
        ).first()
        is not None
    )


def _refused_column_bump(scope: tuple[str, str, str], start: datetime, refused: int) -> None:
    db.session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.scope == scope[0],
            LoginThrottle.username_digest == scope[1],
            LoginThrottle.ip == scope[2],
        )
        .values(window_start=start, refused=refused)
    )


def check(username: str, ip: str | None, *, clock: Clock | None = None) -> Attempt:
    """Count one attempt, or refuse it with 429 ``rate_limited`` (Retry-After) when over a limit.

    Commits its own short transaction (the counter rows stay locked only for its duration).
    Windows are measured by ``clock`` (default: the app's, see :mod:`nexavpn_api.clock`).
    """
    per_pair, per_user, per_ip, window, known_days = _limits()
    now = resolve(clock)()
    name = normalise(username)
    dg = digest(name)
    addr = (ip or "")[:64]
    known = _is_known(dg, addr, now, known_days)
    wanted: list[tuple[tuple[str, str, str], int]] = [((SCOPE_USER_IP, dg, addr), per_pair)]
    if not known:
        wanted.append(((SCOPE_USER, dg, ""), per_user))
        if addr:
            wanted.append(((SCOPE_IP, "", addr), per_ip))

    rows: list[tuple[tuple[str, str, str], int, datetime, int, int]] = []
    for scope, limit in wanted:  # always the same order: concurrent checks cannot deadlock
        start, attempts, refused = _locked_counter(scope, now)
        if start + timedelta(seconds=window) <= now:  # the window is over: a fresh one
            start, attempts, refused = now, 0, 0
        rows.append((scope, limit, start, attempts, refused))

    over = [r for r in rows if r[3] >= r[1]]
    if over:
        waits: list[float] = []
        top = 0
        for scope, _limit, start, _attempts, refused in over:
            _refused_column_bump(scope, start, refused + 1)
            waits.append((start + timedelta(seconds=window) - now).total_seconds())
            top = max(top, refused + 1)
        if top == 1 or _power_of_ten(top):
            audit.record(
                LOGIN_FAILED,
                actor_type="user",
                ip=addr or None,
                details={
                    "username": audit_username(name, None) if not _exists(name) else name,
                    "reason": REASON_RATE_LIMITED,
                    "refused": top,
                    "window_start": min(r[2] for r in over).isoformat(),
                },
            )
        db.session.commit()
        wait = max(1, math.ceil(max(waits)))
        raise ApiError(
            429,
            "rate_limited",
            "Too many failed sign-in attempts; try again later.",
            {"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )

    for scope, _limit, start, attempts, refused in rows:
        db.session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.scope == scope[0],
                LoginThrottle.username_digest == scope[1],
                LoginThrottle.ip == scope[2],
            )
            .values(window_start=start, attempts=attempts + 1, refused=refused)
        )
    db.session.commit()
    return Attempt(name, dg, addr, known, tuple(r[0] for r in rows))


def _power_of_ten(n: int) -> bool:
    return n >= 10 and math.log10(n).is_integer()


def _exists(name: str) -> bool:
    return (
        db.session.execute(
            select(User.id).where(func.lower(User.username) == name).limit(1)
        ).first()
        is not None
    )


def record_failure(
    attempt: Attempt, reason: str, user: User | None, *, action: str = LOGIN_FAILED
) -> None:
    """Audit a failed try (the counters already hold it) and commit, though the request fails."""
    audit.record(
        action,
        actor_type="user",
        actor_id=user.id if user else None,
        target_type="user" if user else None,
        target_id=user.id if user else None,
        ip=attempt.ip or None,
        details={"username": audit_username(attempt.username, user), "reason": reason},
    )
    db.session.commit()


def record_success(attempt: Attempt, *, clock: Clock | None = None) -> None:
    """The secret was right: hand the reservation back, restart the username's counts and
    remember the address as known. Runs in the caller's transaction (the caller commits)."""
    now = resolve(clock)()
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.scope.in_((SCOPE_USER_IP, SCOPE_USER)),
            LoginThrottle.username_digest == attempt.digest,
            LoginThrottle.ip.in_((attempt.ip, "")),
        )
    )
    if (SCOPE_IP, "", attempt.ip) in attempt.scopes:
        db.session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.scope == SCOPE_IP,
                LoginThrottle.username_digest == "",
                LoginThrottle.ip == attempt.ip,
                LoginThrottle.attempts > 0,
            )
            .values(attempts=LoginThrottle.attempts - 1)
        )
    if attempt.ip:
        _insert_missing(SCOPE_KNOWN, attempt.digest, attempt.ip, now)
        db.session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.scope == SCOPE_KNOWN,
                LoginThrottle.username_digest == attempt.digest,
                LoginThrottle.ip == attempt.ip,
            )
            .values(window_start=now)
        )


def unlock(username: str) -> int:
    """Clear every failure counter of a username (ops: ``nexavpn-server unlock``); the caller
    commits. Known clients stay known. Returns how many counters were cleared."""
    return db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.scope.in_((SCOPE_USER_IP, SCOPE_USER)),
            LoginThrottle.username_digest == digest(username),
        )
    ).rowcount
