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


def _kind_from_connection(status: Status) -> tuple[StateKind, float | None]:
    """(kind, handshake age) from the plain ``connection`` word and the handshake age."""
    conn = status.connection
    age = status.handshake_age
    if conn == "connected":
        if age is None or age > STALE_HANDSHAKE_SECONDS:
            return StateKind.NO_HANDSHAKE, age
        return StateKind.CONNECTED, age
    if conn == "disconnecting":
        return StateKind.CONNECTING, age
    return kind_of(conn), age


def _core_state(status: Status) -> tuple[StateKind, float | None, str] | None:
    """(kind, handshake age, the core's sentence) when the status carries the core's state.

    Why: a core that judges the connection itself (handshake age, pending approval, key
    mismatch) puts a ``state`` with ``kind``, ``text`` and ``handshake_age`` on its status; its
    judgement wins over the plain ``connection`` word.
    """
    core = getattr(status, "state", None)
    kind = getattr(core, "kind", None)
    if core is None or kind is None:
        return None
    return (kind_of(str(getattr(kind, "value", kind))), getattr(core, "handshake_age", None),
            str(getattr(core, "text", "") or ""))


#: Headline and detail per state (the core's own sentence replaces the headline when it has one).
WORDS: dict[StateKind, tuple[str, str]] = {
    StateKind.CONNECTED: ("Connected", "Traffic to your resources goes through the VPN."),
    StateKind.CONNECTING: ("Connecting…", "Bringing the tunnel up."),
    StateKind.NO_HANDSHAKE: ("Connected, no handshake yet",
                             "The tunnel is up but the gateway does not answer: no traffic "
                             "passes. Check your network; your administrator can check the "
                             "gateway."),
    StateKind.DISCONNECTED: ("Disconnected", "Turn the switch on to reach your resources."),
    StateKind.REVOKED: ("This device was revoked",
                        "It can no longer connect. Ask your administrator, then register this "
                        "computer again."),
    StateKind.PENDING_APPROVAL: ("Waiting for approval",
                                 "You can connect as soon as an administrator approves this "
                                 "device."),
    StateKind.KEY_MISMATCH: ("This device's key does not match",
                             "The server knows another key for this device. Register this "
                             "installation again to use it here."),
    StateKind.OFFLINE: ("Server unreachable",
                        "Disconnected. You can still connect with the last profile."),
    StateKind.HANDED_OFF: ("Handed off to the WireGuard app",
                           "The WireGuard app runs the tunnel; check it there."),
    StateKind.UNAVAILABLE: ("Tunnel unavailable",
                            "This computer cannot run the tunnel right now."),
    StateKind.SIGNED_OUT: ("Signed out", "Sign in to connect."),
}


def describe(status: Status | None, transient: str | None = None) -> Presentation:
    """The card for ``status`` (``transient``: connecting/disconnecting while a call runs)."""
    if status is None:
        return Presentation(StateKind.SIGNED_OUT, *WORDS[StateKind.SIGNED_OUT])
    if status.revoked:
        return Presentation(StateKind.REVOKED, *WORDS[StateKind.REVOKED])
    if transient == "connecting":
        return Presentation(StateKind.CONNECTING, *WORDS[StateKind.CONNECTING])
    if transient == "disconnecting":
        return Presentation(StateKind.CONNECTING, "Disconnecting…", "Taking the tunnel down.")
    core = _core_state(status)
    if core is not None:
        kind, age, core_text = core
    else:
        (kind, age), core_text = _kind_from_connection(status), ""
    headline, detail = WORDS[kind]
    if core_text:
        headline = core_text
    if kind == StateKind.CONNECTED:
        shake = f"Last handshake {human_age(age)}. " if age is not None else ""
        if status.offline_since:
            detail = (f"{shake}The server cannot be reached; policy changes arrive when it is "
                      "back.")
        else:
            detail = shake + detail
    elif kind == StateKind.NO_HANDSHAKE and not core_text and age is not None:
        headline = "No handshake for " + _age(age)
    elif kind == StateKind.UNAVAILABLE and status.detail:
        detail = status.detail
    elif kind == StateKind.DISCONNECTED:
        if status.offline_since:
            kind = StateKind.OFFLINE
            headline, detail = WORDS[kind]
        elif status.tunnel_backend == "handoff":
            headline, detail = ("Ready to open in WireGuard",
                                "Open the profile in the WireGuard app to connect.")
    return Presentation(kind, headline, detail)
