"""Server URLs and TLS trust (system CAs, a CA file, or a pinned certificate).

Verification is never switched off. Three ways to trust a server:

* the system's CA store (plus certifi's bundle, for Python builds without system roots);
* a CA file the administrator handed out;
* a pinned certificate: its SHA-256 fingerprint (kept in the keyring) and its PEM. The pinned
  certificate becomes the only trust anchor (``VERIFY_X509_PARTIAL_CHAIN`` so a leaf can be an
  anchor), the chain and its validity dates are still verified with ``CERT_REQUIRED``, and
  urllib3's ``assert_fingerprint`` checks the peer certificate's digest on every new
  connection before a byte of HTTP is sent. Host names are not matched for a pin: the user
  trusted exactly this certificate.

:func:`peek_certificate` is the one place that completes a handshake without verifying: it only
reads the certificate the server presents, so its fingerprint can be shown to the user. It sends
no request and its result is never used to trust anything by itself.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from . import errors
from .net_errors import classify_exception

log = logging.getLogger(__name__)

_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_HEX64 = re.compile(r"[0-9a-f]{64}")


# ------------------------------------------------------------------ URLs


def normalize_server_url(url: str) -> str:
    """Return the origin ``https://host[:port]`` (any path dropped), or raise why not.

    http is refused; credentials, query strings and fragments are refused, because a URL that
    carries them is either a mistake or a trick.
    """
    if not isinstance(url, str) or not url.strip():
        raise errors.InvalidServerUrl("Enter the server address, e.g. https://vpn.example.com.")
    text = url.strip()
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in text):
        raise errors.InvalidServerUrl("The server address must not contain spaces or control "
                                      "characters.")
    if "://" not in text:
        raise errors.InvalidServerUrl(
            "The server address must start with https://, e.g. https://vpn.example.com."
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise errors.InvalidServerUrl("The port in the server address is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme == "http":
        raise errors.InsecureServerUrl()
    if scheme != "https":
        raise errors.InvalidServerUrl("The server address must start with https://.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise errors.InvalidServerUrl(
            "The server address must not contain a user name or password."
        )
    if parts.query or text.endswith("?"):
        raise errors.InvalidServerUrl("The server address must not contain a query (?…).")
    if parts.fragment or "#" in text:
        raise errors.InvalidServerUrl("The server address must not contain a fragment (#…).")
    host = parts.hostname or ""
    if not _valid_host(host):
        raise errors.InvalidServerUrl("The host name in the server address is not valid.")
    if port is not None and not 1 <= port <= 65535:
        raise errors.InvalidServerUrl("The port in the server address is not valid.")
    if port == 0:
        raise errors.InvalidServerUrl("The port in the server address is not valid.")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != 443:
        netloc += f":{port}"
    # The API lives at the origin (contract: base path /api/v1); an address copied from the
    # browser (https://host:8443/login, …/devices/3) is reduced to that origin.
    return urlunsplit(("https", netloc.lower(), "", "", ""))


def _valid_host(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return all(_HOST_LABEL.fullmatch(label) for label in labels)


def host_port(url: str) -> tuple[str, int]:
    """The host and port a normalised server URL points at."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 443


# ------------------------------------------------------------------ fingerprints


def normalize_fingerprint(value: str) -> str:
    """Accept ``AB:CD:…``, ``sha256:abcd…`` or plain hex; return 64 lowercase hex digits."""
    if not isinstance(value, str):
        raise errors.InvalidFingerprint()
    text = value.strip().lower()
    if text.startswith("sha256:"):
        text = text[len("sha256:") :]
    elif text.startswith("sha256 "):
        text = text[len("sha256 ") :]
    text = text.replace(":", "").replace(" ", "")
    if not _HEX64.fullmatch(text):
        raise errors.InvalidFingerprint()
    return text


def format_fingerprint(fp: str) -> str:
    """Show a fingerprint the way ``openssl x509 -fingerprint -sha256`` does (AB:CD:…)."""
    hex_digits = normalize_fingerprint(fp).upper()
    return ":".join(hex_digits[i : i + 2] for i in range(0, 64, 2))


def der_fingerprint(der: bytes) -> str:
    """SHA-256 fingerprint (64 lowercase hex digits) of a DER certificate."""
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class PeerCertificate:
    """What the server presented: DER bytes, fingerprint and a few fields to show the user."""

    der: bytes
    fingerprint: str
    subject: str
    issuer: str
    not_before: datetime | None
    not_after: datetime | None

    @property
    def pem(self) -> str:
        """The certificate in PEM form (kept on disk as the pinned trust anchor)."""
        return ssl.DER_cert_to_PEM_cert(self.der)


def describe_certificate(der: bytes) -> PeerCertificate:
    """Decode a DER certificate enough to show it; fields that fail to decode stay empty."""
    subject = issuer = ""
    not_before = not_after = None
    try:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        subject = cert.subject.rfc4514_string()
        issuer = cert.issuer.rfc4514_string()
        not_before = cert.not_valid_before_utc
        not_after = cert.not_valid_after_utc
    except (ValueError, ImportError) as exc:
        log.debug("certificate not decodable: %s", type(exc).__name__)
    return PeerCertificate(der, der_fingerprint(der), subject, issuer, not_before, not_after)


def peek_certificate(url: str, timeout: float = 10.0) -> PeerCertificate:
    """Read the certificate a server presents, without trusting it (only to show its digest).

    The handshake completes without verification, then the socket is closed; nothing is sent.
    Network failures are turned into the same typed errors as a real request.
    """
    host, port = host_port(url)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # read-only peek; see the module docstring
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError as exc:
        raise classify_exception(exc) from None
    if not der:
        raise errors.TlsError("The server did not present a certificate.")
    return describe_certificate(der)


# ------------------------------------------------------------------ trust + HTTP


@dataclass(frozen=True)
class Trust:
    """How the server's certificate is verified: system CAs, a CA file, or a pinned cert."""

    ca_file: str | None = None
    pinned_fingerprint: str | None = None
    pinned_pem: str | None = None

    def __post_init__(self) -> None:
        if self.pinned_fingerprint is not None:
            object.__setattr__(
                self, "pinned_fingerprint", normalize_fingerprint(self.pinned_fingerprint)
            )
            if not self.pinned_pem:
                raise ValueError("a pinned fingerprint needs the pinned certificate's PEM")

    @property
    def mode(self) -> str:
        """``pinned``, ``ca_file`` or ``system`` (shown in status)."""
        if self.pinned_fingerprint:
            return "pinned"
        return "ca_file" if self.ca_file else "system"

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying context for this trust; a fresh one per adapter (urllib3 mutates it)."""
        if self.pinned_fingerprint:
            ctx = ssl.create_default_context(cadata=self.pinned_pem)
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
            ctx.check_hostname = False  # the pin, not the name, identifies the server
            ctx.verify_mode = ssl.CERT_REQUIRED
            return ctx
        if self.ca_file:
            ctx = ssl.create_default_context(cafile=self.ca_file)
        else:
            ctx = ssl.create_default_context()
            try:
                import certifi

                ctx.load_verify_locations(cafile=certifi.where())
            except (ImportError, OSError) as exc:
                log.debug("certifi bundle not loaded: %s", type(exc).__name__)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


class TrustAdapter(HTTPAdapter):
    """An HTTPAdapter that verifies with our :class:`Trust`, whatever ``verify`` says.

    Every connection pool it opens carries ``cert_reqs=CERT_REQUIRED``, our SSL context and, for
    a pin, ``assert_fingerprint``; urllib3 checks these on each new connection. ``requests``'
    own CA handling (``cert_verify``) is bypassed so it cannot widen the trust.
    """

    def __init__(self, trust: Trust, **kwargs: Any) -> None:
        self.trust = trust
        self._context = trust.ssl_context()
        super().__init__(**kwargs)

    def _tls_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED", "ssl_context": self._context}
        if self.trust.pinned_fingerprint:
            kw["assert_fingerprint"] = self.trust.pinned_fingerprint
        return kw

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Bind our TLS settings to the pool manager (pickling support of the base class)."""
        kwargs.update(self._tls_kwargs())
        super().init_poolmanager(*args, **kwargs)

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: Any,
        proxies: dict[str, str] | None = None,
        cert: Any = None,
    ) -> Any:
        """Open the pool with our TLS settings; ``verify`` is ignored (it can only be True)."""
        if verify is False:
            raise errors.TlsError("Refusing to switch off certificate verification.")
        host_params, _ = self.build_connection_pool_key_attributes(request, True, None)
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=self._tls_kwargs())

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Keep CERT_REQUIRED and our context; never load requests' default bundle on top."""
        conn.cert_reqs = "CERT_REQUIRED"


def make_session(trust: Trust) -> requests.Session:
    """A requests session for one server: our adapter, no env proxies/netrc, http unmounted."""
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", TrustAdapter(trust))
    session.adapters.pop("http://", None)
    return session


def utcnow() -> datetime:
    """The current time in UTC (one place, so tests can reason about it)."""
    return datetime.now(UTC)
