"""``nexavpn-server backup`` / ``restore`` for the embedded SQLite database.

Why the sqlite3 backup API rather than copying the file: the server keeps the database in WAL
mode, so the file alone may miss committed pages that still sit in ``-wal``; the backup API
copies a consistent snapshot through SQLite itself while the server keeps serving (readers never
block the writer). PostgreSQL deployments use ``pg_dump``/``pg_restore`` (docs/operations.md):
these commands say so and exit 2 instead of pretending.

The backup file is a plain SQLite database (``sqlite3 FILE .tables`` works), written 0600
because it holds password hashes. The generated secrets beside the database (``secret_key``,
``jwt_secret_key``) are not in it: without them a restored server only makes everybody sign in
again (agent tokens are stored as plain hashes and keep working).
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from .config import create_private_file

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_HINT = (
    "The database is PostgreSQL: back it up with pg_dump, e.g.\n"
    "  pg_dump --format=custom --file=nexavpn.dump \"$NEXAVPN_DATABASE_URL\"\n"
    "and restore with pg_restore --clean --if-exists --dbname=URL nexavpn.dump "
    "(see docs/operations.md)."
)


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why in ops terms."""

    def __init__(self, message: str, exit_code: int = EXIT_FAIL) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def configured_database_url() -> str:
    """The SQLAlchemy URL the server would use (same rules as the app's config)."""
    from .config import load_config

    return str(load_config()["SQLALCHEMY_DATABASE_URI"])


def sqlite_path(url: str) -> Path:
    """The database file of a SQLite URL; BackupError (exit 2) for anything else."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        raise BackupError(PG_HINT, EXIT_USAGE)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(f"unsupported database backend {parsed.get_backend_name()!r}", EXIT_USAGE)
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("the database is in memory; there is nothing to back up", EXIT_USAGE)
    return Path(parsed.database).resolve()


def _match_owner(path: Path, like: Path) -> None:
    """When root writes into a service's data dir, hand the file to the dir's owner."""
    if os.geteuid() != 0 or not path.exists():
        return
    st = like.stat()
    os.chown(path, st.st_uid, st.st_gid)


def _user_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows]


def table_counts(path: Path) -> dict[str, int]:
    """Row count of every application table (alembic_version excluded)."""
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        return {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608 (names from sqlite_master)
            for t in _user_tables(conn)
            if t != "alembic_version"
        }
    finally:
        conn.close()


def backup_sqlite(source: Path, output: Path) -> dict[str, int]:
    """Copy a consistent snapshot of ``source`` to ``output`` (atomic rename, mode 0600)."""
    if not source.is_file():
        raise BackupError(f"no database at {source} (has the server ever started?)")
    output = output.resolve()
    if output == source:
        raise BackupError("the output must not be the live database")
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".nexavpn-backup-", dir=output.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        src = sqlite3.connect(str(source), timeout=30)
        try:
            dst = sqlite3.connect(str(tmp))
            try:
                # pages=-1: the whole database in one step, so the copy is one snapshot.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
                check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        if check != "ok":
            raise BackupError(f"the copy failed its integrity check: {check}")
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return table_counts(output)


def _validate_backup(path: Path) -> None:
    """Refuse anything that is not an intact NexaVPN SQLite backup."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    with path.open("rb") as fh:
        if fh.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(f"{path} is not a SQLite database (PostgreSQL dumps: pg_restore)")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        tables = set(_user_tables(conn))
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} cannot be read: {exc}") from None
    finally:
        conn.close()
    if check != "ok":
        raise BackupError(f"{path} failed its integrity check: {check}")
    if not {"alembic_version", "users"} <= tables:
        raise BackupError(f"{path} is not a NexaVPN database (no users/alembic_version tables)")


def has_data(path: Path) -> bool:
    """True when the database holds any application row (a freshly migrated one does not)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        return any(n > 0 for n in table_counts(path).values())
    except sqlite3.DatabaseError:
        return True  # unreadable: treat as precious, never overwrite silently


def restore_sqlite(backup: Path, target: Path, *, force: bool = False) -> dict[str, int]:
    """Replace ``target``'s content with the backup's (server stopped; --force to overwrite)."""
    backup = backup.resolve()
    _validate_backup(backup)
    if backup == target:
        raise BackupError("the backup is the live database itself")
    if has_data(target) and not force:
        raise BackupError(
            f"{target} already holds data; stop the server and add --force to replace it"
        )
    create_private_file(target)
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(str(target), timeout=30)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=WAL")  # what the server uses
        finally:
            dst.close()
    finally:
        src.close()
    _match_owner(target, target.parent)
    return table_counts(target)


def _summary(counts: dict[str, int]) -> str:
    keys = ("users", "devices", "gateways", "policies", "audit_events")
    return ", ".join(f"{k}={counts.get(k, 0)}" for k in keys)


def cmd_backup(args: argparse.Namespace) -> int:
    """``nexavpn-server backup --output FILE``."""
    try:
        source = sqlite_path(configured_database_url())
        counts = backup_sqlite(source, Path(args.output))
    except BackupError as exc:
        print(f"error: {exc}" if exc.exit_code != EXIT_USAGE else str(exc), file=sys.stderr)
        return exc.exit_code
    print(f"Backed up {source} to {Path(args.output).resolve()} ({_summary(counts)}).")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    """``nexavpn-server restore --input FILE [--force]``, then apply pending migrations."""
    from .cli import run_migrations

    try:
        target = sqlite_path(configured_database_url())
        counts = restore_sqlite(Path(args.input), target, force=args.force)
    except BackupError as exc:
        print(f"error: {exc}" if exc.exit_code != EXIT_USAGE else str(exc), file=sys.stderr)
        return exc.exit_code
    run_migrations()  # a backup from an older release is brought up to this one's schema
    print(f"Restored {Path(args.input).resolve()} into {target} ({_summary(counts)}).")
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``backup`` and ``restore`` on the server CLI."""
    p = sub.add_parser("backup", help="online, consistent copy of the SQLite database")
    p.add_argument("--output", required=True, help="file to write (mode 0600)")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="restore a backup into this server's data dir (stopped)")
    p.add_argument("--input", required=True, help="a file made by nexavpn-server backup")
    p.add_argument(
        "--force", action="store_true", help="replace a database that already holds data"
    )
    p.set_defaults(func=cmd_restore)
