"""Render and parse WireGuard configuration files, refusing anything that could inject a line.

``render`` validates every value (keys, addresses, CIDRs, DNS, endpoint, numbers, names) before
writing it, so a hostile device name or endpoint can never add a ``[Peer]`` or a ``PostUp``.
``parse`` is the strict inverse: unknown sections or keys (``PostUp``, ``Table``, ...) are errors,
so a profile received from the network can be checked before ``wg-quick`` runs it as root.
Error messages name the field or line, never the value (it may be a private key).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from nexavpn_shared.keys import is_valid_key
from nexavpn_shared.netaddr import (
    InvalidValue,
    is_hostname,
    normalize_address,
    normalize_interface,
    normalize_network,
    validate_endpoint,
)

PRIVATE_KEY_PLACEHOLDER = "__NEXAVPN_PRIVATE_KEY__"
NAME_COMMENT_PREFIX = "NexaVPN:"
MTU_MIN = 576
MTU_MAX = 9000

__all__ = [
    "MTU_MAX",
    "MTU_MIN",
    "NAME_COMMENT_PREFIX",
    "PRIVATE_KEY_PLACEHOLDER",
    "ConfigParseError",
    "ConfigValueError",
    "WgConfig",
    "WgInterface",
    "WgPeer",
    "comment_name",
    "fill_private_key",
    "parse",
    "render",
    "strip_for_wg",
    "validate_config",
]


class ConfigValueError(ValueError):
    """A config value is unsafe or malformed; ``field`` names it, the value is never echoed."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ConfigParseError(ValueError):
    """A config text is not one we accept; ``line`` is 1-based (0 when not tied to a line)."""

    def __init__(self, line: int, message: str, field: str | None = None) -> None:
        self.line = line
        self.field = field
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


def _tuple(value: Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # a bare string would become a tuple of characters
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class WgInterface:
    """The ``[Interface]`` section; repr never shows the private key."""

    private_key: str | None = field(repr=False)
    addresses: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    mtu: int | None = None
    listen_port: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "addresses", _tuple(self.addresses))
        object.__setattr__(self, "dns", _tuple(self.dns))

    def __repr__(self) -> str:
        shown = "None" if self.private_key is None else "<hidden>"
        return (
            f"WgInterface(private_key={shown}, addresses={self.addresses!r}, dns={self.dns!r}, "
            f"mtu={self.mtu!r}, listen_port={self.listen_port!r})"
        )


@dataclass(frozen=True)
class WgPeer:
    """A ``[Peer]`` section; ``name`` is kept in a ``# NexaVPN: <name>`` comment above it."""

    public_key: str
    allowed_ips: tuple[str, ...] = ()
    endpoint: str | None = None
    persistent_keepalive: int | None = None
    preshared_key: str | None = field(default=None, repr=False)
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_ips", _tuple(self.allowed_ips))

    def __repr__(self) -> str:
        psk = "None" if self.preshared_key is None else "<hidden>"
        return (
            f"WgPeer(public_key={self.public_key!r}, allowed_ips={self.allowed_ips!r}, "
            f"endpoint={self.endpoint!r}, persistent_keepalive={self.persistent_keepalive!r}, "
            f"preshared_key={psk}, name={self.name!r})"
        )


@dataclass(frozen=True)
class WgConfig:
    """A whole config; ``name`` is kept in a ``# NexaVPN: <name>`` comment above [Interface]."""

    interface: WgInterface
    peers: tuple[WgPeer, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "peers", tuple(self.peers))


# ---------------------------------------------------------------- value checks

_NAME_FORBIDDEN = frozenset("[]=#")
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _check_text(value: object, fld: str) -> str:
    """Refuse anything that is not a one-line, control-free string (the injection guard)."""
    if not isinstance(value, str):
        raise ConfigValueError(fld, "must be a string")
    for ch in value:
        if ch in "\r\n" or unicodedata.category(ch) in _BAD_CATEGORIES:
            raise ConfigValueError(fld, "must not contain line breaks or control characters")
    return value


def _check_key(value: object, fld: str, *, allow_placeholder: bool = False) -> str:
    text = _check_text(value, fld)
    if allow_placeholder and text == PRIVATE_KEY_PLACEHOLDER:
        return text
    if not is_valid_key(text):
        raise ConfigValueError(fld, "must be a WireGuard key (44 base64 characters)")
    return text


def _check_int(value: object, fld: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigValueError(fld, f"must be an integer {lo}-{hi}")
    return value


def _check_name(value: object, fld: str) -> str:
    text = _check_text(value, fld)
    if not 1 <= len(text) <= 64:
        raise ConfigValueError(fld, "must be 1-64 characters")
    if text != text.strip():
        raise ConfigValueError(fld, "must not start or end with whitespace")
    if any(ch in _NAME_FORBIDDEN for ch in text):
        raise ConfigValueError(fld, "must not contain [ ] = or #")
    return text


def _via(fld: str, func: object, value: object, *args: object, **kwargs: object) -> str:
    """Run a netaddr validator, turning its InvalidValue into ConfigValueError for ``fld``."""
    text = _check_text(value, fld)
    try:
        return func(text, fld, *args, **kwargs)  # type: ignore[operator]
    except InvalidValue as exc:
        raise ConfigValueError(fld, exc.message) from None


def _check_dns(value: object, fld: str) -> str:
    text = _check_text(value, fld)
    try:
        return normalize_address(text, fld)
    except InvalidValue:
        if is_hostname(text):
            return text
        raise ConfigValueError(fld, "must be an IP address or a host name") from None


def _check_interface(iface: object) -> WgInterface:
    if not isinstance(iface, WgInterface):
        raise ConfigValueError("interface", "must be a WgInterface")
    private_key = iface.private_key
    if private_key is not None:
        private_key = _check_key(private_key, "interface.private_key", allow_placeholder=True)
    return WgInterface(
        private_key=private_key,
        addresses=tuple(
            _via(f"interface.addresses[{i}]", normalize_interface, a)
            for i, a in enumerate(iface.addresses)
        ),
        dns=tuple(_check_dns(d, f"interface.dns[{i}]") for i, d in enumerate(iface.dns)),
        mtu=None if iface.mtu is None else _check_int(iface.mtu, "interface.mtu", MTU_MIN, MTU_MAX),
        listen_port=(
            None
            if iface.listen_port is None
            else _check_int(iface.listen_port, "interface.listen_port", 0, 65535)
        ),
    )


def _check_peer(peer: object, i: int, *, strict: bool = True) -> WgPeer:
    pre = f"peers[{i}]"
    if not isinstance(peer, WgPeer):
        raise ConfigValueError(pre, "must be a WgPeer")
    return WgPeer(
        public_key=_check_key(peer.public_key, f"{pre}.public_key"),
        allowed_ips=tuple(
            _via(f"{pre}.allowed_ips[{j}]", normalize_network, c, strict=strict)
            for j, c in enumerate(peer.allowed_ips)
        ),
        endpoint=(
            None if peer.endpoint is None
            else _via(f"{pre}.endpoint", validate_endpoint, peer.endpoint)
        ),
        persistent_keepalive=(
            None
            if peer.persistent_keepalive is None
            else _check_int(peer.persistent_keepalive, f"{pre}.persistent_keepalive", 0, 65535)
        ),
        preshared_key=(
            None if peer.preshared_key is None
            else _check_key(peer.preshared_key, f"{pre}.preshared_key")
        ),
        name=None if peer.name is None else _check_name(peer.name, f"{pre}.name"),
    )


def comment_name(value: object) -> str | None:
    """Turn any display name (e.g. a device name) into one ``render`` accepts, or None.

    Control and separator characters and ``[ ] = #`` become ``_``; the result is trimmed to
    1-64 characters. Use it for names that were validated with looser rules than ours.
    """
    if not isinstance(value, str):
        return None
    cleaned = "".join(
        "_" if ch in _NAME_FORBIDDEN or unicodedata.category(ch) in _BAD_CATEGORIES else ch
        for ch in value
    )
    cleaned = " ".join(cleaned.split())[:64].strip()
    return cleaned or None


def validate_config(config: WgConfig) -> WgConfig:
    """Return a normalised copy of ``config`` or raise ConfigValueError naming the bad field."""
    if not isinstance(config, WgConfig):
        raise ConfigValueError("config", "must be a WgConfig")
    peers = tuple(_check_peer(p, i) for i, p in enumerate(config.peers))
    seen: set[str] = set()
    for i, p in enumerate(peers):
        if p.public_key in seen:
            raise ConfigValueError(f"peers[{i}].public_key", "duplicate peer public key")
        seen.add(p.public_key)
    return WgConfig(
        interface=_check_interface(config.interface),
        peers=peers,
        name=None if config.name is None else _check_name(config.name, "name"),
    )


# ---------------------------------------------------------------- render


def render(config: WgConfig, *, wg_quick: bool = True) -> str:
    """Render a complete config file; ``wg_quick=False`` gives what ``wg setconf`` accepts."""
    cfg = validate_config(config)
    iface = cfg.interface
    lines: list[str] = []
    if cfg.name is not None:
        lines.append(f"# {NAME_COMMENT_PREFIX} {cfg.name}")
    lines.append("[Interface]")
    if iface.private_key is not None:
        lines.append(f"PrivateKey = {iface.private_key}")
    if wg_quick:
        if iface.addresses:
            lines.append(f"Address = {', '.join(iface.addresses)}")
        if iface.dns:
            lines.append(f"DNS = {', '.join(iface.dns)}")
        if iface.mtu is not None:
            lines.append(f"MTU = {iface.mtu}")
    if iface.listen_port is not None:
        lines.append(f"ListenPort = {iface.listen_port}")
    for peer in cfg.peers:
        lines.append("")
        if peer.name is not None:
            lines.append(f"# {NAME_COMMENT_PREFIX} {peer.name}")
        lines.append("[Peer]")
        lines.append(f"PublicKey = {peer.public_key}")
        if peer.preshared_key is not None:
            lines.append(f"PresharedKey = {peer.preshared_key}")
        if peer.allowed_ips:
            lines.append(f"AllowedIPs = {', '.join(peer.allowed_ips)}")
        if peer.endpoint is not None:
            lines.append(f"Endpoint = {peer.endpoint}")
        if peer.persistent_keepalive is not None:
            lines.append(f"PersistentKeepalive = {peer.persistent_keepalive}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- parse

_INTERFACE_KEYS = {
    "privatekey": "private_key",
    "address": "addresses",
    "dns": "dns",
    "mtu": "mtu",
    "listenport": "listen_port",
}
_PEER_KEYS = {
    "publickey": "public_key",
    "presharedkey": "preshared_key",
    "allowedips": "allowed_ips",
    "endpoint": "endpoint",
    "persistentkeepalive": "persistent_keepalive",
}
_LIST_FIELDS = {"addresses", "dns", "allowed_ips"}
_INT_FIELDS = {"mtu", "listen_port", "persistent_keepalive"}


class _Section:
    def __init__(self, kind: str, line: int, name: str | None) -> None:
        self.kind = kind
        self.line = line
        self.name = name
        self.values: dict[str, object] = {}


def _parse_int(text: str, line: int, fld: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise ConfigParseError(line, f"{fld} must be a number", fld)
    return int(text)


def _parse_name_comment(stripped: str) -> str | None:
    """The name in a ``# NexaVPN: <name>`` comment line, or None for any other comment."""
    body = stripped[1:].lstrip()
    if not body.startswith(NAME_COMMENT_PREFIX):
        return None
    return body[len(NAME_COMMENT_PREFIX) :].strip()


def parse(text: str) -> WgConfig:
    """Strictly parse a wg-quick (or wg setconf) file; ConfigParseError carries the line."""
    if not isinstance(text, str):
        raise ConfigParseError(0, "config must be text")
    sections: list[_Section] = []
    pending_name: tuple[int, str] | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        for ch in line:
            if ch != "\t" and unicodedata.category(ch) in _BAD_CATEGORIES:
                raise ConfigParseError(number, "control or line separator character")
        stripped = line.strip()
        if stripped.startswith("#"):
            name = _parse_name_comment(stripped)
            if name is not None:
                if pending_name is not None:
                    raise ConfigParseError(number, "two name comments in a row")
                try:
                    pending_name = (number, _check_name(name, "name"))
                except ConfigValueError as exc:
                    raise ConfigParseError(number, exc.message, "name") from None
            continue
        content = stripped.split("#", 1)[0].strip()
        if not content:
            if pending_name is not None:
                raise ConfigParseError(pending_name[0], "a name comment must precede a section")
            continue
        if content.startswith("["):
            kind = content.lower()
            if kind not in ("[interface]", "[peer]"):
                raise ConfigParseError(number, "unknown section")
            if kind == "[interface]" and any(s.kind == "interface" for s in sections):
                raise ConfigParseError(number, "more than one [Interface] section")
            sections.append(
                _Section(kind[1:-1], number, pending_name[1] if pending_name else None)
            )
            pending_name = None
            continue
        if pending_name is not None:
            raise ConfigParseError(pending_name[0], "a name comment must precede a section")
        if not sections:
            raise ConfigParseError(number, "setting outside of a section")
        if "=" not in content:
            raise ConfigParseError(number, "expected 'Key = Value'")
        key, _, value = content.partition("=")
        key, value = key.strip(), value.strip()
        section = sections[-1]
        table = _INTERFACE_KEYS if section.kind == "interface" else _PEER_KEYS
        fld = table.get(key.lower().replace(" ", ""))
        if fld is None or key != key.replace(" ", ""):
            raise ConfigParseError(number, f"unknown key in [{section.kind.title()}]")
        if fld in _LIST_FIELDS:
            items = [v.strip() for v in value.split(",")] if value else []
            if any(not v for v in items):
                raise ConfigParseError(number, f"empty item in {key}", fld)
            existing = section.values.setdefault(fld, [])
            existing.extend((number, v) for v in items)  # type: ignore[attr-defined]
            continue
        if fld in section.values:
            raise ConfigParseError(number, f"{key} given twice", fld)
        if not value:
            raise ConfigParseError(number, f"{key} has no value", fld)
        parsed = _parse_int(value, number, fld) if fld in _INT_FIELDS else value
        section.values[fld] = (number, parsed)
    if pending_name is not None:
        raise ConfigParseError(pending_name[0], "a name comment must precede a section")
    return _build(sections)


def _build(sections: list[_Section]) -> WgConfig:
    """Validate parsed values one by one so each error carries its own line number."""
    interfaces = [s for s in sections if s.kind == "interface"]
    if not interfaces:
        raise ConfigParseError(0, "no [Interface] section")
    iface_section = interfaces[0]

    def one(section: _Section, fld: str, check: object, *args: object, **kw: object) -> object:
        entry = section.values.get(fld)
        if entry is None:
            return None
        number, value = entry  # type: ignore[misc]
        try:
            return check(value, fld, *args, **kw)  # type: ignore[operator]
        except ConfigValueError as exc:
            raise ConfigParseError(number, exc.message, fld) from None

    def many(section: _Section, fld: str, check: object, *args: object, **kw: object) -> tuple:
        out = []
        for number, value in section.values.get(fld, []):  # type: ignore[union-attr]
            try:
                out.append(check(value, fld, *args, **kw))  # type: ignore[operator]
            except ConfigValueError as exc:
                raise ConfigParseError(number, exc.message, fld) from None
        return tuple(out)

    def addr(value: str, fld: str) -> str:
        return _via(fld, normalize_interface, value)

    def cidr(value: str, fld: str) -> str:
        return _via(fld, normalize_network, value, strict=False)

    def endpoint(value: str, fld: str) -> str:
        return _via(fld, validate_endpoint, value)

    interface = WgInterface(
        private_key=one(iface_section, "private_key", _check_key, allow_placeholder=True),  # type: ignore[arg-type]
        addresses=many(iface_section, "addresses", addr),
        dns=many(iface_section, "dns", _check_dns),
        mtu=one(iface_section, "mtu", _check_int, MTU_MIN, MTU_MAX),  # type: ignore[arg-type]
        listen_port=one(iface_section, "listen_port", _check_int, 0, 65535),  # type: ignore[arg-type]
    )
    peers: list[WgPeer] = []
    seen: set[str] = set()
    for section in sections:
        if section.kind != "peer":
            continue
        public_key = one(section, "public_key", _check_key)
        if public_key is None:
            raise ConfigParseError(section.line, "[Peer] without PublicKey", "public_key")
        if public_key in seen:
            raise ConfigParseError(section.line, "duplicate peer public key", "public_key")
        seen.add(public_key)  # type: ignore[arg-type]
        peers.append(
            WgPeer(
                public_key=public_key,  # type: ignore[arg-type]
                allowed_ips=many(section, "allowed_ips", cidr),
                endpoint=one(section, "endpoint", endpoint),  # type: ignore[arg-type]
                persistent_keepalive=one(
                    section, "persistent_keepalive", _check_int, 0, 65535
                ),  # type: ignore[arg-type]
                preshared_key=one(section, "preshared_key", _check_key),  # type: ignore[arg-type]
                name=section.name,
            )
        )
    return WgConfig(interface=interface, peers=tuple(peers), name=iface_section.name)


# ---------------------------------------------------------------- helpers


def fill_private_key(text: str, private_key: str) -> str:
    """Put the local private key into a profile that carries the placeholder.

    The profile is parsed strictly first (so a hostile server cannot slip in ``PostUp`` or an
    extra peer) and rendered anew; the result is canonical wg-quick text.
    """
    key = _check_key(private_key, "private_key")
    config = parse(text)
    if config.interface.private_key != PRIVATE_KEY_PLACEHOLDER:
        raise ConfigValueError("private_key", "the profile has no private key placeholder")
    if text.count(PRIVATE_KEY_PLACEHOLDER) != 1:
        raise ConfigValueError("private_key", "the placeholder must appear exactly once")
    filled = dataclasses.replace(
        config, interface=dataclasses.replace(config.interface, private_key=key)
    )
    return render(filled)


def strip_for_wg(text: str) -> str:
    """wg-quick text → text for ``wg setconf``/``wg syncconf`` (like ``wg-quick strip``)."""
    return render(parse(text), wg_quick=False)
