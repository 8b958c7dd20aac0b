"""Small shared widgets and formatting helpers of the views."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QWidget

ERROR_STYLE = "color: #b3261e;"
OK_STYLE = "color: #1e7e34;"
NOTE_STYLE = (
    "background: #fff4ce; color: #4d3b00; border: 1px solid #e0c060; border-radius: 4px;"
    " padding: 6px;"
)


def title_label(text: str, parent: QWidget | None = None) -> QLabel:
    """A large bold heading."""
    label = QLabel(text, parent)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.5)
    font.setBold(True)
    label.setFont(font)
    return label


def message_label(parent: QWidget | None = None) -> QLabel:
    """A word-wrapped label for errors/notes; hidden while empty."""
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setVisible(False)
    return label


def show_message(label: QLabel, text: str, *, error: bool = False, ok: bool = False) -> None:
    """Put ``text`` into ``label`` (empty hides it), coloured as an error or success."""
    label.setText(text)
    label.setStyleSheet(ERROR_STYLE if error else OK_STYLE if ok else "")
    label.setAccessibleDescription("error" if error else "")
    label.setVisible(bool(text))


def mono_font() -> QFont:
    """A fixed-pitch font for fingerprints and addresses."""
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    return font


def human_age(seconds: float | None) -> str:
    """``12 s ago``, ``3 min ago``, ``2 h ago``; ``never`` for None."""
    if seconds is None:
        return "never"
    s = max(0, int(seconds))
    if s < 5:
        return "just now"
    if s < 120:
        return f"{s} s ago"
    if s < 7200:
        return f"{s // 60} min ago"
    if s < 2 * 86400:
        return f"{s // 3600} h ago"
    return f"{s // 86400} days ago"


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


def split_fingerprint(fp: str | None) -> str | None:
    """A long ``AB:CD:…`` fingerprint on two lines (it is compared by eye, in halves)."""
    if not fp:
        return fp
    parts = fp.split(":")
    if len(parts) < 8:
        return fp
    half = len(parts) // 2
    return ":".join(parts[:half]) + ":\n" + ":".join(parts[half:])
