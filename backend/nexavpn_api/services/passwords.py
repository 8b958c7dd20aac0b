"""Password hashing with argon2id; a dummy verify keeps unknown-user logins as slow as real ones.

The cost parameters come from the environment (``NEXAVPN_ARGON2_TIME_COST``,
``NEXAVPN_ARGON2_MEMORY_KIB``, ``NEXAVPN_ARGON2_PARALLELISM``) and default to argon2-cffi's
production profile (RFC 9106 low-memory). Only the test suite lowers them: it hashes thousands of
passwords, and paying 50 ms each made it five times slower.
"""

from __future__ import annotations

import functools
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from ..green import run_cpu


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get("NEXAVPN_ARGON2_" + name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise RuntimeError(f"NEXAVPN_ARGON2_{name} must be an integer, got {raw!r}") from exc
    if value < 1:
        raise RuntimeError(f"NEXAVPN_ARGON2_{name} must be at least 1")
    return value


def argon2_parameters() -> dict[str, int]:
    """The configured cost (defaults: argon2-cffi's production profile)."""
    return {
        "time_cost": _env_int("TIME_COST", RFC_9106_LOW_MEMORY.time_cost),
        "memory_cost": _env_int("MEMORY_KIB", RFC_9106_LOW_MEMORY.memory_cost),
        "parallelism": _env_int("PARALLELISM", RFC_9106_LOW_MEMORY.parallelism),
    }


@functools.cache
def _hasher_for(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    return _hasher_for(**argon2_parameters())


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher_for(time_cost, memory_cost, parallelism).hash(secrets.token_urlsafe(16))

MIN_LENGTH = 8
MAX_LENGTH = 1024


def hash_password(password: str) -> str:
    """argon2id hash (salted, parameters embedded in the string); off the gevent hub."""
    return run_cpu(_hasher().hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no hash, burn the same time and say no.

    argon2-cffi releases the GIL, so under gevent the work runs in the hub's threadpool and the
    worker keeps answering other requests meanwhile.
    """
    hasher = _hasher()
    try:
        if password_hash is None:
            run_cpu(hasher.verify, _dummy_hash(**argon2_parameters()), password + "\0x")
            return False
        return bool(run_cpu(hasher.verify, password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password for first admins and resets (shown once, never stored in clear)."""
    return secrets.token_urlsafe(18)


def password_problem(password: str) -> str | None:
    """Why a password is unacceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Password must be at most {MAX_LENGTH} characters."
    return None
