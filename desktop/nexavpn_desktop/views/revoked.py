"""Revoked: this device can no longer connect; the user may register again or sign out."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .common import message_label, show_message, title_label

#: reason → (title, explanation, why connect is off)
REASONS: dict[str, tuple[str, str, str]] = {
    "revoked": (
        "This device was revoked",
        "An administrator (or you, from another device) revoked this computer. Its VPN "
        "profile has been removed and it can no longer connect. If this was a mistake, ask "
        "your administrator, then register this computer again.",
        "A revoked device cannot connect.",
    ),
    "key_mismatch": (
        "This installation's key is no longer registered",
        "The server now has a different key for this device than this installation holds: "
        "another NexaVPN installation on this computer registered it again, a backup was "
        "restored, or a key change finished elsewhere. The new profile was not applied and the "
        "tunnel is down, because it could never connect with this key. Register this "
        "installation again to use it here (the other installation then stops working).",
        "This installation's key does not match the server's.",
    ),
}


class RevokedView(QWidget):
    """A clear dead end: connect disabled, sign out (or register this computer again)."""

    reenroll_requested = Signal()
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title = title_label(REASONS["revoked"][0], self)
        title.setStyleSheet("color: #b3261e;")
        self.text = text = QLabel(REASONS["revoked"][1], self)
        text.setWordWrap(True)
        self.reason = "revoked"
        self.connect_button = QPushButton("Connect", self)
        self.connect_button.setEnabled(False)
        self.connect_button.setToolTip(REASONS["revoked"][2])
        self.reenroll_button = QPushButton("Register this computer again", self)
        self.sign_out_button = QPushButton("Sign out", self)
        self.message_label = message_label(self)
        row = QHBoxLayout()
        row.addWidget(self.connect_button)
        row.addStretch(1)
        row.addWidget(self.reenroll_button)
        row.addWidget(self.sign_out_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addWidget(self.message_label)
        layout.addLayout(row)
        layout.addStretch(1)
        self.reenroll_button.clicked.connect(self.reenroll_requested)
        self.sign_out_button.clicked.connect(self.sign_out_requested)

    def set_reason(self, reason: str) -> None:
        """Revoked, or this installation's key no longer matching the server's."""
        title, text, tip = REASONS.get(reason, REASONS["revoked"])
        self.reason = reason
        self.title.setText(title)
        self.text.setText(text)
        self.connect_button.setToolTip(tip)
        self.reenroll_button.setText("Register this installation again"
                                     if reason == "key_mismatch"
                                     else "Register this computer again")

    def set_busy(self, busy: bool) -> None:
        """No double clicks while a call runs."""
        self.reenroll_button.setEnabled(not busy)
        self.sign_out_button.setEnabled(not busy)

    def show_error(self, text: str) -> None:
        """Why re-registering or signing out failed."""
        show_message(self.message_label, text, error=True)
