"""The real Linux backend: a client namespace, a gateway namespace, wireguard-go, ping across.

The far end is a wireguard-go interface configured with ``wg`` directly; the near end is
brought up and down by :class:`LinuxBackend` through a runner that prefixes ``ip netns exec``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from nexavpn_client.errors import CommandFailed
from nexavpn_client.runner import CommandResult, SubprocessRunner
from nexavpn_client.tunnel import CONNECTED, DISCONNECTED, LinuxBackend, TunnelConfig
from nexavpn_shared import keys, wgconf

pytestmark = pytest.mark.netns
UAPI_DIR = Path("/var/run/wireguard")


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    for tool in ("ip", "wg", "wireguard-go", "ping"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def sh(argv: Sequence[str], netns: str | None = None, check: bool = True,
       input: str | None = None) -> subprocess.CompletedProcess[str]:
    full = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
    return subprocess.run(full, capture_output=True, text=True, check=check, input=input,
                          timeout=30, stdin=None if input is not None else subprocess.DEVNULL)


class NetnsRunner(SubprocessRunner):
    """Runs every command inside one namespace (the backend does not know)."""

    def __init__(self, netns: str) -> None:
        self.netns = netns
        self.argvs: list[list[str]] = []

    def run(self, argv, *, input=None, timeout=30.0, check=True) -> CommandResult:
        self.argvs.append(list(argv))
        return super().run(["ip", "netns", "exec", self.netns, *argv], input=input,
                           timeout=timeout, check=check)


def _ping(netns: str, addr: str, count: int = 3) -> bool:
    result = sh(["ping", "-c", str(count), "-i", "0.2", "-W", "2", addr], netns=netns,
                check=False)
    return result.returncode == 0


@pytest.fixture
def lab():
    why = _missing()
    if why:
        pytest.skip(why)
    tag = secrets.token_hex(3)
    names = {
        "ns_c": f"nxc{tag}", "ns_g": f"nxg{tag}",
        "veth_c": f"nxvc{tag}", "veth_g": f"nxvg{tag}",
        "wg_c": f"nxwc{tag}", "wg_g": f"nxwg{tag}",
    }
    made: list[str] = []
    try:
        for ns in (names["ns_c"], names["ns_g"]):
            sh(["ip", "netns", "add", ns])
            made.append(ns)
            sh(["ip", "link", "set", "lo", "up"], netns=ns)
        sh(["ip", "link", "add", names["veth_c"], "netns", names["ns_c"], "type", "veth",
            "peer", "name", names["veth_g"], "netns", names["ns_g"]])
        for ns, dev, addr in ((names["ns_c"], names["veth_c"], "172.31.250.1/30"),
                              (names["ns_g"], names["veth_g"], "172.31.250.2/30")):
            sh(["ip", "-n", ns, "address", "add", addr, "dev", dev])
            sh(["ip", "-n", ns, "link", "set", dev, "up"])
        # A "resource" behind the gateway.
        sh(["ip", "-n", names["ns_g"], "address", "add", "10.20.0.1/32", "dev", "lo"])
        yield names
    finally:
        for ns, link in ((names["ns_c"], names["wg_c"]), (names["ns_g"], names["wg_g"])):
            sh(["ip", "-n", ns, "link", "del", link], check=False)
        for ns in made:
            sh(["ip", "netns", "del", ns], check=False)
        deadline = time.monotonic() + 3
        for link in (names["wg_c"], names["wg_g"]):
            sock = UAPI_DIR / f"{link}.sock"
            while sock.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            if sock.exists():
                sock.unlink()


def _gateway(lab, client_pub: str) -> str:
    """Bring up the far end with wg directly; return its public key."""
    gw = keys.generate_keypair()
    ns, dev = lab["ns_g"], lab["wg_g"]
    sh(["wireguard-go", dev], netns=ns)
    for _ in range(50):
        if sh(["wg", "show", dev], netns=ns, check=False).returncode == 0:
            break
        time.sleep(0.1)
    sh(["wg", "set", dev, "private-key", "/dev/stdin", "listen-port", "51820",
        "peer", client_pub, "allowed-ips", "10.8.0.2/32"], netns=ns, input=gw.private_key + "\n")
    sh(["ip", "-n", ns, "address", "add", "10.8.0.1/24", "dev", dev])
    sh(["ip", "-n", ns, "link", "set", dev, "up"])
    return gw.public_key


def _client_config(lab, gw_pub: str, client_priv: str, allowed: tuple[str, ...]) -> TunnelConfig:
    text = wgconf.render(wgconf.WgConfig(
        interface=wgconf.WgInterface(private_key=client_priv, addresses=("10.8.0.2/32",),
                                     mtu=1380),
        peers=(wgconf.WgPeer(public_key=gw_pub, allowed_ips=allowed,
                             endpoint="172.31.250.2:51820", persistent_keepalive=25),),
    ))
    return TunnelConfig.from_text(lab["wg_c"], text)


@pytest.mark.parametrize(
    "allowed",
    [("10.8.0.1/32", "10.20.0.0/24"), ("0.0.0.0/0",)],
    ids=["split-tunnel", "full-tunnel"],
)
def test_tunnel_up_ping_down(lab, allowed):
    client = keys.generate_keypair()
    gw_pub = _gateway(lab, client.public_key)
    runner = NetnsRunner(lab["ns_c"])
    backend = LinuxBackend(runner, userspace="auto")
    assert backend.is_available()[0]
    config = _client_config(lab, gw_pub, client.private_key, allowed)
    assert not _ping(lab["ns_c"], "10.20.0.1", count=1)  # no route before the tunnel

    backend.connect(config)
    try:
        assert _ping(lab["ns_c"], "10.8.0.1"), "gateway not reachable through the tunnel"
        assert _ping(lab["ns_c"], "10.20.0.1"), "resource not reachable through the tunnel"
        # The veth itself still works (a full tunnel must not swallow the endpoint route).
        assert _ping(lab["ns_c"], "172.31.250.2", count=1)
        status = backend.status(config.name)
        assert status.state == CONNECTED
        assert status.handshake_age is not None and status.handshake_age < 60
        assert status.rx_bytes and status.tx_bytes
        # The gateway saw our key; the private key never appeared in an argument.
        peers = sh(["wg", "show", lab["wg_g"], "latest-handshakes"], netns=lab["ns_g"]).stdout
        assert client.public_key in peers
        assert all(client.private_key not in " ".join(a) for a in runner.argvs)
    finally:
        backend.disconnect(config.name)
    assert backend.status(config.name).state == DISCONNECTED
    assert not _ping(lab["ns_c"], "10.20.0.1", count=1)
    rules = sh(["ip", "rule", "show"], netns=lab["ns_c"]).stdout
    assert "51820" not in rules


def test_update_in_place_adds_route(lab):
    client = keys.generate_keypair()
    gw_pub = _gateway(lab, client.public_key)
    backend = LinuxBackend(NetnsRunner(lab["ns_c"]))
    backend.connect(_client_config(lab, gw_pub, client.private_key, ("10.8.0.1/32",)))
    try:
        assert _ping(lab["ns_c"], "10.8.0.1")
        assert not _ping(lab["ns_c"], "10.20.0.1", count=1)
        backend.install(
            _client_config(lab, gw_pub, client.private_key, ("10.8.0.1/32", "10.20.0.0/24"))
        )
        assert _ping(lab["ns_c"], "10.20.0.1")
    finally:
        backend.disconnect(lab["wg_c"])


def test_connect_failure_leaves_nothing(lab):
    client = keys.generate_keypair()
    runner = NetnsRunner(lab["ns_c"])
    backend = LinuxBackend(runner)
    bad = _client_config(lab, keys.generate_keypair().public_key, client.private_key,
                         ("10.8.0.1/32",))
    # A failure half-way (after the link exists): an MTU the kernel refuses.
    bad = TunnelConfig(name=bad.name, text=bad.text, addresses=bad.addresses, mtu=10,
                       allowed_ips=bad.allowed_ips)
    with pytest.raises(CommandFailed):
        backend.connect(bad)
    assert sh(["ip", "link", "show", lab["wg_c"]], netns=lab["ns_c"],
              check=False).returncode != 0
