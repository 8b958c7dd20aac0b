"""Rendering of the agent's own nftables table and the element-only updates."""

from __future__ import annotations

from pathlib import Path

from nexavpn_gateway import nft
from nexavpn_gateway.reconcile import DesiredPeer

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "nft" / "ruleset_small.nft"

P1 = DesiredPeer("K1", ("10.8.0.2/32", "fd8a::2/128"), ("10.20.0.0/24", "fd00:20::/64"))
P2 = DesiredPeer("K2", ("10.8.0.3/32",), ("0.0.0.0/0", "10.30.0.5/32", "fd00:30::/64"))
P3 = DesiredPeer("K3", ("10.8.0.4/32",), ())


def test_build_ruleset_pairs_each_address_with_same_family_destinations() -> None:
    rules = nft.build_ruleset("nxwg0", [P1, P2, P3])
    # 10.30.0.5/32 lies inside 0.0.0.0/0: collapsed, nft refuses overlapping intervals.
    assert rules.allow4 == {("10.8.0.2", "10.20.0.0/24"), ("10.8.0.3", "0.0.0.0/0")}
    assert rules.allow6 == {("fd8a::2", "fd00:20::/64")}  # K2 has no IPv6 address: no v6 grant


def test_render_matches_golden_file() -> None:
    text = nft.render(nft.build_ruleset("nxwg0", [P1, P2, P3], ["10.8.0.1", "fd8a::1"]))
    assert text == GOLDEN.read_text()


def _chain(text: str, name: str) -> list[str]:
    body = text.split(f"\tchain {name} {{\n", 1)[1].split("\t}", 1)[0]
    return [ln.strip() for ln in body.splitlines()]


def test_gateway_host_reachable_only_as_granted_plus_dns() -> None:
    """The input chain guards the host's own addresses with the same grants, plus DNS on port
    53 only, and drops everything else arriving from the tunnel."""
    text = nft.render(nft.build_ruleset("wg0", [P1], ["10.8.0.1"]))
    rules = _chain(text, "input")
    assert rules[0] == "type filter hook input priority filter; policy accept;"
    assert rules[1:5] == [
        'iifname "wg0" ip saddr . ip daddr @allow4 accept',
        'iifname "wg0" ip6 saddr . ip6 daddr @allow6 accept',
        'iifname "wg0" ip daddr @dns4 meta l4proto { tcp, udp } th dport 53 accept',
        'iifname "wg0" ip6 daddr @dns6 meta l4proto { tcp, udp } th dport 53 accept',
    ]
    assert rules[-1].startswith('iifname "wg0" counter drop')
    assert all("iifname \"wg0\"" in r for r in rules[1:])  # never the underlay (WireGuard)
    # DNS servers elsewhere are reachable through the gateway on port 53 too.
    assert 'iifname "wg0" ip daddr @dns4 meta l4proto { tcp, udp } th dport 53 accept' in (
        _chain(text, "forward")
    )
    assert "elements = { 10.8.0.1 }" in text


def test_dns_change_needs_a_full_replace() -> None:
    a = nft.build_ruleset("wg0", [P1], ["10.8.0.1"])
    assert nft.render_delta(a, nft.build_ruleset("wg0", [P1], ["10.8.0.53"])) is None
    assert nft.render_delta(a, nft.build_ruleset("wg0", [P1], ["10.8.0.1"])) == ""


def test_render_is_one_atomic_replace_of_only_our_table() -> None:
    text = nft.render(nft.build_ruleset("wg0", [P1]))
    lines = text.splitlines()
    assert lines[:3] == ["table inet nexavpn", "delete table inet nexavpn",
                         "table inet nexavpn {"]
    tables = {ln.split("{")[0].strip() for ln in lines if ln.startswith(("table", "delete"))}
    assert tables == {"table inet nexavpn", "delete table inet nexavpn"}
    assert "flush ruleset" not in text
    assert 'iifname "wg0" ip saddr . ip daddr @allow4 accept' in text
    assert 'iifname "wg0" counter drop' in text
    assert 'oifname "wg0" ct state established,related accept' in text
    assert 'iifname "wg0" oifname != "wg0" masquerade' in text
    # The grant rules come before the drop.
    assert text.index("@allow4 accept") < text.index('iifname "wg0" counter drop')


def test_render_empty_sets_have_no_elements_line() -> None:
    text = nft.render(nft.build_ruleset("wg0", []))
    assert "elements" not in text
    assert "set allow4 {" in text and "set allow6 {" in text


def test_delta_adds_and_deletes_only_changed_elements() -> None:
    old = nft.build_ruleset("wg0", [P1, P2])
    p1b = DesiredPeer("K1", P1.allowed_ips, ("10.20.0.0/16", "fd00:20::/64"))
    new = nft.build_ruleset("wg0", [p1b, P3])
    delta = nft.render_delta(old, new)
    assert delta == (
        "delete element inet nexavpn allow4 { 10.8.0.2 . 10.20.0.0/24,\n"
        "\t\t\t10.8.0.3 . 0.0.0.0/0 }\n"
        "add element inet nexavpn allow4 { 10.8.0.2 . 10.20.0.0/16 }\n"
    )


def test_delta_none_when_interface_changes_and_empty_when_equal() -> None:
    a = nft.build_ruleset("wg0", [P1])
    assert nft.render_delta(a, nft.build_ruleset("wg1", [P1])) is None
    assert nft.render_delta(a, nft.build_ruleset("wg0", [P1])) == ""


def test_forwarding_ipv6_only_when_asked() -> None:
    assert nft.forwarding_argvs(False) == [["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]]
    assert nft.forwarding_argvs(True)[1] == [
        "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"]
    assert nft.apply_argv() == ["nft", "-f", "-"]
