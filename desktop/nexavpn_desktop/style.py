"""Colours taken from the OS palette: state accents, tinted cards, readable text in light and dark.

Why: nothing in the window hard-codes a background. Every colour is either a palette role or a
state accent blended into the palette's window colour, and text colours are pushed until they
reach a WCAG contrast of 4.5:1 against what they are drawn on.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette

from .states import StateKind, kind_of

#: State accents for a light palette (mid tones) and a dark one (lighter tones).
ACCENTS_LIGHT: dict[StateKind, str] = {
    StateKind.CONNECTED: "#1f8a4c",
    StateKind.CONNECTING: "#b7791f",
    StateKind.NO_HANDSHAKE: "#c2581c",
    StateKind.DISCONNECTED: "#6b7280",
    StateKind.REVOKED: "#c53030",
    StateKind.PENDING_APPROVAL: "#2b6cb0",
    StateKind.KEY_MISMATCH: "#b83280",
    StateKind.OFFLINE: "#8a6d1f",
    StateKind.HANDED_OFF: "#3d5fc4",
    StateKind.UNAVAILABLE: "#6b7280",
    StateKind.SIGNED_OUT: "#6b7280",
}
ACCENTS_DARK: dict[StateKind, str] = {
    StateKind.CONNECTED: "#4ade80",
    StateKind.CONNECTING: "#fbbf24",
    StateKind.NO_HANDSHAKE: "#fb923c",
    StateKind.DISCONNECTED: "#9ca3af",
    StateKind.REVOKED: "#f87171",
    StateKind.PENDING_APPROVAL: "#60a5fa",
    StateKind.KEY_MISMATCH: "#f472b6",
    StateKind.OFFLINE: "#e3c163",
    StateKind.HANDED_OFF: "#93a9f5",
    StateKind.UNAVAILABLE: "#9ca3af",
    StateKind.SIGNED_OUT: "#9ca3af",
}
ERROR_LIGHT, ERROR_DARK = "#b3261e", "#ff8a80"
OK_LIGHT, OK_DARK = "#1e7e34", "#6ee7a0"
NOTE_LIGHT, NOTE_DARK = "#b7791f", "#e3b341"


def app_palette() -> QPalette:
    """The application's palette (the OS one unless the app set another)."""
    return QGuiApplication.palette()


def is_dark(palette: QPalette) -> bool:
    """True when the window background is dark (text is light)."""
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return window.lightnessF() < text.lightnessF()


def accent(kind: str | StateKind, palette: QPalette) -> QColor:
    """The state's accent colour suited to ``palette``."""
    table = ACCENTS_DARK if is_dark(palette) else ACCENTS_LIGHT
    return QColor(table[kind_of(kind)])


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
        1.0,
    )


def _luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast_ratio(a: QColor, b: QColor) -> float:
    """The WCAG 2 contrast ratio of two colours (1 … 21)."""
    la, lb = _luminance(a), _luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def readable(fg: QColor, bg: QColor, minimum: float = 4.5) -> QColor:
    """``fg`` darkened or lightened (keeping its hue) until it reads on ``bg``."""
    towards = QColor("black") if _luminance(bg) > 0.18 else QColor("white")
    color = QColor(fg)
    step = 0.0
    while contrast_ratio(color, bg) < minimum and step < 1.0:
        step += 0.05
        color = blend(fg, towards, step)
    return color


def card_colors(kind: str | StateKind, palette: QPalette) -> tuple[QColor, QColor, QColor]:
    """(background, border, headline) of a status card for ``kind``: a tint of the window."""
    window = palette.color(QPalette.ColorRole.Window)
    acc = accent(kind, palette)
    dark = is_dark(palette)
    background = blend(window, acc, 0.16 if dark else 0.11)
    border = blend(window, acc, 0.55 if dark else 0.45)
    return background, border, readable(acc, background)


def tone_color(tone: str, palette: QPalette) -> QColor | None:
    """The text colour of a message tone (``error``/``ok``/``note``) readable on the window."""
    dark = is_dark(palette)
    base = {"error": ERROR_DARK if dark else ERROR_LIGHT, "ok": OK_DARK if dark else OK_LIGHT,
            "note": NOTE_DARK if dark else NOTE_LIGHT}.get(tone)
    if base is None:
        return None
    return readable(QColor(base), palette.color(QPalette.ColorRole.Window))


def muted(palette: QPalette) -> QColor:
    """Secondary text: the window text faded towards the background, still readable."""
    window = palette.color(QPalette.ColorRole.Window)
    return readable(blend(palette.color(QPalette.ColorRole.WindowText), window, 0.35), window)


def dark_palette() -> QPalette:
    """A dark palette like the OS dark themes give (for tests, screenshots and ``--dark``)."""
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#1f2125",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#17181b",
        QPalette.ColorRole.AlternateBase: "#24262b",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#2b2e33",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.ToolTipBase: "#2b2e33",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8b8f96",
        QPalette.ColorRole.Highlight: "#4c7be0",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#8ab4f8",
        QPalette.ColorRole.Light: "#3a3d43",
        QPalette.ColorRole.Midlight: "#33363b",
        QPalette.ColorRole.Mid: "#2a2c31",
        QPalette.ColorRole.Dark: "#121316",
        QPalette.ColorRole.Shadow: "#000000",
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7c8088"))
    return pal
