"""WireGuard state: parse ``wg show <if> dump`` and build the ``wg`` command lines.

Pure functions only; running them is the caller's business (through a Runner). The private key
that ``wg show dump`` prints on its first line is dropped while parsing and never stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nexavpn_shared.wgconf import WgConfig, WgInterface, WgPeer, render

# One ``wg set`` call carries at most this many argv bytes (Linux allows ~2 MiB in total).
MAX_SET_ARGV_BYTES = 512 * 1024


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


@dataclass(frozen=True)
class InterfaceState:
    """The running interface: its public key, port and peers (never its private key)."""

    public_key: str | None
    listen_port: int
    fwmark: int | None = None
    peers: Mapping[str, PeerState] = field(default_factory=dict)


def _none(text: str) -> str | None:
    return None if text in ("(none)", "") else text


def _int(text: str, what: str, line_no: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise DumpParseError(f"line {line_no}: {what} is not a number") from None


def parse_dump(text: str) -> InterfaceState:
    """Parse the output of ``wg show <interface> dump`` (tab-separated, one peer per line)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DumpParseError("empty dump")
    head = lines[0].split("\t")
    if len(head) != 4:
        raise DumpParseError("line 1: expected 4 fields for the interface")
    # head[0] is the private key: deliberately not kept anywhere.
    public_key = _none(head[1])
    listen_port = _int(head[2], "listen port", 1)
    fwmark = None if head[3] == "off" else _int(head[3], "fwmark", 1)
    peers: dict[str, PeerState] = {}
    for no, line in enumerate(lines[1:], start=2):
        f = line.split("\t")
        if len(f) != 8:
            raise DumpParseError(f"line {no}: expected 8 fields for a peer")
        allowed = _none(f[3])
        peers[f[0]] = PeerState(
            public_key=f[0],
            has_preshared_key=_none(f[1]) is not None,
            endpoint=_none(f[2]),
            allowed_ips=frozenset(allowed.split(",")) if allowed else frozenset(),
            latest_handshake=_int(f[4], "latest handshake", no),
            rx_bytes=_int(f[5], "rx bytes", no),
            tx_bytes=_int(f[6], "tx bytes", no),
            persistent_keepalive=None if f[7] == "off" else _int(f[7], "keepalive", no),
        )
    return InterfaceState(public_key, listen_port, fwmark, peers)


def show_dump_argv(interface: str) -> list[str]:
    """``wg show <if> dump``: the whole interface state in one call."""
    return ["wg", "show", interface, "dump"]


def set_interface_argv(interface: str, private_key_file: str, listen_port: int) -> list[str]:
    """``wg set``: the key is passed as a file path, never on the command line."""
    return [
        "wg", "set", interface, "listen-port", str(listen_port), "private-key", private_key_file,
    ]


def set_peers_argvs(
    interface: str,
    upserts: Iterable[tuple[str, Sequence[str]]],
    removals: Iterable[str] = (),
    max_bytes: int = MAX_SET_ARGV_BYTES,
) -> list[list[str]]:
    """``wg set`` command lines that add/update and remove many peers per call.

    Removals come first so an address moving from a removed peer to a new one never clashes.
    ``allowed-ips`` replaces the peer's list; untouched peers are not mentioned at all.
    """
    groups: list[list[str]] = [["peer", key, "remove"] for key in removals]
    groups += [
        ["peer", key, "allowed-ips", ",".join(ips)] for key, ips in upserts
    ]
    argvs: list[list[str]] = []
    current: list[str] = []
    size = 0
    for group in groups:
        g_size = sum(len(a) + 1 for a in group)
        if current and size + g_size > max_bytes:
            argvs.append(["wg", "set", interface, *current])
            current, size = [], 0
        current += group
        size += g_size
    if current:
        argvs.append(["wg", "set", interface, *current])
    return argvs


def syncconf_argv(interface: str) -> list[str]:
    """``wg syncconf`` reading the config from stdin (no temporary file to leak or clean).

    The agent itself applies with ``wg set`` (only changed peers, no key on stdin); syncconf is
    kept for tools and the benchmark's raw comparison.
    """
    return ["wg", "syncconf", interface, "/dev/stdin"]


def render_syncconf(
    private_key: str, listen_port: int, peers: Iterable[tuple[str, Sequence[str]]]
) -> str:
    """The ``wg syncconf`` text for ``peers``.

    It must carry the interface's own PrivateKey: syncconf replaces the whole interface config
    and would otherwise clear the key (breaking every session). The text only ever travels
    through a pipe to ``wg`` on this host, never to disk or a log.
    """
    config = WgConfig(
        interface=WgInterface(private_key=private_key, listen_port=listen_port),
        peers=tuple(WgPeer(public_key=k, allowed_ips=tuple(ips)) for k, ips in peers),
    )
    return render(config, wg_quick=False)
