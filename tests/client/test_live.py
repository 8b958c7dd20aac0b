"""API v1.1 on the client: live profile long-poll, key mismatch, honest state, leaving cleanly.

Against the in-memory server (tests/client/fakeserver.py), which holds long-polls on a
condition variable like the real one holds them on its notify channel.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from nexavpn_client import cli, errors
from nexavpn_client.app import ClientApp
from nexavpn_client.connstate import ConnectionKind, tunnel_kind
from nexavpn_client.instance import install_tunnel_name
from nexavpn_client.secrets.base import SecretKey
from nexavpn_client.tunnel import CONNECTED, DISCONNECTED, TunnelStatus
from nexavpn_shared import keys

from .conftest import SERVER
from .test_cli import login as cli_login
from .test_cli import run as cli_run

log = logging.getLogger(__name__)
PASSWORD = "correct horse"


@pytest.fixture
def app(client_app):
    client_app.long_poll_seconds = 5
    return client_app


def _enrolled(app, name="Laptop"):
    app.login(SERVER, "alice", PASSWORD)
    return app.enroll(name)


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# ------------------------------------------------------------------ live updates


def test_watcher_applies_new_revision_to_live_tunnel_within_2s(app, server, tunnel):
    info = _enrolled(app)
    app.connect()
    results, errs = [], []
    watcher = app.start_watcher(results.append, errs.append)
    try:
        assert _wait_for(lambda: server.long_polls), "the watcher never long-polled"
        assert server.long_polls[-1] == 5
        t0 = time.monotonic()
        server.bump(info.id, destinations=["10.30.0.0/24"])
        assert _wait_for(lambda: "10.30.0.0/24" in tunnel.up.allowed_ips)
        elapsed = time.monotonic() - t0
        log.info("policy change reached the live tunnel in %.3f s", elapsed)
        assert elapsed < 2.0
        assert tunnel.removed == 0  # updated in place, not torn down
        assert app.status().profile_revision == 2
        assert any(r.changed for r in results) and not errs
    finally:
        watcher.stop()
    assert not watcher.is_alive() or watcher.stop_event.is_set()


def test_revoke_during_long_poll_is_410_revoked_state_tunnel_down(app, server, tunnel):
    info = _enrolled(app)
    app.connect()
    errs: list = []
    watcher = app.start_watcher(None, errs.append)
    assert _wait_for(lambda: server.long_polls)
    server.revoke(info.id, end_sessions=True)  # v1.1: the held request answers 410
    watcher.join(5)
    assert not watcher.is_alive()
    assert errs and isinstance(errs[-1], errors.DeviceRevoked)
    assert tunnel.up is None and tunnel.removed >= 1
    status = app.status()
    assert status.revoked and status.state.kind is ConnectionKind.REVOKED


def test_watch_backs_off_when_offline_and_polls_politely_without_long_poll(app, server):
    _enrolled(app)
    server.offline = True
    stop = threading.Event()
    waits: list[float] = []

    def sleep(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) >= 5:
            stop.set()
        return stop.is_set()

    app.watch(stop, sleep=sleep)
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]
    # Back online, but a server that answers 304 at once (no long-poll support).
    server.offline = False
    app.long_poll_seconds = 40
    orig = server._long_poll
    server._long_poll = lambda *a: None
    try:
        stop.clear()
        waits.clear()
        app.watch(stop, sleep=sleep)
    finally:
        server._long_poll = orig
    assert waits and all(w == 5.0 for w in waits)


def test_one_watcher_per_installation(app, make_app):
    _enrolled(app)
    first = app.start_watcher(holder="NexaVPN desktop app")
    try:
        other = make_app()  # same state dir: the CLI next to the desktop
        with pytest.raises(errors.TunnelInUse, match="NexaVPN desktop app"):
            other.start_watcher()
        assert other.tunnel_name == app.tunnel_name  # they share one tunnel
    finally:
        first.stop()
    second = make_app().start_watcher()
    second.stop()


def test_tunnel_name_per_installation(tmp_path, monkeypatch):
    monkeypatch.delenv("NEXAVPN_CLIENT_TUNNEL_NAME", raising=False)
    a, b = install_tunnel_name(tmp_path / "a"), install_tunnel_name(tmp_path / "b")
    assert a != b and a == install_tunnel_name(tmp_path / "a")
    assert len(a) <= 15 and a.startswith("nxv-")


# ------------------------------------------------------------------ key mismatch


def test_key_mismatch_is_reported_not_applied(app, server, tunnel, secrets_store):
    info = _enrolled(app)
    app.connect()
    other = keys.generate_keypair()
    server.set_key(info.id, other.public_key)  # another install re-enrolled this computer
    server.destinations = ["10.99.0.0/24"]
    with pytest.raises(errors.KeyMismatch, match="different key"):
        app.sync()
    assert tunnel.up is None, "a tunnel that cannot handshake must not stay up"
    status = app.status()
    assert status.key_mismatch and status.state.kind is ConnectionKind.KEY_MISMATCH
    assert status.profile_revision == 1  # the new profile was not applied
    with pytest.raises(errors.KeyMismatch):
        app.connect()
    code, out, err = cli_run(app, "status")
    assert code == cli.EXIT_KEY_MISMATCH and "nexavpn-client enroll" in out
    code, _, err = cli_run(app, "connect")
    assert code == cli.EXIT_KEY_MISMATCH and "nexavpn-client enroll" in err
    # Re-registration puts this installation's key back and clears the refusal.
    app.enroll()
    mine = keys.public_key_from_private(secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY))
    assert server.devices[info.id].public_key == mine
    app.connect()
    assert app.status().state.kind is ConnectionKind.CONNECTED


def test_watcher_stops_on_key_mismatch(app, server, tunnel):
    info = _enrolled(app)
    app.connect()
    errs: list = []
    watcher = app.start_watcher(None, errs.append)
    assert _wait_for(lambda: server.long_polls)
    server.set_key(info.id, keys.generate_keypair().public_key)
    watcher.join(5)
    assert not watcher.is_alive() and isinstance(errs[-1], errors.KeyMismatch)
    assert tunnel.up is None


# ------------------------------------------------------------------ approval, bound sessions


def test_pending_device_cannot_connect_until_approved(app, server, tunnel):
    server.approval_required = True
    info = _enrolled(app)
    status = app.status()
    assert status.pending_approval and status.state.kind is ConnectionKind.PENDING_APPROVAL
    with pytest.raises(errors.PendingApproval):
        app.connect()
    assert tunnel.up is None
    server.approve(info.id)
    assert app.sync().changed
    app.connect()
    assert app.status().state.kind is ConnectionKind.CONNECTED


def test_bound_session_and_revoked_key(make_app, server, secrets_store):
    app = make_app()
    info = _enrolled(app)
    other = make_app(fingerprint=lambda store: "e" * 64)
    with pytest.raises(errors.SessionBoundToDevice):
        other.enroll("Other")
    # A revoked key is refused forever: re-registering makes a new key by itself.
    server.revoke(info.id)
    old = secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY)
    app.enroll()
    new = secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY)
    assert new != old
    assert keys.public_key_from_private(old) in server.revoked_keys


# ------------------------------------------------------------------ honest state


def test_stale_handshake_is_not_connected(app, server, tunnel):
    _enrolled(app)
    app.connect()
    assert app.status().state.kind is ConnectionKind.CONNECTED
    tunnel.handshake_age = 600.0
    state = app.status().state
    assert state.kind is ConnectionKind.NO_HANDSHAKE
    assert state.text.startswith("No response from the gateway since ")
    assert abs(state.since - (time.time() - 600)) < 5
    _code, out, _ = cli_run(app, "status")
    assert "No response from the gateway since" in out and "Connected" not in out
    tunnel.handshake_age = None  # never a handshake, just started → connecting
    assert app.status().state.kind is ConnectionKind.CONNECTING


@pytest.mark.parametrize(
    ("tstate", "age", "started", "known", "expected"),
    [
        (CONNECTED, 10.0, None, True, ConnectionKind.CONNECTED),
        (CONNECTED, 179.0, None, True, ConnectionKind.CONNECTED),
        (CONNECTED, 181.0, None, True, ConnectionKind.NO_HANDSHAKE),
        (CONNECTED, None, 995.0, True, ConnectionKind.CONNECTING),
        (CONNECTED, None, 900.0, True, ConnectionKind.NO_HANDSHAKE),
        (CONNECTED, None, None, False, ConnectionKind.CONNECTED),
        (DISCONNECTED, None, None, True, ConnectionKind.DISCONNECTED),
    ],
)
def test_tunnel_kind_table(tstate, age, started, known, expected):
    status = TunnelStatus(tstate, "x", handshake_age=age, handshake_known=known)
    kind, since, verified = tunnel_kind(status, started_at=started, now=1000.0)
    assert kind is expected
    assert verified is known
    if expected is ConnectionKind.NO_HANDSHAKE:
        assert since == (1000.0 - age if age is not None else started)


# ------------------------------------------------------------------ leaving cleanly


def test_logout_remove_device_deletes_on_server(app, server):
    info = _enrolled(app)
    code, out, err = cli_run(app, "logout", "--remove-device")
    assert code == 0 and "removed from the server" in out
    assert "locally" not in out and not err
    assert info.id not in server.devices


def test_logout_remove_device_falls_back_to_revoke(app, server):
    server.owner_delete = False
    info = _enrolled(app)
    result = app.logout(remove_device=True)
    assert result.device_removed and server.devices[info.id].status == "revoked"


def test_logout_without_flag_says_device_stays(app, server):
    info = _enrolled(app)
    code, out, _ = cli_run(app, "logout")
    assert code == 0 and "stays registered" in out
    assert server.devices[info.id].status == "active"


def test_export_file_rewritten_on_sync_and_removed_on_revoke(app, server):
    info = _enrolled(app)
    path = app.export_config()
    assert "10.20.0.0/24" in path.read_text()
    server.bump(info.id, destinations=["10.40.0.0/24"])
    app.sync()
    assert "10.40.0.0/24" in path.read_text() and "10.20.0.0/24" not in path.read_text()
    server.revoke(info.id)
    with pytest.raises(errors.DeviceRevoked):
        app.sync()
    assert not path.exists()


def test_export_qr_writes_no_file(app, secrets_store):
    _enrolled(app)
    export_dir = app.data_dir / "export"
    before = set(export_dir.rglob("*")) if export_dir.exists() else set()
    code, out, _ = cli_run(app, "export-config", "--qr")
    assert code == 0 and out.count("\n") > 15
    after = set(export_dir.rglob("*")) if export_dir.exists() else set()
    assert after == before
    assert secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY) not in out


# ------------------------------------------------------------------ small things


def test_rate_limit_uses_retry_after(app, server):
    server.retry_after = 300
    with pytest.raises(errors.RateLimited) as info:
        app.login(SERVER, "alice", PASSWORD)
    assert info.value.retry_after == 300
    assert "Try again in 5 minutes." in info.value.message
    code, _, err = cli_login(app)
    assert code == 3 and "try again in 5 minutes" in err.lower() and "a minute" not in err


def test_wait_words():
    assert errors.wait_words(1) == "1 second"
    assert errors.wait_words(45) == "45 seconds"
    assert errors.wait_words(61) == "2 minutes"
    assert errors.wait_words(3600) == "1 hour"


def test_connect_signed_out_one_message(app):
    code, _out, err = cli_run(app, "connect")
    assert code == 3
    assert err.count("not signed in") == 1 and "last profile" not in err
    assert "nexavpn-client login" in err


def test_pasted_browser_address_reduced_to_origin(app, server, secrets_store):
    app.login("https://vpn.example.test/login", "alice", PASSWORD)
    assert secrets_store.get(SecretKey.SERVER_URL) == SERVER


def test_keyring_reason_names_the_cause():
    from keyring.errors import InitError, KeyringLocked, NoKeyringError

    from nexavpn_client.secrets.keyring_store import keyring_failure_reason

    assert "no default keyring" in keyring_failure_reason(
        InitError("Failed to create the collection: Prompt dismissed.")
    )
    assert "locked" in keyring_failure_reason(KeyringLocked("Failed to unlock the collection!"))
    assert "no keyring service" in keyring_failure_reason(
        NoKeyringError("No recommended backend was available.")
    )


def test_client_app_default_tunnel_name_is_per_install(tmp_path, monkeypatch):
    from nexavpn_client.secrets import MemoryStore

    monkeypatch.delenv("NEXAVPN_CLIENT_TUNNEL_NAME", raising=False)
    one = ClientApp(MemoryStore(), tmp_path / "one")
    two = ClientApp(MemoryStore(), tmp_path / "two")
    assert one.tunnel_name != two.tunnel_name


def test_device_deleted_on_server_is_final(app, server, tunnel):
    info = _enrolled(app)
    app.connect()
    del server.devices[info.id]  # an admin deleted it (the record is gone: 404)
    with pytest.raises(errors.DeviceRevoked, match="removed from the server"):
        app.sync()
    assert tunnel.up is None and app.status().state.kind is ConnectionKind.REVOKED


def test_cli_up_waits_for_approval_then_connects(app, server, tunnel, monkeypatch):
    import io

    server.approval_required = True
    _enrolled(app)
    code, out, _ = cli_run(app, "enroll")
    assert code == 0 and "waits for an administrator's approval" in out
    assert list(server.devices) == [1]
    threading.Timer(0.5, server.approve, args=(1,)).start()

    def interrupt_when_up():
        _wait_for(lambda: tunnel.up is not None, 10)
        time.sleep(0.2)
        import _thread

        _thread.interrupt_main()

    threading.Thread(target=interrupt_when_up, daemon=True).start()
    out_io, err_io = io.StringIO(), io.StringIO()
    code = cli.main(["up"], app=app, stdin=io.StringIO(), stdout=out_io, stderr=err_io)
    assert code == 0, err_io.getvalue()
    text = out_io.getvalue()
    assert "Waiting for it here" in text and "Approved: tunnel up." in text
    assert tunnel.up is not None


def test_tunnel_name_kept_in_state_and_legacy_install_keeps_its_name(make_app, monkeypatch):
    monkeypatch.delenv("NEXAVPN_CLIENT_TUNNEL_NAME", raising=False)
    app = make_app()
    _enrolled(app)
    name = app.tunnel_name
    assert name.startswith("nxv-") and app._load().tunnel_name == name
    assert make_app().tunnel_name == name  # the next run (CLI, desktop) reads it back
    # A state written by a version with the fixed name: no tunnel_name, a device.
    raw = app.state_store.load()
    del raw["tunnel_name"]
    app.state_store.save(raw)
    assert make_app().tunnel_name == "nexavpn"
