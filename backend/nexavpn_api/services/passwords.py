"""Password hashing with argon2id; a dummy verify keeps unknown-user logins as slow as real ones."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_LENGTH = 8
MAX_LENGTH = 1024


def hash_password(password: str) -> str:
    """argon2id hash (salted, parameters embedded in the string)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no hash, burn the same time and say no."""
    try:
        if password_hash is None:
            _hasher.verify(_DUMMY_HASH, password + "\0x")
            return False
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


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
