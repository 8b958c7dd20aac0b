"""The status card: one tinted panel whose colour, icon and words carry the connection state.

Reusable on purpose: any view shows a state with ``card.show_state(kind, headline, detail)``
(``kind`` a :class:`~nexavpn_desktop.states.StateKind` or its value), and may put one control
(the connect toggle) on its right with :meth:`StatusCard.set_accessory`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QAccessible, QAccessibleEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..icons import state_pixmap
from ..states import SHORT_TEXT, StateKind, kind_of
from ..style import card_colors, muted

ICON_SIZE = 52


class StatusCard(QFrame):
    """Icon, headline and detail on a background tinted by the state's accent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kind = StateKind.DISCONNECTED
        self.setObjectName("statusCard")
        self.setAccessibleName("Connection status")
        self.icon_label = QLabel(self)
        self.icon_label.setFixedSize(ICON_SIZE, ICON_SIZE)
        self.icon_label.setAccessibleName("Connection state icon")
        self.headline_label = QLabel(self)
        font = self.headline_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.55)
        font.setBold(True)
        self.headline_label.setFont(font)
        self.headline_label.setWordWrap(True)
        self.detail_label = QLabel(self)
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.headline_label)
        text.addWidget(self.detail_label)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(18, 18, 18, 18)
        self._row.setSpacing(14)
        self._row.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        self._row.addLayout(text, 1)
        self.accessory: QWidget | None = None
        self.show_state(StateKind.DISCONNECTED, "Disconnected", "")

    # -- API ---------------------------------------------------------------------------------

    @property
    def kind(self) -> StateKind:
        """The state shown now."""
        return self._kind

    def headline(self) -> str:
        """The big words of the card."""
        return self.headline_label.text()

    def detail(self) -> str:
        """The line under the headline."""
        return self.detail_label.text()

    def show_state(self, kind: StateKind | str, headline: str, detail: str = "") -> None:
        """Show ``kind`` (colour + icon) with ``headline`` and ``detail`` (empty hides it)."""
        self._kind = kind_of(kind)
        self.headline_label.setText(headline)
        self.detail_label.setText(detail)
        self.detail_label.setVisible(bool(detail))
        self.icon_label.setPixmap(state_pixmap(self._kind, ICON_SIZE * 2))
        self.icon_label.setScaledContents(True)
        self.setAccessibleDescription(f"{headline}. {detail}".strip() if detail else headline)
        # Screen readers announce the new state without the user moving to the card.
        QAccessible.updateAccessibility(
            QAccessibleEvent(self, QAccessible.Event.DescriptionChanged))
        self.icon_label.setAccessibleDescription(SHORT_TEXT[self._kind])
        self._recolor()
        self.update()

    def set_accessory(self, widget: QWidget) -> None:
        """Put one control (the connect toggle) at the card's right, vertically centred."""
        if self.accessory is not None:
            self._row.removeWidget(self.accessory)
        self.accessory = widget
        widget.setParent(self)
        self._row.addWidget(widget, 0, Qt.AlignmentFlag.AlignVCenter)

    # -- look --------------------------------------------------------------------------------

    def colors(self) -> tuple:
        """(background, border, headline colour) for the state and the current palette."""
        return card_colors(self._kind, self.palette())

    def _recolor(self) -> None:
        _bg, _border, head = self.colors()
        pal = QPalette(self.palette())
        pal.setColor(QPalette.ColorRole.WindowText, head)
        self.headline_label.setPalette(pal)
        detail = QPalette(self.palette())
        bg = self.colors()[0]
        probe = QPalette(self.palette())
        probe.setColor(QPalette.ColorRole.Window, bg)
        detail.setColor(QPalette.ColorRole.WindowText, muted(probe))
        self.detail_label.setPalette(detail)

    def changeEvent(self, event: QEvent) -> None:
        """Follow the OS switching between light and dark."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._recolor()
        super().changeEvent(event)

    def paintEvent(self, event: object) -> None:
        """A rounded panel tinted with the state's accent and a hairline border."""
        bg, border, _head = self.colors()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(border, 1.0))
        painter.setBrush(bg)
        painter.drawRoundedRect(rect, 12, 12)
        painter.end()
