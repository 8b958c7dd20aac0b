"""State icons drawn at run time (no image files to package): a coloured shield-like dot."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPen, QPixmap

#: Colour per connection state (also used for the status text in the window).
STATE_COLORS: dict[str, str] = {
    "connected": "#1e9e4a",
    "connecting": "#d99a00",
    "no_handshake": "#d35400",
    "pending_approval": "#d99a00",
    "key_mismatch": "#c0392b",
    "handed_off": "#2f6fd6",
    "disconnected": "#7a7a7a",
    "revoked": "#c0392b",
    "signed_out": "#7a7a7a",
    "unavailable": "#7a7a7a",
    "unknown": "#7a7a7a",
}


def state_color(state: str) -> str:
    """The colour for ``state`` (grey for anything unknown)."""
    return STATE_COLORS.get(state, STATE_COLORS["unknown"])


def state_pixmap(state: str, size: int = 64) -> QPixmap:
    """A round badge in the state's colour with a white ring: readable in any tray theme."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    margin = size * 0.08
    rect = QRectF(margin, margin, size - 2 * margin, size - 2 * margin)
    painter.setPen(QPen(QColor("white"), size * 0.06))
    painter.setBrush(QBrush(QColor(state_color(state))))
    painter.drawEllipse(rect)
    inner = rect.adjusted(size * 0.27, size * 0.27, -size * 0.27, -size * 0.27)
    painter.setBrush(QBrush(QColor("white")))
    painter.setPen(Qt.PenStyle.NoPen)
    if state == "connected":
        painter.drawEllipse(inner)
    else:
        painter.drawRoundedRect(inner.adjusted(0, inner.height() * 0.35, 0,
                                               -inner.height() * 0.35), 2, 2)
    painter.end()
    return pix


def state_icon(state: str) -> QIcon:
    """The window/tray icon for ``state``."""
    icon = QIcon()
    for size in (16, 24, 32, 64):
        icon.addPixmap(state_pixmap(state, size))
    return icon
