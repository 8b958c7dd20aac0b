"""Local parts: keys vs the real wg, device fingerprint, atomic encrypted storage, import rules."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import pytest

from nexavpn_client import errors, fingerprint
from nexavpn_client.runner import RecordingRunner, SubprocessRunner
from nexavpn_client.secrets import MemoryStore
from nexavpn_client.secrets.base import SecretKey
from nexavpn_client.storage import StateStore, atomic_write
from nexavpn_shared import keys

needs_wg = pytest.mark.skipif(shutil.which("wg") is None, reason="wireguard-tools not installed")


# ------------------------------------------------------------------ keys vs wg


@needs_wg
def test_our_keys_match_wg_pubkey():
    for _ in range(5):
        pair = keys.generate_keypair()
        out = subprocess.run(["wg", "pubkey"], input=pair.private_key + "\n",
                             capture_output=True, text=True, timeout=10, check=True).stdout
        assert out.strip() == pair.public_key


@needs_wg
def test_wg_genkey_matches_our_pubkey():
    for _ in range(5):
        priv = subprocess.run(["wg", "genkey"], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
        pub = subprocess.run(["wg", "pubkey"], input=priv + "\n", capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        assert keys.public_key_from_private(priv) == pub


# ------------------------------------------------------------------ fingerprint


def test_fingerprint_is_keyed_hash_of_machine_id():
    store = MemoryStore()
    fp = fingerprint.device_fingerprint(store, platform="linux",
                                        read_file=lambda p: "3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    assert len(fp) == 64 and all(c in "0123456789abcdef" for c in fp)
    assert "3d1219c7" not in fp
    import hashlib
    assert fp != hashlib.sha256(b"3d1219c7c4c5404aaa1f6d2a48adfda4").hexdigest()
    again = fingerprint.device_fingerprint(MemoryStore(), platform="linux",
                                           read_file=lambda p: "3d1219c7c4c5404aaa1f6d2a48adfda4")
    assert again == fp  # same machine, fresh install → same fingerprint
    other = fingerprint.device_fingerprint(store, platform="linux",
                                           read_file=lambda p: "ffffffffffffffffffffffffffffffff")
    assert other != fp
    assert store.keys() == []  # no fallback needed


def test_fingerprint_on_this_machine_is_stable():
    a = fingerprint.device_fingerprint(MemoryStore())
    b = fingerprint.device_fingerprint(MemoryStore())
    assert a == b


def test_fingerprint_macos_via_ioreg():
    out = ('+-o J314sAP  <class IOPlatformExpertDevice>\n    {\n'
           '      "IOPlatformUUID" = "12345678-ABCD-4321-8765-0123456789AB"\n    }\n')
    runner = RecordingRunner().on(["ioreg"], (0, out, ""))
    fp = fingerprint.device_fingerprint(MemoryStore(), platform="darwin", runner=runner)
    assert runner.argvs == [["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"]]
    assert fp == fingerprint.keyed_hash("12345678-abcd-4321-8765-0123456789ab")


def test_fingerprint_windows_machine_guid():
    fp = fingerprint.device_fingerprint(
        MemoryStore(), platform="win32",
        windows_reader=lambda: "b0e7a1f2-1111-2222-3333-444455556666")
    assert fp == fingerprint.keyed_hash("b0e7a1f2-1111-2222-3333-444455556666")


def test_fingerprint_fallback_random_kept_in_keyring():
    store = MemoryStore()

    def nothing(path):
        raise FileNotFoundError(path)

    first = fingerprint.device_fingerprint(store, platform="linux", read_file=nothing)
    assert store.get(SecretKey.MACHINE_ID)
    second = fingerprint.device_fingerprint(store, platform="linux", read_file=nothing)
    assert first == second and len(first) == 64
    runner = RecordingRunner().on(["ioreg"], (1, "", "boom"))
    third = fingerprint.device_fingerprint(store, platform="darwin", runner=runner)
    assert third == first


# ------------------------------------------------------------------ storage


def test_atomic_write_is_0600_and_replaces(tmp_path):
    path = tmp_path / "d" / "f.bin"
    atomic_write(path, b"one")
    atomic_write(path, b"two")
    assert path.read_bytes() == b"two"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.bin"]


def test_crash_mid_write_leaves_old_file(tmp_path, monkeypatch):
    store = StateStore(tmp_path, MemoryStore())
    store.save({"profile": {"revision": 1}})

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(errors.StorageError):
        store.save({"profile": {"revision": 2}})
    monkeypatch.undo()
    assert store.load() == {"profile": {"revision": 1}}
    assert [p.name for p in tmp_path.iterdir()] == ["state.bin"]  # no tmp file left


def test_state_is_encrypted_and_needs_its_key(tmp_path):
    secrets_store = MemoryStore()
    store = StateStore(tmp_path, secrets_store)
    store.save({"user": {"username": "alice-secret-name"}})
    assert b"alice-secret-name" not in store.path.read_bytes()
    assert store.load()["user"]["username"] == "alice-secret-name"
    secrets_store.set(SecretKey.PROFILE_KEY, "x" * 44)
    with pytest.raises(errors.ProfileCorrupt):
        store.load()
    secrets_store.delete(SecretKey.PROFILE_KEY)
    with pytest.raises(errors.ProfileCorrupt):
        store.load()


def test_truncated_state_is_reported_not_crashing(tmp_path):
    store = StateStore(tmp_path, MemoryStore())
    store.save({"a": 1})
    store.path.write_bytes(store.path.read_bytes()[:20])
    with pytest.raises(errors.ProfileCorrupt):
        store.load()


# ------------------------------------------------------------------ runner + rules


def test_subprocess_runner_errors():
    runner = SubprocessRunner()
    with pytest.raises(errors.CommandFailed) as info:
        runner.run(["nexavpn-no-such-tool-xyz"])
    assert info.value.returncode == 127
    with pytest.raises(errors.CommandFailed) as info:
        runner.run([sys.executable, "-c", "import sys; sys.stderr.write('bad thing'); "
                    "sys.exit(3)"])
    assert info.value.returncode == 3 and "bad thing" in str(info.value)
    with pytest.raises(errors.CommandFailed, match="timed out"):
        runner.run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.3)
    ok = runner.run([sys.executable, "-c", "import sys; print(sys.stdin.read())"], input="hi")
    assert ok.stdout.strip() == "hi"


def test_client_never_imports_qt_or_server():
    code = (
        "import sys, pkgutil, importlib, nexavpn_client\n"
        "for m in pkgutil.walk_packages(nexavpn_client.__path__, 'nexavpn_client.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'flask', 'nexavpn_api', 'nexavpn_desktop', 'nexavpn_gateway')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    assert out == "[]"


def test_error_docstrings_speak_to_users():
    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.ClientError):
            assert obj.__doc__ and obj.__doc__.strip()
            assert obj.default_message.endswith((".", ")"))
