"""State icons painted at run time (no image files to package): a shield with a glyph per state.

Why painted: the tray icon must follow the state, be crisp at 16 to 256 px and stay readable on
light and dark panels; a filled shield in the state's colour with a white glyph and a thin light
rim does all three. The colour alone never carries the state: each state has its own glyph.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from .states import StateKind, kind_of
from .style import ACCENTS_LIGHT

#: Fill colour per state (mid tones: they read on light and on dark panels).
STATE_COLORS: dict[str, str] = {str(k): v for k, v in ACCENTS_LIGHT.items()}

#: States drawn as an outline only (nothing is protected).
HOLLOW = frozenset({StateKind.DISCONNECTED, StateKind.SIGNED_OUT, StateKind.UNAVAILABLE})


def state_color(state: str) -> str:
    """The fill colour for ``state`` (grey for anything unknown)."""
    return STATE_COLORS[str(kind_of(state))]


def shield_path(rect: QRectF) -> QPainterPath:
    """A shield outline filling ``rect``: flat shoulders, a pointed base."""
    x, y, w, h = rect.x(), rect.y(), rect.width(), rect.height()
    path = QPainterPath()
    path.moveTo(x + w / 2, y)
    path.cubicTo(x + w * 0.68, y + h * 0.1, x + w * 0.86, y + h * 0.12, x + w, y + h * 0.13)
    path.cubicTo(x + w, y + h * 0.55, x + w * 0.86, y + h * 0.82, x + w / 2, y + h)
    path.cubicTo(x + w * 0.14, y + h * 0.82, x, y + h * 0.55, x, y + h * 0.13)
    path.cubicTo(x + w * 0.14, y + h * 0.12, x + w * 0.32, y + h * 0.1, x + w / 2, y)
    path.closeSubpath()
    return path


def _glyph(painter: QPainter, kind: StateKind, r: QRectF, color: QColor) -> None:
    """The state's symbol inside the shield's body ``r``."""
    pen = QPen(color, max(1.2, r.width() * 0.16), Qt.PenStyle.SolidLine,
               Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    cx, cy, w, h = r.center().x(), r.center().y(), r.width(), r.height()

    def p(fx: float, fy: float) -> QPointF:
        return QPointF(r.x() + w * fx, r.y() + h * fy)

    if kind == StateKind.CONNECTED:
        painter.drawPolyline([p(0.12, 0.52), p(0.4, 0.8), p(0.9, 0.22)])
    elif kind == StateKind.CONNECTING:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(color))
        for fx in (0.12, 0.5, 0.88):
            painter.drawEllipse(p(fx, 0.5), w * 0.12, w * 0.12)
    elif kind in (StateKind.NO_HANDSHAKE, StateKind.KEY_MISMATCH, StateKind.UNAVAILABLE):
        if kind != StateKind.KEY_MISMATCH:
            painter.drawLine(p(0.5, 0.08), p(0.5, 0.6))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(color))
            painter.drawEllipse(p(0.5, 0.9), w * 0.1, w * 0.1)
        else:  # two keys that do not match: "≠"
            painter.drawLine(p(0.1, 0.35), p(0.9, 0.35))
            painter.drawLine(p(0.1, 0.7), p(0.9, 0.7))
            painter.drawLine(p(0.7, 0.05), p(0.3, 1.0))
    elif kind == StateKind.REVOKED:
        painter.drawLine(p(0.18, 0.15), p(0.82, 0.85))
        painter.drawLine(p(0.82, 0.15), p(0.18, 0.85))
    elif kind == StateKind.PENDING_APPROVAL:  # a clock
        pen.setWidthF(max(1.0, w * 0.11))
        painter.setPen(pen)
        painter.drawEllipse(QPointF(cx, cy), w * 0.46, w * 0.46)
        painter.drawPolyline([p(0.5, 0.2), p(0.5, 0.52), p(0.72, 0.66)])
    elif kind == StateKind.OFFLINE:  # a broken link: two offset bars
        painter.drawLine(p(0.08, 0.3), p(0.42, 0.3))
        painter.drawLine(p(0.58, 0.7), p(0.92, 0.7))
        pen.setWidthF(max(1.0, w * 0.09))
        painter.setPen(pen)
        painter.drawLine(p(0.15, 0.95), p(0.85, 0.05))
    elif kind == StateKind.HANDED_OFF:  # an arrow out
        painter.drawLine(p(0.1, 0.5), p(0.85, 0.5))
        painter.drawPolyline([p(0.55, 0.18), p(0.88, 0.5), p(0.55, 0.82)])
    elif kind == StateKind.DISCONNECTED:  # a bar: "off"
        painter.drawLine(p(0.18, 0.5), p(0.82, 0.5))
    # signed out: the empty shield


def state_pixmap(state: str, size: int = 64) -> QPixmap:
    """The state's shield at ``size`` px: filled with a white glyph, or an outline when off."""
    kind = kind_of(state)
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    fill = QColor(state_color(kind))
    rim = max(1.0, size * 0.05)
    outer = QRectF(size * 0.1, size * 0.04, size * 0.8, size * 0.92)
    shield = shield_path(outer.adjusted(rim / 2, rim / 2, -rim / 2, -rim / 2))
    body = QRectF(outer.x() + outer.width() * 0.27, outer.y() + outer.height() * 0.28,
                  outer.width() * 0.46, outer.height() * 0.4)
    if kind in HOLLOW:
        # Light rim outside, the grey outline inside it: visible on dark and light panels.
        painter.setPen(QPen(QColor(255, 255, 255, 200), rim * 2.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(shield)
        painter.setPen(QPen(fill, rim * 1.4))
        painter.setBrush(QBrush(QColor(255, 255, 255, 150)))
        painter.drawPath(shield)
        _glyph(painter, kind, body, fill)
    else:
        painter.setPen(QPen(QColor(255, 255, 255, 230), rim))
        painter.setBrush(QBrush(fill))
        painter.drawPath(shield)
        _glyph(painter, kind, body, QColor("white"))
    painter.end()
    return pix


def state_icon(state: str) -> QIcon:
    """The window/tray icon for ``state``."""
    icon = QIcon()
    for size in (16, 22, 24, 32, 48, 64, 128):
        icon.addPixmap(state_pixmap(state, size))
    return icon


BRAND_COLOR = "#3d5fc4"


def brand_pixmap(size: int = 64) -> QPixmap:
    """The app's mark (sign-in header, About): a blue shield with a white padlock."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    outer = QRectF(size * 0.1, size * 0.04, size * 0.8, size * 0.92)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(QColor(BRAND_COLOR)))
    painter.drawPath(shield_path(outer))
    white = QColor("white")
    body = QRectF(size * 0.34, size * 0.42, size * 0.32, size * 0.25)
    painter.setBrush(QBrush(white))
    painter.drawRoundedRect(body, size * 0.04, size * 0.04)
    painter.setPen(QPen(white, size * 0.06, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    shackle = QRectF(size * 0.4, size * 0.27, size * 0.2, size * 0.3)
    painter.drawArc(shackle, 0, 180 * 16)
    painter.drawLine(QPointF(shackle.left(), shackle.center().y()),
                     QPointF(shackle.left(), body.top()))
    painter.drawLine(QPointF(shackle.right(), shackle.center().y()),
                     QPointF(shackle.right(), body.top()))
    painter.end()
    return pix


def brand_icon() -> QIcon:
    """The application's icon (taskbar, installers): the brand shield at every size."""
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        icon.addPixmap(brand_pixmap(size))
    return icon
