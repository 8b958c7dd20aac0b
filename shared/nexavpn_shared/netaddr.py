"""Validation and normalisation of networks, endpoints, names and VPN address pools.

Every function takes untrusted input (``object``), returns a canonical string, and raises
:class:`InvalidValue` naming the offending field; messages never echo the value.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_DNS_SERVERS = 8

__all__ = [
    "MAX_DNS_SERVERS",
    "InvalidValue",
    "PoolLayout",
    "collapse",
    "is_hostname",
    "normalize_address",
    "normalize_interface",
    "normalize_network",
    "parse_network",
    "pool_layout",
    "pools_overlap",
    "resolve_destinations",
    "validate_dns",
    "validate_endpoint",
    "validate_fingerprint",
    "validate_name",
    "validate_port",
]


class InvalidValue(ValueError):
    """An input value is malformed; ``field`` says which one, ``message`` says why (no echo)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


_PREFIX_RE = re.compile(r"[0-9]{1,3}")
_HOST_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_FINGERPRINT_RE = re.compile(r"[A-Za-z0-9._:-]{16,128}")
_PORT_RE = re.compile(r"[0-9]{1,5}")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _require_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, "must be a string")
    return value


def _token(value: object, field: str) -> str:
    """An address-like value as given: white space around it is refused, not trimmed, so every
    field of one type (keys, CIDRs, addresses, endpoints) accepts exactly the same strings."""
    text = _require_str(value, field)
    if text != text.strip():
        raise InvalidValue(field, "must not start or end with white space")
    return text


def _split_prefix(text: str, field: str) -> tuple[str, int | None]:
    """Split ``addr/prefix``; only a plain decimal prefix length is allowed (no netmasks)."""
    if "/" not in text:
        return text, None
    addr, _, prefix = text.partition("/")
    if not _PREFIX_RE.fullmatch(prefix):
        raise InvalidValue(field, "prefix length must be a decimal number")
    return addr, int(prefix)


def _parse_ip(text: str, field: str) -> IPAddress:
    """Parse a bare IPv4/IPv6 address, refusing scope ids and non-ASCII look-alikes."""
    if not text or not text.isascii() or "%" in text:
        raise InvalidValue(field, "must be an IPv4 or IPv6 address")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise InvalidValue(field, "must be an IPv4 or IPv6 address") from None


def parse_network(value: object, field: str = "destinations", *, strict: bool = True) -> IPNetwork:
    """Parse a CIDR (or a bare address as /32, /128) into an ipaddress network object."""
    text = _token(value, field)
    addr_text, prefix = _split_prefix(text, field)
    addr = _parse_ip(addr_text, field)
    if prefix is None:
        prefix = addr.max_prefixlen
    if prefix > addr.max_prefixlen:
        raise InvalidValue(field, f"prefix length must be 0-{addr.max_prefixlen}")
    try:
        return ipaddress.ip_network(f"{addr}/{prefix}", strict=strict)
    except ValueError:
        raise InvalidValue(
            field, "host bits are set; use the network address of the CIDR"
        ) from None


def normalize_network(value: object, field: str = "destinations", *, strict: bool = True) -> str:
    """Return the canonical CIDR string; host bits set are rejected when ``strict``."""
    return str(parse_network(value, field, strict=strict))


def normalize_address(value: object, field: str = "address") -> str:
    """Return a bare IPv4/IPv6 address in canonical (compressed) form."""
    return str(_parse_ip(_token(value, field), field))


def normalize_interface(value: object, field: str = "address") -> str:
    """Return interface notation (``10.8.0.7/32``, ``fd8a::7/128``); host bits allowed."""
    text = _token(value, field)
    addr_text, prefix = _split_prefix(text, field)
    addr = _parse_ip(addr_text, field)
    if prefix is None:
        prefix = addr.max_prefixlen
    if prefix > addr.max_prefixlen:
        raise InvalidValue(field, f"prefix length must be 0-{addr.max_prefixlen}")
    return str(ipaddress.ip_interface(f"{addr}/{prefix}"))


def _sort_key(net: IPNetwork) -> tuple[int, int, int]:
    return (net.version, int(net.network_address), net.prefixlen)


def _collapse_nets(nets: Iterable[IPNetwork]) -> list[IPNetwork]:
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]  # type: ignore[union-attr]
    out: list[IPNetwork] = [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]
    return sorted(out, key=_sort_key)


def collapse(networks: Iterable[str]) -> list[str]:
    """Merge overlapping/adjacent CIDRs; IPv4 first, then IPv6, each sorted by address."""
    nets = [parse_network(n, "destinations") for n in networks]
    return [str(n) for n in _collapse_nets(nets)]


def resolve_destinations(grants: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Collapse granted CIDRs and name one granting policy for each result.

    For a collapsed network the policy named is the one whose own network (inside it) is the
    largest, i.e. the one that covers it or most of it; ties go to the alphabetically first name.
    """
    pairs = [(parse_network(cidr, "destinations"), name) for cidr, name in grants]
    result: list[tuple[str, str]] = []
    for net in _collapse_nets([n for n, _ in pairs]):
        candidates = [
            (n.prefixlen, name)
            for n, name in pairs
            if n.version == net.version and n.subnet_of(net)  # type: ignore[arg-type]
        ]
        result.append((str(net), min(candidates)[1]))
    return result


def is_hostname(text: str) -> bool:
    """RFC 1123 host name: dot-separated labels of letters, digits, inner hyphens; not numeric."""
    if not text or len(text) > 253 or not text.isascii():
        return False
    labels = text.split(".")
    if not all(_HOST_LABEL_RE.fullmatch(label) for label in labels):
        return False
    # An all-numeric last label would look like (a mistyped) IPv4 address.
    return not labels[-1].isdigit()


def validate_port(value: object, field: str = "port") -> int:
    """Return a port 1-65535 given as int or decimal string."""
    if isinstance(value, bool):
        raise InvalidValue(field, "must be a port number 1-65535")
    if isinstance(value, str):
        if not _PORT_RE.fullmatch(value):
            raise InvalidValue(field, "must be a port number 1-65535")
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidValue(field, "must be a port number 1-65535")
    return value


def validate_endpoint(value: object, field: str = "endpoint") -> str:
    """Return a normalised ``host:port`` (host name, IPv4, or ``[IPv6]``); port 1-65535."""
    text = _token(value, field)
    message = "must be host:port, IPv4:port or [IPv6]:port with a port 1-65535"
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1 : close + 2] != ":":
            raise InvalidValue(field, message)
        host_text, port_text = text[1:close], text[close + 2 :]
        try:
            addr = _parse_ip(host_text, field)
        except InvalidValue:
            raise InvalidValue(field, message) from None
        if addr.version != 6:
            raise InvalidValue(field, message)
        host = f"[{addr}]"
    else:
        host_text, sep, port_text = text.rpartition(":")
        if not sep or ":" in host_text:
            raise InvalidValue(field, message)
        try:
            host = str(ipaddress.IPv4Address(host_text)) if host_text.isascii() else ""
        except ValueError:
            host = ""
        if not host:
            if not is_hostname(host_text):
                raise InvalidValue(field, message)
            host = host_text.lower()
    try:
        port = validate_port(port_text, field)
    except InvalidValue:
        raise InvalidValue(field, message) from None
    return f"{host}:{port}"


def validate_name(value: object, field: str = "name", max_len: int = 64) -> str:
    """Return the trimmed name: 1..max_len characters, no control/format/separator chars."""
    text = _require_str(value, field).strip()
    if not 1 <= len(text) <= max_len:
        raise InvalidValue(field, f"must be 1-{max_len} characters")
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in text):
        raise InvalidValue(field, "must not contain control, format or line separator characters")
    return text


def validate_fingerprint(value: object, field: str = "fingerprint") -> str:
    """Return the device fingerprint: 16-128 characters of ``A-Z a-z 0-9 . _ : -``."""
    text = _require_str(value, field)
    if not _FINGERPRINT_RE.fullmatch(text):
        raise InvalidValue(field, "must be 16-128 characters of A-Z a-z 0-9 . _ : -")
    return text


def validate_dns(value: object, field: str = "dns") -> list[str]:
    """Return up to eight DNS server IP addresses in canonical form, duplicates removed."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidValue(field, "must be a list of IP addresses")
    if len(value) > MAX_DNS_SERVERS:
        raise InvalidValue(field, f"at most {MAX_DNS_SERVERS} DNS servers")
    out: list[str] = []
    for item in value:
        addr = normalize_address(item, field)
        if addr not in out:
            out.append(addr)
    return out


@dataclass(frozen=True)
class PoolLayout:
    """Where the gateway and the devices sit in a VPN pool (offsets from the network address).

    Follows ``ipaddress.hosts()``: the gateway takes the first host, devices the following ones.
    ``capacity`` is the number of device addresses (0 when the pool holds only the gateway).
    """

    network: IPNetwork
    gateway_offset: int
    first_device_offset: int
    last_device_offset: int
    capacity: int

    def address_at(self, offset: int) -> str:
        """The address at ``offset`` from the network address (must lie inside the network)."""
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise TypeError("offset must be an int")
        if not 0 <= offset < self.network.num_addresses:
            raise ValueError("offset lies outside the pool")
        return str(self.network.network_address + offset)

    def offset_of(self, address: str) -> int:
        """The offset of ``address`` in the pool (InvalidValue if it is not inside)."""
        addr = _parse_ip(_require_str(address, "address").strip(), "address")
        if addr.version != self.network.version or addr not in self.network:
            raise InvalidValue("address", "is not inside the pool")
        return int(addr) - int(self.network.network_address)

    def is_device_offset(self, offset: int) -> bool:
        """True when ``offset`` is one a device may be given."""
        return self.first_device_offset <= offset <= self.last_device_offset

    @property
    def gateway_address(self) -> str:
        """The gateway's own address, e.g. ``10.8.0.1``."""
        return self.address_at(self.gateway_offset)

    @property
    def gateway_interface(self) -> str:
        """The gateway's interface address with the pool's prefix, e.g. ``10.8.0.1/24``."""
        return f"{self.gateway_address}/{self.network.prefixlen}"

    def device_interface(self, offset: int) -> str:
        """A device's single-address interface, e.g. ``10.8.0.7/32`` or ``fd8a::7/128``."""
        if not self.is_device_offset(offset):
            raise ValueError("offset is not a device address of the pool")
        return f"{self.address_at(offset)}/{self.network.max_prefixlen}"


def pool_layout(cidr: str, field: str = "vpn_cidr") -> PoolLayout:
    """Lay out a VPN pool CIDR (host bits rejected)."""
    net = parse_network(cidr, field, strict=True)
    num = net.num_addresses
    if net.version == 4:
        if net.prefixlen <= 30:
            first, last = 1, num - 2
        else:  # /31 (RFC 3021) and /32
            first, last = 0, num - 1
    elif net.prefixlen <= 126:
        first, last = 1, num - 1
    else:  # /127 (RFC 6164) and /128
        first, last = 0, num - 1
    first_device = first + 1
    return PoolLayout(
        network=net,
        gateway_offset=first,
        first_device_offset=first_device,
        last_device_offset=last,
        capacity=max(0, last - first_device + 1),
    )


def pools_overlap(a: str, b: str) -> bool:
    """True when two pool CIDRs share any address (different families never do)."""
    na = parse_network(a, "vpn_cidr")
    nb = parse_network(b, "vpn_cidr")
    return na.version == nb.version and na.overlaps(nb)  # type: ignore[arg-type]
