"""WireGuard (Curve25519) keys, byte-for-byte compatible with ``wg genkey`` and ``wg pubkey``.

Private keys are made where they are used and never leave; nothing here logs a key or puts one
in an exception message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY_LEN = 32
KEY_LEN_BASE64 = 44

__all__ = [
    "KEY_LEN",
    "KEY_LEN_BASE64",
    "InvalidKey",
    "KeyPair",
    "generate_keypair",
    "generate_private_key",
    "is_valid_key",
    "public_key_from_private",
    "validate_key",
]


class InvalidKey(ValueError):
    """A value is not a WireGuard key (44 base64 characters of 32 bytes); never echoes it."""

    def __init__(self, field: str = "public_key", message: str | None = None) -> None:
        self.field = field
        self.message = message or "must be a WireGuard key: 44 base64 characters encoding 32 bytes"
        super().__init__(f"{field}: {self.message}")


def _decode(value: str) -> bytes | None:
    """Decode like wg's key_from_base64: exactly 44 chars, 32 bytes, canonical padding bits."""
    if not isinstance(value, str) or len(value) != KEY_LEN_BASE64 or not value.isascii():
        return None
    if value[-1] != "=" or value[-2] == "=":
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != KEY_LEN:
        return None
    # wg rejects keys whose last character carries non-zero unused bits; so must we.
    if base64.b64encode(raw).decode("ascii") != value:
        return None
    return raw


def _clamp(raw: bytes) -> bytes:
    """Clamp a scalar exactly as wg genkey (curve25519_clamp_secret) does."""
    b = bytearray(raw)
    b[0] &= 248
    b[31] = (b[31] & 127) | 64
    return bytes(b)


def generate_private_key() -> str:
    """Return a fresh clamped private key in base64, like ``wg genkey``."""
    return base64.b64encode(_clamp(secrets.token_bytes(KEY_LEN))).decode("ascii")


def public_key_from_private(private_key: str) -> str:
    """Derive the public key of ``private_key`` exactly as ``wg pubkey`` does."""
    raw = _decode(private_key)
    if raw is None:
        raise InvalidKey("private_key")
    pub = X25519PrivateKey.from_private_bytes(_clamp(raw)).public_key()
    return base64.b64encode(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def is_valid_key(value: object) -> bool:
    """True when ``value`` is a string that wg itself would accept as a key."""
    return isinstance(value, str) and _decode(value) is not None


def validate_key(value: object, field: str = "public_key") -> str:
    """Return ``value`` if it is a valid WireGuard key, else raise InvalidKey naming ``field``."""
    if not isinstance(value, str):
        raise InvalidKey(field, "must be a string holding a WireGuard key")
    if _decode(value) is None:
        raise InvalidKey(field)
    return value


@dataclass(frozen=True)
class KeyPair:
    """A private/public key pair; the repr shows only the public key."""

    private_key: str = field(repr=False)
    public_key: str

    def __repr__(self) -> str:
        return f"KeyPair(public_key={self.public_key!r}, private_key=<hidden>)"


def generate_keypair() -> KeyPair:
    """Make a new key pair locally (the private key must never be sent anywhere)."""
    private = generate_private_key()
    return KeyPair(private_key=private, public_key=public_key_from_private(private))
