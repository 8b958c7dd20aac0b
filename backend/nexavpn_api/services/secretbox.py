"""Encryption at rest for small secrets (TOTP seeds) with a key derived from SECRET_KEY.

A database dump alone then does not give an attacker anyone's second factor. AES-GCM with a
random 96-bit nonce; the key comes from HKDF-SHA256 over the server's SECRET_KEY with a
purpose label, so it is never the key that signs anything else.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "v1:"


def _key(purpose: bytes) -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nexavpn " + purpose).derive(
        secret
    )


def seal(plaintext: str, purpose: bytes) -> str:
    """Encrypt ``plaintext``; the result is ASCII and bound to ``purpose``."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(purpose)).encrypt(nonce, plaintext.encode(), purpose)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_sealed(token: str, purpose: bytes) -> str | None:
    """Decrypt what ``seal`` made; None when it was made with another key or altered."""
    if not token.startswith(PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(token[len(PREFIX) :].encode())
        return AESGCM(_key(purpose)).decrypt(raw[:12], raw[12:], purpose).decode()
    except (ValueError, InvalidTag):
        return None
