"""Window behaviour that needs no backend: URL validation, unreachable and slow servers,
progress mapping, the tray's actions and closing into the tray."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from PySide6.QtCore import QTimer

from nexavpn_client import errors
from nexavpn_desktop import messages
from nexavpn_desktop.views.enrolling import STEPS, step_index

from .guihelp import click, fill_sign_in, sign_in, wait_sign_in_error

pytestmark = pytest.mark.gui


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.accepted = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.conns.append(conn)
            self.accepted.set()

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


def test_url_is_validated_as_the_user_types(qtbot, make_client, make_window):
    window = make_window(make_client())
    view = window.signin
    assert window.stack.currentWidget() is view
    fill_sign_in(qtbot, window, "http://vpn.example.com", "alice", "pw")
    assert view.url_hint.isVisible()
    assert "https://" in view.url_hint.text()
    assert not view.sign_in_button.isEnabled()

    view.url_edit.clear()
    qtbot.keyClicks(view.url_edit, "https://vpn.example.com/#x")
    assert "fragment" in view.url_hint.text()
    assert not view.sign_in_button.isEnabled()

    view.url_edit.clear()
    qtbot.keyClicks(view.url_edit, "https://user:pw@vpn.example.com")
    assert view.url_hint.isVisible() and not view.sign_in_button.isEnabled()

    view.url_edit.clear()
    qtbot.keyClicks(view.url_edit, "vpn.example.com:8443")  # no scheme
    assert not view.sign_in_button.isEnabled()

    view.url_edit.clear()
    qtbot.keyClicks(view.url_edit, "https://vpn.example.com:8443")
    assert not view.url_hint.isVisible()
    assert view.normalized_url == "https://vpn.example.com:8443"
    assert view.sign_in_button.isEnabled()
    view.password_edit.clear()
    assert not view.sign_in_button.isEnabled()


def test_unreachable_server_is_explained_and_password_kept(qtbot, make_client, make_window):
    window = make_window(make_client())
    url = f"https://127.0.0.1:{_closed_port()}"
    sign_in(qtbot, window, url, "alice", "s3cret pass")
    text = wait_sign_in_error(qtbot, window)
    assert text == messages.sentence_for(errors.ConnectionRefused)
    assert window.signin.password_edit.text() == "s3cret pass"
    assert window.signin.username_edit.text() == "alice"
    assert not window.busy_bar.isVisible()
    # The reachability check under the address says the same, on its own.
    qtbot.waitUntil(lambda: window.signin.check_label.text() == text, timeout=10000)


def test_ui_stays_responsive_while_a_slow_server_answers(qtbot, make_client, make_window):
    server = SilentServer()
    try:
        client = make_client(timeout=(2.0, 2.5))
        window = make_window(client)
        ticks_while_busy = 0

        def tick() -> None:
            nonlocal ticks_while_busy
            if window.tasks.running("sign-in"):
                ticks_while_busy += 1

        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(tick)
        timer.start()
        started = time.monotonic()
        sign_in(qtbot, window, f"https://127.0.0.1:{server.port}", "alice", "pw-kept")
        assert window.tasks.busy
        qtbot.waitUntil(lambda: window.busy_bar.isVisible(), timeout=2000)
        assert server.accepted.wait(5)
        # The server holds the connection: the worker waits, the event loop does not.
        qtbot.wait(600)
        assert window.tasks.running("sign-in")
        assert ticks_while_busy >= 10
        assert window.stack.currentWidget() is window.enrolling
        text = wait_sign_in_error(qtbot, window)
        elapsed = time.monotonic() - started
        timer.stop()
        assert text == messages.sentence_for(errors.ServerTimeout)
        assert elapsed >= 2.0
        # Ticks kept coming for (almost) the whole wait: ~50 per second at 20 ms.
        assert ticks_while_busy >= 20 * (elapsed - 1.0)
        assert window.signin.password_edit.text() == "pw-kept"
        assert not window.busy_bar.isVisible()
    finally:
        server.close()


def test_progress_texts_map_onto_the_steps():
    assert step_index("Checking https://vpn.example.com") == 0
    assert step_index("Signing in") == 0
    assert step_index("Generating keys") == 1
    assert step_index("Registering this device") == 2
    assert step_index("Saving the profile") == 3
    assert step_index("Preparing the tunnel (linux)") == 4
    assert step_index("Something else") is None
    assert len(STEPS) == 5


def test_enrolling_view_never_goes_back(qtbot, make_client, make_window):
    window = make_window(make_client())
    view = window.enrolling
    view.reset()
    view.on_progress("Generating keys", 0.2)
    assert view.current == 1 and view.step_labels[0].text().startswith("✓")
    view.on_progress("Checking https://x", None)
    assert view.current == 1
    view.finish()
    assert all(lbl.text().startswith("✓") for lbl in view.step_labels)
    assert view.progress_bar.value() == 100


def test_tray_menu_reflects_state_and_quit_closes(qtbot, make_client, make_window, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from nexavpn_desktop.tray import Tray

    window = make_window(make_client())
    tray = window.tray
    assert tray is not None
    assert tray.state_action.text() == "Signed out"
    assert not tray.connect_action.isEnabled() and not tray.disconnect_action.isEnabled()
    # Pretend a tray exists: closing the window hides it into the tray instead of quitting.
    tray2 = Tray(window, force_available=True)
    assert window.tray is tray2
    window.close()
    assert not window.isVisible()
    assert window.stack.currentWidget() is window.signin
    tray2.show_action.trigger()
    assert window.isVisible()
    quits = []
    monkeypatch.setattr(QApplication, "quit", staticmethod(lambda: quits.append(True)))
    tray2.quit_action.trigger()
    assert quits == [True]
    assert not window.isVisible()


def test_sign_in_button_is_blocked_while_busy(qtbot, make_client, make_window):
    server = SilentServer()
    try:
        window = make_window(make_client(timeout=(1.0, 1.5)))
        sign_in(qtbot, window, f"https://127.0.0.1:{server.port}", "alice", "pw")
        assert not window.signin.sign_in_button.isEnabled()
        wait_sign_in_error(qtbot, window)
        assert window.signin.sign_in_button.isEnabled()
        click(qtbot, window.signin.sign_in_button)  # can try again afterwards
        wait_sign_in_error(qtbot, window)
    finally:
        server.close()
