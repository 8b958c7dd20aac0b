"""nexavpn_client: the GUI-free NexaVPN desktop client core (and its CLI).

The GUI calls only :class:`ClientApp` (``nexavpn_client.app``) and catches the typed errors of
``nexavpn_client.errors``; see README.md next to this file.
"""

__version__ = "0.1.0"

# __version__ first: app imports it.
from .app import (
    ClientApp,
    DeviceInfo,
    LogoutResult,
    ServerCheck,
    Status,
    SyncResult,
    UserInfo,
)

__all__ = [
    "ClientApp",
    "DeviceInfo",
    "LogoutResult",
    "ServerCheck",
    "Status",
    "SyncResult",
    "UserInfo",
    "__version__",
]
