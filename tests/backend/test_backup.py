"""``nexavpn-server backup`` / ``restore`` for real: SQLite data dirs made by the CLI itself,
rows written through the models, a backup taken while a writer holds an open transaction, and a
restore into a fresh data dir that a new server reads back.

These tests pin their own SQLite data dirs (the PostgreSQL run of the suite sets
NEXAVPN_TEST_DATABASE_URL, which is not what these commands are for).
"""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from nexavpn_api import cli

FINGERPRINT = "ab" * 32
PUBLIC_KEY = "x" * 43 + "="


@pytest.fixture
def datadir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point the CLI at a data dir of our choosing (SQLite); returns a switcher."""
    monkeypatch.delenv("NEXAVPN_DATABASE_URL", raising=False)
    monkeypatch.delenv("NEXAVPN_SECRET_KEY", raising=False)
    monkeypatch.delenv("NEXAVPN_JWT_SECRET_KEY", raising=False)

    def use(name: str) -> Path:
        d = tmp_path / name
        monkeypatch.setenv("NEXAVPN_DATA_DIR", str(d))
        return d

    return use


def _populate() -> dict[str, int]:
    """A user, a device (no gateway), a policy and audit rows, through the models."""
    from nexavpn_api.app import create_app
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, Policy, User
    from nexavpn_api.services import audit
    from nexavpn_api.services.passwords import hash_password

    app = create_app()
    with app.app_context():
        user = User(username="alice", role="user")
        user.password_hash = hash_password("correct horse battery")
        user.groups = ["staff"]
        db.session.add(user)
        db.session.flush()
        device = Device(
            user_id=user.id,
            gateway_id=None,
            name="alice-laptop",
            fingerprint=FINGERPRINT,
            public_key=PUBLIC_KEY,
            platform="linux",
            vpn_ip="10.8.0.2",
        )
        policy = Policy(name="office", destinations=["10.20.0.0/24"])
        policy.groups = ["staff"]
        db.session.add_all([device, policy])
        db.session.flush()
        audit.record_by_system("device.enroll", target_type="device", target_id=device.id)
        audit.record_by_system("policy.create", target_type="policy", target_id=policy.id)
        db.session.commit()
        ids = {"user": user.id, "device": device.id, "policy": policy.id}
        db.engine.dispose()
    return ids


def _read_back() -> dict[str, object]:
    from nexavpn_api.app import create_app
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent, Device, Policy

    app = create_app()
    with app.app_context():
        device = db.session.execute(db.select(Device)).scalar_one()
        policy = db.session.execute(db.select(Policy)).scalar_one()
        actions = sorted(db.session.execute(db.select(AuditEvent.action)).scalars())
        out = {
            "device": (device.name, device.fingerprint, device.vpn_ip, device.user.username),
            "policy": (policy.name, policy.destinations, policy.groups),
            "actions": actions,
        }
        db.engine.dispose()
    return out


def test_backup_then_restore_into_fresh_server(datadir, tmp_path, capsys):
    src = datadir("src")
    assert cli.main(["migrate"]) == 0
    _populate()
    # The live database holds password hashes too: only the server's user may read it (the
    # -wal/-shm files copy the database file's mode), nor list the data dir.
    assert stat.S_IMODE((src / "nexavpn.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(src.stat().st_mode) == 0o700
    for side in src.glob("nexavpn.db-*"):
        assert stat.S_IMODE(side.stat().st_mode) == 0o600, side
    out = tmp_path / "backups" / "nexavpn.db"
    assert cli.main(["backup", "--output", str(out)]) == 0
    assert "devices=1" in capsys.readouterr().out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # password hashes inside
    assert not list(out.parent.glob(".nexavpn-backup-*"))  # no temp file left behind

    dst = datadir("fresh")
    assert not dst.exists()
    assert cli.main(["restore", "--input", str(out)]) == 0
    assert (dst / "nexavpn.db").is_file()
    assert stat.S_IMODE((dst / "nexavpn.db").stat().st_mode) == 0o600
    got = _read_back()
    assert got["device"] == ("alice-laptop", FINGERPRINT, "10.8.0.2", "alice")
    assert got["policy"] == ("office", ["10.20.0.0/24"], ["staff"])
    assert "device.enroll" in got["actions"] and "policy.create" in got["actions"]
    assert src != dst


def test_backup_is_consistent_while_a_writer_holds_a_transaction(datadir, tmp_path):
    d = datadir("live")
    assert cli.main(["migrate"]) == 0
    _populate()
    writer = sqlite3.connect(str(d / "nexavpn.db"), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO audit_events (at, actor_type, action, details) "
            "VALUES ('2024-01-01 00:00:00', 'system', 'uncommitted.action', '{}')"
        )
        out = tmp_path / "online.db"
        # The server is "running" (a write transaction is open): the backup must not wait for
        # it nor include its uncommitted row.
        assert cli.main(["backup", "--output", str(out)]) == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    conn = sqlite3.connect(str(out))
    actions = {r[0] for r in conn.execute("SELECT action FROM audit_events")}
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, no -wal
    conn.close()
    assert "device.enroll" in actions
    assert "uncommitted.action" not in actions


def test_restore_refuses_to_overwrite_data_without_force(datadir, tmp_path, capsys):
    datadir("a")
    assert cli.main(["migrate"]) == 0
    _populate()
    out = tmp_path / "a.db"
    assert cli.main(["backup", "--output", str(out)]) == 0

    datadir("b")
    assert cli.main(["migrate"]) == 0  # a migrated but empty database is fine to restore into
    assert cli.main(["restore", "--input", str(out)]) == 0
    capsys.readouterr()
    # now it holds data: a second restore needs --force
    assert cli.main(["restore", "--input", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert cli.main(["restore", "--input", str(out), "--force"]) == 0
    assert _read_back()["device"][0] == "alice-laptop"


def test_restore_rejects_files_that_are_not_backups(datadir, tmp_path, capsys):
    datadir("c")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all")
    assert cli.main(["restore", "--input", str(junk)]) == 1
    assert "not a SQLite database" in capsys.readouterr().err
    other = tmp_path / "other.db"
    conn = sqlite3.connect(str(other))
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    assert cli.main(["restore", "--input", str(other)]) == 1
    assert "not a NexaVPN database" in capsys.readouterr().err
    assert cli.main(["restore", "--input", str(tmp_path / "missing.db")]) == 1


def test_backup_without_database_fails_clearly(datadir, tmp_path, capsys):
    datadir("empty")
    assert cli.main(["backup", "--output", str(tmp_path / "x.db")]) == 1
    assert "no database" in capsys.readouterr().err


def test_postgresql_points_to_pg_dump(datadir, tmp_path, monkeypatch, capsys):
    datadir("pg")
    monkeypatch.setenv("NEXAVPN_DATABASE_URL", "postgresql://u:p@127.0.0.1:1/nexavpn")
    assert cli.main(["backup", "--output", str(tmp_path / "x.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err
    assert cli.main(["restore", "--input", str(tmp_path / "x.db")]) == 2
    assert "pg_restore" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()
