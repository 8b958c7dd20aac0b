"""Desired state from the server x actual interface state → a plan. Pure: no I/O here.

The server is trusted for *what* to grant but not for well-formed data: a peer with a bad key or
a bad CIDR is skipped (and reported) while every other peer is applied. Skipping fails closed:
a skipped peer gets no entry and no nft grant, so bad data never widens access.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from nexavpn_gateway.wg import InterfaceState
from nexavpn_shared.keys import is_valid_key
from nexavpn_shared.netaddr import InvalidValue, collapse, normalize_interface, normalize_network


class InvalidConfig(ValueError):
    """The config as a whole is unusable (no revision, bad interface); nothing is applied."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class DesiredPeer:
    """A peer the server wants: its own VPN addresses and what it may reach."""

    public_key: str
    allowed_ips: tuple[str, ...]
    destinations: tuple[str, ...]


@dataclass(frozen=True)
class DesiredState:
    """One revision of the gateway's config, validated and normalised."""

    revision: int
    address: str
    address6: str | None
    listen_port: int | None
    peers: Mapping[str, DesiredPeer] = field(default_factory=dict)
    dns: tuple[str, ...] = ()  # every peer may reach these on port 53, whatever it is granted

    @property
    def addresses(self) -> list[str]:
        """The interface addresses to assign (IPv4 first)."""
        return [a for a in (self.address, self.address6) if a]


@dataclass(frozen=True)
class Skipped:
    """A peer left out of the plan and why (``public_key`` only when it was a valid key)."""

    index: int
    public_key: str | None
    field: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """What to change on the interface; peers not named here are left exactly as they are."""

    add: tuple[DesiredPeer, ...] = ()
    update: tuple[DesiredPeer, ...] = ()
    remove: tuple[str, ...] = ()
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        """True when the interface already matches."""
        return not (self.add or self.update or self.remove)

    @property
    def changes(self) -> int:
        """How many peers the plan touches."""
        return len(self.add) + len(self.update) + len(self.remove)


def _int(value: object, fld: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidConfig(fld, f"must be an integer {lo}-{hi}")
    return value


def _interface_address(value: object, fld: str, version: int) -> str:
    try:
        text = normalize_interface(value, fld)
    except InvalidValue as exc:
        raise InvalidConfig(fld, exc.message) from None
    if ipaddress.ip_interface(text).version != version:
        raise InvalidConfig(fld, f"must be an IPv{version} address")
    return text


def _cidrs(raw: object, fld: str) -> list[str]:
    if not isinstance(raw, list):
        raise InvalidConfig(fld, "must be a list of CIDRs")
    try:
        return [normalize_network(c, fld) for c in raw]
    except InvalidValue as exc:
        raise InvalidConfig(exc.field, exc.message) from None


def _host(cidr: object, fld: str) -> tuple[int, ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """A device address (/32 or /128) as (version, address); fast for canonical input."""
    if isinstance(cidr, str):
        text, sep, plen = cidr.partition("/")
        if sep and plen in ("32", "128") and "%" not in text and text.isascii():
            try:
                addr = ipaddress.ip_address(text)
            except ValueError:
                addr = None
            if addr is not None and str(addr) == text and str(addr.max_prefixlen) == plen:
                return addr.version, addr
    # Slow path: the exact reason from the shared validator (or non-canonical but valid).
    (net,) = _cidrs([cidr], fld)
    parsed = ipaddress.ip_network(net)
    # The contract gives each device single addresses; a wider prefix could shadow others.
    if parsed.prefixlen != parsed.max_prefixlen:
        raise InvalidConfig(fld, "must be single addresses (/32, /128)")
    return parsed.version, parsed.network_address


def _dns(raw: object) -> tuple[str, ...]:
    """The DNS servers (single addresses), canonical and without repeats."""
    fld = "interface.dns"
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > 16:
        raise InvalidConfig(fld, "must be a list of at most 16 addresses")
    out: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise InvalidConfig(fld, "must be a list of addresses")
        try:
            addr = ipaddress.ip_address(item)
        except ValueError:
            raise InvalidConfig(fld, f"not an IP address: {item[:64]!r}") from None
        if str(addr) not in out:
            out.append(str(addr))
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _destinations(raw: tuple[object, ...]) -> tuple[str, ...]:
    """Normalised, collapsed destinations; cached, since peers share their policies' lists."""
    return tuple(collapse(_cidrs(list(raw), "peers[#].destinations")))


def _peer(item: object, pre: str, own: frozenset[str]) -> DesiredPeer:
    """Validate one peer entry; raise InvalidConfig naming the bad field."""
    if not isinstance(item, dict):
        raise InvalidConfig(pre, "must be an object")
    key = item.get("public_key")
    if not is_valid_key(key):
        raise InvalidConfig(f"{pre}.public_key", "must be a WireGuard key")
    raw_allowed = item.get("allowed_ips", [])
    if not isinstance(raw_allowed, list):
        raise InvalidConfig(f"{pre}.allowed_ips", "must be a list of CIDRs")
    if not raw_allowed:
        raise InvalidConfig(f"{pre}.allowed_ips", "must name the device's VPN address")
    hosts = sorted({_host(c, f"{pre}.allowed_ips") for c in raw_allowed})
    allowed = tuple(f"{a}/{a.max_prefixlen}" for _, a in hosts)
    if own.intersection(allowed):
        raise InvalidConfig(f"{pre}.allowed_ips", "is the gateway's own address")
    raw_dest = item.get("destinations", [])
    if not isinstance(raw_dest, list):
        raise InvalidConfig(f"{pre}.destinations", "must be a list of CIDRs")
    try:
        destinations = _destinations(tuple(raw_dest))
    except TypeError:  # unhashable junk inside the list: validate uncached for the error
        destinations = tuple(collapse(_cidrs(raw_dest, f"{pre}.destinations")))
    except InvalidConfig as exc:
        raise InvalidConfig(exc.field.replace("peers[#]", pre), exc.message) from None
    return DesiredPeer(
        public_key=key,  # type: ignore[arg-type]
        allowed_ips=allowed,
        destinations=destinations,
    )


_SEPARATOR = object()  # between the two lists in a cache key; never equal to a JSON value


class PeerCache:
    """Remembers validated peers between revisions, so a 10,000-peer config in which one peer
    changed costs one validation, not 10,000 (``ipaddress`` is slow at that scale).

    Keyed by the raw JSON values; a result is either the DesiredPeer or the InvalidConfig that
    peer raised. Only entries seen in the latest config are kept, and all are dropped when the
    gateway's own addresses change (a peer must not use them).
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[object, ...], DesiredPeer | InvalidConfig] = {}
        self._next: dict[tuple[object, ...], DesiredPeer | InvalidConfig] = {}
        self._own: frozenset[str] | None = None

    @staticmethod
    def _key(item: object) -> tuple[object, ...] | None:
        if not isinstance(item, dict):
            return None
        allowed = item.get("allowed_ips")
        dests = item.get("destinations")
        if type(allowed) is not list or type(dests) not in (list, type(None)):
            return None  # odd types: validate uncached (and fail) every time
        return (item.get("public_key"), *allowed, _SEPARATOR, *(dests or ()))

    def peer(self, item: object, i: int, own: frozenset[str]) -> DesiredPeer:
        """Validate (or recall) one peer; raise InvalidConfig for a bad one."""
        if own != self._own:
            self._entries, self._next, self._own = {}, {}, own
        key = self._key(item)
        try:
            hit = self._entries.get(key) if key is not None else None
        except TypeError:  # unhashable values inside the lists
            key, hit = None, None
        if hit is None:
            try:
                hit = _peer(item, "peers[#]", own)
            except InvalidConfig as exc:
                hit = exc
        if key is not None:
            self._next[key] = hit
        if isinstance(hit, InvalidConfig):
            raise InvalidConfig(hit.field.replace("#", str(i)), hit.message)
        return hit

    def rotate(self) -> None:
        """End of a config: forget entries that were not used in it."""
        self._entries, self._next = self._next, {}


def parse_desired(
    payload: object, own_public_key: str | None = None, cache: PeerCache | None = None
) -> tuple[DesiredState, list[Skipped]]:
    """Validate the server's config JSON; bad peers are skipped, a bad interface rejects all."""
    if not isinstance(payload, dict):
        raise InvalidConfig("config", "must be an object")
    revision = _int(payload.get("revision"), "revision", 0, 2**63 - 1)
    iface = payload.get("interface")
    if not isinstance(iface, dict):
        raise InvalidConfig("interface", "must be an object")
    address = _interface_address(iface.get("address"), "interface.address", 4)
    address6 = None
    if iface.get("address6") is not None:
        address6 = _interface_address(iface.get("address6"), "interface.address6", 6)
    port = iface.get("listen_port")
    listen_port = None if port is None else _int(port, "interface.listen_port", 1, 65535)
    dns = _dns(iface.get("dns", []))
    raw_peers = payload.get("peers")
    if not isinstance(raw_peers, list):
        raise InvalidConfig("peers", "must be a list")
    own = frozenset(
        str(ipaddress.ip_network(ipaddress.ip_interface(a).ip)) for a in (address, address6) if a
    )
    cache = cache or PeerCache()
    peers: dict[str, DesiredPeer] = {}
    claimed: dict[str, str] = {}
    skipped: list[Skipped] = []
    for i, item in enumerate(raw_peers):
        try:
            peer = cache.peer(item, i, own)
        except InvalidConfig as exc:
            key = item.get("public_key") if isinstance(item, dict) else None
            shown = key if is_valid_key(key) else None
            skipped.append(Skipped(i, shown, exc.field, exc.message))
            continue
        shown = peer.public_key
        if peer.public_key == own_public_key:
            skipped.append(Skipped(i, shown, f"peers[{i}].public_key", "is the gateway's own key"))
            continue
        if peer.public_key in peers:
            skipped.append(Skipped(i, shown, f"peers[{i}].public_key", "duplicate peer"))
            continue
        taken = [a for a in peer.allowed_ips if a in claimed]
        if taken:
            skipped.append(
                Skipped(i, shown, f"peers[{i}].allowed_ips", "address already used by another peer")
            )
            continue
        for a in peer.allowed_ips:
            claimed[a] = peer.public_key
        peers[peer.public_key] = peer
    cache.rotate()
    return DesiredState(revision, address, address6, listen_port, peers, dns), skipped


def peer_map(state: InterfaceState) -> dict[str, frozenset[str]]:
    """The part of the interface state the plan compares: public key -> allowed IPs."""
    return {k: p.allowed_ips for k, p in state.peers.items()}


def plan_peers(
    desired: Mapping[str, DesiredPeer], actual: InterfaceState | Mapping[str, frozenset[str]]
) -> Plan:
    """Diff desired peers against the interface: add, update allowed-ips, remove; no teardown."""
    have_map = peer_map(actual) if isinstance(actual, InterfaceState) else actual
    add: list[DesiredPeer] = []
    update: list[DesiredPeer] = []
    unchanged = 0
    for key, peer in desired.items():
        have = have_map.get(key)
        if have is None:
            add.append(peer)
        elif len(have) != len(peer.allowed_ips) or not have.issuperset(peer.allowed_ips):
            update.append(peer)
        else:
            unchanged += 1
    remove = tuple(k for k in have_map if k not in desired)
    return Plan(tuple(add), tuple(update), remove, unchanged)
