"""Tray icon: state at a glance, connect/disconnect/quit; the window hides into it.

QSystemTrayIcon needs a desktop with a tray (none offscreen or on some Linux desktops): the
menu and its actions exist regardless, so they work (and are tested) without one.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from .icons import state_icon
from .states import SHORT_TEXT, TUNNEL_UP, StateKind, describe, kind_of
from .window import MainWindow

#: The tray menu's first line per state (the same words as the status card's states).
STATE_TEXT = {str(kind): text for kind, text in SHORT_TEXT.items()}

#: States from which the tray may offer Connect.
CAN_CONNECT = frozenset({StateKind.DISCONNECTED, StateKind.OFFLINE})


class Tray(QObject):
    """The tray icon and its menu, following the window's ``state_changed``."""

    def __init__(self, window: MainWindow, *, force_available: bool | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.available = (QSystemTrayIcon.isSystemTrayAvailable()
                          if force_available is None else force_available)
        self.menu = QMenu()
        self.state_action = QAction("Signed out", self.menu)
        self.state_action.setEnabled(False)
        self.show_action = QAction("Open NexaVPN", self.menu)
        self.connect_action = QAction("Connect", self.menu)
        self.disconnect_action = QAction("Disconnect", self.menu)
        self.quit_action = QAction("Quit NexaVPN", self.menu)
        self.menu.addAction(self.state_action)
        self.menu.addSeparator()
        self.menu.addAction(self.show_action)
        self.menu.addAction(self.connect_action)
        self.menu.addAction(self.disconnect_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)

        self.show_action.triggered.connect(window.show_and_raise)
        self.connect_action.triggered.connect(window.request_connect)
        self.disconnect_action.triggered.connect(window.request_disconnect)
        self.quit_action.triggered.connect(window.quit_app)
        window.state_changed.connect(self.update_state)

        self.icon: QSystemTrayIcon | None = None
        if self.available:
            self.icon = QSystemTrayIcon(state_icon("signed_out"), self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
            self.icon.setToolTip("NexaVPN — signed out")
        window.tray = self
        self.update_state(window.state)

    def show(self) -> None:
        """Put the icon into the tray (if there is one)."""
        if self.icon is not None:
            self.icon.show()

    def update_state(self, state: str) -> None:
        """Icon, tooltip and which actions make sense now."""
        status = self.window.status
        shown = describe(status) if status is not None else None
        # The card's own words when they describe this state (e.g. "No response … since 12:03").
        text = shown.headline if shown is not None and str(shown.kind) == state else (
            STATE_TEXT.get(state, state))
        self.state_action.setText(text)
        handoff = bool(self.window.status and self.window.status.tunnel_backend == "handoff")
        kind = kind_of(state) if state in STATE_TEXT else None
        self.connect_action.setEnabled(not handoff and kind in CAN_CONNECT)
        self.disconnect_action.setEnabled(not handoff and kind in TUNNEL_UP)
        if self.icon is not None:
            self.icon.setIcon(state_icon(state))
            self.icon.setToolTip(f"NexaVPN — {text}")

    def notify(self, text: str) -> None:
        """A balloon message (silently nothing without a tray)."""
        if self.icon is not None and self.icon.supportsMessages():
            self.icon.showMessage("NexaVPN", text, state_icon(self.window.state), 5000)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            if self.window.isVisible():
                self.window.hide()
            else:
                self.window.show_and_raise()
