"""Small shared widgets and formatting helpers of the views."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QWidget

from ..states import human_age
from ..style import accent, blend, card_colors, muted, readable, tone_color

#: Buttons a little taller than the style's default: easier to hit, less like a dialog.
BUTTON_HEIGHT = 30


def title_label(text: str, parent: QWidget | None = None, scale: float = 1.5) -> QLabel:
    """A large bold heading."""
    label = QLabel(text, parent)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    return label


def section_label(text: str, parent: QWidget | None = None) -> QLabel:
    """A small bold heading above a group of facts ("Resources you can reach")."""
    label = QLabel(text, parent)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


class ToneLabel(QLabel):
    """A label whose text colour is a tone (error/ok/note/muted) taken from the live palette."""

    def __init__(self, text: str = "", parent: QWidget | None = None, tone: str = "") -> None:
        super().__init__(text, parent)
        self._tone = ""
        self._recoloring = False
        self.set_tone(tone)

    @property
    def tone(self) -> str:
        """``error``, ``ok``, ``note``, ``muted`` or ``""`` (plain window text)."""
        return self._tone

    def set_tone(self, tone: str) -> None:
        """Recolour for ``tone`` against the application's current palette."""
        self._tone = tone
        self._recolor()

    def _recolor(self) -> None:
        parent = self.parentWidget()
        base = parent.palette() if parent is not None else QApplication.palette(self)
        color = muted(base) if self._tone == "muted" else tone_color(self._tone, base)
        # Only the text roles are set: every other role keeps following the parent.
        pal = QPalette()
        if color is not None:
            pal.setColor(QPalette.ColorRole.WindowText, color)
            pal.setColor(QPalette.ColorRole.Text, color)
        self._recoloring = True
        try:
            self.setPalette(pal)
        finally:
            self._recoloring = False

    def changeEvent(self, event: QEvent) -> None:
        """Follow a light/dark switch of the OS while the window is open."""
        kinds = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if event.type() in kinds and not self._recoloring:
            self._recolor()
        super().changeEvent(event)


def message_label(parent: QWidget | None = None) -> ToneLabel:
    """A word-wrapped label for errors/notes; hidden while empty."""
    label = ToneLabel("", parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setVisible(False)
    return label


def show_message(label: QLabel, text: str, *, error: bool = False, ok: bool = False) -> None:
    """Put ``text`` into ``label`` (empty hides it), coloured as an error or success."""
    label.setText(text)
    tone = "error" if error else "ok" if ok else ""
    if isinstance(label, ToneLabel):
        label.set_tone(tone)
    label.setAccessibleDescription("error" if error else "")
    label.setVisible(bool(text))


class TintedFrame(QFrame):
    """A rounded panel tinted with a state accent over the window colour (notes, warnings)."""

    def __init__(self, kind: str = "connecting", parent: QWidget | None = None,
                 radius: float = 10.0) -> None:
        super().__init__(parent)
        self._kind = kind
        self.radius = radius
        self.setContentsMargins(4, 4, 4, 4)

    @property
    def kind(self) -> str:
        """The state kind whose accent tints this frame."""
        return self._kind

    def set_kind(self, kind: str) -> None:
        """Tint with another state's accent."""
        self._kind = kind
        self.update()

    def colors(self) -> tuple:
        """(background, border, heading) for the current palette."""
        return card_colors(self._kind, self.palette())

    def paintEvent(self, event: object) -> None:
        """Why custom: a stylesheet background would freeze one palette's colours."""
        bg, border, _ = self.colors()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(border, 1.0))
        painter.setBrush(bg)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5),
                                self.radius, self.radius)
        painter.end()


def accent_text(kind: str, widget: QWidget) -> str:
    """The state's accent as ``#rrggbb``, readable on ``widget``'s window colour."""
    pal = widget.palette()
    window = pal.color(QPalette.ColorRole.Window)
    return readable(accent(kind, pal), window).name()


def divider_color(widget: QWidget) -> str:
    """A hairline colour between sections (window text faded far into the window)."""
    pal = widget.palette()
    return blend(pal.color(QPalette.ColorRole.Window),
                 pal.color(QPalette.ColorRole.WindowText), 0.18).name()


def name(widget: QWidget, text: str, description: str = "") -> QWidget:
    """Give ``widget`` the accessible name (and description) a screen reader announces."""
    widget.setAccessibleName(text)
    if description:
        widget.setAccessibleDescription(description)
    return widget


def mono_font() -> QFont:
    """A fixed-pitch font for fingerprints and addresses."""
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    return font


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from the core (``…Z`` or with an offset), or None."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def local_time(value: str | None, now: datetime | None = None) -> str:
    """``14:03:22 (2 min ago)`` in local time, or ``never``."""
    dt = parse_time(value)
    if dt is None:
        return "never"
    now = now or datetime.now(UTC)
    age = (now - dt).total_seconds()
    return f"{dt.astimezone().strftime('%Y-%m-%d %H:%M:%S')} ({human_age(age)})"


def split_fingerprint(fp: str | None, lines: int = 2) -> str | None:
    """A long ``AB:CD:…`` fingerprint on ``lines`` lines (it is compared by eye, in parts)."""
    if not fp:
        return fp
    parts = fp.split(":")
    if len(parts) < 8:
        return fp
    step = -(-len(parts) // lines)
    rows = [":".join(parts[i:i + step]) for i in range(0, len(parts), step)]
    return ":\n".join(rows)


def grouped(hex_text: str | None, size: int = 4) -> str | None:
    """A long hex fingerprint in blocks of four (read aloud and compared by eye, it wraps)."""
    if not hex_text or ":" in hex_text or " " in hex_text:
        return hex_text
    return " ".join(hex_text[i:i + size] for i in range(0, len(hex_text), size))
