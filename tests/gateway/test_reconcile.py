"""Validation of the server's config and the desired x actual plan (pure)."""

from __future__ import annotations

import pytest

from nexavpn_gateway.reconcile import InvalidConfig, parse_desired, plan_peers
from nexavpn_gateway.wg import InterfaceState, PeerState
from tests.gateway.fakes import config_payload, new_key, peer


def test_parse_valid_config_normalises() -> None:
    k = new_key()
    payload = config_payload(7, [{
        "public_key": k, "allowed_ips": ["fd8a:0::2/128", "10.8.0.2/32"],
        "destinations": ["10.20.0.0/24", "10.20.1.0/24", "10.20.0.0/25", "fd00:20::/64"],
    }], address6="fd8a::1/64")
    desired, skipped = parse_desired(payload)
    assert skipped == []
    assert desired.revision == 7
    assert desired.addresses == ["10.8.0.1/24", "fd8a::1/64"]
    assert desired.listen_port == 51820
    p = desired.peers[k]
    assert p.allowed_ips == ("10.8.0.2/32", "fd8a::2/128")
    assert p.destinations == ("10.20.0.0/23", "fd00:20::/64")  # overlaps collapsed


def test_dns_servers_parsed_canonical_and_optional() -> None:
    payload = config_payload(1, [])
    assert parse_desired(payload)[0].dns == ()
    payload["interface"]["dns"] = ["10.8.0.1", "FD8A:0::1", "10.8.0.1"]
    assert parse_desired(payload)[0].dns == ("10.8.0.1", "fd8a::1")
    for bad in (["10.8.0.0/24"], "10.8.0.1", [1], ["10.8.0.1\n"]):
        payload["interface"]["dns"] = bad
        with pytest.raises(InvalidConfig, match=r"interface\.dns"):
            parse_desired(payload)


def test_address6_absent_or_null() -> None:
    payload = config_payload(1, [])
    del payload["interface"]["address6"]
    assert parse_desired(payload)[0].address6 is None
    assert parse_desired(config_payload(1, []))[0].address6 is None


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"public_key": "not-a-key", "allowed_ips": ["10.8.0.9/32"]}, "peers[1].public_key"),
        ({"public_key": "KEY", "allowed_ips": ["10.8.0.300/32"]}, "peers[1].allowed_ips"),
        ({"public_key": "KEY", "allowed_ips": ["10.8.0.9/32"], "destinations": ["10.20.0.1/24"]},
         "peers[1].destinations"),
        ({"public_key": "KEY", "allowed_ips": ["10.8.0.9/32"], "destinations": "10.20.0.0/24"},
         "peers[1].destinations"),
        ({"public_key": "KEY", "allowed_ips": ["10.8.0.0/28"]}, "peers[1].allowed_ips"),
        ({"public_key": "KEY", "allowed_ips": []}, "peers[1].allowed_ips"),
        ({"public_key": "KEY", "allowed_ips": ["10.8.0.1/32"]}, "peers[1].allowed_ips"),
        ({"public_key": "KEY", "allowed_ips": ["10.8.0.2/32"]}, "peers[1].allowed_ips"),
        ("a string", "peers[1]"),
    ],
)
def test_bad_peer_is_skipped_rest_applied(bad: object, field: str) -> None:
    good1, good2, other = new_key(), new_key(), new_key()
    if isinstance(bad, dict) and bad.get("public_key") == "KEY":
        bad = {**bad, "public_key": other}
    payload = config_payload(3, [peer(good1, 2, "10.20.0.0/24"), bad,
                                 peer(good2, 3, "10.30.0.0/24")])
    desired, skipped = parse_desired(payload)
    assert set(desired.peers) == {good1, good2}
    assert len(skipped) == 1
    assert skipped[0].index == 1
    assert skipped[0].field == field
    # A valid key is named in the report (it is public); an invalid one is never echoed.
    assert skipped[0].public_key in (None, other)
    assert "not-a-key" not in repr(skipped)


def test_duplicate_key_and_own_key_skipped() -> None:
    k, own = new_key(), new_key()
    payload = config_payload(1, [peer(k, 2), peer(k, 3), peer(own, 4)])
    desired, skipped = parse_desired(payload, own_public_key=own)
    assert list(desired.peers) == [k]
    assert [s.reason for s in skipped] == ["duplicate peer", "is the gateway's own key"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.pop("revision"),
        lambda p: p.update(revision="3"),
        lambda p: p.update(revision=True),
        lambda p: p.update(interface=None),
        lambda p: p["interface"].update(address="fd8a::1/64"),
        lambda p: p["interface"].update(address="10.8.0.1/33"),
        lambda p: p["interface"].update(address6="10.8.0.1/24"),
        lambda p: p["interface"].update(listen_port=70000),
        lambda p: p.update(peers={}),
    ],
)
def test_bad_interface_rejects_whole_config(mutate: object) -> None:
    payload = config_payload(1, [peer(new_key(), 2)])
    mutate(payload)  # type: ignore[operator]
    with pytest.raises(InvalidConfig):
        parse_desired(payload)


def _state(**peers: tuple[str, ...]) -> InterfaceState:
    return InterfaceState("PUB", 51820, None,
                          {k: PeerState(k, frozenset(v)) for k, v in peers.items()})


def test_plan_add_update_remove_and_leave_unchanged_alone() -> None:
    a, b, c, d = new_key(), new_key(), new_key(), new_key()
    desired, _ = parse_desired(config_payload(2, [
        peer(a, 2), peer(b, 3), peer(d, 5)]))
    actual = InterfaceState("PUB", 51820, None, {
        a: PeerState(a, frozenset({"10.8.0.2/32"}), endpoint="198.51.100.7:4000",
                     latest_handshake=1700000000, rx_bytes=10),
        b: PeerState(b, frozenset({"10.8.0.9/32"})),
        c: PeerState(c, frozenset({"10.8.0.4/32"})),
    })
    plan = plan_peers(desired.peers, actual)
    assert [p.public_key for p in plan.add] == [d]
    assert [p.public_key for p in plan.update] == [b]
    assert plan.remove == (c,)
    assert plan.unchanged == 1
    assert plan.changes == 3
    assert not plan.empty


def test_plan_empty_when_converged_regardless_of_order() -> None:
    a = new_key()
    desired, _ = parse_desired(config_payload(2, [{
        "public_key": a, "allowed_ips": ["fd8a::2/128", "10.8.0.2/32"], "destinations": []}]))
    actual = InterfaceState("PUB", 51820, None,
                            {a: PeerState(a, frozenset({"10.8.0.2/32", "fd8a::2/128"}))})
    assert plan_peers(desired.peers, actual).empty


def test_empty_peer_list_removes_everything() -> None:
    a = new_key()
    desired, _ = parse_desired(config_payload(9, []))
    plan = plan_peers(desired.peers, InterfaceState("PUB", 1, None,
                                                    {a: PeerState(a, frozenset())}))
    assert plan.remove == (a,)
