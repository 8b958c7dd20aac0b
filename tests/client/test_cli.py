"""The nexavpn-client CLI: commands, output and the documented exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from nexavpn_client import __version__, cli, errors
from nexavpn_client.secrets.base import SecretKey

from .conftest import SERVER

PASSWORD = "correct horse"


@pytest.fixture
def app(client_app):
    """This module's ``app`` is the client (the root conftest's ``app`` is the backend)."""
    return client_app


def run(app, *argv, stdin: str = ""):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), app=app, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def login(app):
    return run(app, "login", "--server", SERVER, "--username", "alice", "--password-stdin",
               stdin=PASSWORD + "\n")


def test_version_and_usage(app):
    code, _, _ = run(app, "--version")
    assert code == 0
    assert run(app)[0] == 2
    assert run(app, "frobnicate")[0] == 2
    assert run(app, "login", "--server", SERVER)[0] == 2  # --username missing


def test_version_subprocess():
    result = subprocess.run([sys.executable, "-m", "nexavpn_client.cli", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and __version__ in result.stdout


def test_module_docstring_documents_exit_codes():
    doc = cli.__doc__
    for code in ("0 —", "1 —", "2 —", "3 —", "4 —"):
        assert code in doc


def test_login_enroll_status_json(app, server):
    code, out, err = login(app)
    assert code == 0, err
    assert "Signed in as alice" in out
    code, out, err = run(app, "enroll", "--name", "Work laptop")
    assert code == 0, err
    assert "registered" in out and "10.8.0.2" in out
    code, out, _ = run(app, "status", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["server"] == SERVER and doc["user"] == "alice"
    assert doc["device_id"] == 1 and doc["vpn_ip"] == "10.8.0.2"
    assert doc["profile_revision"] == 1 and doc["tunnel_backend"] == "fake"
    assert doc["allowed_resources"][0]["destination"] == "10.20.0.0/24"
    assert doc["connection"] == "disconnected" and doc["last_sync"]
    code, out, _ = run(app, "status")
    assert code == 0 and "Work laptop" in out and "revision 1" in out


def test_wrong_password_exit_3(app):
    code, _, err = run(app, "login", "--server", SERVER, "--username", "alice",
                       "--password-stdin", stdin="wrong\n")
    assert code == 3 and "user name or password is wrong" in err


def test_http_url_exit_2(app):
    code, _, err = run(app, "login", "--server", "http://x.example", "--username", "a",
                       "--password-stdin", stdin="pw\n")
    assert code == 2 and "https://" in err


def test_empty_password_is_usage(app):
    assert run(app, "login", "--server", SERVER, "--username", "alice", "--password-stdin",
               stdin="\n")[0] == 2


def test_not_logged_in_exit_3(app):
    code, _, err = run(app, "sync")
    assert code == 3 and "not signed in" in err


def test_not_enrolled_exit_2(app):
    login(app)
    code, _, err = run(app, "connect")
    assert code == 2 and "not registered" in err


def test_sync_connect_disconnect(app, server, tunnel):
    login(app)
    run(app, "enroll")
    code, out, _ = run(app, "sync")
    assert code == 0 and "Up to date" in out
    code, out, _ = run(app, "connect")
    assert code == 0 and "Tunnel: Connected" in out and tunnel.up is not None
    code, out, _ = run(app, "disconnect")
    assert code == 0 and tunnel.up is None


def test_revoked_exit_4_everywhere(app, server):
    login(app)
    run(app, "enroll")
    server.revoke(1)
    code, _, err = run(app, "sync")
    assert code == 4 and "revoked" in err
    assert run(app, "connect")[0] == 4
    code, out, _ = run(app, "status", "--json")
    assert code == 4 and json.loads(out)["revoked"] is True


def test_offline_sync_exit_3_but_connect_works(app, server, tunnel):
    login(app)
    run(app, "enroll")
    server.offline = True
    code, _, err = run(app, "sync")
    assert code == 3 and "Offline since" in err
    code, _, err = run(app, "connect")
    assert code == 0 and "last profile" in err and tunnel.up is not None


def test_session_expired_exit_3(app, server):
    login(app)
    run(app, "enroll")
    server.kill_sessions()
    code, _, err = run(app, "sync")
    assert code == 3 and "Sign in again" in err


def test_export_config_with_qr(app, tmp_path, secrets_store):
    login(app)
    run(app, "enroll")
    target = tmp_path / "out.conf"
    code, out, _ = run(app, "export-config", "--qr", "--output", str(target))
    assert code == 0
    assert "temporary fallback" in out
    assert secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY) in target.read_text()
    assert (target.stat().st_mode & 0o777) == 0o600
    assert out.count("\n") > 15  # the QR code follows
    assert secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY) not in out


def test_export_config_never_chmods_an_existing_directory(app, tmp_path):
    """--output into a shared directory (like /tmp, 1777) leaves its mode alone; a missing
    directory is created user-only."""
    import stat

    login(app)
    run(app, "enroll")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    assert run(app, "export-config", "--output", str(shared / "vpn.conf"))[0] == 0
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert ((shared / "vpn.conf").stat().st_mode & 0o777) == 0o600
    fresh = tmp_path / "new" / "dir"
    assert run(app, "export-config", "--output", str(fresh / "vpn.conf"))[0] == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700


def test_logout(app, server, secrets_store):
    login(app)
    run(app, "enroll")
    code, out, _ = run(app, "logout")
    assert code == 0 and "Signed out" in out
    assert secrets_store.keys() == []
    code, out, _ = run(app, "status", "--json")
    assert json.loads(out)["logged_in"] is False


def test_untrusted_certificate_prints_fingerprint(app, monkeypatch):
    def untrusted(*a, **k):
        raise errors.CertificateUntrusted(fingerprint="AB:" * 31 + "AB")

    monkeypatch.setattr(app, "login", untrusted)
    code, _, err = login(app)
    assert code == 3 and "--trust-fingerprint" in err and "AB:AB" in err


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.DeviceRevoked(), 4),
        (errors.InvalidServerUrl(), 2),
        (errors.NotEnrolled(), 2),
        (errors.InvalidFingerprint(), 2),
        (errors.InvalidCredentials(), 3),
        (errors.DnsLookupFailed(), 3),
        (errors.PinMismatch(), 3),
        (errors.NotNexaVpnServer(), 3),
        (errors.NotLoggedIn(), 3),
        (errors.SessionExpired(), 3),
        (errors.TunnelError(), 1),
        (errors.StorageError(), 1),
    ],
)
def test_exit_code_table(exc, code):
    assert cli.exit_code_for(exc) == code
