"""A database that is down, overloaded or silent answers 503 ``database_unavailable`` quickly.

Connect, statement and pool timeouts plus TCP keepalives (see :func:`.config.engine_options`)
turn most faults into SQLAlchemy errors; a database that accepts bytes but never answers is
caught by the per-request deadline (gevent worker), which the long-poll waits suspend.
Nothing here needs a restart: invalidated connections are replaced on the next checkout.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from sqlalchemy import exc as sa_exc

from .errors import envelope
from .green import DatabaseDeadline, is_green

log = logging.getLogger(__name__)

RETRY_AFTER = 5
CODE = "database_unavailable"
MESSAGE = "The database is not available; retry shortly."


def unavailable_response():
    """The 503 envelope with Retry-After."""
    resp = envelope(503, CODE, MESSAGE, {"retry_after": RETRY_AFTER})
    resp.headers["Retry-After"] = str(RETRY_AFTER)
    return resp


def _is_database_fault(exc: BaseException) -> bool:
    """Connection, timeout and pool errors; also anything raised while the deadline unwound
    a database call (the driver may fail cleaning up the interrupted exchange)."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, DatabaseDeadline):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _Deadline:
    """WSGI middleware: each request's database work runs under a deadline (gevent only)."""

    def __init__(self, wsgi_app: Callable[..., Any], seconds: float) -> None:
        self.wsgi_app = wsgi_app
        self.seconds = seconds

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self.seconds <= 0 or not is_green():
            return self.wsgi_app(environ, start_response)
        import gevent

        timer = gevent.Timeout(self.seconds, DatabaseDeadline)
        environ["nexavpn.deadline"] = {"timer": timer}
        timer.start()
        try:
            return self.wsgi_app(environ, start_response)
        except (DatabaseDeadline, sa_exc.SQLAlchemyError) as exc:
            # A database error can also escape Flask from its teardown: the session's rollback
            # on a connection the deadline interrupted mid-exchange (the pool's pre-ping then
            # replaces that connection).
            if not isinstance(exc, DatabaseDeadline) and not _is_database_fault(exc):
                raise
            log.warning("database deadline passed or connection broken (%ss): %s %s",
                        self.seconds, environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            details = {"retry_after": RETRY_AFTER}
            body = json.dumps(
                {"error": {"code": CODE, "message": MESSAGE, "details": details}}
            ).encode()
            start_response(
                "503 SERVICE UNAVAILABLE",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("Retry-After", str(RETRY_AFTER)),
                ],
                sys.exc_info(),  # replaces a status Flask may already have started
            )
            return [body]
        finally:
            timer.close()


def init_db_faults(app: Flask) -> None:
    """503 for database faults; the per-request deadline around the WSGI app."""

    @app.errorhandler(sa_exc.SQLAlchemyError)
    def _database_error(exc: sa_exc.SQLAlchemyError):
        if not _is_database_fault(exc):
            log.exception("unhandled database error")
            return envelope(500, "internal_error", "An internal error occurred.")
        orig = getattr(exc, "orig", None) or exc
        first_line = (str(orig).splitlines() or [""])[0][:160]
        log.warning("database unavailable: %s: %s", type(orig).__name__, first_line)
        return unavailable_response()

    seconds = float(app.config.get("NEXAVPN_DB_DEADLINE_SECONDS") or 0)
    if str(app.config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        # A local file cannot go silent, and a SQLite call cannot be interrupted anyway: the
        # busy timeout bounds lock waits (a deadline would only turn slow writes into 503s).
        seconds = 0
    app.wsgi_app = _Deadline(app.wsgi_app, seconds)  # type: ignore[method-assign]
