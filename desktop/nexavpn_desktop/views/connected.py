"""The main view once enrolled: the status card with the connect toggle, the VPN address, the
resources with the policy that grants each, the last sync (relative, refreshing) and the rest
(server, user, device, backend, key) in a collapsible details section.

With the import-handoff backend (a temporary fallback) it also shows a note saying so, the
"Open in WireGuard" action and a QR code of the profile for a phone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nexavpn_client.app import Status

from ..states import TUNNEL_UP, Presentation, StateKind, describe, human_age
from .common import (
    BUTTON_HEIGHT,
    TintedFrame,
    ToneLabel,
    grouped,
    local_time,
    message_label,
    mono_font,
    name,
    parse_time,
    section_label,
    show_message,
)
from .status_card import StatusCard
from .toggle import ConnectToggle

BACKEND_NAMES = {
    "linux": "Linux kernel / wireguard-go (built in)",
    "windows": "WireGuard tunnel service (Windows)",
    "macos": "wg-quick helper (macOS)",
    "handoff": "Import handoff to the WireGuard app (temporary fallback)",
}

HANDOFF_NOTE = (
    "<b>Temporary fallback.</b> This computer has no built-in way for NexaVPN to run the "
    "tunnel, so the profile is handed to the WireGuard app, which runs it. Open it there, or "
    "scan the QR code with the WireGuard app on a phone. A built-in tunnel will replace this."
)

#: Palette roles only (no colours): a flat list with a hairline under the header.
TABLE_STYLE = (
    "QTableWidget { background: palette(base); alternate-background-color: "
    "palette(alternate-base); border: 1px solid palette(mid); border-radius: 8px; }"
    "QHeaderView { background: transparent; border: none; }"
    "QHeaderView::section { background: transparent; color: palette(window-text); "
    "border: none; border-bottom: 1px solid palette(mid); padding: 6px 8px; "
    "font-weight: 600; }"
    "QTableWidget::item { padding: 0 8px; }"
)
DETAILS_STYLE = "QToolButton { border: none; padding: 4px 2px; font-weight: 600; }"

#: How often the relative times ("12 s ago") are redrawn.
TICK_MS = 1000


def _selectable(label: QLabel) -> QLabel:
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ConnectedView(QWidget):
    """Status of the enrolled device and the actions on it."""

    connect_requested = Signal()
    disconnect_requested = Signal()
    sync_requested = Signal()
    open_in_wireguard_requested = Signal()
    settings_requested = Signal()
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(parent)
        self.status: Status | None = None
        self.state = "disconnected"
        self.presentation = describe(None)
        self.clock = clock or (lambda: datetime.now(UTC))

        # -- status card with the connect toggle -------------------------------------------
        self.card = StatusCard(self)
        self.connect_button = ConnectToggle(self)
        self.card.set_accessory(self.connect_button)
        self.state_label = self.card.headline_label  # the state in words
        self.handshake_label = self.card.detail_label

        self.offline_label = message_label(self)
        self.message_label = message_label(self)

        # -- address + last sync -------------------------------------------------------------
        self.ip_value = _selectable(QLabel("—", self))
        big = mono_font()
        big.setPointSizeF(self.font().pointSizeF() * 1.35)
        big.setBold(True)
        self.ip_value.setFont(big)
        name(self.ip_value, "VPN address")
        self.copy_ip_button = QToolButton(self)
        self.copy_ip_button.setText("Copy")
        self.copy_ip_button.setAutoRaise(True)
        self.copy_ip_button.setToolTip("Copy the VPN address")
        name(self.copy_ip_button, "Copy VPN address", "Copies this computer's VPN address.")
        self.sync_title = ToneLabel("Last sync", self, tone="muted")
        self.sync_value = _selectable(QLabel("never", self))
        name(self.sync_value, "Last sync")
        self.sync_button = QPushButton("Sync now", self)
        name(self.sync_button, "Sync now", "Fetches policy changes from the server now.")

        facts = QHBoxLayout()
        facts.setSpacing(24)
        addr = QVBoxLayout()
        addr.setSpacing(0)
        addr.addWidget(ToneLabel("Your VPN address", self, tone="muted"))
        ip_row = QHBoxLayout()
        ip_row.setSpacing(4)
        ip_row.addWidget(self.ip_value)
        ip_row.addWidget(self.copy_ip_button)
        ip_row.addStretch(1)
        addr.addLayout(ip_row)
        sync = QVBoxLayout()
        sync.setSpacing(0)
        sync.addWidget(self.sync_title)
        sync.addWidget(self.sync_value)
        facts.addLayout(addr, 1)
        facts.addLayout(sync)
        facts.addWidget(self.sync_button, 0, Qt.AlignmentFlag.AlignBottom)

        # -- resources -----------------------------------------------------------------------
        self.resources_title = section_label("Resources you can reach", self)
        self.resources_table = QTableWidget(0, 2, self)
        self.resources_table.setHorizontalHeaderLabels(["Destination", "Granted by policy"])
        header = self.resources_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        self.resources_table.verticalHeader().setVisible(False)
        name(self.resources_table.verticalHeader(), "Row numbers")
        name(header, "Resource list columns")
        self.resources_table.setShowGrid(False)
        self.resources_table.setAlternatingRowColors(True)
        self.resources_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.resources_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.resources_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.resources_table.setWordWrap(False)
        self.resources_table.setTabKeyNavigation(False)  # Tab leaves; arrows move inside
        self.resources_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.resources_table.verticalHeader().setDefaultSectionSize(
            self.fontMetrics().height() + 14)
        self.resources_table.setFrameShape(QFrame.Shape.NoFrame)
        self.resources_table.setStyleSheet(TABLE_STYLE)
        self.resources_table.setSizePolicy(QSizePolicy.Policy.Expanding,
                                           QSizePolicy.Policy.Fixed)
        name(self.resources_table, "Allowed resources",
             "Each destination you can reach and the policy that grants it.")
        self.no_resources_label = ToneLabel(
            "No resources are allowed for you yet; ask your administrator.", self, tone="muted")
        self.no_resources_label.setWordWrap(True)
        self.no_resources_label.setVisible(False)

        # -- details (collapsed) -------------------------------------------------------------
        self.details_button = QToolButton(self)
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setAutoRaise(True)
        self.details_button.setStyleSheet(DETAILS_STYLE)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        name(self.details_button, "Details",
             "Shows the server, your user, this device, the tunnel backend and its keys.")
        self.details_box = QWidget(self)
        self.server_value = _selectable(QLabel("—", self.details_box))
        self.user_value = _selectable(QLabel("—", self.details_box))
        self.device_value = _selectable(QLabel("—", self.details_box))
        self.backend_value = QLabel("—", self.details_box)
        self.backend_value.setWordWrap(True)
        self.key_value = _selectable(QLabel("—", self.details_box))
        self.key_value.setFont(mono_font())
        self.key_value.setWordWrap(True)
        self.device_fp_value = _selectable(QLabel("—", self.details_box))
        self.device_fp_value.setFont(mono_font())
        self.device_fp_value.setWordWrap(True)
        self.sync_exact_value = _selectable(QLabel("never", self.details_box))
        self.details_form = QFormLayout(self.details_box)
        self.details_form.setContentsMargins(22, 0, 0, 0)
        self.details_form.setFieldGrowthPolicy(
            QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.details_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        rows = [("Server", self.server_value), ("Signed in as", self.user_value),
                ("This device", self.device_value), ("Tunnel backend", self.backend_value),
                ("Public key", self.key_value), ("Device fingerprint", self.device_fp_value),
                ("Last sync", self.sync_exact_value)]
        for label, widget in rows:
            self.details_form.addRow(ToneLabel(label, self.details_box, tone="muted"), widget)
            name(widget, label)
        self.details_box.setVisible(False)

        # -- import handoff (temporary fallback): note, open action, QR code ----------------
        self.handoff_box = TintedFrame("connecting", self)
        self.handoff_note = QLabel(HANDOFF_NOTE, self.handoff_box)
        self.handoff_note.setWordWrap(True)
        self.open_wg_button = QPushButton("Open in WireGuard", self.handoff_box)
        name(self.open_wg_button, "Open in WireGuard",
             "Hands the profile to the WireGuard app.")
        self.qr_label = QLabel(self.handoff_box)
        self.qr_label.setFixedSize(160, 160)
        self.qr_label.setScaledContents(True)
        self.qr_label.setToolTip("Scan with the WireGuard app on your phone")
        name(self.qr_label, "QR code of the VPN profile")
        hb_left = QVBoxLayout()
        hb_left.addWidget(self.handoff_note)
        hb_left.addWidget(self.open_wg_button, 0, Qt.AlignmentFlag.AlignLeft)
        hb_left.addStretch(1)
        hb = QHBoxLayout(self.handoff_box)
        hb.setContentsMargins(14, 12, 14, 12)
        hb.addLayout(hb_left, 1)
        hb.addWidget(self.qr_label, 0, Qt.AlignmentFlag.AlignTop)
        self.handoff_box.setVisible(False)

        # -- footer --------------------------------------------------------------------------
        self.settings_button = QPushButton("Settings && about", self)
        name(self.settings_button, "Settings and about")
        self.sign_out_button = QPushButton("Sign out", self)
        name(self.sign_out_button, "Sign out",
             "Ends the session and removes this computer's VPN profile.")

        content = QWidget(self)
        body = QVBoxLayout(content)
        body.setContentsMargins(20, 20, 20, 12)
        body.setSpacing(12)
        body.addWidget(self.card)
        body.addWidget(self.offline_label)
        body.addWidget(self.message_label)
        body.addWidget(self.handoff_box)
        body.addSpacing(4)
        body.addLayout(facts)
        body.addSpacing(6)
        body.addWidget(self.resources_title)
        body.addWidget(self.resources_table)
        body.addWidget(self.no_resources_label)
        body.addSpacing(4)
        body.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        body.addWidget(self.details_box)
        body.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.footer_line = QFrame(self)
        self.footer_line.setFrameShape(QFrame.Shape.HLine)
        self.footer_line.setFrameShadow(QFrame.Shadow.Sunken)
        footer = QHBoxLayout()
        footer.setContentsMargins(20, 10, 20, 14)
        footer.addWidget(self.settings_button)
        footer.addStretch(1)
        footer.addWidget(self.sign_out_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.footer_line)
        layout.addLayout(footer)

        for button in (self.sync_button, self.settings_button, self.sign_out_button,
                       self.open_wg_button):
            button.setMinimumHeight(BUTTON_HEIGHT)

        # Tab order: the toggle first (it is what people come for), then top to bottom.
        chain = [self.connect_button, self.open_wg_button, self.copy_ip_button,
                 self.sync_button, self.resources_table, self.details_button,
                 self.settings_button, self.sign_out_button]
        for a, b in itertools.pairwise(chain):
            QWidget.setTabOrder(a, b)

        self.connect_button.clicked.connect(self._toggle)
        self.copy_ip_button.clicked.connect(self._copy_ip)
        self.sync_button.clicked.connect(self.sync_requested)
        self.details_button.toggled.connect(self.set_details_expanded)
        self.settings_button.clicked.connect(self.settings_requested)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.open_wg_button.clicked.connect(self.open_in_wireguard_requested)

        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(TICK_MS)
        self.tick_timer.timeout.connect(self.refresh_times)
        self._render()

    # -- actions ----------------------------------------------------------------------------

    def _toggle(self) -> None:
        if self.presentation.kind in TUNNEL_UP:
            self.disconnect_requested.emit()
        else:
            self.connect_requested.emit()

    def _copy_ip(self) -> None:
        if self.status and self.status.vpn_ip:
            QGuiApplication.clipboard().setText(self.ip_value.text())
            self.show_message("VPN address copied.")

    def set_details_expanded(self, expanded: bool) -> None:
        """Open or fold the details section."""
        self.details_button.setChecked(expanded)
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if expanded
                                         else Qt.ArrowType.RightArrow)
        self.details_box.setVisible(expanded)

    @property
    def is_handoff(self) -> bool:
        """True when the import handoff (temporary fallback) runs the tunnel."""
        return bool(self.status and self.status.tunnel_backend == "handoff")

    # -- display ----------------------------------------------------------------------------

    def set_state(self, state: str, handshake_age: float | None = None) -> None:
        """Show a transient state (``connecting``/``disconnecting`` while a call runs).

        Any other ``state`` re-renders the last status (``handshake_age`` is taken from it).
        """
        self.state = state
        transient = state if state in ("connecting", "disconnecting") else None
        if transient is None and self.status is not None:
            self._render()
            return
        self.presentation = describe(self.status, transient)
        self._show(self.presentation)

    def _show(self, p: Presentation) -> None:
        self.card.show_state(p.kind, p.headline, p.detail)
        up = p.kind in TUNNEL_UP and self.state != "disconnecting"
        self.connect_button.set_on(up, p.kind)
        self.connect_button.setEnabled(
            self.state not in ("connecting", "disconnecting", "unavailable")
            and p.kind not in (StateKind.REVOKED, StateKind.PENDING_APPROVAL,
                               StateKind.KEY_MISMATCH))

    def _render(self) -> None:
        self.presentation = describe(self.status)
        if self.status is not None:
            self.state = self.status.connection
        self._show(self.presentation)

    def set_status(self, status: Status) -> None:
        """Show everything the core's local status knows."""
        self.status = status
        self._render()
        ips = [ip for ip in (status.vpn_ip, status.vpn_ip6) if ip]
        self.ip_value.setText(", ".join(ips) or "—")
        self.copy_ip_button.setEnabled(bool(ips))
        self.server_value.setText(status.server or "—")
        self.user_value.setText(status.user or "—")
        rev = f" · profile revision {status.profile_revision}" if status.profile_revision else ""
        self.device_value.setText(f"{status.device_name or '—'}{rev}")
        backend = status.tunnel_backend
        self.backend_value.setText(BACKEND_NAMES.get(backend or "", backend or "none usable"))
        self.key_value.setText(status.device_public_key or "—")
        self.device_fp_value.setText(grouped(status.device_fingerprint) or "—")
        self.refresh_times()
        if not self.tick_timer.isActive():
            self.tick_timer.start()
        self._set_resources(status.allowed_resources)
        self.handoff_box.setVisible(self.is_handoff)
        self.connect_button.setVisible(not self.is_handoff)
        if status.detail and status.connection == "unavailable":
            show_message(self.message_label, status.detail, error=True)

    def refresh_times(self) -> None:
        """Redraw "12 s ago" and the offline note against the clock (runs every second)."""
        status = self.status
        if status is None:
            return
        now = self.clock()
        synced = parse_time(status.last_sync)
        self.sync_value.setText(human_age((now - synced).total_seconds()) if synced else "never")
        self.sync_exact_value.setText(local_time(status.last_sync, now))
        text = ""
        if status.offline_since:
            since = local_time(status.offline_since, now)
            text = (f"Offline since {since} — the server cannot be reached; the last profile "
                    "is kept.")
        if text != self.offline_label.text() or self.offline_label.isHidden() == bool(text):
            show_message(self.offline_label, text)
            self.offline_label.set_tone("note" if text else "")

    def _set_resources(self, resources: list[dict]) -> None:
        table = self.resources_table
        table.setRowCount(len(resources))
        for row, res in enumerate(resources):
            dest = QTableWidgetItem(str(res.get("destination")))
            dest.setFont(mono_font())
            table.setItem(row, 0, dest)
            table.setItem(row, 1, QTableWidgetItem(str(res.get("policy") or "")))
        self.resources_title.setText(f"Resources you can reach ({len(resources)})"
                                     if resources else "Resources you can reach")
        table.setVisible(bool(resources))
        self.no_resources_label.setVisible(not resources)
        # As tall as its rows (up to eight, then it scrolls): no empty box under them.
        table.resizeRowsToContents()
        rows_h = sum(table.rowHeight(r) for r in range(min(len(resources), 8)))
        table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows_h
                             + 2 * table.frameWidth() + 6)

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
