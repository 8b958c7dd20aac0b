"""CIDR, endpoint, name, fingerprint, DNS validation and the pool layout (IPAM) rules."""

from __future__ import annotations

import ipaddress
import random

import pytest

from nexavpn_shared.netaddr import (
    InvalidValue,
    collapse,
    normalize_address,
    normalize_interface,
    normalize_network,
    pool_layout,
    pools_overlap,
    resolve_destinations,
    validate_dns,
    validate_endpoint,
    validate_fingerprint,
    validate_name,
    validate_port,
)

# ------------------------------------------------------------------ networks


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.20.0.0/24", "10.20.0.0/24"),
        ("10.0.0.1", "10.0.0.1/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("FD00:0020:0000::/64", "fd00:20::/64"),
        ("fd00::1", "fd00::1/128"),
        ("::/0", "::/0"),
    ],
)
def test_normalize_network(value: str, expected: str) -> None:
    assert normalize_network(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "10.20.0.1/24",
        "fd00::1/64",
        "10.0.0.0/33",
        "fd00::/129",
        "10.0.0.0/255.255.255.0",
        "10.0.0.0/-1",
        "10.0.0.0/",
        "10.0.0.0/24/8",
        "010.0.0.0/8",
        "10.0.0/24",
        "fe80::1%eth0/128",
        "host.example/32",
        "",
        "10.0.0.0/24\n",  # refused like a key with a newline: one rule for every field
        " 10.20.0.0/24 ",
        "10.0.0.0\n/24",
        "10.0.0.0/2\u0664",  # Arabic-Indic digit
        None,
        10,
        ["10.0.0.0/8"],
    ],
)
def test_normalize_network_rejects(value: object) -> None:
    with pytest.raises(InvalidValue) as info:
        normalize_network(value, "destinations[0]")
    assert info.value.field == "destinations[0]"
    assert info.value.message
    assert isinstance(info.value, ValueError)


def test_host_bits_masked_when_not_strict() -> None:
    assert normalize_network("10.20.0.9/24", strict=False) == "10.20.0.0/24"
    assert normalize_network("fd00::9/64", strict=False) == "fd00::/64"


def test_error_message_does_not_echo_value() -> None:
    with pytest.raises(InvalidValue) as info:
        normalize_network("SECRET-THING/24")
    assert "SECRET" not in str(info.value)


def test_interface_and_address_notation() -> None:
    assert normalize_interface("10.8.0.7/32") == "10.8.0.7/32"
    assert normalize_interface("10.8.0.1/24") == "10.8.0.1/24"
    assert normalize_interface("fd8a:0::7") == "fd8a::7/128"
    assert normalize_address("FD8A::0007") == "fd8a::7"
    with pytest.raises(InvalidValue):
        normalize_interface("10.8.0.7/40")
    with pytest.raises(InvalidValue):
        normalize_address("10.8.0.7/32")


# ------------------------------------------------------------------ collapse / resolve


def test_collapse_merges_and_orders_v4_before_v6() -> None:
    got = collapse(
        ["fd00:20::/64", "10.0.0.128/25", "10.0.0.0/25", "192.168.1.0/24", "10.0.0.5",
         "fd00:20::/65", "172.16.0.0/12"]
    )
    assert got == ["10.0.0.0/24", "172.16.0.0/12", "192.168.1.0/24", "fd00:20::/64"]


def test_collapse_empty_and_default_route() -> None:
    assert collapse([]) == []
    assert collapse(["0.0.0.0/0", "10.0.0.0/8", "::/0", "fd00::/8"]) == ["0.0.0.0/0", "::/0"]


def test_collapse_rejects_host_bits() -> None:
    with pytest.raises(InvalidValue):
        collapse(["10.0.0.1/24"])


def test_resolve_destinations_names_the_largest_covering_policy() -> None:
    got = resolve_destinations(
        [
            ("10.0.0.0/25", "b-small"),
            ("10.0.0.0/24", "z-wide"),
            ("10.0.0.0/24", "m-wide"),
            ("fd00:20::/64", "v6"),
            ("192.168.0.0/24", "lan"),
            ("192.168.0.7/32", "a-host"),
        ]
    )
    assert got == [
        ("10.0.0.0/24", "m-wide"),
        ("192.168.0.0/24", "lan"),
        ("fd00:20::/64", "v6"),
    ]


def test_resolve_destinations_merged_halves() -> None:
    """Two adjacent halves merge; neither covers the whole, the alphabetically first is named."""
    got = resolve_destinations([("10.0.0.128/25", "beta"), ("10.0.0.0/25", "alpha")])
    assert got == [("10.0.0.0/24", "alpha")]


def test_resolve_destinations_random_property() -> None:
    rng = random.Random(7)
    for _ in range(200):
        grants = []
        for _ in range(rng.randint(1, 8)):
            prefix = rng.randint(8, 30)
            net = ipaddress.ip_network(f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.0/{prefix}",
                                       strict=False)
            grants.append((str(net), rng.choice("abcde")))
        got = resolve_destinations(grants)
        nets = [ipaddress.ip_network(c) for c, _ in got]
        assert [c for c, _ in got] == collapse([c for c, _ in grants])
        # every grant is covered by exactly one output network, with no overlaps between outputs
        for cidr, _ in grants:
            assert sum(ipaddress.ip_network(cidr).subnet_of(n) for n in nets) == 1
        for out, name in got:
            inside = [(ipaddress.ip_network(c).prefixlen, n) for c, n in grants
                      if ipaddress.ip_network(c).subnet_of(ipaddress.ip_network(out))]
            assert name == min(inside)[1]


# ------------------------------------------------------------------ endpoint / port


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("vpn.example.com:51820", "vpn.example.com:51820"),
        ("VPN.Example.COM:443", "vpn.example.com:443"),
        ("gateway:1", "gateway:1"),
        ("203.0.113.5:65535", "203.0.113.5:65535"),
        ("[2001:DB8::1]:51820", "[2001:db8::1]:51820"),
        ("xn--bcher-kva.example:51820", "xn--bcher-kva.example:51820"),
        ("a-b.c:00080", "a-b.c:80"),
    ],
)
def test_validate_endpoint(value: str, expected: str) -> None:
    assert validate_endpoint(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "vpn.example.com",
        "vpn.example.com:0",
        "vpn.example.com:65536",
        "vpn.example.com:-1",
        "vpn.example.com:+5",
        "vpn.example.com:51820\n[Peer]",
        "vpn.example.com\n:51820",
        "2001:db8::1:51820",
        "[2001:db8::1]51820",
        "[10.0.0.1]:51820",
        "[fe80::1%eth0]:51820",
        "-vpn.example.com:51820",
        "vpn-.example.com:51820",
        "vpn..example.com:51820",
        "vpn.example.com.:51820",
        "vpn_x.example.com:51820",
        "999.1.1.1:51820",
        "1.2.3:51820",
        "bücher.example:51820",
        "a" * 64 + ".example:1",
        ("a" * 60 + ".") * 5 + "com:1",
        "host:port",
        "user@host:22",
        "host:51820 # x",
        ":51820",
        "",
        None,
        51820,
    ],
)
def test_validate_endpoint_rejects(value: object) -> None:
    with pytest.raises(InvalidValue) as info:
        validate_endpoint(value, "gateway.endpoint")
    assert info.value.field == "gateway.endpoint"


def test_validate_port() -> None:
    assert validate_port(1) == 1
    assert validate_port("65535") == 65535
    for bad in (0, 65536, True, "1e3", " 80", 80.0, None):
        with pytest.raises(InvalidValue):
            validate_port(bad)


# ------------------------------------------------------------------ names / fingerprints / DNS


def test_validate_name_trims_and_accepts_unicode() -> None:
    assert validate_name("  Laptop de Zoë  ") == "Laptop de Zoë"
    assert validate_name("x" * 64) == "x" * 64
    assert validate_name("a=b [#]") == "a=b [#]"  # the wgconf renderer applies its own rules
    assert validate_name("y" * 100, max_len=100) == "y" * 100


@pytest.mark.parametrize(
    "value",
    ["", "   ", "x" * 65, "a\nb", "a\rb", "a\x00b", "a\tb", "a\u2028b", "a\u2029b",
     "a\u200bb", "a\u202eb", "a\x7fb", "a\x85b", None, 5, b"name"],
)
def test_validate_name_rejects(value: object) -> None:
    with pytest.raises(InvalidValue) as info:
        validate_name(value, "device.name")
    assert info.value.field == "device.name"


def test_validate_fingerprint() -> None:
    fp = "a" * 64
    assert validate_fingerprint(fp) == fp
    assert validate_fingerprint("AB:cd.EF_12-34xyzz") == "AB:cd.EF_12-34xyzz"
    for bad in ("a" * 15, "a" * 129, "a" * 63 + "\n", "a" * 20 + " ", "a" * 20 + "/",
                "a" * 20 + "é", None, 1234567890123456789):
        with pytest.raises(InvalidValue):
            validate_fingerprint(bad)


def test_validate_dns() -> None:
    assert validate_dns(["10.8.0.1", "FD8A::1", "10.8.0.1"]) == ["10.8.0.1", "fd8a::1"]
    assert validate_dns([]) == []
    assert validate_dns(("1.1.1.1",)) == ["1.1.1.1"]
    for bad in ("10.8.0.1", ["10.8.0.1, 1.1.1.1"], ["dns.example"], [None],
                ["10.0.0.0/24"], [f"10.0.0.{i}" for i in range(9)], None):
        with pytest.raises(InvalidValue) as info:
            validate_dns(bad)
        assert info.value.field == "dns"


# ------------------------------------------------------------------ pools


@pytest.mark.parametrize(
    ("cidr", "gateway", "first", "last", "capacity"),
    [
        ("10.8.0.0/24", "10.8.0.1", "10.8.0.2", "10.8.0.254", 253),
        ("10.8.0.0/29", "10.8.0.1", "10.8.0.2", "10.8.0.6", 5),
        ("10.8.0.0/30", "10.8.0.1", "10.8.0.2", "10.8.0.2", 1),
        ("10.8.0.0/31", "10.8.0.0", "10.8.0.1", "10.8.0.1", 1),
        ("fd8a::/64", "fd8a::1", "fd8a::2", "fd8a::ffff:ffff:ffff:ffff", 2**64 - 2),
        ("fd8a::/126", "fd8a::1", "fd8a::2", "fd8a::3", 2),
        ("fd8a::/127", "fd8a::", "fd8a::1", "fd8a::1", 1),
    ],
)
def test_pool_layout(cidr: str, gateway: str, first: str, last: str, capacity: int) -> None:
    layout = pool_layout(cidr)
    assert layout.network == ipaddress.ip_network(cidr)
    assert layout.address_at(layout.gateway_offset) == gateway
    assert layout.gateway_address == gateway
    assert layout.address_at(layout.first_device_offset) == first
    assert layout.address_at(layout.last_device_offset) == last
    assert layout.capacity == capacity
    assert layout.last_device_offset - layout.first_device_offset + 1 == capacity


@pytest.mark.parametrize("cidr", ["10.8.0.0/24", "10.8.0.0/29", "10.8.0.0/30", "10.8.0.0/31",
                                  "10.8.0.0/32", "fd8a::/120", "fd8a::/126", "fd8a::/127",
                                  "fd8a::/128"])
def test_pool_layout_agrees_with_ipaddress_hosts(cidr: str) -> None:
    layout = pool_layout(cidr)
    hosts = [str(h) for h in ipaddress.ip_network(cidr).hosts()]
    devices = [layout.address_at(o)
               for o in range(layout.first_device_offset, layout.last_device_offset + 1)]
    assert [layout.gateway_address, *devices] == hosts
    assert layout.capacity == len(hosts) - 1


def test_pool_layout_single_address_pools_hold_no_device() -> None:
    for cidr, gw in (("10.8.0.5/32", "10.8.0.5"), ("fd8a::5/128", "fd8a::5")):
        layout = pool_layout(cidr)
        assert layout.capacity == 0
        assert layout.gateway_address == gw
        assert not layout.is_device_offset(layout.first_device_offset)


def test_pool_layout_helpers() -> None:
    layout = pool_layout("10.8.0.0/24")
    assert layout.gateway_interface == "10.8.0.1/24"
    assert layout.device_interface(7) == "10.8.0.7/32"
    assert layout.offset_of("10.8.0.7") == 7
    assert pool_layout("fd8a::/64").device_interface(7) == "fd8a::7/128"
    assert pool_layout("fd8a::/64").gateway_interface == "fd8a::1/64"
    with pytest.raises(ValueError):
        layout.address_at(256)
    with pytest.raises(ValueError):
        layout.address_at(-1)
    with pytest.raises(ValueError):
        layout.device_interface(255)  # broadcast
    with pytest.raises(ValueError):
        layout.device_interface(1)  # the gateway's
    with pytest.raises(InvalidValue):
        layout.offset_of("10.9.0.7")
    with pytest.raises(InvalidValue):
        layout.offset_of("fd8a::7")


@pytest.mark.parametrize("cidr", ["10.8.0.1/24", "fd8a::1/64", "10.8.0.0", "nonsense", None])
def test_pool_layout_rejects(cidr: object) -> None:
    if cidr == "10.8.0.0":  # a bare address is a /32 pool: valid but without device room
        assert pool_layout(cidr).capacity == 0
        return
    with pytest.raises(InvalidValue) as info:
        pool_layout(cidr)  # type: ignore[arg-type]
    assert info.value.field == "vpn_cidr"


def test_pools_overlap() -> None:
    assert pools_overlap("10.8.0.0/24", "10.8.0.128/25")
    assert pools_overlap("10.0.0.0/8", "10.8.0.0/24")
    assert pools_overlap("fd8a::/64", "fd8a::/48")
    assert not pools_overlap("10.8.0.0/24", "10.8.1.0/24")
    assert not pools_overlap("10.8.0.0/24", "fd8a::/64")
    assert not pools_overlap("::ffff:10.8.0.0/120", "10.8.0.0/24")
    with pytest.raises(InvalidValue):
        pools_overlap("10.8.0.1/24", "10.9.0.0/24")
