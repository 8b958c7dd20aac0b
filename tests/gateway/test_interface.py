"""Key file handling and the interface verbs, with exact argv via the recording runner."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nexavpn_gateway.interface import KeyFileError, WireGuardInterface, ensure_private_key
from nexavpn_shared.keys import is_valid_key
from tests.gateway.fakes import FakeWorld


def test_key_generated_once_with_0600(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path, pub = ensure_private_key(state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert is_valid_key(path.read_text().strip())
    assert is_valid_key(pub) and pub != path.read_text().strip()
    path2, pub2 = ensure_private_key(state)
    assert (path2, pub2) == (path, pub)  # restart keeps the identity


def test_loose_key_file_mode_is_fixed(tmp_path: Path) -> None:
    path, pub = ensure_private_key(tmp_path)
    path.chmod(0o644)
    assert ensure_private_key(tmp_path)[1] == pub
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_garbage_key_file_refused_without_echo(tmp_path: Path) -> None:
    (tmp_path / "private.key").write_text("SECRET-GARBAGE\n")
    (tmp_path / "private.key").chmod(0o600)
    with pytest.raises(KeyFileError) as info:
        ensure_private_key(tmp_path)
    assert "SECRET-GARBAGE" not in str(info.value)


def test_create_falls_back_to_wireguard_go(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwg1")
    key, _ = ensure_private_key(tmp_path)
    iface = WireGuardInterface(world.runner, "nxwg1")
    iface.ensure(key, 51820)
    assert world.runner.argvs == [
        ("wg", "show", "nxwg1", "listen-port"),
        ("ip", "link", "add", "dev", "nxwg1", "type", "wireguard"),
        ("wireguard-go", "nxwg1"),
        ("wg", "show", "nxwg1", "listen-port"),
        ("wg", "set", "nxwg1", "listen-port", "51820", "private-key", str(key)),
        ("ip", "link", "set", "dev", "nxwg1", "up"),
    ]
    assert iface.userspace
    assert all(c.timeout for c in world.runner.calls)


def test_create_uses_kernel_when_available(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwg1", kernel=True)
    key, _ = ensure_private_key(tmp_path)
    WireGuardInterface(world.runner, "nxwg1").ensure(key, 51820)
    assert ("wireguard-go", "nxwg1") not in world.runner.argvs
    assert ("ip", "link", "add", "dev", "nxwg1", "type", "wireguard") in world.runner.argvs


def test_existing_interface_is_not_recreated(tmp_path: Path) -> None:
    world = FakeWorld(name="nxwg1", exists=True)
    key, _ = ensure_private_key(tmp_path)
    WireGuardInterface(world.runner, "nxwg1").ensure(key, 51820)
    assert not any(a[:3] == ("ip", "link", "add") for a in world.runner.argvs)


def test_set_addresses_adds_missing_and_removes_stale() -> None:
    world = FakeWorld(name="nxwg1", exists=True, addresses=["10.9.0.1/24", "10.8.0.1/24"])
    iface = WireGuardInterface(world.runner, "nxwg1")
    assert iface.set_addresses(["10.8.0.1/24", "fd8a::1/64"])
    assert world.addresses == ["10.8.0.1/24", "fd8a::1/64"]
    assert ("ip", "address", "del", "10.9.0.1/24", "dev", "nxwg1") in world.runner.argvs
    assert not iface.set_addresses(["10.8.0.1/24", "fd8a::1/64"])
