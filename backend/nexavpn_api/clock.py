"""The clock sign-in limits and sessions run on, injectable so tests move time, not sleep.

Functions that decide by time (the login limiter's windows, a session's expiry) take a
``clock`` argument; left out, they use the app's clock: ``NEXAVPN_CLOCK`` in the app config (a
callable set from code, never from the environment) or, as in production, real UTC time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app, has_app_context

from .models._types import utcnow

Clock = Callable[[], datetime]


def app_clock() -> Clock:
    """The app's clock (real UTC time unless a test set ``NEXAVPN_CLOCK``)."""
    if has_app_context():
        return current_app.config.get("NEXAVPN_CLOCK") or utcnow
    return utcnow


def resolve(clock: Clock | None) -> Clock:
    """``clock`` if given, else the app's."""
    return clock if clock is not None else app_clock()
