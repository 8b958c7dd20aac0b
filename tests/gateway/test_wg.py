"""Parsing real ``wg show dump`` output and the exact ``wg`` command lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexavpn_gateway import wg
from nexavpn_shared.wgconf import parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wg"


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_parse_new_interface_has_no_key_and_no_peers() -> None:
    state = wg.parse_dump(_fixture("dump_new_interface.txt"))
    assert state.public_key is None
    assert state.listen_port == 50132
    assert state.fwmark is None
    assert state.peers == {}


def test_parse_gateway_dump_with_handshake_and_stats() -> None:
    text = _fixture("dump_peers.txt")
    state = wg.parse_dump(text)
    assert state.public_key == "itUZbciO0OPDlahGDYrc7v6JpkSwufiF9qZ6Kq/gvyg="
    assert state.listen_port == 51820
    assert len(state.peers) == 4
    client = state.peers["xBzPSj7F17R3zrMFE7PeW4l4v/6B66xUJ75iokw0MB8="]
    assert client.allowed_ips == frozenset({"10.8.0.2/32", "fd8a::2/128"})
    assert client.endpoint == "192.0.2.2:41462"
    assert client.latest_handshake == 1795802004
    assert (client.rx_bytes, client.tx_bytes) == (564, 476)
    assert client.has_preshared_key is True
    assert client.persistent_keepalive is None
    bare = state.peers["ZOT3b1bINlkUHUz/ohcQaJWwWKB/1iu+ZJN5RuOmXwY="]
    assert bare.allowed_ips == frozenset()
    assert bare.endpoint is None
    assert bare.latest_handshake == 0
    v6 = state.peers["U+aavEH6iToF4e1TyO9kNgjlppZnHN7dKo+BhJWYUjA="]
    assert v6.endpoint == "[2001:db8::1]:51820"
    assert v6.persistent_keepalive == 25
    assert v6.allowed_ips == frozenset({"10.8.0.4/32", "10.30.0.0/24"})


def test_parsed_state_keeps_no_secret() -> None:
    text = _fixture("dump_peers.txt")
    private_key = text.split("\t", 1)[0]
    psk = text.splitlines()[-1].split("\t")[1]
    state = wg.parse_dump(text)
    dumped = repr(state) + repr(list(state.peers.values()))
    assert private_key not in dumped
    assert psk not in dumped


def test_parse_client_side_dump() -> None:
    state = wg.parse_dump(_fixture("dump_client.txt"))
    (only,) = state.peers.values()
    assert only.allowed_ips == frozenset({"10.8.0.0/24"})
    assert only.persistent_keepalive == 25


@pytest.mark.parametrize(
    "text",
    ["", "a\tb\tc\n", "(none)\t(none)\tx\toff\n", "(none)\t(none)\t1\toff\nk\t(none)\t(none)\n",
     "(none)\t(none)\t1\toff\nk\t(none)\t(none)\t(none)\tnope\t0\t0\toff\n"],
)
def test_parse_rejects_unexpected_output(text: str) -> None:
    with pytest.raises(wg.DumpParseError):
        wg.parse_dump(text)


def test_argv_builders() -> None:
    assert wg.show_dump_argv("wg0") == ["wg", "show", "wg0", "dump"]
    assert wg.set_interface_argv("wg0", "/s/private.key", 51820) == [
        "wg", "set", "wg0", "listen-port", "51820", "private-key", "/s/private.key"]
    assert wg.syncconf_argv("wg0") == ["wg", "syncconf", "wg0", "/dev/stdin"]


def test_set_peers_one_call_removals_first() -> None:
    argvs = wg.set_peers_argvs(
        "wg0", [("K1", ("10.8.0.2/32",)), ("K2", ("10.8.0.3/32", "fd8a::3/128"))], ["K9"])
    assert argvs == [[
        "wg", "set", "wg0",
        "peer", "K9", "remove",
        "peer", "K1", "allowed-ips", "10.8.0.2/32",
        "peer", "K2", "allowed-ips", "10.8.0.3/32,fd8a::3/128",
    ]]


def test_set_peers_chunks_by_size_without_splitting_a_peer() -> None:
    upserts = [(f"K{i:043d}", (f"10.8.{i // 256}.{i % 256}/32",)) for i in range(1000)]
    argvs = wg.set_peers_argvs("wg0", upserts, max_bytes=10_000)
    assert len(argvs) > 1
    seen = []
    for argv in argvs:
        assert argv[:3] == ["wg", "set", "wg0"]
        assert sum(len(a) + 1 for a in argv[3:]) <= 10_000
        rest = argv[3:]
        assert len(rest) % 4 == 0  # whole "peer K allowed-ips X" groups only
        seen += rest[1::4]
    assert seen == [k for k, _ in upserts]


def test_set_peers_nothing_to_do() -> None:
    assert wg.set_peers_argvs("wg0", [], []) == []


def test_render_syncconf_keeps_the_key_and_round_trips() -> None:
    from nexavpn_shared.keys import generate_private_key
    from tests.gateway.fakes import new_key

    k1, k2, private = new_key(), new_key(), generate_private_key()
    text = wg.render_syncconf(private, 51820, [(k1, ("10.8.0.2/32",)), (k2, ("10.8.0.3/32",))])
    cfg = parse(text)
    # syncconf replaces the interface config: without the key it would wipe it.
    assert cfg.interface.private_key == private
    assert cfg.interface.listen_port == 51820
    assert [(p.public_key, p.allowed_ips) for p in cfg.peers] == [
        (k1, ("10.8.0.2/32",)), (k2, ("10.8.0.3/32",))]
