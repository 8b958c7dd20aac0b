"""Database engine tuning: SQLite in WAL mode with write transactions that cannot deadlock."""

from __future__ import annotations

import sqlite3

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    if has_request_context() and request.method in _READ_METHODS:
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
