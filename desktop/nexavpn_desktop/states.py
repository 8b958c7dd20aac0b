"""What the window says about the connection: one state kind, a headline and a detail line.

Why a separate, Qt-free module: the status card, the tray icon and the tray menu must all tell
the same story, and the mapping from the core's :class:`~nexavpn_client.app.Status` onto it is
worth testing on its own. A new core state only needs a :class:`StateKind` (if it is new) and a
branch in :func:`describe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nexavpn_client.app import Status

#: WireGuard drops a session whose last handshake is older than this (REJECT_AFTER_TIME).
STALE_HANDSHAKE_SECONDS = 180.0


class StateKind(StrEnum):
    """The states the status card, the tray icon and the tray menu can show."""

    CONNECTED = "connected"
    CONNECTING = "connecting"
    NO_HANDSHAKE = "no_handshake"
    DISCONNECTED = "disconnected"
    REVOKED = "revoked"
    PENDING_APPROVAL = "pending_approval"
    KEY_MISMATCH = "key_mismatch"
    OFFLINE = "offline"
    HANDED_OFF = "handed_off"
    UNAVAILABLE = "unavailable"
    SIGNED_OUT = "signed_out"


#: States in which the tunnel is (being) up: the toggle shows "on" and offers Disconnect.
TUNNEL_UP = frozenset({StateKind.CONNECTED, StateKind.CONNECTING, StateKind.NO_HANDSHAKE})

#: Short words per state: tray menu, tooltips and accessible names.
SHORT_TEXT: dict[StateKind, str] = {
    StateKind.CONNECTED: "Connected",
    StateKind.CONNECTING: "Connecting…",
    StateKind.NO_HANDSHAKE: "Connected, no handshake",
    StateKind.DISCONNECTED: "Disconnected",
    StateKind.REVOKED: "This device was revoked",
    StateKind.PENDING_APPROVAL: "Waiting for approval",
    StateKind.KEY_MISMATCH: "Device key does not match",
    StateKind.OFFLINE: "Server unreachable",
    StateKind.HANDED_OFF: "Handed off to the WireGuard app",
    StateKind.UNAVAILABLE: "Tunnel unavailable",
    StateKind.SIGNED_OUT: "Signed out",
}


def kind_of(value: str | StateKind) -> StateKind:
    """A state name as a :class:`StateKind` (anything unknown reads as disconnected)."""
    try:
        return StateKind(value)
    except ValueError:
        return StateKind.DISCONNECTED


@dataclass(frozen=True)
class Presentation:
    """What the status card shows: its kind (colour, icon), headline and one line of detail."""

    kind: StateKind
    headline: str
    detail: str


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


def _age(seconds: float) -> str:
    return human_age(seconds).removesuffix(" ago")


def describe(status: Status | None, transient: str | None = None) -> Presentation:
    """The card for ``status`` (``transient``: connecting/disconnecting while a call runs)."""
    if status is None:
        return Presentation(StateKind.SIGNED_OUT, "Signed out", "Sign in to connect.")
    if status.revoked:
        return Presentation(StateKind.REVOKED, "This device was revoked",
                            "It can no longer connect. Ask your administrator, then register "
                            "this computer again.")
    if transient == "connecting":
        return Presentation(StateKind.CONNECTING, "Connecting…", "Bringing the tunnel up.")
    if transient == "disconnecting":
        return Presentation(StateKind.CONNECTING, "Disconnecting…", "Taking the tunnel down.")
    conn = status.connection
    handoff = status.tunnel_backend == "handoff"
    if conn == "pending_approval":
        return Presentation(StateKind.PENDING_APPROVAL, "Waiting for approval",
                            "An administrator has to approve this device before it can "
                            "connect.")
    if conn == "key_mismatch":
        return Presentation(StateKind.KEY_MISMATCH, "This device's key does not match",
                            "The server knows another key for this device. Register this "
                            "computer again.")
    if conn == "connected":
        age = status.handshake_age
        if age is None:
            return Presentation(StateKind.NO_HANDSHAKE, "Connected, no handshake yet",
                                "The tunnel is up but the gateway has not answered yet.")
        if age > STALE_HANDSHAKE_SECONDS:
            return Presentation(StateKind.NO_HANDSHAKE, "No handshake for " + _age(age),
                                "The tunnel is up but the gateway stopped answering.")
        shake = f"Last handshake {human_age(age)}."
        if status.offline_since:
            return Presentation(StateKind.CONNECTED, "Connected",
                                f"{shake} The server cannot be reached; policy changes arrive "
                                "when it is back.")
        return Presentation(StateKind.CONNECTED, "Connected",
                            f"{shake} Traffic to your resources goes through the VPN.")
    if conn == "no_handshake":
        return Presentation(StateKind.NO_HANDSHAKE, "Connected, no handshake",
                            "The tunnel is up but the gateway does not answer.")
    if conn == "connecting":
        return Presentation(StateKind.CONNECTING, "Connecting…", "Bringing the tunnel up.")
    if conn == "disconnecting":
        return Presentation(StateKind.CONNECTING, "Disconnecting…", "Taking the tunnel down.")
    if conn == "handed_off":
        return Presentation(StateKind.HANDED_OFF, "Handed off to the WireGuard app",
                            "The WireGuard app runs the tunnel; check it there.")
    if conn == "unavailable":
        return Presentation(StateKind.UNAVAILABLE, "Tunnel unavailable",
                            status.detail or "This computer cannot run the tunnel right now.")
    if status.offline_since:
        return Presentation(StateKind.OFFLINE, "Server unreachable",
                            "Disconnected. You can still connect with the last profile.")
    if handoff:
        return Presentation(StateKind.DISCONNECTED, "Ready to open in WireGuard",
                            "Open the profile in the WireGuard app to connect.")
    return Presentation(StateKind.DISCONNECTED, "Disconnected",
                        "Turn the switch on to reach your resources.")
