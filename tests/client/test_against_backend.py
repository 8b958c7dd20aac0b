"""The client core against the real Flask backend served over HTTPS on 127.0.0.1.

The backend is set up through its own API (admin creates a gateway and a policy, the gateway
agent's heartbeat brings it online); the client then logs in, enrolls, syncs, refreshes, is
rotated and revoked, exactly as in the field. Two trust modes: a test CA (CA file) and a
self-signed certificate pinned by fingerprint.
"""

from __future__ import annotations

import pytest

from nexavpn_client import errors
from nexavpn_client.app import ClientApp
from nexavpn_client.secrets import MemoryStore
from nexavpn_client.secrets.base import SecretKey
from nexavpn_shared import keys

from .conftest import FakeTunnel

TEST_PASSWORD = "correct horse battery"  # the password tests/backend_fixtures.py uses


@pytest.fixture
def world(backend_app, api):
    """Admin, a user, an online gateway (via the agent heartbeat) and a policy for the user."""
    client = api.client
    admin = api.user_headers("root", role="admin")
    uid = api.create_user("alice", groups=["eng"])
    r = client.post("/api/v1/gateways", headers=admin, json={
        "name": "gw-test", "endpoint": "vpn.example.test:51820", "vpn_cidr": "10.8.0.0/24",
        "dns": ["10.8.0.1"], "mtu": 1420,
    })
    assert r.status_code == 201, r.get_json()
    gw = r.get_json()
    agent = {"Authorization": f"Bearer {gw['agent_token']}"}
    hb = client.post("/api/v1/gateway-agent/heartbeat", headers=agent, json={
        "public_key": keys.generate_keypair().public_key, "listen_port": 51820, "peers": [],
    })
    assert hb.status_code == 204, hb.get_json()
    r = client.post("/api/v1/policies", headers=admin, json={
        "name": "eng", "description": "", "enabled": True, "user_ids": [], "groups": ["eng"],
        "destinations": ["10.20.0.0/24"],
    })
    assert r.status_code == 201, r.get_json()
    return {"admin": admin, "uid": uid, "policy": r.get_json(), "client": client}


def _requests_text(recorded) -> str:
    out = []
    for req in recorded:
        out.append(req.url or "")
        out.extend(f"{k}: {v}" for k, v in req.headers.items())
        body = req.body or b""
        out.append(body.decode() if isinstance(body, bytes) else str(body))
    return "\n".join(out)


def _make(tmp_path, recorded, **kw) -> ClientApp:
    return ClientApp(MemoryStore(), tmp_path / "client", backend=FakeTunnel(),
                     observer=recorded.append, platform="linux", timeout=(5.0, 15.0), **kw)


def test_full_lifecycle_with_ca_file(world, served_ca, tmp_path):
    srv, ca_file = served_ca
    recorded: list = []
    app = _make(tmp_path, recorded, ca_file=ca_file)
    tunnel = app.backend()

    check = app.check_server(srv.url)
    assert check.trusted and check.trust_mode == "ca_file"
    user = app.login(srv.url, "alice", TEST_PASSWORD)
    assert user.username == "alice"
    with pytest.raises(errors.InvalidCredentials):
        _make(tmp_path / "other", [], ca_file=ca_file).login(srv.url, "alice", "wrong")

    info = app.enroll("Laptop")
    assert info.created and info.vpn_ip.startswith("10.8.0.")
    assert app.enroll().id == info.id  # re-enroll: same device record
    status = app.status()
    assert [r["destination"] for r in status.allowed_resources] == ["10.20.0.0/24"]
    assert "10.20.0.0/24" in app.tunnel_config().allowed_ips
    app.connect()
    assert tunnel.up is not None

    # Unchanged → 304.
    assert app.sync().changed is False

    # Admin widens the policy → new revision, applied to the connected tunnel.
    admin, client = world["admin"], world["client"]
    pid = world["policy"]["id"]
    r = client.patch(f"/api/v1/policies/{pid}", headers=admin,
                     json={"destinations": ["10.20.0.0/24", "10.30.0.0/24"]})
    assert r.status_code == 200, r.get_json()
    result = app.sync()
    assert result.changed and result.revision > info.profile_revision
    assert "10.30.0.0/24" in tunnel.up.allowed_ips

    # A dead access token is refreshed transparently (refresh token rotates).
    old_refresh = app.secrets.get(SecretKey.REFRESH_TOKEN)
    app.secrets.set(SecretKey.ACCESS_TOKEN, "not-a-valid-token")
    assert app.me().username == "alice"
    assert app.secrets.get(SecretKey.REFRESH_TOKEN) != old_refresh

    # The owner (here: admin) asks for rotation → the client makes a new key and re-enrolls.
    old_private = app.secrets.get(SecretKey.DEVICE_PRIVATE_KEY)
    r = client.post(f"/api/v1/devices/{info.id}/rotate", headers=admin, json={})
    assert r.status_code == 200, r.get_json()
    result = app.sync()
    assert result.rotated
    new_private = app.secrets.get(SecretKey.DEVICE_PRIVATE_KEY)
    assert new_private != old_private
    r = client.get(f"/api/v1/devices/{info.id}", headers=admin)
    assert r.get_json()["public_key"] == keys.public_key_from_private(new_private)
    assert r.get_json()["rotation_required"] is False

    # Revoked → 410 → unusable locally, tunnel gone.
    r = client.post(f"/api/v1/devices/{info.id}/revoke", headers=admin, json={})
    assert r.status_code == 200, r.get_json()
    with pytest.raises(errors.DeviceRevoked):
        app.sync()
    assert app.status().revoked and tunnel.up is None

    # Logout ends the session on the server.
    refresh = app.secrets.get(SecretKey.REFRESH_TOKEN)
    result = app.logout()
    assert result.server_revoked, result.problems
    r = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh}"})
    assert r.status_code == 401

    # Not one request carried a private key.
    text = _requests_text(recorded)
    assert old_private not in text and new_private not in text
    assert "private_key" not in text


def test_pinned_self_signed_lifecycle(world, served_self_signed, tmp_path):
    srv, fp = served_self_signed
    recorded: list = []
    app = _make(tmp_path, recorded)
    check = app.check_server(srv.url)
    assert not check.trusted and check.fingerprint.replace(":", "").lower() == fp
    with pytest.raises(errors.CertificateUntrusted):
        app.login(srv.url, "alice", TEST_PASSWORD)
    with pytest.raises(errors.PinMismatch):
        app.login(srv.url, "alice", TEST_PASSWORD, trust_fingerprint="00" * 32)
    app.login(srv.url, "alice", TEST_PASSWORD, trust_fingerprint=fp)
    assert app.status().trust == "pinned"
    info = app.enroll("Pinned laptop")
    assert app.sync().changed is False
    client, admin = world["client"], world["admin"]
    client.post(f"/api/v1/devices/{info.id}/revoke", headers=admin, json={})
    with pytest.raises(errors.DeviceRevoked):
        app.sync()
    assert app.secrets.get(SecretKey.DEVICE_PRIVATE_KEY) not in _requests_text(recorded)


def test_session_revoked_by_admin_sends_back_to_login(world, served_ca, tmp_path):
    srv, ca_file = served_ca
    app = _make(tmp_path, [], ca_file=ca_file)
    app.login(srv.url, "alice", TEST_PASSWORD)
    info = app.enroll("Laptop")
    client, admin = world["client"], world["admin"]
    r = client.post(f"/api/v1/devices/{info.id}/revoke", headers=admin,
                    json={"revoke_sessions": True})
    assert r.status_code == 200, r.get_json()
    with pytest.raises((errors.SessionExpired, errors.DeviceRevoked)):
        app.sync()
    with pytest.raises((errors.NotLoggedIn, errors.DeviceRevoked)):
        app.sync()


def test_watcher_follows_a_policy_edit_and_remove_device(world, served_ca, tmp_path):
    """Today's server answers the long-poll at once (no hold): the watcher still follows."""
    import time

    srv, ca_file = served_ca
    app = _make(tmp_path, [], ca_file=ca_file)
    app.poll_fallback_seconds = 0.2
    tunnel = app.backend()
    app.login(srv.url + "/login", "alice", TEST_PASSWORD)  # pasted from the browser
    assert app.status().server == srv.url
    info = app.enroll("Laptop")
    app.connect()
    errs: list = []
    watcher = app.start_watcher(None, errs.append)
    try:
        client, admin = world["client"], world["admin"]
        pid = world["policy"]["id"]
        r = client.patch(f"/api/v1/policies/{pid}", headers=admin,
                         json={"destinations": ["10.20.0.0/24", "10.31.0.0/24"]})
        assert r.status_code == 200, r.get_json()
        deadline = time.monotonic() + 15
        while "10.31.0.0/24" not in tunnel.up.allowed_ips and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "10.31.0.0/24" in tunnel.up.allowed_ips and not errs
    finally:
        watcher.stop(timeout=0)
    # Leaving with the device: owner delete, or (deletes being for admins) owner revoke.
    result = app.logout(remove_device=True)
    assert result.device_removed, result.problems
    r = world["client"].get(f"/api/v1/devices/{info.id}", headers=world["admin"])
    assert r.status_code == 404 or r.get_json()["status"] == "revoked"
