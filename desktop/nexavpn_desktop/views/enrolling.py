"""Enrolling: the steps of signing in and registering this computer, ticked off as they pass.

The core reports plain ``progress(step, fraction)`` texts; :func:`step_index` maps them onto
the four steps a user cares about.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..icons import brand_pixmap
from .common import ToneLabel, title_label

STEPS: list[tuple[str, tuple[str, ...]]] = [
    ("Signing in", ("checking", "signing in", "signed in", "opening the browser",
                    "waiting for the sign-in")),
    ("Creating this device's keys", ("preparing device identity", "generating keys")),
    ("Registering the device with the server", ("registering this device",)),
    ("Storing the profile securely", ("saving the profile", "device registered")),
    ("Registering the VPN tunnel", ("preparing the tunnel", "applying the new profile")),
]


def step_index(text: str) -> int | None:
    """Which of :data:`STEPS` a core progress text belongs to (None if none)."""
    low = text.strip().lower()
    for i, (_label, prefixes) in enumerate(STEPS):
        if any(low.startswith(p) for p in prefixes):
            return i
    return None


class EnrollingView(QWidget):
    """Progress through sign-in, keys, enrollment, storage and tunnel registration."""

    #: "Cancel" while the sign-in waits for the browser (single sign-on).
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step_labels = [ToneLabel("", self) for _ in STEPS]
        self.detail_label = ToneLabel("", self, tone="muted")
        self.detail_label.setWordWrap(True)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setAccessibleName("Setting up this computer")
        logo = QLabel(self)
        logo.setPixmap(brand_pixmap(96))
        logo.setFixedSize(48, 48)
        logo.setScaledContents(True)
        logo.setAccessibleName("NexaVPN")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 20)
        layout.setSpacing(10)
        layout.addWidget(logo, 0, Qt.AlignmentFlag.AlignHCenter)
        heading = title_label("Setting up this computer", self, scale=1.6)
        heading.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(heading)
        layout.addSpacing(8)
        for label in self.step_labels:
            layout.addWidget(label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.detail_label)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop waiting for the sign-in in the browser.")
        self.cancel_button.setAccessibleName("Cancel single sign-on")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        layout.addStretch(1)
        self.current = -1
        self.reset()

    def reset(self) -> None:
        """Back to the first step."""
        self.current = -1
        self._render()
        self.progress_bar.setValue(0)
        self.detail_label.clear()
        self.cancel_button.setVisible(False)

    def show_cancel(self, visible: bool) -> None:
        """Offer "Cancel" (only while waiting for the browser)."""
        self.cancel_button.setVisible(visible)

    def on_progress(self, text: str, fraction: float | None) -> None:
        """A core progress report: advance (never go back) and show the detail."""
        idx = step_index(text)
        if idx is not None and idx > self.current:
            self.current = idx
        self.detail_label.setText(text)
        overall = (max(self.current, 0) + (fraction if fraction is not None else 0.0)) / len(
            STEPS
        )
        self.progress_bar.setValue(max(self.progress_bar.value(), int(overall * 100)))
        self._render()

    def finish(self) -> None:
        """Every step done."""
        self.current = len(STEPS)
        self.progress_bar.setValue(100)
        self._render()

    def _render(self) -> None:
        for i, ((text, _p), label) in enumerate(zip(STEPS, self.step_labels, strict=True)):
            if i < self.current:
                label.setText(f"✓  {text}")
                label.set_tone("ok")
            elif i == self.current:
                label.setText(f"➜  <b>{text}…</b>")
                label.set_tone("")
            else:
                label.setText(f"○  {text}")
                label.set_tone("muted")
