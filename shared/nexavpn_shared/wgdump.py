"""Parse ``wg show <interface> dump``: the one parser the gateway agent and the client share.

Strict on purpose: a line with the wrong number of fields, a key that is not a WireGuard key, a
number that is not a non-negative integer, an empty dump or a peer listed twice raises
:class:`DumpParseError` naming the line. A lenient parser that skipped what it did not understand
would report "no peers" (or "no handshake") when the real cause is a wg version it cannot read.

The private key ``wg`` prints on the interface line is dropped while parsing and never stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# A WireGuard key: 32 bytes in standard base64 (43 characters, the last one limited, then '=').
_KEY_RE = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")
_NONE = "(none)"


class DumpParseError(ValueError):
    """``wg show dump`` printed something we do not understand (a wg version change?)."""


@dataclass(frozen=True)
class PeerState:
    """One peer as the running interface has it."""

    public_key: str
    allowed_ips: frozenset[str]
    endpoint: str | None = None
    latest_handshake: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    persistent_keepalive: int | None = None
    has_preshared_key: bool = False
    #: The allowed IPs in the order ``wg`` printed them (for display; compare the set).
    listed_ips: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class InterfaceState:
    """The running interface: its public key, port and peers (never its private key)."""

    public_key: str | None
    listen_port: int
    fwmark: int | None = None
    peers: Mapping[str, PeerState] = field(default_factory=dict)


def _optional(text: str) -> str | None:
    return None if text == _NONE else text


def _number(text: str, what: str, line_no: int) -> int:
    if not text.isdigit():  # also refuses signs, spaces and non-ASCII digits
        raise DumpParseError(f"line {line_no}: {what} is not a non-negative integer")
    return int(text)


def _key(text: str, what: str, line_no: int, *, optional: bool = False) -> str | None:
    if optional and text == _NONE:
        return None
    if not _KEY_RE.fullmatch(text):
        raise DumpParseError(f"line {line_no}: {what} is not a WireGuard key")
    return text


def _off_or_number(text: str, what: str, line_no: int) -> int | None:
    return None if text == "off" else _number(text, what, line_no)


def _fwmark(text: str) -> int | None:
    """``off``, or the mark as wg prints it: hexadecimal with ``0x`` (decimal accepted too)."""
    if text == "off":
        return None
    if text[:2] == "0x" and text[2:] and all(c in "0123456789abcdefABCDEF" for c in text[2:]):
        return int(text, 16)
    return _number(text, "fwmark", 1)


def _peer(fields: list[str], no: int) -> PeerState:
    public, psk, endpoint, allowed, handshake, rx, tx, keepalive = fields
    if psk != _NONE:
        _key(psk, "preshared key", no)
    if endpoint != _NONE and ":" not in endpoint:
        raise DumpParseError(f"line {no}: endpoint has no port")
    listed = () if allowed == _NONE else tuple(allowed.split(","))
    if any("/" not in ip for ip in listed):
        raise DumpParseError(f"line {no}: allowed IPs must be CIDRs")
    return PeerState(
        public_key=_key(public, "peer public key", no) or "",
        allowed_ips=frozenset(listed),
        endpoint=_optional(endpoint),
        latest_handshake=_number(handshake, "latest handshake", no),
        rx_bytes=_number(rx, "rx bytes", no),
        tx_bytes=_number(tx, "tx bytes", no),
        persistent_keepalive=_off_or_number(keepalive, "persistent keepalive", no),
        has_preshared_key=psk != _NONE,
        listed_ips=listed,
    )


def parse_dump(text: str) -> InterfaceState:
    """Parse the output of ``wg show <interface> dump`` (tab-separated, one peer per line)."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DumpParseError("empty dump: wg printed no interface line")
    head = lines[0].split("\t")
    if len(head) != 4:
        raise DumpParseError(f"line 1: expected 4 fields for the interface, got {len(head)}")
    _key(head[0], "private key", 1, optional=True)  # checked, then deliberately not kept
    public_key = _key(head[1], "public key", 1, optional=True)
    listen_port = _number(head[2], "listen port", 1)
    fwmark = _fwmark(head[3])
    peers: dict[str, PeerState] = {}
    for no, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 8:
            raise DumpParseError(f"line {no}: expected 8 fields for a peer, got {len(fields)}")
        peer = _peer(fields, no)
        if peer.public_key in peers:
            raise DumpParseError(f"line {no}: peer listed twice")
        peers[peer.public_key] = peer
    return InterfaceState(public_key, listen_port, fwmark, peers)


def show_dump_argv(interface: str) -> list[str]:
    """``wg show <if> dump``: the whole interface state in one call."""
    return ["wg", "show", interface, "dump"]
