"""What an admin needs to point agents and clients at this server: its URL and TLS fingerprint.

``nexavpn-server serve`` exports the certificate it serves (``NEXAVPN_TLS_CERT``) and the public
URL (``NEXAVPN_PUBLIC_URL``) to its workers; behind a proxy the operator sets the URL and there
is no certificate here (the proxy's certificate comes from a public or private CA).
"""

from __future__ import annotations

import hashlib
import os
import shlex
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

AGENT_TOKEN_FILE = "/etc/nexavpn/gateway.token"
AGENT_INTERFACE = "wg0"


@dataclass(frozen=True)
class CertInfo:
    """The served certificate, as an admin compares it."""

    fingerprint: str  # AB:CD:… (SHA-256 of the DER certificate)
    self_signed: bool
    subject: str
    not_after: datetime


def _format(digest_hex: str) -> str:
    up = digest_hex.upper()
    return ":".join(up[i:i + 2] for i in range(0, len(up), 2))


@lru_cache(maxsize=4)
def _read_cert(path: str, mtime_ns: int) -> CertInfo | None:
    """Parse once per file version (mtime in the key: a replaced certificate is re-read)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
    der = cert.public_bytes(serialization.Encoding.DER)
    return CertInfo(
        fingerprint=_format(hashlib.sha256(der).hexdigest()),
        self_signed=cert.issuer == cert.subject,
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
    )


def served_certificate() -> CertInfo | None:
    """The certificate this server presents itself (None behind a TLS-terminating proxy)."""
    path = os.environ.get("NEXAVPN_TLS_CERT", "").strip()
    if not path:
        return None
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError:
        return None
    return _read_cert(path, mtime)


def public_url(origin: str) -> str:
    """The URL agents and clients use: NEXAVPN_PUBLIC_URL, else ``origin`` (the view passes
    the origin of the request it serves)."""
    configured = os.environ.get("NEXAVPN_PUBLIC_URL", "").strip().rstrip("/")
    return configured or origin


def agent_command(listen_port: int, origin: str) -> str:
    """The full command that starts an agent against this server (pin included if needed)."""
    argv = ["nexavpn-gateway", "run", "--server", public_url(origin),
            "--token-file", AGENT_TOKEN_FILE, "--interface", AGENT_INTERFACE,
            "--listen-port", str(listen_port)]
    cert = served_certificate()
    if cert is not None and cert.self_signed:
        argv += ["--server-fingerprint", cert.fingerprint]
    return shlex.join(argv)


def summary(origin: str) -> dict[str, Any]:
    """GET /server-info; ``origin`` is the request's, used when no public URL is set."""
    cert = served_certificate()
    return {
        "public_url": public_url(origin),
        "tls": None if cert is None else {
            "fingerprint": cert.fingerprint,
            "self_signed": cert.self_signed,
            "subject": cert.subject,
            "not_after": cert.not_after,
        },
    }
