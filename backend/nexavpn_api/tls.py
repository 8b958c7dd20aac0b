"""A self-signed certificate for the embedded server, so the desktop client can pin it."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOCAL_NAMES = ("localhost", "127.0.0.1")


def certificate_names(bind_host: str, public_host: str | None) -> list[str]:
    """The names a self-signed certificate carries: the public name first, then local ones."""
    names: list[str] = []
    for name in (public_host, bind_host, *LOCAL_NAMES):
        if name and name not in ("0.0.0.0", "::") and name not in names:  # noqa: S104
            names.append(name)
    return names


def _san_names(cert: x509.Certificate) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {*ext.get_values_for_type(x509.DNSName),
            *(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))}


def covers(cert_path: Path, hostnames: list[str]) -> bool:
    """True when the certificate's SANs name every host in ``hostnames``."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    return set(hostnames) <= _san_names(cert)


def is_self_signed(cert_path: Path) -> bool:
    """Issuer equals subject (what clients and agents must pin rather than verify by CA)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.issuer == cert.subject


def ensure_self_signed(directory: Path, hostnames: list[str]) -> tuple[Path, Path, bool]:
    """A key (0600) and a self-signed cert for ``hostnames`` in ``directory``; made only when
    missing or when the existing one lacks a name (a new public host). Returns (cert, key,
    made_now)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    if cert_path.exists() and key_path.exists():
        if covers(cert_path, hostnames):
            return cert_path, key_path, False
        existing = x509.load_pem_x509_certificate(cert_path.read_bytes())
        hostnames = [*hostnames, *sorted(_san_names(existing) - set(hostnames))]
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in hostnames:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path, True


def cert_fingerprint(cert_path: Path) -> str:
    """SHA-256 of the DER certificate, as colon-separated hex (what users compare and pin)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
