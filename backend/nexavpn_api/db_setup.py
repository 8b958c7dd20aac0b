"""Database engine tuning: SQLite in WAL mode with write transactions that cannot deadlock."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Iterator

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .green import is_green

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_PHASE = "nexavpn_read_phase"

# How long a writer waits for SQLite's write lock before the request gets a 503.
LOCK_WAIT_SECONDS = 30.0
# Under gevent the wait happens in Python (see _begin_immediate_cooperatively); SQLite's own busy
# handler then only bridges a few milliseconds, because it sleeps with the whole worker stopped.
_GREEN_BUSY_TIMEOUT_MS = 5


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record) -> None:
    """WAL (readers never block the writer), a busy timeout, foreign keys, and manual BEGIN."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    busy_ms = _GREEN_BUSY_TIMEOUT_MS if is_green() else int(LOCK_WAIT_SECONDS * 1000)
    cur.execute(f"PRAGMA busy_timeout={busy_ms}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-32768")
    cur.execute("PRAGMA mmap_size=268435456")
    cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    """Writers take the write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes can fail at once with SQLITE_BUSY when
    another writer got there first (the busy timeout cannot help a lock upgrade); taking the
    lock at BEGIN makes concurrent writers queue instead. Read-only requests stay deferred so
    they run beside a writer.
    """
    if conn.dialect.name != "sqlite":
        return
    if has_request_context() and (request.method in _READ_METHODS or g.get(_READ_PHASE)):
        conn.exec_driver_sql("BEGIN")
    elif is_green():
        _begin_immediate_cooperatively(conn)
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _begin_immediate_cooperatively(conn) -> None:
    """BEGIN IMMEDIATE that waits for the write lock without stopping the gevent worker.

    SQLite's busy handler sleeps inside C: under gevent that stops every greenlet of the
    process, including one of ours that holds the lock and only needs the hub to finish (it
    may be reading its request body). Workers then sat out the whole busy timeout together
    and answered 503. Here each attempt blocks at most a few milliseconds, and the wait
    between attempts is a cooperative sleep. The last attempt goes through SQLAlchemy so a
    lock that never frees becomes the usual OperationalError (a 503).
    """
    import gevent

    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = 0.001
    while time.monotonic() < deadline:
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc):
                break  # not a lock wait: let SQLAlchemy raise it, wrapped as usual
        gevent.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret
        pause = min(pause * 2, 0.02)
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.contextmanager
def read_phase() -> Iterator[None]:
    """Reads of a writing request that must not hold the SQLite write lock (ended on exit).

    A login reads the user, then hashes for tens of milliseconds: inside this block the
    transaction is deferred (no write lock), and it is ended before the slow step so the write
    that follows takes the lock only for itself.
    """
    from .extensions import db

    g.setdefault(_READ_PHASE, False)
    setattr(g, _READ_PHASE, True)
    try:
        yield
    finally:
        db.session.rollback()
        setattr(g, _READ_PHASE, False)
