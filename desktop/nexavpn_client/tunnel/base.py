"""The tunnel backend interface, its value types and the status read from ``wg show dump``.

A backend installs/updates a profile, connects, disconnects, reports status and removes
itself; ``is_available()`` says whether it can work on this machine and, if not, why. All
backends run tools through an injected :class:`~nexavpn_client.runner.Runner`.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from nexavpn_shared import wgconf, wgdump

from ..errors import TunnelError
from ..storage import atomic_write, remove_file

DEFAULT_TUNNEL_NAME = "nexavpn"
# wg-quick's rule for interface/config names; also fits Linux's 15-character IFNAMSIZ limit.
_NAME_RE = re.compile(r"[a-zA-Z0-9_=+.-]{1,15}")


def validate_tunnel_name(name: str) -> str:
    """A name usable as interface, config file and Windows service suffix."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name in (".", ".."):
        raise TunnelError(
            "The tunnel name must be 1-15 characters of letters, digits and _ = + . -"
        )
    return name


@dataclass(frozen=True)
class TunnelConfig:
    """A complete tunnel: name plus wg-quick text with the private key (never in the repr)."""

    name: str
    text: str = field(repr=False)
    addresses: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    mtu: int | None = None
    allowed_ips: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, name: str, text: str) -> TunnelConfig:
        """Parse (strictly) a filled wg-quick text; the parsed fields drive ``ip`` commands."""
        validate_tunnel_name(name)
        try:
            cfg = wgconf.parse(text)
        except ValueError as exc:
            raise TunnelError(f"The VPN profile is not a valid WireGuard config ({exc}).") from None
        if not cfg.interface.private_key or cfg.interface.private_key == (
            wgconf.PRIVATE_KEY_PLACEHOLDER
        ):
            raise TunnelError("The VPN profile has no private key filled in.")
        allowed: list[str] = []
        for peer in cfg.peers:
            for cidr in peer.allowed_ips:
                if cidr not in allowed:
                    allowed.append(cidr)
        return cls(
            name=name,
            text=text,
            addresses=cfg.interface.addresses,
            dns=cfg.interface.dns,
            mtu=cfg.interface.mtu,
            allowed_ips=tuple(allowed),
            endpoints=tuple(p.endpoint for p in cfg.peers if p.endpoint),
        )

    def setconf_text(self) -> str:
        """The text for ``wg setconf`` (no Address/DNS/MTU)."""
        return wgconf.strip_for_wg(self.text)


# Connection states reported by :class:`TunnelStatus`.
CONNECTED = "connected"
DISCONNECTED = "disconnected"
CONNECTING = "connecting"
HANDED_OFF = "handed_off"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class TunnelStatus:
    """What a backend knows about the tunnel; numbers are None when it cannot tell."""

    state: str
    backend: str
    handshake_age: float | None = None
    rx_bytes: int | None = None
    tx_bytes: int | None = None
    endpoint: str | None = None
    detail: str = ""
    #: False when the backend cannot read handshakes (then ``handshake_age`` means nothing).
    handshake_known: bool = True

    @property
    def connected(self) -> bool:
        """True when the tunnel is up."""
        return self.state == CONNECTED


@dataclass(frozen=True)
class PeerStats:
    """One peer line of ``wg show <if> dump``."""

    public_key: str
    endpoint: str | None
    allowed_ips: tuple[str, ...]
    latest_handshake: int
    rx_bytes: int
    tx_bytes: int
    persistent_keepalive: int | None


def parse_wg_dump(text: str) -> list[PeerStats]:
    """Parse ``wg show <if> dump`` with the shared strict parser; the private key is dropped.

    Output we cannot read raises TunnelError (never an empty list that would look like a tunnel
    without peers).
    """
    try:
        state = wgdump.parse_dump(text)
    except wgdump.DumpParseError as exc:
        raise TunnelError(f"Could not read the tunnel's state from wg: {exc}.") from None
    return [
        PeerStats(
            public_key=p.public_key,
            endpoint=p.endpoint,
            allowed_ips=p.listed_ips,
            latest_handshake=p.latest_handshake,
            rx_bytes=p.rx_bytes,
            tx_bytes=p.tx_bytes,
            persistent_keepalive=p.persistent_keepalive,
        )
        for p in state.peers.values()
    ]


def status_from_dump(backend: str, text: str, now: float | None = None) -> TunnelStatus:
    """A connected status with handshake age and byte counts summed over peers."""
    peers = parse_wg_dump(text)
    now = time.time() if now is None else now
    handshakes = [p.latest_handshake for p in peers if p.latest_handshake > 0]
    age = max(0.0, now - max(handshakes)) if handshakes else None
    return TunnelStatus(
        state=CONNECTED,
        backend=backend,
        handshake_age=age,
        rx_bytes=sum(p.rx_bytes for p in peers),
        tx_bytes=sum(p.tx_bytes for p in peers),
        endpoint=next((p.endpoint for p in peers if p.endpoint), None),
    )


class TunnelBackend(ABC):
    """One way of running the WireGuard tunnel on this machine."""

    #: Short name shown in status output (``linux``, ``windows``, ``macos``, ``handoff``).
    name: str = "base"
    #: True for the import handoff: the system app, not this client, runs the tunnel.
    is_handoff: bool = False

    @abstractmethod
    def is_available(self) -> tuple[bool, str]:
        """Whether this backend can work here, and if not, a sentence saying why."""

    @abstractmethod
    def install(self, config: TunnelConfig) -> None:
        """Install or update the profile; a connected tunnel picks up the change."""

    @abstractmethod
    def connect(self, config: TunnelConfig) -> None:
        """Bring the tunnel up with ``config`` (replacing a running one)."""

    @abstractmethod
    def disconnect(self, name: str) -> None:
        """Bring the tunnel down; already down is fine."""

    @abstractmethod
    def status(self, name: str) -> TunnelStatus:
        """The tunnel's state now."""

    @abstractmethod
    def remove(self, name: str) -> None:
        """Bring down and delete everything this backend installed for ``name``."""


def write_private_file(path: Path, text: str) -> Path:
    """Write a config (it contains the private key) user-only (0600), atomically."""
    atomic_write(path, text.encode("utf-8"), mode=0o600)
    return path


__all__ = [
    "CONNECTED",
    "CONNECTING",
    "DEFAULT_TUNNEL_NAME",
    "DISCONNECTED",
    "HANDED_OFF",
    "UNKNOWN",
    "PeerStats",
    "TunnelBackend",
    "TunnelConfig",
    "TunnelStatus",
    "parse_wg_dump",
    "remove_file",
    "status_from_dump",
    "validate_tunnel_name",
    "write_private_file",
]
