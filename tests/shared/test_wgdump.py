"""The shared ``wg show dump`` parser on real tool output, and its refusals of anything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexavpn_client import errors
from nexavpn_client.tunnel import parse_wg_dump
from nexavpn_gateway import wg
from nexavpn_shared import wgdump
from nexavpn_shared.wgdump import DumpParseError, parse_dump

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wg"


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def _private_key(text: str) -> str:
    return text.splitlines()[0].split("\t")[0]


def test_gateway_dump_every_field() -> None:
    text = _fixture("dump_peers.txt")
    state = parse_dump(text)
    assert state.public_key == "itUZbciO0OPDlahGDYrc7v6JpkSwufiF9qZ6Kq/gvyg="
    assert (state.listen_port, state.fwmark) == (51820, None)
    assert len(state.peers) == 4
    live = state.peers["xBzPSj7F17R3zrMFE7PeW4l4v/6B66xUJ75iokw0MB8="]
    assert live.has_preshared_key and live.endpoint == "192.0.2.2:41462"
    assert live.allowed_ips == {"10.8.0.2/32", "fd8a::2/128"}
    assert live.listed_ips == ("10.8.0.2/32", "fd8a::2/128")
    assert (live.latest_handshake, live.rx_bytes, live.tx_bytes) == (1795802004, 564, 476)
    assert live.persistent_keepalive is None
    bare = state.peers["ZOT3b1bINlkUHUz/ohcQaJWwWKB/1iu+ZJN5RuOmXwY="]
    assert bare.allowed_ips == frozenset() and bare.endpoint is None
    assert not bare.has_preshared_key and bare.latest_handshake == 0
    v6 = state.peers["U+aavEH6iToF4e1TyO9kNgjlppZnHN7dKo+BhJWYUjA="]
    assert v6.endpoint == "[2001:db8::1]:51820" and v6.persistent_keepalive == 25
    assert _private_key(text) not in repr(state)


def test_new_interface_and_client_dumps() -> None:
    fresh = parse_dump(_fixture("dump_new_interface.txt"))
    assert fresh.public_key is None and fresh.listen_port == 50132 and not fresh.peers
    client = parse_dump(_fixture("dump_client.txt"))
    (only,) = client.peers.values()
    assert only.public_key == "itUZbciO0OPDlahGDYrc7v6JpkSwufiF9qZ6Kq/gvyg="
    assert only.allowed_ips == {"10.8.0.0/24"} and only.persistent_keepalive == 25


def test_full_tunnel_dump_has_a_hexadecimal_fwmark() -> None:
    state = parse_dump(_fixture("dump_full_tunnel.txt"))
    assert state.fwmark == 0xCA6C and state.listen_port == 51999
    (peer,) = state.peers.values()
    assert peer.listed_ips == ("0.0.0.0/0", "::/0") and peer.endpoint == "192.0.2.9:51820"


HEAD = "(none)\t(none)\t51820\toff"
KEY = "RK6biLFhTQLQmhB4qlkaDel3Y2pYW9UkHpH1+K3RTCI="
PEER = f"{KEY}\t(none)\t(none)\t10.8.0.3/32\t0\t0\t0\toff"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty dump"),
        ("\n\n", "empty dump"),
        ("(none)\t(none)\t51820\n", "4 fields"),
        ("(none)\t(none)\tport\toff\n", "listen port"),
        ("(none)\t(none)\t-1\toff\n", "listen port"),
        ("(none)\tnot-a-key\t51820\toff\n", "public key"),
        ("(none)\t(none)\t51820\t0xZZ\n", "fwmark"),
        (f"{HEAD}\n{PEER}\t9\n", "8 fields"),
        (f"{HEAD}\nwg0\t{PEER}\n", "8 fields"),  # `wg show all dump` is another format
        (f"{HEAD}\n{PEER.replace(KEY, 'k')}\n", "peer public key"),
        (f"{HEAD}\n{PEER.replace('10.8.0.3/32', '10.8.0.3')}\n", "CIDRs"),
        (f"{HEAD}\n{PEER.replace('(none)', 'host', 1)}\n", "preshared key"),
        (f"{HEAD}\n{PEER.replace(chr(9) + '0' + chr(9), chr(9) + '1e3' + chr(9), 1)}\n",
         "latest handshake"),
        (f"{HEAD}\n{PEER}\n{PEER}\n", "twice"),
        (f"{HEAD}\n\n{PEER}\n", "line 2"),
    ],
)
def test_malformed_dump_raises_naming_the_problem(text: str, says: str) -> None:
    with pytest.raises(DumpParseError, match=says):
        parse_dump(text)


def test_a_truncated_real_dump_raises() -> None:
    text = _fixture("dump_peers.txt")
    cut = text[: text.rindex("\t")]  # the last peer line loses its last field
    with pytest.raises(DumpParseError, match="line 5"):
        parse_dump(cut)


def test_agent_and_client_use_the_shared_parser() -> None:
    assert wg.parse_dump is wgdump.parse_dump and wg.DumpParseError is DumpParseError
    peers = parse_wg_dump(_fixture("dump_peers.txt"))
    assert [p.public_key for p in peers] == [
        ln.split("\t")[0] for ln in _fixture("dump_peers.txt").splitlines()[1:]
    ]
    # The client's words for output it cannot read: a TunnelError, never an empty peer list.
    with pytest.raises(errors.TunnelError, match="Could not read the tunnel's state"):
        parse_wg_dump("")
    with pytest.raises(errors.TunnelError):
        parse_wg_dump(f"{HEAD}\n{PEER}\textra\n")
