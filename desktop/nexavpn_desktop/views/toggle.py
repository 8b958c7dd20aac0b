"""The large connect toggle: a switch that shows whether the tunnel is on and asks to flip it.

Why not a checkable QPushButton: a click must only *ask* (the window decides, the core may
fail), so the switch never flips itself; :meth:`ConnectToggle.set_on` moves it when the state
really changed. It is still a checkable button to assistive technology (a switch with a
checked state), takes focus with Tab and answers Space, Enter and Return.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QVariantAnimation
from PySide6.QtGui import QColor, QFocusEvent, QKeyEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractButton, QWidget

from ..states import StateKind
from ..style import accent, blend

TRACK_W, TRACK_H = 68, 38


class ConnectToggle(QAbstractButton):
    """A big on/off switch; ``clicked`` asks to flip it, :meth:`set_on` shows the outcome."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCheckable(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._kind: StateKind = StateKind.DISCONNECTED
        self._pos = 0.0  # knob position, 0 = off … 1 = on
        self._keyboard_focus = False
        self._anim = QVariantAnimation(self)
        self._anim.setDuration(140)
        self._anim.valueChanged.connect(self._moved)
        self.setText("Connect")
        self.setAccessibleName("Connect")
        self.setAccessibleDescription("Turns the VPN tunnel on or off.")

    def nextCheckState(self) -> None:
        """A click only asks; the switch moves when :meth:`set_on` says it really changed."""

    def set_on(self, on: bool, kind: StateKind | None = None) -> None:
        """Show the tunnel as on/off (``kind`` picks the accent: amber while connecting)."""
        self._kind = kind or (StateKind.CONNECTED if on else StateKind.DISCONNECTED)
        text = "Disconnect" if on else "Connect"
        self.setText(text)
        self.setAccessibleName(text)
        self.setToolTip("Disconnect the VPN" if on else "Connect the VPN")
        if self.isChecked() != on:
            self.setChecked(on)
            self._anim.stop()
            self._anim.setStartValue(self._pos)
            self._anim.setEndValue(1.0 if on else 0.0)
            self._anim.start()
        self.update()

    @property
    def is_on(self) -> bool:
        """True while the switch shows the tunnel on."""
        return self.isChecked()

    def _moved(self, value: object) -> None:
        self._pos = float(value)  # type: ignore[arg-type]
        self.update()

    def sizeHint(self) -> QSize:
        """Large enough to hit easily; the focus ring gets 4 px around the track."""
        return QSize(TRACK_W + 8, TRACK_H + 8)

    def minimumSizeHint(self) -> QSize:
        """Never smaller than the track plus its focus ring."""
        return self.sizeHint()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter and Return flip it like Space does."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.isAutoRepeat():
            if self.isEnabled():
                self.click()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        """The focus ring is for keyboard users: shown when focus came by Tab or a shortcut."""
        self._keyboard_focus = event.reason() in (
            Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason,
            Qt.FocusReason.ShortcutFocusReason, Qt.FocusReason.OtherFocusReason)
        super().focusInEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        """Repaint when enabled/disabled or when the palette changes."""
        if event.type() in (QEvent.Type.EnabledChange, QEvent.Type.PaletteChange):
            self.update()
        super().changeEvent(event)

    def paintEvent(self, event: object) -> None:
        """Track in the state accent when on (window-blended grey when off), a round knob."""
        pal = self.palette()
        window = pal.color(QPalette.ColorRole.Window)
        text = pal.color(QPalette.ColorRole.WindowText)
        off_track = blend(window, text, 0.32)
        on_track = accent(self._kind if self._pos > 0.5 else StateKind.CONNECTED, pal)
        track = blend(off_track, on_track, self._pos)
        knob = QColor("#ffffff")
        if not self.isEnabled():
            track = blend(window, track, 0.35)
            knob = blend(window, knob, 0.6)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF((self.width() - TRACK_W) / 2, (self.height() - TRACK_H) / 2, TRACK_W, TRACK_H)
        if self.hasFocus() and self._keyboard_focus:
            ring = pal.color(QPalette.ColorRole.Highlight)
            painter.setPen(QPen(ring, 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(r.adjusted(-3, -3, 3, 3), TRACK_H / 2 + 3, TRACK_H / 2 + 3)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(track)
        painter.drawRoundedRect(r, TRACK_H / 2, TRACK_H / 2)
        d = TRACK_H - 8
        x = r.x() + 4 + (TRACK_W - 8 - d) * self._pos
        painter.setBrush(QColor(0, 0, 0, 40))
        painter.drawEllipse(QRectF(x, r.y() + 5, d, d))
        painter.setBrush(knob)
        painter.drawEllipse(QRectF(x, r.y() + 4, d, d))
        painter.end()
