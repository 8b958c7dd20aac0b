"""Wake gateway agents' long-polls when their desired state changes.

Two paths, so it works with one process or many:

* in-process: a ``threading.Condition`` per gateway, notified right after the transaction that
  bumped the gateway's revision commits (an ``after_commit`` session hook; a rolled-back change
  wakes nobody);
* across processes: a waiting request re-reads the gateway's ``revision`` row every
  ``POLL_INTERVAL`` seconds in its own short read transaction, so a change committed by another
  worker is seen within that interval. No transaction stays open while a request sleeps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Gateway

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
_PENDING_KEY = "nexavpn_wake_gateways"

_lock = threading.Lock()
_conditions: dict[int, threading.Condition] = {}
_generations: dict[int, int] = {}
_shutting_down = threading.Event()


def _condition(gateway_id: int) -> threading.Condition:
    with _lock:
        cond = _conditions.get(gateway_id)
        if cond is None:
            cond = _conditions[gateway_id] = threading.Condition()
            _generations.setdefault(gateway_id, 0)
        return cond


def mark_changed(gateway_ids: Iterable[int | None]) -> None:
    """Remember gateways to wake once the current transaction commits."""
    ids = {int(g) for g in gateway_ids if g is not None}
    if not ids:
        return
    pending: set[int] = db.session.info.setdefault(_PENDING_KEY, set())
    pending.update(ids)


def wake(gateway_ids: Iterable[int]) -> None:
    """Wake every in-process waiter of these gateways now."""
    for gid in set(gateway_ids):
        cond = _condition(gid)
        with cond:
            _generations[gid] = _generations.get(gid, 0) + 1
            cond.notify_all()


def begin_shutdown() -> None:
    """Release every waiting long-poll at once (they answer 304) so a worker stops quickly.

    Without this a graceful stop waits for each agent's long-poll to time out (up to 60 s);
    the agents simply poll again, at the next server process.
    """
    _shutting_down.set()
    with _lock:
        ids = list(_conditions)
    wake(ids)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if pending:
        wake(pending)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    # Only the outermost rollback discards the changes; a SAVEPOINT rollback keeps the rest.
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_PENDING_KEY, None)


def read_revision(gateway_id: int) -> int | None:
    """The gateway's committed revision, read in a short transaction of its own."""
    with db.engine.connect() as conn:
        value = conn.execute(select(Gateway.revision).where(Gateway.id == gateway_id)).scalar()
        conn.rollback()
    return value


def wait_for_revision_change(
    gateway_id: int,
    after: int,
    timeout: float,
    *,
    reader: Callable[[int], int | None] = read_revision,
    poll_interval: float | None = None,
) -> int | None:
    """Block until the gateway's revision differs from ``after`` or ``timeout`` passes.

    Returns the new revision, or None on timeout, when the gateway disappeared or when the
    process is shutting down. The
    caller must have ended its own transaction before calling (see module docstring).
    """
    interval = POLL_INTERVAL if poll_interval is None else poll_interval
    deadline = time.monotonic() + max(0.0, timeout)
    cond = _condition(gateway_id)
    while not _shutting_down.is_set():
        with cond:
            seen_generation = _generations.get(gateway_id, 0)
        current = reader(gateway_id)
        if current is None:
            return None
        if current != after:
            return current
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        with cond:
            if _generations.get(gateway_id, 0) == seen_generation:
                cond.wait(min(interval, remaining))
    return None
