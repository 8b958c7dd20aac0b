"""The one honest connection state a view renders (CLI status, desktop window, tray).

"Connected" means a WireGuard handshake younger than the rekey window, not merely an interface
that exists: an interface without a recent handshake moves no packets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from .tunnel.base import CONNECTED, CONNECTING, HANDED_OFF, TunnelStatus

#: WireGuard rekeys every 120 s and gives up after 180 s without an answer (REJECT_AFTER_TIME):
#: a handshake older than this means the gateway no longer answers.
HANDSHAKE_FRESH_SECONDS = 180.0
#: How long a freshly started tunnel may wait for its first handshake before we say so.
FIRST_HANDSHAKE_GRACE_SECONDS = 20.0


class ConnectionKind(StrEnum):
    """What the user should be told about the tunnel, in one word."""

    CONNECTED = "connected"
    CONNECTING = "connecting"
    NO_HANDSHAKE = "no_handshake"
    DISCONNECTED = "disconnected"
    HANDED_OFF = "handed_off"
    REVOKED = "revoked"
    PENDING_APPROVAL = "pending_approval"
    KEY_MISMATCH = "key_mismatch"
    UNAVAILABLE = "unavailable"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


@dataclass(frozen=True)
class ConnectionState:
    """The tunnel's state as one value: ``kind``, since when, and the last profile sync."""

    kind: ConnectionKind
    #: For NO_HANDSHAKE: the last handshake (or the tunnel's start when there was none), epoch s.
    since: float | None = None
    handshake_age: float | None = None
    last_sync: str | None = None
    #: False when the backend cannot read handshakes (macOS without a silent helper).
    verified: bool = True
    detail: str = ""

    @property
    def up(self) -> bool:
        """True when a tunnel interface exists (whatever its handshake says)."""
        return self.kind in (
            ConnectionKind.CONNECTED, ConnectionKind.CONNECTING, ConnectionKind.NO_HANDSHAKE
        )

    @property
    def since_iso(self) -> str | None:
        """``since`` as an ISO 8601 UTC time."""
        return _iso(self.since)

    @property
    def text(self) -> str:
        """The sentence a user reads (window heading, tray tooltip, CLI status)."""
        k = self.kind
        if k is ConnectionKind.CONNECTED:
            return "Connected" if self.verified else "Connected (handshake not visible)"
        if k is ConnectionKind.CONNECTING:
            return "Connecting…"
        if k is ConnectionKind.NO_HANDSHAKE:
            if self.since is None:
                return "No response from the gateway"
            return f"No response from the gateway since {_clock(self.since)}"
        if k is ConnectionKind.DISCONNECTED:
            return "Disconnected"
        if k is ConnectionKind.HANDED_OFF:
            return "Handed off to the WireGuard app"
        if k is ConnectionKind.REVOKED:
            return "This device was revoked"
        if k is ConnectionKind.PENDING_APPROVAL:
            return "Waiting for an administrator's approval"
        if k is ConnectionKind.KEY_MISMATCH:
            return "This installation's key is no longer registered"
        return "Tunnel unavailable"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``status --json``)."""
        return {
            "kind": self.kind.value,
            "text": self.text,
            "since": self.since_iso,
            "handshake_age": self.handshake_age,
            "last_sync": self.last_sync,
            "verified": self.verified,
            "detail": self.detail,
        }


def tunnel_kind(
    tunnel: TunnelStatus,
    *,
    started_at: float | None,
    now: float | None = None,
    fresh_within: float = HANDSHAKE_FRESH_SECONDS,
    grace: float = FIRST_HANDSHAKE_GRACE_SECONDS,
) -> tuple[ConnectionKind, float | None, bool]:
    """(kind, since, verified) of a tunnel from its backend status and handshake age."""
    now = time.time() if now is None else now
    if tunnel.state == HANDED_OFF:
        return ConnectionKind.HANDED_OFF, None, True
    if tunnel.state == CONNECTING:
        return ConnectionKind.CONNECTING, started_at, True
    if tunnel.state != CONNECTED:
        return ConnectionKind.DISCONNECTED, None, True
    if not tunnel.handshake_known:
        return ConnectionKind.CONNECTED, None, False
    age = tunnel.handshake_age
    if age is not None and age <= fresh_within:
        return ConnectionKind.CONNECTED, None, True
    if age is not None:
        return ConnectionKind.NO_HANDSHAKE, now - age, True
    if started_at is None or now - started_at <= grace:
        return ConnectionKind.CONNECTING, started_at, True
    return ConnectionKind.NO_HANDSHAKE, started_at, True
