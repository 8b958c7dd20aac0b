"""The client flow against the in-memory server: login, enroll, sync, refresh, revoke, logout."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from nexavpn_client import errors
from nexavpn_client.app import Status
from nexavpn_client.secrets.base import SecretKey
from nexavpn_shared import keys, wgconf

from .conftest import SERVER

PASSWORD = "correct horse"


@pytest.fixture
def app(client_app):
    """This module's ``app`` is the client (the root conftest's ``app`` is the backend)."""
    return client_app


def _login(app):
    return app.login(SERVER, "alice", PASSWORD)


def _all_request_text(server) -> str:
    parts = []
    for req in server.requests:
        parts.append(req.url or "")
        parts.extend(f"{k}: {v}" for k, v in req.headers.items())
        body = req.body or b""
        parts.append(body.decode() if isinstance(body, bytes) else str(body))
    return "\n".join(parts)


def test_login_stores_tokens_and_url_in_keyring(app, secrets_store, server):
    user = _login(app)
    assert (user.username, user.role) == ("alice", "user")
    assert secrets_store.get(SecretKey.SERVER_URL) == SERVER
    assert secrets_store.get(SecretKey.ACCESS_TOKEN).startswith("acc-")
    assert secrets_store.get(SecretKey.REFRESH_TOKEN).startswith("ref-")
    # The state file holds no token in clear (it is encrypted anyway).
    blob = app.state_store.path.read_bytes()
    assert b"acc-" not in blob and b"alice" not in blob


def test_wrong_password_and_disabled_user(app, server, secrets_store):
    with pytest.raises(errors.InvalidCredentials):
        app.login(SERVER, "alice", "nope")
    server.users["alice"]["disabled"] = True
    with pytest.raises(errors.UserDisabled):
        _login(app)
    assert secrets_store.get(SecretKey.ACCESS_TOKEN) is None


def test_http_url_refused_before_any_request(app, server):
    with pytest.raises(errors.InsecureServerUrl):
        app.login("http://vpn.example.test", "alice", PASSWORD)
    assert server.requests == []


def test_not_a_nexavpn_server(app, server):
    server.health_body = {"status": "ok"}
    with pytest.raises(errors.NotNexaVpnServer):
        _login(app)


def test_enroll_keeps_private_key_local(app, secrets_store, server):
    _login(app)
    info = app.enroll("Laptop")
    assert info.created and info.vpn_ip == "10.8.0.2" and info.profile_revision == 1
    private = secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY)
    assert keys.is_valid_key(private)
    dev = server.devices[info.id]
    assert dev.public_key == keys.public_key_from_private(private)
    assert dev.fingerprint == "f" * 64 and dev.platform == "linux"
    enroll_body = json.loads(next(r.body for r in server.requests if r.url.endswith("enroll")))
    assert set(enroll_body) <= {"name", "fingerprint", "public_key", "platform", "os_version",
                                "client_version"}
    # The tunnel config has the key filled in locally.
    config = app.tunnel_config()
    assert wgconf.parse(config.text).interface.private_key == private
    assert config.addresses == ("10.8.0.2/32",)
    assert "10.20.0.0/24" in config.allowed_ips
    assert private not in repr(config)
    assert private not in _all_request_text(server)


def test_reenroll_same_machine_keeps_device(app, server):
    _login(app)
    first = app.enroll("Laptop")
    second = app.enroll()
    assert second.id == first.id and not second.created
    assert second.name == "Laptop"  # remembered name
    assert server.devices[first.id].revision == 1  # same key → no bump


def test_enroll_requires_login(app):
    with pytest.raises(errors.NotLoggedIn):
        app.enroll("x")


def test_sync_304_then_new_revision_reapplied_when_connected(app, server, tunnel):
    _login(app)
    info = app.enroll("Laptop")
    assert app.sync().changed is False
    profile_reqs = [r for r in server.requests if r.url.split("?")[0].endswith("/profile")]
    assert profile_reqs[-1].headers["If-None-Match"] == '"1"'
    app.connect()
    assert tunnel.up is not None and "10.30.0.0/24" not in tunnel.up.allowed_ips
    server.bump(info.id, destinations=["10.30.0.0/24"])
    result = app.sync()
    assert result.changed and result.revision == 2
    assert "10.30.0.0/24" in tunnel.up.allowed_ips  # re-applied to the running tunnel
    status = app.status()
    assert status.profile_revision == 2
    assert status.allowed_resources == [{"destination": "10.30.0.0/24", "policy": "staff"}]


def test_rotation_required_makes_new_key_and_reenrolls(app, server, secrets_store):
    _login(app)
    info = app.enroll("Laptop")
    old_key = secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY)
    server.rotate(info.id)
    result = app.sync()
    assert result.rotated
    new_key = secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY)
    assert new_key != old_key
    dev = server.devices[info.id]
    assert dev.public_key == keys.public_key_from_private(new_key)
    assert not dev.rotation_required
    assert app.sync().changed is False
    text = _all_request_text(server)
    assert old_key not in text and new_key not in text


def test_revoked_device_marks_profile_unusable_and_removes_tunnel(app, server, tunnel):
    _login(app)
    info = app.enroll("Laptop")
    app.connect()
    server.revoke(info.id)
    with pytest.raises(errors.DeviceRevoked):
        app.sync()
    assert tunnel.up is None and tunnel.removed == 1
    assert app.status().revoked is True
    with pytest.raises(errors.DeviceRevoked):
        app.connect()
    with pytest.raises(errors.DeviceRevoked):
        app.sync()


def test_offline_keeps_last_profile(app, server):
    _login(app)
    app.enroll("Laptop")
    server.offline = True
    result = app.sync()
    assert result.offline and result.offline_since
    assert "Offline since" in result.message
    again = app.sync()
    assert again.offline_since == result.offline_since  # the first moment is kept
    assert app.status().offline_since == result.offline_since
    app.tunnel_config()  # still usable
    server.offline = False
    assert app.sync().offline is False
    assert app.status().offline_since is None


def test_access_token_refreshed_automatically(app, server, secrets_store):
    _login(app)
    app.enroll("Laptop")
    old_refresh = secrets_store.get(SecretKey.REFRESH_TOKEN)
    server.expire_access_tokens()
    assert app.sync().changed is False
    assert secrets_store.get(SecretKey.REFRESH_TOKEN) != old_refresh
    paths = [r.path_url for r in server.requests[-4:]]
    assert paths == ["/api/v1/devices/1/profile", "/api/v1/auth/refresh",
                     "/api/v1/devices/1/profile", "/api/v1/devices/1"]
    refresh_req = server.requests[-3]
    assert refresh_req.headers["Authorization"] == f"Bearer {old_refresh}"


def test_failed_refresh_sends_user_back_to_login(app, server, secrets_store):
    _login(app)
    app.enroll("Laptop")
    server.kill_sessions()
    with pytest.raises(errors.SessionExpired):
        app.sync()
    assert secrets_store.get(SecretKey.REFRESH_TOKEN) is None
    assert app.status().logged_in is False
    with pytest.raises(errors.NotLoggedIn):
        app.sync()


def test_concurrent_401s_refresh_only_once(make_app, server, secrets_store):
    app = make_app()
    _login(app)
    app.enroll("Laptop")
    server.expire_access_tokens()
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def worker():
        barrier.wait()
        try:
            app.me()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert failures == []
    refreshes = [r for r in server.requests if r.path_url.endswith("/auth/refresh")]
    assert len(refreshes) == 1  # a second refresh would have reused a spent token
    assert not any(f.dead for f in server.families)


def test_logout_revokes_and_removes_everything(app, server, secrets_store, tunnel):
    _login(app)
    app.enroll("Laptop")
    app.connect()
    result = app.logout()
    assert result.server_revoked and result.problems == []
    assert server.families[0].dead
    assert tunnel.up is None and tunnel.removed >= 1
    assert secrets_store.keys() == []
    assert not app.state_store.path.exists()
    status = app.status()
    assert not status.logged_in and not status.enrolled


def test_logout_offline_still_clears_locally(app, server, secrets_store):
    _login(app)
    server.offline = True
    result = app.logout()
    assert not result.server_revoked and result.problems
    assert secrets_store.keys() == []


def test_status_fields(app):
    _login(app)
    app.enroll("Laptop")
    app.connect()
    status = app.status()
    assert isinstance(status, Status)
    d = status.to_dict()
    for key in ("server", "user", "device_id", "vpn_ip", "profile_revision",
                "allowed_resources", "tunnel_backend", "connection", "last_sync"):
        assert key in d
    assert d["server"] == SERVER and d["user"] == "alice" and d["vpn_ip"] == "10.8.0.2"
    assert d["connection"] == "connected" and d["tunnel_backend"] == "fake"
    assert d["handshake_age"] == 3.0
    json.dumps(d)


def test_progress_callbacks_are_plain_callables(make_app):
    steps: list[tuple[str, float | None]] = []
    app = make_app(progress=lambda s, f: steps.append((s, f)))
    _login(app)
    app.enroll("Laptop")
    texts = [s for s, _ in steps]
    assert "Signing in" in texts and "Generating keys" in texts
    assert "Registering this device" in texts and steps[-1] == ("Device registered", 1.0)


def test_hostile_profile_rejected(app, server):
    _login(app)
    good = server._profile

    def evil(dev):
        p = good(dev)
        p["config"] = p["config"].replace("[Peer]", "PostUp = rm -rf /\n[Peer]")
        return p

    server._profile = evil
    with pytest.raises(errors.ProtocolError):
        app.enroll("Laptop")
    assert app.status().enrolled is False


def test_public_key_in_use_retries_with_new_key(app, server, secrets_store):
    _login(app)
    theirs = keys.generate_keypair()
    secrets_store.set(SecretKey.DEVICE_PRIVATE_KEY, theirs.private_key)
    from .fakeserver import Device

    server.devices[99] = Device(99, "alice", "other", "o" * 64, theirs.public_key, "linux",
                                "10.8.0.99")
    info = app.enroll("Laptop")
    assert secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY) != theirs.private_key
    assert info.id != 99


def test_state_files_are_private(app):
    _login(app)
    app.enroll("Laptop")
    path = app.state_store.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_export_config_file_and_qr(app, tmp_path, secrets_store):
    _login(app)
    app.enroll("Laptop")
    path = app.export_config()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert secrets_store.get(SecretKey.DEVICE_PRIVATE_KEY) in text
    assert wgconf.PRIVATE_KEY_PLACEHOLDER not in text
    qr = app.config_qr_text()
    assert len(qr.splitlines()) > 10
    png = app.config_qr_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_auto_sync_reports_through_callbacks(app, server):
    _login(app)
    info = app.enroll("Laptop")
    results = []
    errs = []
    done = threading.Event()

    def on_error(exc):
        errs.append(exc)
        done.set()

    server.revoke(info.id)
    worker = app.auto_sync(1.0, results.append, on_error)
    assert done.wait(10)
    worker.stop()
    assert isinstance(errs[0], errors.DeviceRevoked)
    assert not worker.is_alive()


def test_unreadable_state_recovers_by_reenrolling(app, server, secrets_store):
    _login(app)
    first = app.enroll("Laptop")
    secrets_store.delete(SecretKey.PROFILE_KEY)  # e.g. the keyring entry was lost
    status = app.status()
    assert status.logged_in and not status.enrolled
    with pytest.raises(errors.NotEnrolled):
        app.sync()
    again = app.enroll("Laptop")
    assert again.id == first.id and not again.created  # same machine → same device
    assert app.sync().changed is False
