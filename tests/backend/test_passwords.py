"""argon2 cost: production parameters are the default; the environment can only change them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from nexavpn_api.services import passwords


def test_production_parameters_are_the_default():
    """Without the NEXAVPN_ARGON2_* variables a fresh process hashes at argon2's production cost."""
    code = (
        "import os\n"
        "for k in list(os.environ):\n"
        "    k.startswith('NEXAVPN_ARGON2_') and os.environ.pop(k)\n"
        "from nexavpn_api.services import passwords\n"
        "print(passwords.hash_password('correct horse battery'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    params = f"m={RFC_9106_LOW_MEMORY.memory_cost},t={RFC_9106_LOW_MEMORY.time_cost},"
    assert params in out
    assert out.startswith("$argon2id$")
    assert PasswordHasher().verify(out, "correct horse battery")


def test_environment_sets_the_cost(monkeypatch):
    monkeypatch.setenv("NEXAVPN_ARGON2_TIME_COST", "2")
    monkeypatch.setenv("NEXAVPN_ARGON2_MEMORY_KIB", "16")
    monkeypatch.setenv("NEXAVPN_ARGON2_PARALLELISM", "1")
    h = passwords.hash_password("correct horse battery")
    assert "m=16,t=2,p=1" in h
    assert passwords.verify_password(h, "correct horse battery")
    assert not passwords.verify_password(h, "wrong horse battery")
    assert not passwords.verify_password(None, "anything at all")


def test_weaker_hashes_need_a_rehash(monkeypatch):
    monkeypatch.setenv("NEXAVPN_ARGON2_TIME_COST", "1")
    weak = passwords.hash_password("correct horse battery")
    monkeypatch.setenv("NEXAVPN_ARGON2_TIME_COST", "3")
    assert passwords.needs_rehash(weak)


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_bad_values_are_refused(monkeypatch, value):
    monkeypatch.setenv("NEXAVPN_ARGON2_TIME_COST", value)
    with pytest.raises(RuntimeError, match="NEXAVPN_ARGON2_TIME_COST"):
        passwords.hash_password("correct horse battery")
