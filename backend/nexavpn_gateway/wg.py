"""WireGuard command lines for the agent, and its view of ``wg show <if> dump``.

Pure functions only; running them is the caller's business (through a Runner). The dump parser
is the strict one in :mod:`nexavpn_shared.wgdump`, shared with the client and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nexavpn_shared.wgconf import WgConfig, WgInterface, WgPeer, render
from nexavpn_shared.wgdump import (
    DumpParseError,
    InterfaceState,
    PeerState,
    parse_dump,
    show_dump_argv,
)

__all__ = [
    "DumpParseError",
    "InterfaceState",
    "PeerState",
    "parse_dump",
    "render_syncconf",
    "set_interface_argv",
    "set_peers_argvs",
    "show_dump_argv",
    "syncconf_argv",
]

# One ``wg set`` call carries at most this many argv bytes (Linux allows ~2 MiB in total).
MAX_SET_ARGV_BYTES = 512 * 1024


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
