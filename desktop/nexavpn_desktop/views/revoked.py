"""Revoked (or a key that no longer matches): no connecting; register again or sign out."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ..states import StateKind
from .common import BUTTON_HEIGHT, ToneLabel, message_label, name, show_message
from .status_card import StatusCard
from .toggle import ConnectToggle

#: reason → (card kind, headline, card detail, explanation, re-register button)
REASONS: dict[str, tuple[StateKind, str, str, str, str]] = {
    "revoked": (
        StateKind.REVOKED, "This device was revoked", "It can no longer connect.",
        "An administrator (or you, from another device) revoked this computer. Its VPN "
        "profile has been removed. If this was a mistake, ask your administrator, then "
        "register this computer again.",
        "Register this computer again",
    ),
    "key_mismatch": (
        StateKind.KEY_MISMATCH, "This installation's key is no longer registered",
        "The tunnel is down: it could never connect with this key.",
        "The server now has a different key for this device than this installation holds "
        "(another installation registered it again, or a backup was restored). Register this "
        "installation again to use it here; the other one then stops working.",
        "Register this installation again",
    ),
}


class RevokedView(QWidget):
    """A clear dead end: the card says revoked, the toggle is off and disabled."""

    reenroll_requested = Signal()
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card = StatusCard(self)
        self.connect_button = ConnectToggle(self)
        self.connect_button.setEnabled(False)
        self.card.set_accessory(self.connect_button)
        self.title = self.card.headline_label
        self.text = text = ToneLabel("", self, tone="muted")
        text.setWordWrap(True)
        self.reenroll_button = QPushButton("Register this computer again", self)
        name(self.reenroll_button, "Register this computer again",
             "Creates a new device for this computer; an administrator may have to approve it.")
        self.sign_out_button = QPushButton("Sign out", self)
        name(self.sign_out_button, "Sign out")
        self.message_label = message_label(self)
        for button in (self.reenroll_button, self.sign_out_button):
            button.setMinimumHeight(BUTTON_HEIGHT)
        row = QHBoxLayout()
        row.addWidget(self.reenroll_button)
        row.addStretch(1)
        row.addWidget(self.sign_out_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 20, 20, 14)
        layout.setSpacing(12)
        layout.addWidget(self.card)
        layout.addWidget(text)
        layout.addWidget(self.message_label)
        layout.addLayout(row)
        layout.addStretch(1)
        QWidget.setTabOrder(self.reenroll_button, self.sign_out_button)
        self.reenroll_button.clicked.connect(self.reenroll_requested)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.reason = "revoked"
        self.set_reason("revoked")

    def set_reason(self, reason: str) -> None:
        """``revoked``, or ``key_mismatch``: this installation's key is not the server's."""
        kind, headline, detail, text, button = REASONS.get(reason, REASONS["revoked"])
        self.reason = reason if reason in REASONS else "revoked"
        self.card.show_state(kind, headline, detail)
        self.text.setText(text)
        self.reenroll_button.setText(button)
        self.reenroll_button.setAccessibleName(button)
        tip = ("A revoked device cannot connect." if kind == StateKind.REVOKED
               else "This installation's key does not match the server's.")
        self.connect_button.setToolTip(tip)
        self.connect_button.setAccessibleDescription(tip)

    def set_busy(self, busy: bool) -> None:
        """No double clicks while a call runs."""
        self.reenroll_button.setEnabled(not busy)
        self.sign_out_button.setEnabled(not busy)

    def show_error(self, text: str) -> None:
        """Why re-registering or signing out failed."""
        show_message(self.message_label, text, error=True)
