"""Settings & about: which server and device this is, trust, versions, where the logs are."""

from __future__ import annotations

import platform
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, QUrl, Signal, qVersion
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

import nexavpn_client
from nexavpn_client.app import Status

from .. import __version__
from .common import (
    BUTTON_HEIGHT,
    ToneLabel,
    grouped,
    mono_font,
    name,
    split_fingerprint,
    title_label,
)
from .connected import BACKEND_NAMES

TRUST_TEXT = {
    "pinned": "Pinned certificate (you confirmed its fingerprint)",
    "ca_file": "Certificate signed by your organisation's CA file",
    "system": "Certificate signed by a public authority this computer trusts",
}


class SettingsView(QWidget):
    """A read-only panel with the facts support staff ask for."""

    back_requested = Signal()
    sign_out_requested = Signal()

    def __init__(self, log_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log_dir = log_dir
        self.server_value = QLabel(self)
        self.trust_value = QLabel(self)
        self.cert_fp_value = QLabel(self)
        self.cert_fp_value.setFont(mono_font())
        self.cert_fp_value.setWordWrap(True)
        self.user_value = QLabel(self)
        self.device_value = QLabel(self)
        self.device_fp_value = QLabel(self)
        self.device_fp_value.setFont(mono_font())
        self.device_fp_value.setWordWrap(True)
        self.backend_value = QLabel(self)
        self.versions_value = QLabel(self)
        self.logs_value = QLabel(str(log_dir) if log_dir else "(logging to the console only)",
                                 self)
        self.logs_value.setWordWrap(True)
        for label in (self.server_value, self.cert_fp_value, self.device_fp_value,
                      self.logs_value, self.versions_value):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_logs_button = QPushButton("Open logs folder", self)
        name(self.open_logs_button, "Open logs folder")
        self.open_logs_button.setEnabled(log_dir is not None)
        self.back_button = QPushButton("Back", self)
        self.sign_out_button = QPushButton("Sign out", self)
        name(self.back_button, "Back")
        for button in (self.back_button, self.open_logs_button, self.sign_out_button):
            button.setMinimumHeight(BUTTON_HEIGHT)
        name(self.sign_out_button, "Sign out")

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.versions_value.setWordWrap(True)
        self.form = form
        form.addRow(ToneLabel("Server", self, tone="muted"), self.server_value)
        form.addRow(ToneLabel("Server trust", self, tone="muted"), self.trust_value)
        form.addRow(ToneLabel("Server certificate (SHA-256)", self, tone="muted"),
                    self.cert_fp_value)
        form.addRow(ToneLabel("Signed in as", self, tone="muted"), self.user_value)
        form.addRow(ToneLabel("Device name", self, tone="muted"), self.device_value)
        form.addRow(ToneLabel("Device fingerprint", self, tone="muted"), self.device_fp_value)
        form.addRow(ToneLabel("Tunnel backend", self, tone="muted"), self.backend_value)
        form.addRow(ToneLabel("Versions", self, tone="muted"), self.versions_value)
        form.addRow(ToneLabel("Logs folder", self, tone="muted"), self.logs_value)

        row = QHBoxLayout()
        row.addWidget(self.back_button)
        row.addStretch(1)
        row.addWidget(self.open_logs_button)
        row.addWidget(self.sign_out_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 20, 20, 14)
        layout.setSpacing(12)
        layout.addWidget(title_label("Settings & about", self))
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addLayout(row)

        self.back_button.clicked.connect(self.back_requested)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.open_logs_button.clicked.connect(self._open_logs)
        self.set_info(None)

    @staticmethod
    def versions_text(server_version: str | None = None) -> str:
        """App, core, server, Qt, Python and OS versions on one line each."""
        lines = [
            f"NexaVPN desktop {__version__} · client core {nexavpn_client.__version__}",
            f"Server {server_version or 'unknown'}",
            f"Qt {qVersion()} · PySide6 {PySide6.__version__} · Python {platform.python_version()}",
            f"{platform.system()} {platform.release()}",
        ]
        return "\n".join(lines)

    def set_info(
        self,
        status: Status | None,
        *,
        server_fingerprint: str | None = None,
        server_version: str | None = None,
        device_fingerprint: str | None = None,
    ) -> None:
        """Fill the panel from the core's status plus what the window remembered."""
        s = status
        self.server_value.setText((s.server if s else None) or "—")
        self.trust_value.setText(TRUST_TEXT.get((s.trust if s else None) or "", "—"))
        self.cert_fp_value.setText(split_fingerprint(server_fingerprint) or "—")
        self.user_value.setText((s.user if s else None) or "—")
        self.device_value.setText((s.device_name if s else None) or "—")
        self.device_fp_value.setText(grouped(device_fingerprint) or "—")
        self.form.setRowVisible(self.device_fp_value, device_fingerprint is not None)
        backend = (s.tunnel_backend if s else None) or ""
        self.backend_value.setText(BACKEND_NAMES.get(backend, backend) or "—")
        self.versions_value.setText(self.versions_text(server_version))

    def _open_logs(self) -> None:
        if self.log_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_dir)))
