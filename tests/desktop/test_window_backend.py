"""The window against the real backend over HTTPS on 127.0.0.1 and the real client core.

Every path a user can hit at sign-in (happy path, wrong password, rate limit, no gateway,
full pool, device limit, untrusted self-signed certificate) and after it (connect/disconnect
through the window and the tray, revocation arriving with a periodic sync, the handoff view).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nexavpn_client import errors
from nexavpn_client.runner import RecordingRunner
from nexavpn_client.tunnel import HandoffBackend
from nexavpn_desktop import messages
from nexavpn_desktop.states import StateKind
from nexavpn_desktop.views.enrolling import STEPS

from .conftest import TEST_PASSWORD
from .guihelp import (
    answer_sign_out,
    click,
    fill_sign_in,
    sign_in,
    wait_sign_in_error,
    wait_view,
)

pytestmark = pytest.mark.gui


def _admin(api) -> dict[str, str]:
    return api.user_headers("root", role="admin")


def _enroll_other_device(api, username: str) -> None:
    from tests.backend.provisioning_helpers import E, enroll_body

    headers = api.headers(api.login(username)["access_token"])
    r = api.client.post(E, json=enroll_body(), headers=headers)
    assert r.status_code == 201, r.get_json()


def test_sign_in_happy_path_to_connected_view(qtbot, served, alice, gateway, make_client,
                                              make_window, tunnel, qsettings):
    srv, ca_file = served
    window = make_window(make_client(ca_file=ca_file))
    steps: list[str] = []
    window.tasks.progress.connect(lambda text, _f: steps.append(text))
    sign_in(qtbot, window, srv.url, "alice", TEST_PASSWORD)
    assert window.stack.currentWidget() is window.enrolling
    wait_view(qtbot, window, window.connected)

    # Went through every enrolling step, in order.
    assert [s for s in ("Signing in", "Generating keys", "Registering this device",
                        "Saving the profile") if s in steps] == [
        "Signing in", "Generating keys", "Registering this device", "Saving the profile"]
    assert any(s.startswith("Preparing the tunnel") for s in steps)
    assert window.enrolling.current == len(STEPS)

    view = window.connected
    assert view.ip_value.text().startswith("10.8.0.")
    assert view.server_value.text() == srv.url
    assert view.user_value.text() == "alice"
    table = view.resources_table
    rows = {(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())}
    assert rows == {("10.20.0.0/24", "engineering"), ("10.30.5.0/24", "engineering")}
    assert "Linux" in view.backend_value.text()
    assert view.state_label.text() == "Disconnected"
    assert view.card.kind == StateKind.DISCONNECTED and not view.connect_button.is_on
    assert view.sync_value.text() != "never"
    assert not view.handoff_box.isVisible()
    # The password is gone from the form; the server and user are remembered.
    assert window.signin.password_edit.text() == ""
    assert qsettings.value("server/url") == srv.url
    assert qsettings.value("server/username") == "alice"

    # Connect and disconnect through the window.
    click(qtbot, view.connect_button)
    qtbot.waitUntil(lambda: view.state == "connected" and window.tasks.idle, timeout=10000)
    assert tunnel.up is not None and "10.20.0.0/24" in tunnel.up.allowed_ips
    assert view.state_label.text() == "Connected"
    assert view.card.kind == StateKind.CONNECTED
    assert view.card.detail().startswith("Last handshake 7 s ago.")
    assert view.connect_button.text() == "Disconnect" and view.connect_button.is_on
    tray = window.tray
    assert tray.state_action.text() == "Connected"
    assert tray.disconnect_action.isEnabled() and not tray.connect_action.isEnabled()

    # …and through the tray menu.
    tray.disconnect_action.trigger()
    qtbot.waitUntil(lambda: view.state == "disconnected" and window.tasks.idle, timeout=10000)
    assert tunnel.up is None
    assert tray.connect_action.isEnabled()
    tray.connect_action.trigger()
    qtbot.waitUntil(lambda: view.state == "connected" and window.tasks.idle, timeout=10000)
    assert tunnel.up is not None

    # Sync now: nothing changed on the server.
    click(qtbot, view.sync_button)
    qtbot.waitUntil(lambda: window.tasks.idle and view.message_label.isVisible(),
                    timeout=10000)
    assert view.message_label.text() == "Up to date."

    # Settings & about.
    click(qtbot, view.settings_button)
    assert window.stack.currentWidget() is window.settings_view
    assert window.settings_view.server_value.text() == srv.url
    assert "CA file" in window.settings_view.trust_value.text()
    click(qtbot, window.settings_view.back_button)
    assert window.stack.currentWidget() is view

    # Sign out: asked whether to remove the device; kept, the core removes the tunnel and
    # the secrets; the address stays pre-filled.
    click(qtbot, view.sign_out_button)
    answer_sign_out(qtbot, window, remove=False)
    wait_view(qtbot, window, window.signin)
    assert "stays registered" in window.signin.error_label.text()
    assert tunnel.up is None
    assert window.client.secrets.keys() == []
    assert window.signin.url_edit.text() == srv.url
    assert "signed out" in window.signin.error_label.text()


def test_wrong_password_clears_only_the_password(qtbot, served, alice, gateway, make_client,
                                                  make_window):
    srv, ca_file = served
    window = make_window(make_client(ca_file=ca_file))
    sign_in(qtbot, window, srv.url, "alice", "not the password")
    text = wait_sign_in_error(qtbot, window)
    assert text == messages.sentence_for(errors.InvalidCredentials)
    assert window.signin.password_edit.text() == ""
    assert window.signin.username_edit.text() == "alice"
    assert window.signin.url_edit.text() == srv.url
    # Right password afterwards works from the same form.
    qtbot.keyClicks(window.signin.password_edit, TEST_PASSWORD)
    click(qtbot, window.signin.sign_in_button)
    wait_view(qtbot, window, window.connected)


def test_rate_limited_keeps_the_password(qtbot, served, backend_app, alice, gateway,
                                         make_client, make_window):
    backend_app.config["NEXAVPN_LOGIN_MAX_FAILURES"] = 2
    srv, ca_file = served
    window = make_window(make_client(ca_file=ca_file))
    for _ in range(2):
        sign_in(qtbot, window, srv.url, "alice", "wrong")
        assert wait_sign_in_error(qtbot, window) == messages.sentence_for(errors.InvalidCredentials)
    sign_in(qtbot, window, srv.url, "alice", TEST_PASSWORD)
    text = wait_sign_in_error(qtbot, window)
    assert text.startswith("Too many attempts.")  # the core's words, as the CLI says them
    assert window.signin.password_edit.text() == TEST_PASSWORD
    assert window.stack.currentWidget() is window.signin


@pytest.mark.parametrize("case", ["no_gateway", "pool_exhausted", "device_limit"])
def test_enrollment_refusals_are_explained(case, qtbot, served, backend_app, api, alice,
                                           make_client, make_window):
    from tests.backend.provisioning_helpers import make_gateway, make_policy

    make_policy(backend_app, "engineering", ["10.20.0.0/24"], groups=["eng"])
    if case == "no_gateway":
        make_gateway(backend_app, "offline", online=False)
        expected = errors.NoActiveGateway
    elif case == "pool_exhausted":
        make_gateway(backend_app, "tiny", vpn_cidr="10.8.0.0/30")  # room for one device
        api.create_user("bob")
        _enroll_other_device(api, "bob")
        expected = errors.IpPoolExhausted
    else:
        backend_app.config["NEXAVPN_DEVICE_LIMIT"] = 1
        make_gateway(backend_app)
        _enroll_other_device(api, "alice")
        expected = errors.DeviceLimitReached
    srv, ca_file = served
    window = make_window(make_client(ca_file=ca_file))
    sign_in(qtbot, window, srv.url, "alice", TEST_PASSWORD)
    text = wait_sign_in_error(qtbot, window)
    assert text == messages.sentence_for(expected)
    assert window.signin.password_edit.text() == TEST_PASSWORD
    assert window.state == "signed_out"


def test_untrusted_self_signed_server_shows_fingerprint_and_trust_flow(
        qtbot, served_self_signed, alice, gateway, make_client, make_window):
    srv, sha256 = served_self_signed
    client = make_client()  # no CA file: the certificate is unknown to this computer
    window = make_window(client)
    view = window.signin
    sign_in(qtbot, window, srv.url, "alice", TEST_PASSWORD)
    text = wait_sign_in_error(qtbot, window)
    assert text == messages.sentence_for(errors.CertificateUntrusted)
    assert view.trust_box.isVisible()
    shown = view.fingerprint_label.text().replace("\n", "")
    assert ":" in shown and shown.replace(":", "").lower() == sha256
    assert view.password_edit.text() == TEST_PASSWORD
    assert client.status().logged_in is False

    # The user compared it and trusts it: pinned, then signed in straight away.
    click(qtbot, view.trust_button)
    wait_view(qtbot, window, window.connected)
    status = client.status()
    assert status.trust == "pinned" and status.enrolled
    click(qtbot, window.connected.settings_button)
    assert window.settings_view.cert_fp_value.text().replace("\n", "") == shown
    assert "Pinned" in window.settings_view.trust_value.text()


def test_reachability_check_offers_trust_before_sign_in(qtbot, served_self_signed, alice,
                                                        gateway, make_client, make_window):
    srv, sha256 = served_self_signed
    window = make_window(make_client())
    view = window.signin
    fill_sign_in(qtbot, window, srv.url, "alice", "")
    # The check runs by itself shortly after typing stops.
    qtbot.waitUntil(lambda: view.trust_box.isVisible(), timeout=10000)
    assert view.fingerprint_label.text().replace(":", "").replace("\n", "").lower() == sha256
    assert window.stack.currentWidget() is view
    click(qtbot, view.trust_button)
    qtbot.waitUntil(lambda: window.tasks.idle and not view.trust_box.isVisible(),
                    timeout=10000)
    assert "fingerprint" in view.check_label.text()
    assert window.client.status().trust is None  # not signed in yet: nothing stored as server
    qtbot.keyClicks(view.password_edit, TEST_PASSWORD)
    click(qtbot, view.sign_in_button)
    wait_view(qtbot, window, window.connected)
    assert window.client.status().trust == "pinned"


def test_revocation_arriving_with_a_periodic_sync(qtbot, served, api, alice, gateway,
                                                  make_client, make_window, tunnel):
    srv, ca_file = served
    client = make_client(ca_file=ca_file)
    window = make_window(client, sync_interval=0.5)
    sign_in(qtbot, window, srv.url, "alice", TEST_PASSWORD)
    wait_view(qtbot, window, window.connected)
    click(qtbot, window.connected.connect_button)
    qtbot.waitUntil(lambda: tunnel.up is not None and window.tasks.idle, timeout=10000)
    assert window.watching  # the live watcher (a server without long-poll: polled)

    device_id = client.status().device_id
    r = api.client.post(f"/api/v1/devices/{device_id}/revoke", headers=_admin(api), json={})
    assert r.status_code == 200, r.get_json()

    # No click: the watcher's next request gets 410 and the window switches.
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.revoked, timeout=15000)
    assert not window.revoked.connect_button.isEnabled()
    assert tunnel.up is None
    assert window.state == "revoked"
    assert window.tray.state_action.text() == "This device was revoked"
    assert not window.tray.connect_action.isEnabled()
    window.tray.connect_action.trigger()  # ignored even if something fired it
    qtbot.wait(200)
    assert tunnel.up is None
    assert not window.watching and not window.sync_timer.isActive()

    # Sign out from the revoked view (nothing to ask: the device is gone already).
    click(qtbot, window.revoked.sign_out_button)
    wait_view(qtbot, window, window.signin)
    assert client.status().logged_in is False


def test_startup_routes_to_the_saved_state(qtbot, served, api, alice, gateway, make_client,
                                           make_window):
    srv, ca_file = served
    client = make_client(ca_file=ca_file)
    client.login(srv.url, "alice", TEST_PASSWORD)
    info = client.enroll("Laptop")
    window = make_window(client)
    assert window.stack.currentWidget() is window.connected
    assert window.connected.device_value.text().startswith("Laptop")

    api.client.post(f"/api/v1/devices/{info.id}/revoke", headers=_admin(api), json={})
    with pytest.raises(errors.DeviceRevoked):
        client.sync()
    second = make_window(client)
    assert second.stack.currentWidget() is second.revoked
    # Register again from the revoked view: the session bound to the revoked device ended with
    # it, so this asks for a new sign-in first; then a new device, back to the status view.
    click(qtbot, second.revoked.reenroll_button)
    wait_view(qtbot, second, second.signin)
    sign_in(qtbot, second, srv.url, "alice", TEST_PASSWORD)
    wait_view(qtbot, second, second.connected)
    assert client.status().device_id != info.id


def test_handoff_backend_shows_note_qr_and_open_action(qtbot, served, alice, gateway,
                                                        make_client, make_window,
                                                        tmp_path: Path):
    srv, ca_file = served
    runner = RecordingRunner()
    handoff = HandoffBackend(runner, tmp_path / "export", platform="linux",
                             which=lambda name: f"/usr/bin/{name}")
    window = make_window(make_client(ca_file=ca_file, backend=handoff, runner=runner))
    sign_in(qtbot, window, srv.url, "alice", TEST_PASSWORD)
    wait_view(qtbot, window, window.connected)
    view = window.connected
    assert view.handoff_box.isVisible()
    assert "Temporary fallback" in view.handoff_note.text()
    assert "temporary fallback" in view.backend_value.text()
    assert not view.connect_button.isVisible()
    qtbot.waitUntil(lambda: view.qr_label.pixmap() is not None
                    and not view.qr_label.pixmap().isNull(), timeout=10000)
    assert view.qr_label.pixmap().width() > 100

    click(qtbot, view.open_wg_button)
    qtbot.waitUntil(lambda: window.tasks.idle and view.message_label.isVisible(),
                    timeout=10000)
    # The core writes the complete profile user-only into its export folder and hands it to
    # NetworkManager; without nmcli on this machine it says where the file is instead.
    conf = window.client.data_dir / "export" / f"{window.client.tunnel_name}.conf"
    assert (conf.stat().st_mode & 0o777) == 0o600
    assert str(conf) in view.message_label.text()
    if shutil.which("nmcli"):
        assert ["nmcli", "connection", "import", "type", "wireguard", "file", str(conf)] in (
            runner.argvs)
    else:
        assert "No WireGuard app was found" in view.message_label.text()
    assert not window.tray.connect_action.isEnabled()


def test_server_gone_shows_offline_since_and_keeps_the_profile(qtbot, served, alice, gateway,
                                                               make_client, make_window):
    srv, ca_file = served
    window = make_window(make_client(ca_file=ca_file, timeout=(2.0, 3.0)))
    sign_in(qtbot, window, srv.url, "alice", TEST_PASSWORD)
    wait_view(qtbot, window, window.connected)
    view = window.connected
    assert not view.offline_label.isVisible()
    srv.close()
    click(qtbot, view.sync_button)
    qtbot.waitUntil(lambda: window.tasks.idle and view.offline_label.isVisible(), timeout=15000)
    assert view.offline_label.text().startswith("Offline since ")
    assert "last profile is kept" in view.offline_label.text()
    assert window.stack.currentWidget() is view
    assert view.ip_value.text().startswith("10.8.0.")
    assert view.resources_table.rowCount() == 2
    # Connecting still works from the kept profile (no network call).
    click(qtbot, view.connect_button)
    qtbot.waitUntil(lambda: view.state == "connected" and window.tasks.idle, timeout=10000)


def test_sessions_ended_by_admin_send_the_user_back_to_sign_in(qtbot, served, api, alice,
                                                               gateway, make_client,
                                                               make_window):
    srv, ca_file = served
    client = make_client(ca_file=ca_file)
    window = make_window(client)
    sign_in(qtbot, window, srv.url, "alice", TEST_PASSWORD)
    wait_view(qtbot, window, window.connected)
    device_id = client.status().device_id
    r = api.client.post(f"/api/v1/devices/{device_id}/revoke", headers=_admin(api),
                        json={"revoke_sessions": True})
    assert r.status_code == 200, r.get_json()
    click(qtbot, window.connected.sync_button)
    # The session was bound to the revoked device: the server says why it ended (the device),
    # so the window shows the device as revoked rather than a bare "session ended".
    wait_view(qtbot, window, window.revoked, timeout=15000)
    assert client.status().revoked
    assert not window.watching and not window.sync_timer.isActive()
