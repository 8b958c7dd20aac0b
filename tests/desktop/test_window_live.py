"""The window's API v1.1 wiring against the client suite's v1.1 fake server (offscreen Qt).

Live profile changes with no click, the honest state in window and tray, a key mismatch with
its re-register button, the sign-out question, "Sign in with <provider>" through a loopback
redirect driven by an HTTP client standing in for the browser, and the TOTP prompt.
"""

from __future__ import annotations

import logging
import time

import pytest
import requests

from nexavpn_client.app import ClientApp
from nexavpn_client.secrets import MemoryStore
from nexavpn_shared import keys
from tests.client.fakeserver import FakeServer

from .guihelp import answer_sign_out, click, sign_in, wait_view

pytestmark = pytest.mark.gui
log = logging.getLogger(__name__)
SERVER = "https://vpn.example.test"
PASSWORD = "correct horse"


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def client(tmp_path, tunnel, server) -> ClientApp:
    app = ClientApp(MemoryStore(), tmp_path / "client", backend=tunnel, platform="linux",
                    transport=server, fingerprint=lambda store: "d" * 64)
    app.long_poll_seconds = 3
    return app


def _signed_in(qtbot, make_window, client):
    window = make_window(client)
    sign_in(qtbot, window, SERVER, "alice", PASSWORD)
    wait_view(qtbot, window, window.connected)
    return window


def test_policy_change_reaches_window_and_tunnel_without_a_click(qtbot, make_window, client,
                                                                  server, tunnel):
    window = _signed_in(qtbot, make_window, client)
    click(qtbot, window.connected.connect_button)
    qtbot.waitUntil(lambda: tunnel.up is not None and window.connected.state == "connected",
                    timeout=10000)
    assert window.watching
    qtbot.waitUntil(lambda: len(server.long_polls) > 0, timeout=10000)
    t0 = time.monotonic()
    server.bump(1, destinations=["10.30.0.0/24"])
    table = window.connected.resources_table
    qtbot.waitUntil(lambda: table.rowCount() == 1 and table.item(0, 0).text() == "10.30.0.0/24",
                    timeout=5000)
    elapsed = time.monotonic() - t0
    log.info("policy change reached the window in %.3f s", elapsed)
    assert "10.30.0.0/24" in tunnel.up.allowed_ips
    assert "revision 2" in window.connected.device_value.text()


def test_stale_handshake_shown_in_window_and_tray(qtbot, make_window, client, tunnel,
                                                  monkeypatch):
    window = _signed_in(qtbot, make_window, client)
    click(qtbot, window.connected.connect_button)
    qtbot.waitUntil(lambda: window.connected.state == "connected", timeout=10000)
    from nexavpn_client.tunnel import CONNECTED, TunnelStatus

    monkeypatch.setattr(tunnel, "status", lambda name: TunnelStatus(
        CONNECTED, "linux", handshake_age=900.0))
    window.refresh_status()
    qtbot.waitUntil(lambda: window.state == "no_handshake", timeout=5000)
    label = window.connected.state_label.text()
    assert label.startswith("No response from the gateway since ")
    assert window.tray.state_action.text() == label
    assert window.connected.connect_button.text() == "Disconnect"
    assert window.tray.disconnect_action.isEnabled()


def test_key_mismatch_view_and_reregistration(qtbot, make_window, client, server, tunnel):
    window = _signed_in(qtbot, make_window, client)
    click(qtbot, window.connected.connect_button)
    qtbot.waitUntil(lambda: tunnel.up is not None, timeout=10000)
    qtbot.waitUntil(lambda: len(server.long_polls) > 0, timeout=10000)
    server.set_key(1, keys.generate_keypair().public_key)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.revoked, timeout=10000)
    assert window.state == "key_mismatch"
    assert "no longer registered" in window.revoked.title.text()
    assert "another installation" in window.revoked.text.text()
    assert tunnel.up is None
    assert "key does not match" in window.tray.state_action.text()
    click(qtbot, window.revoked.reenroll_button)
    wait_view(qtbot, window, window.connected)
    mine = keys.public_key_from_private(client.secrets.get("device_private_key"))
    assert server.devices[1].public_key == mine


def test_sign_out_can_remove_the_device(qtbot, make_window, client, server):
    window = _signed_in(qtbot, make_window, client)
    click(qtbot, window.connected.sign_out_button)
    answer_sign_out(qtbot, window, remove=True)
    wait_view(qtbot, window, window.signin)
    assert 1 not in server.devices
    assert "removed from the server" in window.signin.error_label.text()


def test_sign_out_cancel_keeps_everything(qtbot, make_window, client, server):
    window = _signed_in(qtbot, make_window, client)
    click(qtbot, window.connected.sign_out_button)
    qtbot.waitUntil(lambda: window.sign_out_box is not None, timeout=5000)
    window.sign_out_box.reject()
    qtbot.wait(200)
    assert window.stack.currentWidget() is window.connected
    assert client.status().logged_in and 1 in server.devices


def test_sign_in_with_provider_button_loopback(qtbot, make_window, client, server):
    def browser(url: str) -> bool:
        session = requests.Session()
        session.mount("https://", server)
        location = session.get(url, allow_redirects=False).headers["Location"]
        assert location.startswith("http://127.0.0.1:")
        requests.get(location, timeout=5)
        return True

    client.open_browser = browser
    window = make_window(client)
    view = window.signin
    view.url_edit.setText(SERVER)
    view.url_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: view.sso_box.isVisible() and bool(view.sso_buttons), timeout=10000)
    assert [b.text() for b in view.sso_buttons] == ["Sign in with Corp SSO"]
    click(qtbot, view.sso_buttons[0])
    wait_view(qtbot, window, window.connected)
    assert window.connected.user_value.text() == "alice"
    assert server.oidc_starts[-1]["code_challenge_method"] == "S256"


def test_totp_prompt(qtbot, make_window, client, server):
    server.totp["alice"] = "424242"
    window = make_window(client)
    sign_in(qtbot, window, SERVER, "alice", PASSWORD)
    qtbot.waitUntil(lambda: window.totp_dialog is not None, timeout=10000)
    window.totp_dialog.setTextValue("000000")
    window.totp_dialog.accept()
    qtbot.waitUntil(lambda: window.totp_dialog is not None and window.tasks.idle,
                    timeout=10000)
    assert "wrong" in window.totp_dialog.labelText()
    window.totp_dialog.setTextValue("424242")
    window.totp_dialog.accept()
    wait_view(qtbot, window, window.connected)
    assert client.status().logged_in


def test_watch_held_by_cli_falls_back_to_timer(qtbot, make_window, client, server, tmp_path):
    """The CLI's ``watch`` holds this installation's watch: the window polls, then takes over."""
    cli_app = ClientApp(client.secrets, client.data_dir, backend=client.backend(),
                        platform="linux", transport=server, fingerprint=lambda store: "d" * 64)
    client.login(SERVER, "alice", PASSWORD)
    client.enroll()
    held = cli_app.start_watcher(holder="nexavpn-client watch")
    try:
        window = make_window(client)
        assert window.stack.currentWidget() is window.connected
        assert not window.watching and window.sync_timer.isActive()
        assert "nexavpn-client watch" in window.connected.message_label.text()
    finally:
        held.stop(timeout=0)
    # The CLI's watch ended: the window's next check takes the live watch over.
    window._timer_tick()
    assert window.watching and not window.sync_timer.isActive()


def test_sso_wait_can_be_cancelled(qtbot, make_window, client, server):
    client.open_browser = lambda url: True  # a browser opened, the user never finishes
    window = make_window(client)
    view = window.signin
    view.url_edit.setText(SERVER)
    view.url_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: bool(view.sso_buttons), timeout=10000)
    click(qtbot, view.sso_buttons[0])
    qtbot.waitUntil(lambda: window.enrolling.cancel_button.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: "Waiting for the sign-in" in window.enrolling.detail_label.text(),
                    timeout=5000)
    click(qtbot, window.enrolling.cancel_button)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.signin
                    and window.tasks.idle, timeout=5000)
    assert "did not finish" in window.signin.error_label.text()
    assert not client.status().logged_in
