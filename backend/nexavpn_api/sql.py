"""Core statements on the session's own connection, for hot paths.

``db.session.execute`` runs even a plain Core statement through the ORM's execution machinery,
which costs about 0.1 ms of Python per statement, more than SQLite takes to run it. Enrollment
and the token check issue a dozen such statements per request, so they use this instead. The
semantics match ``session.execute`` for Core statements: pending ORM changes are flushed first
(as autoflush would) and the statement runs in the session's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Executable

from .extensions import db


def execute(statement: Executable, params: dict[str, Any] | None = None) -> CursorResult[Any]:
    """Run a Core statement in the current session's transaction (flushing pending changes)."""
    session = db.session()
    session.flush()  # returns at once when nothing is pending
    return session.connection().execute(statement, params)


def commit_keeping_state() -> None:
    """Commit without expiring loaded objects, when the answer is built from what was just
    written: re-reading it after the commit would only cost a query (and, in a request that
    writes on SQLite, the write lock again)."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
