"""Certificate pinning by SHA-256 fingerprint, the trust model for a self-signed server.

A pin is checked twice: the certificate the server presents is read once (without trusting
it) and accepted only when its SHA-256 digest equals the pin; from then on that certificate is
the only trust anchor of a verifying context (``CERT_REQUIRED``, validity dates checked,
``VERIFY_X509_PARTIAL_CHAIN`` so a leaf can be an anchor) and urllib3's ``assert_fingerprint``
checks the digest again on every new connection before a byte of HTTP is sent. Host names are
not matched for a pin: the operator trusted exactly this certificate. Verification is never
switched off. (The requests adapter that applies a pin lives with its user, the gateway agent:
this package imports only the standard library and cryptography.)
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl

from .exc_chain import exception_chain

_HEX64 = re.compile(r"[0-9a-f]{64}")


class FingerprintError(ValueError):
    """A pin that is not a SHA-256 fingerprint (64 hex digits, colons allowed)."""


class PinMismatch(Exception):
    """The server presented a certificate whose SHA-256 digest is not the pinned one."""

    def __init__(self, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"the server's certificate has SHA-256 {format_fingerprint(actual)}, not the pinned "
            f"{format_fingerprint(expected)}"
        )


def normalize_fingerprint(value: str) -> str:
    """Accept ``AB:CD:…``, ``sha256:abcd…`` or plain hex; return 64 lowercase hex digits."""
    if not isinstance(value, str):
        raise FingerprintError("a SHA-256 fingerprint is 64 hex digits (colons allowed)")
    text = value.strip().lower()
    for prefix in ("sha256:", "sha256 ", "sha-256:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    text = text.replace(":", "").replace(" ", "")
    if not _HEX64.fullmatch(text):
        raise FingerprintError("a SHA-256 fingerprint is 64 hex digits (colons allowed)")
    return text


def format_fingerprint(fp: str) -> str:
    """Show a fingerprint the way ``openssl x509 -fingerprint -sha256`` does (AB:CD:…)."""
    digits = normalize_fingerprint(fp).upper()
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2))


def der_fingerprint(der: bytes) -> str:
    """SHA-256 fingerprint (64 lowercase hex digits) of a DER certificate."""
    return hashlib.sha256(der).hexdigest()


def peek_certificate(host: str, port: int, timeout: float = 10.0) -> bytes:
    """The DER certificate a server presents, read without trusting it (only to compare).

    The handshake completes without verification, then the socket is closed; nothing is sent
    and the result is never trusted unless its digest equals a pin the operator gave.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # read-only peek; see the module docstring
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server presented no certificate")
    return der


def pinned_context(der: bytes) -> ssl.SSLContext:
    """A verifying context whose only trust anchor is this (pinned) certificate."""
    ctx = ssl.create_default_context(cadata=ssl.DER_cert_to_PEM_cert(der))
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.check_hostname = False  # the pin, not the name, identifies the server
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def is_pin_failure(exc: BaseException) -> bool:
    """True when urllib3 refused a connection because the digest differs from the pin."""
    return any("Fingerprints did not match" in str(cur) for cur in exception_chain(exc))
