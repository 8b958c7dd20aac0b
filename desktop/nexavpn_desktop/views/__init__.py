"""The window's screens (sign-in, enrolling, connected, revoked, settings) and their widgets."""

from .connected import ConnectedView
from .enrolling import EnrollingView
from .revoked import RevokedView
from .settings import SettingsView
from .signin import SignInView
from .status_card import StatusCard
from .toggle import ConnectToggle

__all__ = ["ConnectToggle", "ConnectedView", "EnrollingView", "RevokedView", "SettingsView",
           "SignInView", "StatusCard"]
