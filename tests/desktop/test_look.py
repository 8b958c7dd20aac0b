"""The window's look: the status card per state, the toggle, keyboard, accessible names, the
light/dark palette, the minimum size, the refreshing "12 s ago" and the tray icon per state."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QLineEdit,
    QWidget,
)

from nexavpn_client.app import Status
from nexavpn_desktop.icons import HOLLOW, state_color, state_pixmap
from nexavpn_desktop.states import SHORT_TEXT, StateKind, describe
from nexavpn_desktop.style import card_colors, contrast_ratio, dark_palette
from nexavpn_desktop.views.status_card import StatusCard
from nexavpn_desktop.window import MINIMUM_SIZE

pytestmark = pytest.mark.gui

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
KEY = "hT3pV0s5qkq2yq8mXyM4i7m1Qp6Yl0f8cJ3vXb2aR1s="


def _iso(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat()


def sample(**kw) -> Status:
    base = dict(server="https://vpn.example.com", user="alice", logged_in=True, enrolled=True,
                device_id=7, device_name="laptop", vpn_ip="10.8.0.2", profile_revision=3,
                allowed_resources=[{"destination": "10.20.0.0/24", "policy": "eng"},
                                   {"destination": "10.30.5.0/28", "policy": "printers"}],
                tunnel_backend="linux", connection="disconnected", last_sync=_iso(12),
                device_public_key=KEY, device_fingerprint="ab" * 32,
                # No core judgement unless a test gives one: these samples exercise the mapping
                # of the plain words (test_the_core_s_own_state_wins… covers the core's state).
                state=None)
    base.update(kw)
    return Status(**base)


@pytest.fixture
def window(make_client, make_window):
    """A window around an offline core, showing the connected view with a sample status."""
    w = make_window(make_client(), start=False)
    w.connected.clock = lambda: NOW
    w.show_connected(sample())
    w._stop_timers()  # the sample must not be replaced by the (empty) core's status
    return w


@pytest.fixture
def dark():
    """The application palette switched to a dark one for the test."""
    app = QApplication.instance()
    before = app.palette()
    app.setPalette(dark_palette())
    yield
    app.setPalette(before)


# ---------------------------------------------------------------- states → card


@pytest.mark.parametrize(("kw", "transient", "kind", "headline"), [
    (dict(connection="connected", handshake_age=7.0), None, StateKind.CONNECTED, "Connected"),
    (dict(connection="connected", handshake_age=None), None, StateKind.NO_HANDSHAKE,
     "Connected, no handshake yet"),
    (dict(connection="connected", handshake_age=400.0), None, StateKind.NO_HANDSHAKE,
     "No handshake for 6 min"),
    (dict(), None, StateKind.DISCONNECTED, "Disconnected"),
    (dict(), "connecting", StateKind.CONNECTING, "Connecting…"),
    (dict(connection="connected", handshake_age=3.0), "disconnecting", StateKind.CONNECTING,
     "Disconnecting…"),
    (dict(offline_since=_iso(60)), None, StateKind.OFFLINE, "Server unreachable"),
    (dict(revoked=True), None, StateKind.REVOKED, "This device was revoked"),
    (dict(connection="pending_approval"), None, StateKind.PENDING_APPROVAL,
     "Waiting for approval"),
    (dict(connection="key_mismatch"), None, StateKind.KEY_MISMATCH,
     "This device's key does not match"),
    (dict(connection="handed_off", tunnel_backend="handoff"), None, StateKind.HANDED_OFF,
     "Handed off to the WireGuard app"),
    (dict(tunnel_backend="handoff"), None, StateKind.DISCONNECTED,
     "Ready to open in WireGuard"),
    (dict(connection="unavailable", detail="wg is missing"), None, StateKind.UNAVAILABLE,
     "Tunnel unavailable"),
])
def test_describe_maps_the_core_status(kw, transient, kind, headline):
    # No core judgement here: these exercise the mapping of the plain words (the core's own
    # ConnectionState winning is tested below).
    p = describe(sample(**kw), transient)
    assert (p.kind, p.headline) == (kind, headline)
    assert p.detail
    if kind == StateKind.UNAVAILABLE:
        assert p.detail == "wg is missing"
    if kind == StateKind.CONNECTED:
        assert p.detail.startswith("Last handshake 7 s ago.")
    assert describe(None).kind == StateKind.SIGNED_OUT


@dataclass(frozen=True)
class CoreState:
    """The shape of the connection state a core may judge itself (``kind``, ``text``, age)."""

    kind: str
    text: str
    handshake_age: float | None = None


@dataclass(frozen=True)
class StatusWithState(Status):
    """A status that carries the core's own judgement of the connection."""

    state: CoreState | None = None


def test_the_core_s_own_state_wins_over_the_connection_word():
    def with_state(kind, text, age=None, **kw) -> Status:
        base = sample(**kw)
        fields = {f: getattr(base, f) for f in base.__dataclass_fields__ if f != "state"}
        return StatusWithState(**fields, state=CoreState(kind, text, age))

    p = describe(with_state("no_handshake", "No response from the gateway since 12:03:04",
                            connection="connected", handshake_age=2.0))
    assert p.kind == StateKind.NO_HANDSHAKE
    assert p.headline == "No response from the gateway since 12:03:04"
    p = describe(with_state("connected", "Connected (handshake not visible)",
                            connection="connected"))
    assert (p.kind, p.headline) == (StateKind.CONNECTED, "Connected (handshake not visible)")
    assert "Last handshake" not in p.detail
    p = describe(with_state("connected", "Connected", 9.0, connection="connected"))
    assert p.detail.startswith("Last handshake 9 s ago.")
    p = describe(with_state("pending_approval", "Waiting for an administrator's approval"))
    assert p.kind == StateKind.PENDING_APPROVAL
    assert p.headline == "Waiting for an administrator's approval"
    # Offline is the control plane's state, not the tunnel's: still shown for "disconnected".
    p = describe(with_state("disconnected", "Disconnected", offline_since=_iso(30)))
    assert p.kind == StateKind.OFFLINE
    # The transient words of a running call still win.
    assert describe(with_state("connected", "Connected", 1.0), "disconnecting").headline == (
        "Disconnecting…")


def test_dead_end_view_says_revoked_or_key_mismatch(qtbot, window):
    view = window.revoked
    window.show_revoked()
    assert view.card.kind == StateKind.REVOKED and view.title.text() == "This device was revoked"
    assert not view.connect_button.isEnabled()
    view.set_reason("key_mismatch")
    assert view.card.kind == StateKind.KEY_MISMATCH
    assert "key" in view.card.headline() and "Register this installation" in (
        view.reenroll_button.text())
    assert view.reenroll_button.accessibleName() == view.reenroll_button.text()
    view.set_reason("revoked")
    assert view.card.kind == StateKind.REVOKED
    assert view.reenroll_button.text() == "Register this computer again"


@pytest.mark.parametrize("palette_name", ["light", "dark"])
def test_status_card_colour_and_words_per_state(qtbot, palette_name, request):
    if palette_name == "dark":
        request.getfixturevalue("dark")
    card = StatusCard()
    qtbot.addWidget(card)
    card.resize(420, 110)
    card.show()
    seen: dict[StateKind, tuple[int, int, int]] = {}
    for kind in StateKind:
        card.show_state(kind, f"Headline {kind}", f"Detail {kind}")
        assert card.kind == kind
        assert card.headline() == f"Headline {kind}" and card.detail() == f"Detail {kind}"
        assert f"Headline {kind}" in card.accessibleDescription()
        assert card.accessibleName() == "Connection status"
        bg, _border, head = card_colors(kind, card.palette())
        # The headline reads on the tinted background (WCAG AA), in this palette.
        shown = card.headline_label.palette().color(QPalette.ColorRole.WindowText)
        assert shown == head and contrast_ratio(head, bg) >= 4.5
        detail = card.detail_label.palette().color(QPalette.ColorRole.WindowText)
        assert contrast_ratio(detail, bg) >= 4.5
        # What is painted is that background (sampled inside the rounded corner).
        img = card.grab().toImage()
        px = QColor(img.pixel(img.width() // 2, img.height() - 4))
        assert abs(px.red() - bg.red()) <= 2 and abs(px.green() - bg.green()) <= 2
        seen[kind] = (px.red(), px.green(), px.blue())
    # Connected is tinted green, revoked red: the colour carries the state.
    r, g, _b = seen[StateKind.CONNECTED]
    assert g > r
    r, g, _b = seen[StateKind.REVOKED]
    assert r > g
    assert seen[StateKind.CONNECTED] != seen[StateKind.DISCONNECTED]
    # An empty detail hides the line.
    card.show_state("connected", "Connected", "")
    assert not card.detail_label.isVisible()


def test_connected_view_renders_states_through_the_card(qtbot, window):
    view = window.connected
    assert view.card.kind == StateKind.DISCONNECTED
    assert not view.connect_button.is_on and view.connect_button.text() == "Connect"
    view.set_status(sample(connection="connected", handshake_age=4.0))
    assert view.card.kind == StateKind.CONNECTED and view.card.headline() == "Connected"
    assert view.connect_button.is_on and view.connect_button.accessibleName() == "Disconnect"
    view.set_state("disconnecting")
    assert view.card.headline() == "Disconnecting…" and not view.connect_button.isEnabled()
    view.set_status(sample(connection="connected", handshake_age=None))
    assert view.card.kind == StateKind.NO_HANDSHAKE and view.connect_button.is_on
    view.set_status(sample(connection="pending_approval"))
    assert view.card.kind == StateKind.PENDING_APPROVAL
    assert not view.connect_button.isEnabled()
    window._apply_status(sample(connection="connected", handshake_age=2.0))
    assert window.state == "connected"
    assert window.tray.state_action.text() == SHORT_TEXT[StateKind.CONNECTED]
    assert window.tray.disconnect_action.isEnabled()


def test_resources_with_their_policy_and_details_fold(qtbot, window):
    view = window.connected
    table = view.resources_table
    rows = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    assert rows == [("10.20.0.0/24", "eng"), ("10.30.5.0/28", "printers")]
    assert view.resources_title.text() == "Resources you can reach (2)"
    # No empty box under the rows: the list is exactly as tall as its header and rows.
    assert table.height() <= (table.horizontalHeader().height()
                              + sum(table.rowHeight(r) for r in range(2)) + 8)
    assert view.ip_value.text() == "10.8.0.2"
    # The rest lives folded in Details.
    assert not view.details_box.isVisible()
    assert view.server_value.text() == "https://vpn.example.com"
    assert view.key_value.text() == KEY
    assert view.device_fp_value.text().replace(" ", "") == "ab" * 32
    click_target = view.details_button
    qtbot.mouseClick(click_target, Qt.MouseButton.LeftButton)
    assert view.details_box.isVisible() and click_target.isChecked()
    qtbot.mouseClick(click_target, Qt.MouseButton.LeftButton)
    assert not view.details_box.isVisible()
    view.set_status(sample(allowed_resources=[]))
    assert not table.isVisible() and view.no_resources_label.isVisible()


def test_last_sync_is_relative_and_refreshes(qtbot, window):
    view = window.connected
    assert view.sync_value.text() == "12 s ago"
    clock = {"now": NOW}
    view.clock = lambda: clock["now"]
    clock["now"] = NOW + timedelta(seconds=60)
    # No new status arrives: the label moves on by itself (it redraws every second).
    qtbot.waitUntil(lambda: view.sync_value.text() == "72 s ago", timeout=3000)
    clock["now"] = NOW + timedelta(minutes=10)
    qtbot.waitUntil(lambda: view.sync_value.text() == "10 min ago", timeout=3000)
    assert "(10 min ago)" in view.sync_exact_value.text()


# ---------------------------------------------------------------- keyboard + accessibility


def _press(qtbot, key) -> None:
    qtbot.keyClick(QApplication.focusWidget(), key)


def test_toggle_answers_space_enter_and_return(qtbot, window):
    view = window.connected
    asked: list[str] = []
    view.connect_requested.connect(lambda: asked.append("connect"))
    view.disconnect_requested.connect(lambda: asked.append("disconnect"))
    window.request_connect = lambda: None  # the window would call the (offline) core
    toggle = view.connect_button
    assert toggle.focusPolicy() & Qt.FocusPolicy.TabFocus
    toggle.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(toggle, Qt.Key.Key_Space)
    qtbot.keyClick(toggle, Qt.Key.Key_Return)
    qtbot.keyClick(toggle, Qt.Key.Key_Enter)
    assert asked == ["connect"] * 3
    # A click only asks: the switch stays off until the state really changes.
    assert not toggle.is_on
    view.set_status(sample(connection="connected", handshake_age=1.0))
    qtbot.keyClick(toggle, Qt.Key.Key_Space)
    assert asked[-1] == "disconnect"


def test_tab_walks_the_connected_view_in_reading_order(qtbot, window):
    view = window.connected
    window.activateWindow()
    # The switch has the focus as soon as the view shows: Space connects straight away.
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.connect_button, timeout=3000)
    order = [view.connect_button]
    for _ in range(7):
        _press(qtbot, Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    assert order == [view.connect_button, view.copy_ip_button, view.sync_button,
                     view.resources_table, view.details_button, view.settings_button,
                     view.sign_out_button, view.connect_button]


def _interactive(root: QWidget) -> list[QWidget]:
    kinds = (QAbstractButton, QLineEdit, QAbstractItemView)
    return [w for w in root.findChildren(QWidget)
            if isinstance(w, kinds) and w.window() is root.window()
            and not w.objectName().startswith("qt_")]


def test_every_control_has_an_accessible_name(qtbot, window):
    window.signin.show_trust("https://vpn.example.com", "AB:" * 31 + "CD", changed=False)
    missing = []
    views = (window.signin, window.enrolling, window.connected, window.revoked,
             window.settings_view)
    for view in views:
        controls = _interactive(view)
        assert controls or view is window.enrolling
        for w in controls:
            if not w.accessibleName().strip():
                missing.append(f"{type(view).__name__}.{type(w).__name__}:"
                               f"{getattr(w, 'text', lambda: '')()!r}")
    assert missing == [], missing
    assert window.connected.card.accessibleName() == "Connection status"


def test_sign_in_leaves_a_place_for_other_sign_in_methods(qtbot, window):
    from PySide6.QtWidgets import QPushButton

    window.show_sign_in()
    view = window.signin
    assert not view.sso_box.isVisible()
    sso = QPushButton("Sign in with Example SSO")
    view.add_sign_in_option(sso)
    assert view.sso_box.isVisible() and sso.isVisible()
    assert sso.accessibleName() == "Sign in with Example SSO"
    assert view.sign_in_button.nextInFocusChain() is sso


# ---------------------------------------------------------------- palette + size

HARD_CODED = re.compile(r"#[0-9a-fA-F]{3,8}\b|\bwhite\b|\bblack\b|rgba?\(")


def _mean_lightness(img: QImage) -> float:
    total, n = 0.0, 0
    for y in range(0, img.height(), 7):
        for x in range(0, img.width(), 7):
            total += QColor(img.pixel(x, y)).lightnessF()
            n += 1
    return total / n


def test_dark_palette_is_followed(qtbot, dark, make_client, make_window):
    w = make_window(make_client(), start=False)
    w.connected.clock = lambda: NOW
    w.show_connected(sample(connection="connected", handshake_age=3.0))
    w._stop_timers()
    w.connected.set_details_expanded(True)
    qtbot.wait(50)
    img = w.grab().toImage()
    assert _mean_lightness(img) < 0.3  # no white panels anywhere
    # Text stays readable on the dark window.
    pal = w.palette()
    for label in (w.connected.sync_title, w.connected.offline_label):
        fg = label.palette().color(QPalette.ColorRole.WindowText)
        assert contrast_ratio(fg, pal.color(QPalette.ColorRole.Window)) >= 4.5
    # No view carries a colour of its own in a style sheet (only palette roles).
    for widget in w.findChildren(QWidget):
        assert not HARD_CODED.search(widget.styleSheet()), (widget, widget.styleSheet())


def test_light_palette_is_light(qtbot, window):
    img = window.grab().toImage()
    assert _mean_lightness(img) > 0.7


def test_minimum_size_fits_every_view(qtbot, window):
    assert (window.minimumWidth(), window.minimumHeight()) == MINIMUM_SIZE
    window.connected.set_details_expanded(True)
    window.signin.show_trust("https://vpn.example.com", "AB:" * 31 + "CD", changed=False)
    window.signin.show_error("The password is wrong. " * 3, clear_password=False)
    for view in (window.connected, window.signin, window.revoked, window.settings_view):
        window.stack.setCurrentWidget(view)
        hint = view.minimumSizeHint()
        assert hint.width() <= MINIMUM_SIZE[0], (view, hint)
        assert hint.height() <= MINIMUM_SIZE[1], (view, hint)
    window.resize(*MINIMUM_SIZE)
    qtbot.wait(50)
    assert (window.width(), window.height()) == MINIMUM_SIZE


# ---------------------------------------------------------------- tray icon


def _image(kind) -> QImage:
    return state_pixmap(kind, 32).toImage().convertToFormat(QImage.Format.Format_ARGB32)


def test_tray_icon_pixels_differ_per_state():
    images = {kind: _image(kind) for kind in StateKind}
    kinds = list(images)
    for i, a in enumerate(kinds):
        for b in kinds[i + 1:]:
            assert images[a] != images[b], (a, b)
    # Filled states are mostly their own colour; the "off" states only outlined.
    opaque_of: dict[StateKind, int] = {}
    for kind, img in images.items():
        want = QColor(state_color(kind))
        near = opaque = 0
        for y in range(img.height()):
            for x in range(img.width()):
                c = QColor.fromRgba(img.pixel(x, y))
                if c.alpha() > 200:
                    opaque += 1
                    if (abs(c.red() - want.red()) + abs(c.green() - want.green())
                            + abs(c.blue() - want.blue())) < 40:
                        near += 1
        opaque_of[kind] = opaque
        if kind not in HOLLOW:
            assert near > opaque * 0.5, kind
    filled = min(n for k, n in opaque_of.items() if k not in HOLLOW)
    for kind in HOLLOW:
        assert opaque_of[kind] < filled * 0.6, kind


def test_tray_icon_follows_the_window_state(qtbot, window):
    from nexavpn_desktop.tray import Tray

    tray = Tray(window, force_available=True)
    assert tray.icon is not None

    def shown() -> QImage:
        return tray.icon.icon().pixmap(32, 32).toImage().convertToFormat(
            QImage.Format.Format_ARGB32)

    window._apply_status(sample(connection="connected", handshake_age=2.0))
    assert shown() == _image(StateKind.CONNECTED)
    assert tray.icon.toolTip() == "NexaVPN — Connected"
    window._apply_status(sample(connection="connected", handshake_age=None))
    assert shown() == _image(StateKind.NO_HANDSHAKE)
    window._apply_status(sample())
    assert shown() == _image(StateKind.DISCONNECTED)
    assert tray.connect_action.isEnabled() and not tray.disconnect_action.isEnabled()
    window.show_revoked()
    assert shown() == _image(StateKind.REVOKED)
    assert not tray.connect_action.isEnabled()


def test_switch_gets_the_focus_after_sign_in(qtbot, make_client, make_window):
    """The switch is first in the view's focus chain: the stack hands it the focus."""
    w = make_window(make_client(), start=False)
    w.activateWindow()
    w.signin.password_edit.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.signin.password_edit, timeout=3000)
    w.show_connected(sample())
    w._stop_timers()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.connected.connect_button,
                    timeout=3000)


def test_switching_the_os_palette_live_recolours(qtbot, window):
    """The OS switching to dark while the window is open: card and texts follow at once."""
    app = QApplication.instance()
    view = window.connected
    view.set_status(sample(connection="connected", handshake_age=2.0))
    light_head = view.card.headline_label.palette().color(QPalette.ColorRole.WindowText)
    before = app.palette()
    try:
        app.setPalette(dark_palette())
        qtbot.wait(20)
        pal = view.card.palette()
        bg, _border, head = card_colors(StateKind.CONNECTED, pal)
        shown = view.card.headline_label.palette().color(QPalette.ColorRole.WindowText)
        assert shown == head != light_head
        assert contrast_ratio(shown, bg) >= 4.5
        window_bg = pal.color(QPalette.ColorRole.Window)
        muted_fg = view.sync_title.palette().color(QPalette.ColorRole.WindowText)
        assert window_bg.lightnessF() < 0.3 and contrast_ratio(muted_fg, window_bg) >= 4.5
        assert _mean_lightness(window.grab().toImage()) < 0.3
    finally:
        app.setPalette(before)


def test_sign_in_is_usable_from_the_keyboard(qtbot, make_client, make_window):
    w = make_window(make_client(), start=False)
    view = w.signin
    w.activateWindow()
    view.url_edit.setText("https://vpn.example.com")
    view.username_edit.setText("alice")
    view.password_edit.setText("pw")
    assert view.sign_in_button.isEnabled()
    view.url_edit.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.url_edit, timeout=3000)
    seen = [view.url_edit]
    for _ in range(3):
        _press(qtbot, Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen == [view.url_edit, view.username_edit, view.password_edit,
                    view.sign_in_button]
    # With the trust question shown its buttons come right after the address.
    view.show_trust("https://vpn.example.com", "AB:" * 31 + "CD", changed=False)
    view.url_edit.setFocus(Qt.FocusReason.TabFocusReason)
    _press(qtbot, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view.trust_button
    # Alt+U jumps to the user name (the captions are the fields' buddies).
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is view.username_edit
