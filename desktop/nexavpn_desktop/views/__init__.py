"""The window's screens: sign-in, enrolling, connected (status), revoked, settings/about."""

from .connected import ConnectedView
from .enrolling import EnrollingView
from .revoked import RevokedView
from .settings import SettingsView
from .signin import SignInView

__all__ = ["ConnectedView", "EnrollingView", "RevokedView", "SettingsView", "SignInView"]
