"""The main view once enrolled: tunnel state, VPN address, allowed resources, sync, backend.

With the import-handoff backend (a temporary fallback) it also shows a note saying so, the
"Open in WireGuard" action and a QR code of the profile for a phone.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nexavpn_client.app import Status

from ..icons import state_color
from .common import NOTE_STYLE, human_age, local_time, message_label, show_message, title_label

BACKEND_NAMES = {
    "linux": "Linux kernel / wireguard-go (built in)",
    "windows": "WireGuard tunnel service (Windows)",
    "macos": "wg-quick helper (macOS)",
    "handoff": "Import handoff to the WireGuard app (temporary fallback)",
}

STATE_TEXT = {
    "connected": "Connected",
    "connecting": "Connecting…",
    "no_handshake": "No response from the gateway",
    "pending_approval": "Waiting for an administrator's approval",
    "disconnecting": "Disconnecting…",
    "disconnected": "Disconnected",
    "handed_off": "Handed off to the WireGuard app",
    "unavailable": "Tunnel unavailable",
    "unknown": "Unknown",
}

HANDOFF_NOTE = (
    "<b>Temporary fallback.</b> This computer has no built-in way for NexaVPN to run the "
    "tunnel, so the profile is handed to the WireGuard app, which runs it. Open it there, or "
    "scan the QR code with the WireGuard app on a phone. A built-in tunnel will replace this."
)


class ConnectedView(QWidget):
    """Status of the enrolled device and the actions on it."""

    connect_requested = Signal()
    disconnect_requested = Signal()
    sync_requested = Signal()
    open_in_wireguard_requested = Signal()
    settings_requested = Signal()
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status: Status | None = None
        self.state = "disconnected"

        self.state_label = title_label("Disconnected", self)
        self.handshake_label = QLabel(self)
        self.server_value = QLabel(self)
        self.user_value = QLabel(self)
        self.device_value = QLabel(self)
        self.ip_value = QLabel(self)
        self.backend_value = QLabel(self)
        self.sync_value = QLabel(self)
        for label in (self.server_value, self.ip_value, self.device_value, self.user_value):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.offline_label = message_label(self)
        self.message_label = message_label(self)

        self.resources_table = QTableWidget(0, 2, self)
        self.resources_table.setHorizontalHeaderLabels(["Destination", "Granted by policy"])
        self.resources_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch
        )
        self.resources_table.verticalHeader().setVisible(False)
        self.resources_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.resources_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.resources_table.setMinimumHeight(90)
        self.resources_table.setMaximumHeight(180)
        self.no_resources_label = QLabel(
            "No resources are allowed for you yet; ask your administrator.", self
        )
        self.no_resources_label.setVisible(False)

        self.connect_button = QPushButton("Connect", self)
        self.connect_button.setMinimumWidth(120)
        self.sync_button = QPushButton("Sync now", self)
        self.settings_button = QPushButton("Settings && about", self)
        self.sign_out_button = QPushButton("Sign out", self)

        # Import handoff (temporary fallback): note, open action, QR code.
        self.handoff_box = QFrame(self)
        self.handoff_note = QLabel(HANDOFF_NOTE, self.handoff_box)
        self.handoff_note.setWordWrap(True)
        self.handoff_note.setStyleSheet(NOTE_STYLE)
        self.open_wg_button = QPushButton("Open in WireGuard", self.handoff_box)
        self.qr_label = QLabel(self.handoff_box)
        self.qr_label.setFixedSize(180, 180)
        self.qr_label.setScaledContents(True)
        self.qr_label.setToolTip("Scan with the WireGuard app on your phone")
        hb_left = QVBoxLayout()
        hb_left.addWidget(self.handoff_note)
        hb_left.addWidget(self.open_wg_button, 0, Qt.AlignmentFlag.AlignLeft)
        hb_left.addStretch(1)
        hb = QHBoxLayout(self.handoff_box)
        hb.setContentsMargins(0, 0, 0, 0)
        hb.addLayout(hb_left, 1)
        hb.addWidget(self.qr_label, 0, Qt.AlignmentFlag.AlignTop)
        self.handoff_box.setVisible(False)

        form = QFormLayout()
        form.addRow("VPN address", self.ip_value)
        form.addRow("Server", self.server_value)
        form.addRow("Signed in as", self.user_value)
        form.addRow("This device", self.device_value)
        form.addRow("Tunnel backend", self.backend_value)
        form.addRow("Last sync", self.sync_value)

        top = QHBoxLayout()
        heading = QVBoxLayout()
        heading.addWidget(self.state_label)
        heading.addWidget(self.handshake_label)
        top.addLayout(heading, 1)
        top.addWidget(self.connect_button, 0, Qt.AlignmentFlag.AlignVCenter)

        actions = QHBoxLayout()
        actions.addWidget(self.sync_button)
        actions.addStretch(1)
        actions.addWidget(self.settings_button)
        actions.addWidget(self.sign_out_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.offline_label)
        layout.addWidget(self.message_label)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Allowed resources</b>", self))
        layout.addWidget(self.resources_table)
        layout.addWidget(self.no_resources_label)
        layout.addWidget(self.handoff_box)
        layout.addStretch(1)
        layout.addLayout(actions)

        self.connect_button.clicked.connect(self._toggle)
        self.sync_button.clicked.connect(self.sync_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.open_wg_button.clicked.connect(self.open_in_wireguard_requested)

    # -- actions ----------------------------------------------------------------------------

    def _toggle(self) -> None:
        if self.state in ("connected", "connecting", "no_handshake"):
            self.disconnect_requested.emit()
        else:
            self.connect_requested.emit()

    @property
    def is_handoff(self) -> bool:
        """True when the import handoff (temporary fallback) runs the tunnel."""
        return bool(self.status and self.status.tunnel_backend == "handoff")

    # -- display ----------------------------------------------------------------------------

    def set_state(self, state: str, handshake_age: float | None = None,
                  text: str | None = None) -> None:
        """Show a connection state (``connecting``/``disconnecting`` while a call runs)."""
        self.state = state
        text = text or STATE_TEXT.get(state, state.replace("_", " ").capitalize())
        if self.is_handoff and state == "disconnected":
            text = "Ready to open in WireGuard"
        self.state_label.setText(text)
        self.state_label.setStyleSheet(f"color: {state_color(state)};")
        if state == "connected":
            self.handshake_label.setText(f"Last handshake: {human_age(handshake_age)}")
        elif state == "handed_off":
            self.handshake_label.setText("The WireGuard app runs the tunnel; check it there.")
        elif state == "no_handshake":
            self.handshake_label.setText(
                "The tunnel is up but the gateway does not answer: no traffic passes. Check "
                "your network; your administrator can check the gateway.")
        elif state == "pending_approval":
            self.handshake_label.setText("You can connect as soon as an administrator approves "
                                         "this device.")
        elif self.is_handoff:
            self.handshake_label.setText("Open the profile in the WireGuard app to connect.")
        else:
            self.handshake_label.setText("")
        up = state in ("connected", "connecting", "no_handshake")
        self.connect_button.setText("Disconnect" if up else "Connect")
        self.connect_button.setEnabled(state not in ("connecting", "disconnecting",
                                                     "unavailable", "pending_approval"))

    def set_status(self, status: Status) -> None:
        """Show everything the core's local status knows."""
        self.status = status
        self.set_state(status.state.kind.value, status.handshake_age, status.state.text)
        ips = [ip for ip in (status.vpn_ip, status.vpn_ip6) if ip]
        self.ip_value.setText(", ".join(ips) or "—")
        self.server_value.setText(status.server or "—")
        self.user_value.setText(status.user or "—")
        rev = f" · profile revision {status.profile_revision}" if status.profile_revision else ""
        self.device_value.setText(f"{status.device_name or '—'}{rev}")
        backend = status.tunnel_backend
        self.backend_value.setText(BACKEND_NAMES.get(backend or "", backend or "none usable"))
        self.sync_value.setText(local_time(status.last_sync))
        if status.offline_since:
            show_message(self.offline_label, f"Offline since {local_time(status.offline_since)}"
                         " — the server cannot be reached; the last profile is kept.",
                         error=True)
        else:
            show_message(self.offline_label, "")
        self._set_resources(status.allowed_resources)
        self.handoff_box.setVisible(self.is_handoff)
        self.connect_button.setVisible(not self.is_handoff)
        if status.detail and status.connection == "unavailable":
            show_message(self.message_label, status.detail, error=True)

    def _set_resources(self, resources: list[dict]) -> None:
        self.resources_table.setRowCount(len(resources))
        for row, res in enumerate(resources):
            self.resources_table.setItem(row, 0, QTableWidgetItem(str(res.get("destination"))))
            self.resources_table.setItem(row, 1, QTableWidgetItem(str(res.get("policy") or "")))
        self.no_resources_label.setVisible(not resources)

    def set_qr(self, png: bytes) -> None:
        """The QR code of the complete profile (handoff only)."""
        pix = QPixmap()
        if pix.loadFromData(png, "PNG"):
            self.qr_label.setPixmap(pix)

    def set_busy(self, busy: bool) -> None:
        """No double clicks while a call runs."""
        self.sync_button.setEnabled(not busy)
        self.sign_out_button.setEnabled(not busy)
        self.open_wg_button.setEnabled(not busy)

    def show_message(self, text: str, *, error: bool = False) -> None:
        """A result or failure of the last action (empty clears)."""
        show_message(self.message_label, text, error=error, ok=not error and bool(text))
