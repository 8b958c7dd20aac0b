"""Keys must match the real ``wg`` tool byte for byte and never leak a private key."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest

from nexavpn_shared.keys import (
    InvalidKey,
    KeyPair,
    generate_keypair,
    generate_private_key,
    is_valid_key,
    public_key_from_private,
    validate_key,
)

WG = shutil.which("wg")
needs_wg = pytest.mark.skipif(WG is None, reason="wireguard-tools (wg) is not installed")


def _wg(*args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [WG, *args], input=stdin, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


def test_generated_private_key_is_clamped_like_wg_genkey() -> None:
    for _ in range(200):
        raw = base64.b64decode(generate_private_key())
        assert len(raw) == 32
        assert raw[0] & 7 == 0
        assert raw[31] & 128 == 0
        assert raw[31] & 64 == 64


def test_private_keys_differ() -> None:
    assert len({generate_private_key() for _ in range(100)}) == 100


@needs_wg
def test_public_key_matches_wg_pubkey_for_wg_genkey_keys() -> None:
    for _ in range(25):
        private = _wg("genkey")
        assert is_valid_key(private)
        assert public_key_from_private(private) == _wg("pubkey", stdin=private + "\n")


@needs_wg
def test_our_private_keys_are_accepted_by_wg_pubkey() -> None:
    for _ in range(25):
        pair = generate_keypair()
        assert _wg("pubkey", stdin=pair.private_key + "\n") == pair.public_key


@needs_wg
def test_unclamped_and_extreme_scalars_match_wg() -> None:
    """wg pubkey clamps whatever it is given; so must we."""
    for raw in (b"\x00" * 32, b"\xff" * 32, bytes(range(32)), bytes(range(255, 223, -1))):
        key = base64.b64encode(raw).decode()
        assert public_key_from_private(key) == _wg("pubkey", stdin=key + "\n")


@needs_wg
def test_wg_accepts_exactly_what_we_accept() -> None:
    good = _wg("genkey")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    noncanonical = good[:42] + alphabet[alphabet.index(good[42]) | 1] + "="
    for key in (good, noncanonical, good[:-1], good + "=", good.replace("=", "A")):
        done = subprocess.run(
            [WG, "pubkey"], input=key + "\n", capture_output=True, text=True, timeout=10
        )
        assert (done.returncode == 0) == is_valid_key(key), key


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        None,
        42,
        b"A" * 44,
        "A" * 44,  # no padding
        "A" * 43 + "=" + "\n",
        " " + "A" * 42 + "=",
        "A" * 42 + "==",  # 31 bytes
        "A" * 42 + "B=",  # non-zero unused bits
        "A" * 41 + "-_=",  # urlsafe alphabet
        "A" * 42 + "\u00c4=",
        "\n[Peer]\nPublicKey = " + "A" * 20,
    ],
)
def test_invalid_keys(value: object) -> None:
    assert not is_valid_key(value)
    with pytest.raises(InvalidKey):
        validate_key(value)


def test_validate_key_returns_value_and_names_field_without_echo() -> None:
    key = generate_keypair().public_key
    assert validate_key(key) == key
    secret = "SECRETSECRETSECRETSECRETSECRETSECRETSECRE=="
    with pytest.raises(InvalidKey) as info:
        validate_key(secret, "peer_key")
    assert info.value.field == "peer_key"
    assert isinstance(info.value, ValueError)
    assert "SECRET" not in str(info.value)
    assert "SECRET" not in repr(info.value)


def test_public_key_from_invalid_private_key_does_not_echo_it() -> None:
    with pytest.raises(InvalidKey) as info:
        public_key_from_private("not-a-key-but-secret")
    assert "secret" not in str(info.value)
    assert info.value.field == "private_key"


def test_keypair_repr_hides_private_key() -> None:
    pair = generate_keypair()
    assert isinstance(pair, KeyPair)
    assert pair.private_key not in repr(pair)
    assert pair.private_key not in str(pair)
    assert pair.public_key in repr(pair)
    assert public_key_from_private(pair.private_key) == pair.public_key
    with pytest.raises(AttributeError):
        pair.private_key = "x"  # type: ignore[misc]


def test_known_vector() -> None:
    """RFC 7748 section 6.1 Alice's key pair (wg uses the same X25519)."""
    alice_priv = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    alice_pub = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    assert public_key_from_private(base64.b64encode(alice_priv).decode()) == (
        base64.b64encode(alice_pub).decode()
    )
