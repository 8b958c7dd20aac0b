"""Database engine tuning: SQLite in WAL mode with write transactions that cannot deadlock."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_PHASE = "nexavpn_read_phase"


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record) -> None:
    """WAL (readers never block the writer), a busy timeout, foreign keys, and manual BEGIN."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
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
    else:
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
