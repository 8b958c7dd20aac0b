"""A device's profile: structured metadata plus a complete wg-quick file without the private key.

Rendering goes through :mod:`nexavpn_shared.wgconf`, which refuses any value that could inject a
line or a key; the client fills in the private key it made itself
(``PRIVATE_KEY_PLACEHOLDER``). The same data feeds the JSON and the config text, so they agree.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nexavpn_shared.contract import PERSISTENT_KEEPALIVE
from nexavpn_shared.wgconf import PRIVATE_KEY_PLACEHOLDER, WgConfig, WgInterface, WgPeer, render

from ..models import Device, Gateway
from . import ipam
from .policy_resolution import destinations


def device_interface_addresses(device: Device, gateway: Gateway) -> list[str]:
    """The device's own addresses as /32 (and /128)."""
    max4 = ipam.pools_of(gateway).v4.network.max_prefixlen
    out = [f"{device.vpn_ip}/{max4}"] if device.vpn_ip else []
    if device.vpn_ip6:
        out.append(f"{device.vpn_ip6}/128")
    return out


def dns_routes(dns: list[str], allowed: list[str]) -> list[str]:
    """DNS servers not yet inside ``allowed``, as host routes (/32, /128): queries must go
    through the tunnel, never to whatever answers at that address on the local network."""
    nets = [ipaddress.ip_network(a) for a in allowed]
    out: list[str] = []
    for d in dns:
        addr = ipaddress.ip_address(d)
        host = f"{addr}/{addr.max_prefixlen}"
        if host not in out and not any(addr.version == n.version and addr in n for n in nets):
            out.append(host)
    return out


def build_profile(device: Device, gateway: Gateway) -> dict[str, Any]:
    """The contract's ``profile`` object for an active device on ``gateway``."""
    resources = list(device.resources or [])
    dns = list(gateway.dns or [])
    allowed_ips = destinations(resources)
    allowed_ips += dns_routes(dns, allowed_ips)
    addresses = device_interface_addresses(device, gateway)
    config = WgConfig(
        interface=WgInterface(
            private_key=PRIVATE_KEY_PLACEHOLDER,
            addresses=tuple(addresses),
            dns=tuple(dns),
            mtu=gateway.mtu,
        ),
        peers=(
            WgPeer(
                public_key=gateway.public_key or "",
                allowed_ips=tuple(allowed_ips),
                endpoint=gateway.endpoint,
                persistent_keepalive=PERSISTENT_KEEPALIVE,
            ),
        ),
    )
    return {
        "revision": device.profile_revision,
        "rotation_required": bool(device.rotation_required),
        "interface": {"addresses": addresses, "dns": dns, "mtu": gateway.mtu},
        "peer": {
            "public_key": gateway.public_key,
            "endpoint": gateway.endpoint,
            "allowed_ips": allowed_ips,
            "persistent_keepalive": PERSISTENT_KEEPALIVE,
        },
        "allowed_resources": resources,
        "config": render(config),
    }


def etag(device: Device) -> str:
    """The strong ETag of a profile: its revision in quotes."""
    return f'"{device.profile_revision}"'


def etag_matches(header: str | None, device: Device) -> bool:
    """True when an ``If-None-Match`` header names the current revision (or ``*``)."""
    if not header:
        return False
    want = etag(device)
    for raw in header.split(","):
        tag = raw.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag in (want, "*"):
            return True
    return False
