"""Wake long-polls (gateway agents' configs, devices' profiles) when what they wait for changes.

A transaction that bumps a gateway's revision or changes a device's profile or status marks a
topic (``g<id>``, ``d<id>``). At commit:

* in this process the topic's waiters are woken right away (an ``after_commit`` hook; a
  rolled-back change wakes nobody);
* other processes learn it through :mod:`.notify_bus` — PostgreSQL ``NOTIFY`` issued inside
  the committing transaction, or datagrams between the workers of one SQLite database.

A waiting request reads the database once when it starts and once per wake-up, never on a
timer, and holds no transaction (nor, under gevent, a thread) while it waits.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from ..errors import ApiError
from ..extensions import db
from ..models import Device
from . import notify_bus, waiters

log = logging.getLogger(__name__)

T = TypeVar("T")

_PENDING_KEY = "nexavpn_wake_topics"
_DEVICE_FIELDS = ("profile_revision", "status", "gateway_id", "public_key")

_bus_lock = threading.Lock()
_buses: dict[tuple[int, str], Any] = {}

RETRY_AFTER_BUSY = 5


def gateway_topic(gateway_id: int) -> str:
    """The topic a gateway agent's config long-poll waits on."""
    return f"g{int(gateway_id)}"


def device_topic(device_id: int) -> str:
    """The topic a device's profile long-poll waits on."""
    return f"d{int(device_id)}"


def _mark(session: Session, topics: Iterable[str]) -> None:
    topics = set(topics)
    if topics:
        session.info.setdefault(_PENDING_KEY, set()).update(topics)


def mark_changed(gateway_ids: Iterable[int | None]) -> None:
    """Gateways whose desired state changed: wake their agents once this transaction commits."""
    _mark(db.session, (gateway_topic(g) for g in gateway_ids if g is not None))


def mark_devices_changed(device_ids: Iterable[int | None]) -> None:
    """Devices whose profile or status changed: wake their clients once this commits."""
    _mark(db.session, (device_topic(d) for d in device_ids if d is not None))


def wake(gateway_ids: Iterable[int]) -> None:
    """Wake every in-process waiter of these gateways now."""
    waiters.wake(gateway_topic(g) for g in gateway_ids)


def begin_shutdown() -> None:
    """Release every waiting long-poll at once (they answer 304) so a worker stops quickly.

    Without this a graceful stop waits for each long-poll to time out (up to 60 s); agents and
    clients simply poll again, at the next server process.
    """
    waiters.begin_shutdown()


# ----------------------------------------------------------------- the process's bus


def bus_for(engine) -> Any:
    """This process's notification bus for ``engine``'s database (one per process and URL)."""
    url = engine.url
    key = (os.getpid(), url.render_as_string(hide_password=True))
    with _bus_lock:
        bus = _buses.get(key)
        if bus is None:
            bus = _buses[key] = _make_bus(engine)
        return bus


def _make_bus(engine) -> Any:
    from ..config import postgres_connect_args, sqlite_file

    url = engine.url
    if url.get_backend_name() == "postgresql":
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return notify_bus.PostgresBus(conninfo, postgres_connect_args(current_app.config))
    path = sqlite_file(url.render_as_string(hide_password=False))
    if path is None:
        return None  # in-memory database: one process, in-process wake-ups suffice
    return notify_bus.SocketBus(notify_bus.socket_dir_for(path))


# ----------------------------------------------------------------- session hooks


@event.listens_for(Session, "before_flush")
def _collect_device_changes(session: Session, _ctx, _instances) -> None:
    """ORM edits of a device's profile-relevant columns (status, revision, key…) wake it."""
    topics = set()
    for obj in session.dirty:
        if isinstance(obj, Device) and obj.id is not None:
            state = inspect(obj)
            if any(state.attrs[f].history.has_changes() for f in _DEVICE_FIELDS):
                topics.add(device_topic(obj.id))
    for obj in session.deleted:
        if isinstance(obj, Device) and obj.id is not None:
            topics.add(device_topic(obj.id))
    _mark(session, topics)


@event.listens_for(Session, "before_commit")
def _notify_other_processes(session: Session) -> None:
    """On PostgreSQL, NOTIFY inside the committing transaction (delivered only if it commits)."""
    if session.get_nested_transaction() is not None:
        return
    if session.dirty or session.new or session.deleted:
        session.flush()  # collect topics of ORM changes that commit would flush after this hook
    pending = session.info.get(_PENDING_KEY)
    if not pending:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    for payload in notify_bus.payloads(notify_bus.sender_id(), pending):
        conn.execute(select(func.pg_notify(notify_bus.CHANNEL, payload)))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    waiters.wake(pending)
    try:
        bind = session.get_bind()
    except Exception:
        return
    engine = getattr(bind, "engine", bind)
    if engine.dialect.name == "postgresql" or not has_app_context():
        return
    try:
        bus = bus_for(engine)
        if bus is not None:
            bus.publish_local_commit(pending)
    except OSError:
        log.exception("could not tell the other workers about a change")


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    # Only the outermost rollback discards the changes; a SAVEPOINT rollback keeps the rest.
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_PENDING_KEY, None)


# ----------------------------------------------------------------- waiting


def clamp_wait(wait: float | None) -> float:
    """A long-poll's ``wait`` limited to 0..min(60, NEXAVPN_LONGPOLL_MAX_SECONDS)."""
    limit = min(60.0, float(current_app.config.get("NEXAVPN_LONGPOLL_MAX_SECONDS", 60)))
    return max(0.0, min(float(wait or 0.0), limit))


def _end_transaction() -> None:
    """Never hold a transaction (or, on SQLite, a read snapshot) while sleeping."""
    db.session.rollback()
    db.session.close()


def _pausing_deadline(sleep: Callable[[], bool]) -> bool:
    """Sleep with the request's database deadline suspended (waiting is not database work)."""
    from ..green import paused

    # The one request read left in services: WSGI plumbing (the deadline the server hooks put
    # in the environ for this worker), not client metadata; threading it through every
    # long-poll view would only move the same lookup.
    holder = request.environ.get("nexavpn.deadline") if has_request_context() else None
    if holder is None:
        return sleep()
    with paused(holder):
        return sleep()


def _announce_claim(bus: Any, exclusive_key: str, arrived_ns: int) -> None:
    """Tell the other server processes (workers, other hosts) that this exclusive poll arrived,
    so an older one waiting there answers 304 at once: one waiting poll per gateway token.

    On PostgreSQL a NOTIFY in a short transaction of its own (one round trip per poll, under
    the request's database deadline like any other); on SQLite a datagram to the other workers.
    """
    topic = notify_bus.claim_topic(exclusive_key, arrived_ns)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            select(func.pg_notify(notify_bus.CHANNEL, f"{notify_bus.sender_id()} {topic}"))
        )
        db.session.commit()
        _end_transaction()
        return
    if bus is not None:
        try:
            bus.publish_local_commit([topic])
        except OSError:
            log.warning("could not announce a long-poll to the other workers", exc_info=True)


def wait_for(
    topic: str,
    read: Callable[[], T],
    changed: Callable[[T], bool],
    timeout: float,
    *,
    exclusive_key: str | None = None,
) -> T | None:
    """Wait (bounded) until ``changed(read())``; None when unchanged, replaced or stopping.

    ``read`` runs in a short transaction of its own, once now and once per wake-up. Beyond
    this process's long-poll capacity the request is refused at once with 503 + Retry-After.
    """
    capacity = int(current_app.config.get("NEXAVPN_LONGPOLL_CAPACITY", waiters.DEFAULT_CAPACITY))
    bus = bus_for(db.engine)

    def before_wait(arrived_ns: int) -> None:
        if bus is not None and not bus.ensure_listening():
            log.warning("long-poll waits without the notification listener (database down?)")
        if exclusive_key:
            _announce_claim(bus, exclusive_key, arrived_ns)

    def read_once() -> T:
        try:
            return read()
        finally:
            _end_transaction()

    _end_transaction()
    try:
        return waiters.wait_for_change(
            topic,
            read_once,
            changed,
            timeout,
            capacity=capacity,
            exclusive_key=exclusive_key,
            before_wait=before_wait,
            around_wait=_pausing_deadline,
        )
    except waiters.AtCapacity:
        raise ApiError(
            503,
            "server_busy",
            "This server holds as many waiting requests as it may; retry shortly.",
            {"retry_after": RETRY_AFTER_BUSY},
            headers={"Retry-After": str(RETRY_AFTER_BUSY)},
        ) from None
