"""The agent's own nftables table ``inet nexavpn``: per-peer destination enforcement + masquerade.

Policy lives in two concatenated interval sets, ``allow4``/``allow6``, holding
``peer address . destination network`` elements, so one rule lookup decides for any number of
peers (10,000 peers with several grants each stay a single hash/pipapo lookup). Traffic from the
tunnel that matches no element is dropped; replies to the tunnel are accepted by conntrack.

The same sets guard the gateway host itself (chain ``input`` on the WireGuard interface): a peer
reaches the host's own addresses (tunnel, other networks, LAN) only where a policy grants them,
plus the profile's DNS servers (``dns4``/``dns6``) on port 53, which every peer may query
whatever its policies say (its profile routes them into the tunnel). WireGuard's own UDP port
arrives on the underlay interface and is not affected.

The whole table is replaced in one ``nft -f -`` transaction (``table`` + ``delete table`` +
definition), so there is never a moment without rules, and no other table is touched. When the
previous ruleset is known, a smaller transaction that only adds and deletes set elements is used;
if it fails (someone changed the table) the caller falls back to the full replacement.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from nexavpn_gateway.reconcile import DesiredPeer

FAMILY = "inet"
TABLE = "nexavpn"

Element = tuple[str, str]


@dataclass(frozen=True)
class Ruleset:
    """Everything the table depends on; equal rulesets render equal text."""

    interface: str
    allow4: frozenset[Element]
    allow6: frozenset[Element]
    dns4: frozenset[str] = frozenset()
    dns6: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=4096)
def _by_family(destinations: tuple[str, ...]) -> dict[int, list[str]]:
    """Destinations split per family and collapsed (nft refuses overlapping intervals)."""
    nets = [ipaddress.ip_network(d) for d in destinations]
    return {
        v: [str(n) for n in ipaddress.collapse_addresses(n for n in nets if n.version == v)]
        for v in (4, 6)
    }


@functools.lru_cache(maxsize=1 << 16)
def peer_elements(peer: DesiredPeer) -> tuple[frozenset[Element], frozenset[Element]]:
    """The (IPv4, IPv6) elements of one peer; cached, peers rarely change between revisions."""
    allow4: set[Element] = set()
    allow6: set[Element] = set()
    by_family = _by_family(peer.destinations)
    for src_cidr in peer.allowed_ips:  # canonical host prefixes (reconcile made sure)
        src = src_cidr.rsplit("/", 1)[0]
        version = 6 if ":" in src else 4
        (allow4 if version == 4 else allow6).update((src, d) for d in by_family[version])
    return frozenset(allow4), frozenset(allow6)


def build_ruleset(
    interface: str, peers: Iterable[DesiredPeer], dns: Iterable[str] = ()
) -> Ruleset:
    """One ``source . destination`` element per peer address and granted network, per family,
    and the DNS servers every peer may query."""
    allow4: set[Element] = set()
    allow6: set[Element] = set()
    for peer in peers:
        e4, e6 = peer_elements(peer)
        allow4.update(e4)
        allow6.update(e6)
    servers = [ipaddress.ip_address(d) for d in dns]
    return Ruleset(
        interface,
        frozenset(allow4),
        frozenset(allow6),
        frozenset(str(a) for a in servers if a.version == 4),
        frozenset(str(a) for a in servers if a.version == 6),
    )


def _elements(elements: Iterable[Element]) -> str:
    return ",\n\t\t\t".join(f"{s} . {d}" for s, d in sorted(elements))


def _set(name: str, addr_type: str, elements: frozenset[Element]) -> list[str]:
    lines = [
        f"\tset {name} {{",
        f"\t\ttype {addr_type} . {addr_type}",
        "\t\tflags interval",
    ]
    if elements:
        lines.append(f"\t\telements = {{ {_elements(elements)} }}")
    lines.append("\t}")
    return lines


def _addr_set(name: str, addr_type: str, elements: frozenset[str]) -> list[str]:
    lines = [f"\tset {name} {{", f"\t\ttype {addr_type}"]
    if elements:
        lines.append(f"\t\telements = {{ {', '.join(sorted(elements))} }}")
    lines.append("\t}")
    return lines


def _grants(wg: str) -> list[str]:
    """What a peer may send, in the forward and the input chain alike."""
    return [
        f"\t\tiifname {wg} ip saddr . ip daddr @allow4 accept",
        f"\t\tiifname {wg} ip6 saddr . ip6 daddr @allow6 accept",
        f"\t\tiifname {wg} ip daddr @dns4 meta l4proto {{ tcp, udp }} th dport 53 accept",
        f"\t\tiifname {wg} ip6 daddr @dns6 meta l4proto {{ tcp, udp }} th dport 53 accept",
    ]


def render(ruleset: Ruleset) -> str:
    """The full transaction text for ``nft -f -``: (re)create table inet nexavpn atomically."""
    wg = f'"{ruleset.interface}"'
    lines = [
        # Creating before deleting makes the delete valid on the very first run too.
        f"table {FAMILY} {TABLE}",
        f"delete table {FAMILY} {TABLE}",
        f"table {FAMILY} {TABLE} {{",
        *_set("allow4", "ipv4_addr", ruleset.allow4),
        *_set("allow6", "ipv6_addr", ruleset.allow6),
        *_addr_set("dns4", "ipv4_addr", ruleset.dns4),
        *_addr_set("dns6", "ipv6_addr", ruleset.dns6),
        "",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        *_grants(wg),
        f"\t\tiifname {wg} ct state established,related accept",
        f'\t\tiifname {wg} counter drop comment "the gateway host only as granted"',
        "\t}",
        "",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        *_grants(wg),
        f'\t\tiifname {wg} counter drop comment "not granted to this peer"',
        f"\t\toifname {wg} ct state established,related accept",
        f'\t\toifname {wg} counter drop comment "no new connections into the tunnel"',
        "\t}",
        "",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        f"\t\tiifname {wg} oifname != {wg} masquerade",
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def render_delta(old: Ruleset, new: Ruleset) -> str | None:
    """Element-only transaction from ``old`` to ``new``; None when a full replace is needed."""
    if old.interface != new.interface or (old.dns4, old.dns6) != (new.dns4, new.dns6):
        return None
    lines: list[str] = []
    for name, before, after in (
        ("allow4", old.allow4, new.allow4),
        ("allow6", old.allow6, new.allow6),
    ):
        gone = before - after
        if gone:
            lines.append(f"delete element {FAMILY} {TABLE} {name} {{ {_elements(gone)} }}")
    for name, before, after in (
        ("allow4", old.allow4, new.allow4),
        ("allow6", old.allow6, new.allow6),
    ):
        added = after - before
        if added:
            lines.append(f"add element {FAMILY} {TABLE} {name} {{ {_elements(added)} }}")
    return "\n".join(lines) + "\n" if lines else ""


def apply_argv() -> list[str]:
    """``nft -f -``: the transaction text goes in on stdin and commits all-or-nothing."""
    return ["nft", "-f", "-"]


def check_argv() -> list[str]:
    """Cheap existence check of our table (lists the chain, not the large sets)."""
    return ["nft", "list", "chain", FAMILY, TABLE, "forward"]


def list_argv() -> list[str]:
    """``nft list table inet nexavpn`` (tests and diagnostics)."""
    return ["nft", "list", "table", FAMILY, TABLE]


def forwarding_argvs(ipv6: bool) -> list[list[str]]:
    """Turn on routing; IPv6 only when the gateway has an IPv6 address (it disables RA intake)."""
    argvs = [["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]]
    if ipv6:
        argvs.append(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])
    return argvs
