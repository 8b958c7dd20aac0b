"""Real data plane: the agent drives wireguard-go and nftables inside throwaway namespaces."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nexavpn_gateway import nft
from nexavpn_gateway.agent import Agent, AgentOptions
from nexavpn_gateway.client import ControlPlaneClient
from nexavpn_gateway.runner import SubprocessRunner, netns_prefix
from nexavpn_gateway.wg import InterfaceState, parse_dump
from nexavpn_shared.keys import generate_keypair
from tests.gateway.fakes import config_payload, new_key, peer
from tests.gateway.netns import Lab, lab, sh, unique

pytestmark = pytest.mark.netns


def dump(ns: str, ifname: str) -> InterfaceState:
    return parse_dump(sh(["wg", "show", ifname, "dump"], netns=ns).stdout)


def gateway_agent(lab_: Lab, ns: str, state_dir: Path) -> tuple[Agent, str]:
    ifname = lab_.track_link(ns, unique("nxg"))
    # Converge is driven directly here; the client is never called.
    client = ControlPlaneClient("http://127.0.0.1:9", "unused")
    agent = Agent(AgentOptions(ifname, 51820, state_dir),
                  SubprocessRunner(prefix=netns_prefix(ns)), client)
    return agent, ifname


def test_setup_apply_update_without_teardown(tmp_path: Path) -> None:
    with lab() as L:
        gw = L.netns()
        agent, ifname = gateway_agent(L, gw, tmp_path)
        agent.start()
        state = dump(gw, ifname)
        assert state.public_key == agent.public_key
        assert state.listen_port == 51820
        a, b, c, d = (new_key() for _ in range(4))
        agent.apply_config(config_payload(1, [
            peer(a, 2, "10.20.0.0/24"), peer(b, 3, "10.30.0.0/24"), peer(c, 4, "10.20.0.0/24"),
            {"public_key": "bad", "allowed_ips": ["10.8.0.9/32"], "destinations": []},
        ], address6="fd8a::1/64"))
        state = dump(gw, ifname)
        assert {k: p.allowed_ips for k, p in state.peers.items()} == {
            a: {"10.8.0.2/32"}, b: {"10.8.0.3/32"}, c: {"10.8.0.4/32"}}
        addrs = json.loads(sh(["ip", "-j", "address", "show", "dev", ifname], netns=gw).stdout)
        assert {f"{i['local']}/{i['prefixlen']}" for i in addrs[0]["addr_info"]
                if i["scope"] == "global"} == {"10.8.0.1/24", "fd8a::1/64"}
        assert "UP" in addrs[0]["flags"]
        table = sh(nft.list_argv(), netns=gw).stdout
        assert "10.8.0.2 . 10.20.0.0/24" in table and "10.8.0.3 . 10.30.0.0/24" in table
        assert f'iifname "{ifname}" ip saddr . ip daddr @allow4 accept' in table
        assert sh(["sysctl", "-n", "net.ipv4.ip_forward"], netns=gw).stdout.strip() == "1"

        # A roaming client is connected as peer a: its entry must survive every update.
        sh(["wg", "set", ifname, "peer", a, "endpoint", "192.0.2.9:5555"], netns=gw)
        result = agent.apply_config(config_payload(2, [
            peer(a, 2, "10.20.0.0/24"), peer(b, 13, "10.30.0.0/24"), peer(d, 5, "10.40.0.0/24"),
        ], address6="fd8a::1/64"))
        assert (result.method, result.nft) == ("set", "delta")
        state = dump(gw, ifname)
        assert state.peers[a].endpoint == "192.0.2.9:5555"
        assert state.peers[b].allowed_ips == {"10.8.0.13/32"}
        assert c not in state.peers and d in state.peers
        table = sh(nft.list_argv(), netns=gw).stdout
        assert "10.8.0.5 . 10.40.0.0/24" in table
        assert "10.8.0.4 " not in table and "10.8.0.3 " not in table

        # A big change goes through batched wg set: still no teardown of peer a.
        many = [peer(new_key(), 0, "10.50.0.0/24") for _ in range(300)]
        for i, p in enumerate(many):
            p["allowed_ips"] = [f"10.8.{1 + i // 250}.{1 + i % 250}/32"]
        result = agent.apply_config(config_payload(3, [peer(a, 2, "10.20.0.0/24"), *many]))
        assert result.method == "set"
        state = dump(gw, ifname)
        assert len(state.peers) == 301
        assert state.peers[a].endpoint == "192.0.2.9:5555"
        assert state.public_key == agent.public_key
        addrs = json.loads(sh(["ip", "-j", "address", "show", "dev", ifname], netns=gw).stdout)
        assert {i["local"] for i in addrs[0]["addr_info"] if i["scope"] == "global"} == {
            "10.8.0.1"}  # address6 dropped from the config: removed

        # Agent restart: same key, same interface, nothing re-created, nothing dropped.
        again, _ = gateway_agent(L, gw, tmp_path)
        again.options.interface = ifname
        again.iface.name = ifname
        again.start()
        result = again.apply_config(config_payload(3, [peer(a, 2, "10.20.0.0/24"), *many]))
        assert result.plan.empty and result.nft == "full"
        assert dump(gw, ifname).peers[a].endpoint == "192.0.2.9:5555"
        assert again.public_key == agent.public_key


def _ping(ns: str, addr: str, wait: float = 1.0) -> bool:
    return sh(["ping", "-c", "1", "-W", str(wait), addr], netns=ns, check=False).returncode == 0


def test_policy_enforced_and_sessions_survive_updates(tmp_path: Path) -> None:
    with lab() as L:
        gw, cl, res = L.netns(), L.netns(), L.netns()
        L.veth(gw, "192.0.2.1/24", cl, "192.0.2.2/24")
        L.veth(gw, "198.51.100.1/24", res, "198.51.100.2/24")
        for addr in ("10.20.0.1/32", "10.30.0.1/32"):  # network A and network B
            sh(["ip", "address", "add", addr, "dev", "lo"], netns=res)
        for net in ("10.20.0.0/24", "10.30.0.0/24"):
            sh(["ip", "route", "add", net, "via", "198.51.100.2"], netns=gw)

        agent, gw_if = gateway_agent(L, gw, tmp_path / "gw")
        agent.start()
        client_keys = generate_keypair()
        agent.apply_config(config_payload(1, [peer(client_keys.public_key, 2, "10.20.0.0/24")]))

        # The client: its own wireguard-go, and it routes B into the tunnel too (user edit).
        cl_if = L.track_link(cl, unique("nxc"))
        sh(["wireguard-go", cl_if], netns=cl)
        key_file = tmp_path / "client.key"
        key_file.write_text(client_keys.private_key)
        key_file.chmod(0o600)
        sh(["wg", "set", cl_if, "private-key", str(key_file), "peer", agent.public_key,
            "endpoint", "192.0.2.1:51820", "allowed-ips", "10.8.0.0/24,10.20.0.0/24,10.30.0.0/24",
            ], netns=cl)
        sh(["ip", "address", "add", "10.8.0.2/32", "dev", cl_if], netns=cl)
        sh(["ip", "link", "set", cl_if, "up"], netns=cl)
        for net in ("10.8.0.0/24", "10.20.0.0/24", "10.30.0.0/24"):
            sh(["ip", "route", "add", net, "dev", cl_if], netns=cl)

        assert _ping(cl, "10.20.0.1", 3)  # A: granted
        assert not _ping(cl, "10.30.0.1")  # B: dropped at the gateway
        chain = sh(["nft", "list", "chain", "inet", "nexavpn", "forward"], netns=gw).stdout
        drop = next(ln for ln in chain.splitlines() if "not granted" in ln)
        assert "packets 0 " not in drop  # the drop rule is what stopped it

        before = dump(gw, gw_if).peers[client_keys.public_key]
        assert before.latest_handshake > 0
        time.sleep(1.2)  # a re-handshake after a teardown would show a newer timestamp
        others = [peer(new_key(), 3 + i, "10.20.0.0/24") for i in range(20)]
        agent.apply_config(config_payload(2, [
            peer(client_keys.public_key, 2, "10.20.0.0/24", "10.30.0.0/24"), *others]))
        assert _ping(cl, "10.30.0.1", 3)  # B granted now
        assert _ping(cl, "10.20.0.1", 3)
        after = dump(gw, gw_if).peers[client_keys.public_key]
        assert after.latest_handshake == before.latest_handshake  # same session
        assert after.rx_bytes > before.rx_bytes  # counters kept growing, never reset

        t0 = time.monotonic()
        agent.apply_config(config_payload(3, others))  # revoked
        revoke_s = time.monotonic() - t0
        assert client_keys.public_key not in dump(gw, gw_if).peers
        assert not _ping(cl, "10.20.0.1")
        assert revoke_s < 1.0
