"""The ops console, run as the real console script on an embedded SQLite data directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nexavpn_api

SCRIPT = Path(sys.executable).with_name("nexavpn-server")


@pytest.fixture(autouse=True)
def _console_script_installed() -> None:
    """A missing console script is a broken install, not a reason to leave the CLI untested."""
    assert SCRIPT.exists(), f"{SCRIPT} is missing: run scripts/bootstrap.sh dev"


def _run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXAVPN_")}
    env["NEXAVPN_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _client(data_dir: Path):
    """A test client of an app on the same database and secrets the CLI used."""
    from nexavpn_api.app import create_app

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'nexavpn.db'}", "DATA_DIR": data_dir}
    )
    return app, app.test_client()


def _login(client, username, password):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_version(tmp_path):
    res = _run(tmp_path, "--version")
    assert res.returncode == 0
    assert nexavpn_api.__version__ in res.stdout


def test_migrate_creates_the_database_and_secrets(tmp_path):
    res = _run(tmp_path, "migrate")
    assert res.returncode == 0, res.stderr
    assert "up to date" in res.stdout
    assert (tmp_path / "nexavpn.db").exists()
    for name in ("secret_key", "jwt_secret_key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    assert _run(tmp_path, "migrate").returncode == 0  # idempotent


def test_create_admin_with_password_from_stdin(tmp_path):
    res = _run(
        tmp_path, "create-admin", "--username", "boss", "--password-stdin", stdin="first-pass-1\n"
    )
    assert res.returncode == 0, res.stderr
    assert "first-pass-1" not in res.stdout + res.stderr
    _app, client = _client(tmp_path)
    resp = _login(client, "boss", "first-pass-1")
    assert resp.status_code == 200
    assert resp.get_json()["user"]["role"] == "admin"
    admin = {"Authorization": f"Bearer {resp.get_json()['access_token']}"}
    created = client.get("/api/v1/audit-logs?action=user.create", headers=admin).get_json()
    assert created["items"][0]["actor_type"] == "system"

    again = _run(tmp_path, "create-admin", "--username", "boss", "--password-stdin", stdin="x" * 9)
    assert again.returncode == 1 and "exists" in again.stderr
    short = _run(tmp_path, "create-admin", "--username", "b2", "--password-stdin", stdin="short\n")
    assert short.returncode == 2


def test_create_admin_generates_a_password_shown_once(tmp_path):
    res = _run(tmp_path, "create-admin", "--username", "gen")
    assert res.returncode == 0, res.stderr
    match = re.search(r"Generated password \(shown only now\): (\S+)", res.stdout)
    assert match
    _app, client = _client(tmp_path)
    assert _login(client, "gen", match.group(1)).status_code == 200
    assert _login(client, "gen", match.group(1) + "x").status_code == 401


def test_reset_password_ends_sessions(tmp_path):
    assert (
        _run(
            tmp_path, "create-admin", "--username", "ops", "--password-stdin", stdin="old-pass-1\n"
        ).returncode
        == 0
    )
    _app, client = _client(tmp_path)
    tokens = _login(client, "ops", "old-pass-1").get_json()
    me = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=me).status_code == 200

    res = _run(
        tmp_path, "reset-password", "--username", "OPS", "--password-stdin", stdin="new-pass-2\n"
    )
    assert res.returncode == 0, res.stderr
    assert "Password of 'ops' was reset" in res.stdout  # the stored name, found regardless of case
    assert client.get("/api/v1/auth/me", headers=me).status_code == 401
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert client.post("/api/v1/auth/refresh", headers=refresh).status_code == 401
    assert _login(client, "ops", "old-pass-1").status_code == 401
    assert _login(client, "ops", "new-pass-2").status_code == 200

    missing = _run(
        tmp_path, "reset-password", "--username", "nobody", "--password-stdin", stdin="whatever-1\n"
    )
    assert missing.returncode == 1


def test_usage_errors_exit_2(tmp_path):
    assert _run(tmp_path, "create-admin").returncode == 2
    assert _run(tmp_path, "no-such-command").returncode == 2


@pytest.mark.parametrize("bad", ["has space", "new\nline", "ünïcode", "x" * 65, ""])
def test_create_admin_refuses_a_username_the_api_would_refuse(tmp_path, bad):
    res = _run(
        tmp_path, "create-admin", "--username", bad, "--password-stdin", stdin="pw-123456789\n"
    )
    assert res.returncode == 2
    assert "1-64 characters" in res.stderr
    assert not (tmp_path / "nexavpn.db").exists()  # refused before touching anything


def _lock_out(client, username: str) -> None:
    for _ in range(5):
        assert _login(client, username, "wrong-guess").status_code == 401
    assert _login(client, username, "right-pass-1").status_code == 429


def test_unlock_and_reset_password_clear_a_lock_out(tmp_path):
    res = _run(
        tmp_path, "create-admin", "--username", "ops", "--password-stdin", stdin="right-pass-1\n"
    )
    assert res.returncode == 0
    _app, client = _client(tmp_path)
    _lock_out(client, "ops")
    res = _run(tmp_path, "unlock", "--username", "OPS")
    assert res.returncode == 0, res.stderr
    assert "unlocked" in res.stdout
    assert _login(client, "ops", "right-pass-1").status_code == 200

    _lock_out(client, "ops")
    res = _run(
        tmp_path, "reset-password", "--username", "ops", "--password-stdin", stdin="right-pass-1\n"
    )
    assert res.returncode == 0, res.stderr
    assert _login(client, "ops", "right-pass-1").status_code == 200


def test_prune_audit_deletes_only_old_events(tmp_path):
    from datetime import timedelta

    from sqlalchemy import update

    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent
    from nexavpn_api.models._types import utcnow

    res = _run(
        tmp_path, "create-admin", "--username", "ops", "--password-stdin", stdin="right-pass-1\n"
    )
    assert res.returncode == 0
    app, client = _client(tmp_path)
    assert _login(client, "ops", "right-pass-1").status_code == 200
    with app.app_context():
        db.session.execute(update(AuditEvent).values(at=utcnow() - timedelta(days=400)))
        db.session.commit()
        db.engine.dispose()
    assert _login(client, "ops", "right-pass-1").status_code == 200  # a recent row

    res = _run(tmp_path, "prune-audit")
    assert res.returncode == 0, res.stderr
    assert "Removed 2 audit event(s) older than 365 day(s)" in res.stdout
    with app.app_context():
        actions = sorted(db.session.execute(db.select(AuditEvent.action)).scalars())
    assert actions == ["audit.prune", "auth.login"]
    assert _run(tmp_path, "prune-audit", "--days", "0").returncode == 2
