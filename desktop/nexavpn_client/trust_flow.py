"""Server trust: is this address a NexaVPN server, and do we trust its certificate?

Split out of :mod:`nexavpn_client.app` so the one place that decides to *pin* a certificate is
small enough to read whole. It answers three questions for the facade:

* which :class:`~nexavpn_client.tls.Trust` to use for a server (a stored pin for exactly this
  host:port, else the administrator's CA file, else the system's CAs);
* :meth:`ServerTrust.check_server`: is the server reachable and trusted, and if not trusted,
  which fingerprint should the user compare;
* :meth:`ServerTrust.trust`: pin a certificate the user confirmed, only after the server
  answers as NexaVPN over exactly that pin.

It keeps no state of its own: the pin lives in the keyring (fingerprint), the app-data dir
(PEM) and the saved state (``pinned_for``), all reached through the :class:`ClientApp`, whose
lock serialises the write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import errors
from .secrets.base import SecretKey
from .storage import PINNED_CERT_FILE, atomic_write
from .tls import (
    Trust,
    format_fingerprint,
    host_port,
    normalize_fingerprint,
    normalize_server_url,
    peek_certificate,
)

if TYPE_CHECKING:
    from .app import ClientApp
    from .state import SavedState


@dataclass(frozen=True)
class ServerCheck:
    """Outcome of :meth:`ClientApp.check_server`.

    ``trusted`` False means the certificate is not trusted (self-signed or unknown CA):
    show ``fingerprint`` (AB:CD:… form) and, if the user confirms it matches what their
    administrator gave them, call :meth:`ClientApp.trust`.
    """

    url: str
    trusted: bool
    trust_mode: str | None = None
    version: str | None = None
    fingerprint: str | None = None
    subject: str | None = None
    issuer: str | None = None
    not_after: str | None = None
    problem: str | None = None


def hostport(url: str) -> str:
    """``host:port`` of a server URL: what a pin is stored for (not the path)."""
    host, port = host_port(url)
    return f"{host}:{port}"


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def connect_timeout(timeout: tuple[float, float] | float) -> float:
    """The connect part of a requests-style timeout (the certificate peek has no read part)."""
    return float(timeout[0] if isinstance(timeout, tuple) else timeout)


class ServerTrust:
    """Checking a server and pinning its certificate, on behalf of one :class:`ClientApp`."""

    def __init__(self, app: ClientApp) -> None:
        self._app = app

    @property
    def pinned_cert_path(self) -> Path:
        """Where the pinned server certificate (PEM, public) is kept."""
        return self._app.data_dir / PINNED_CERT_FILE

    def trust_for(self, url: str, state: SavedState | None = None) -> Trust:
        """A pin if one was stored for this host:port, else the CA file, else system CAs."""
        app = self._app
        st = app._load() if state is None else state
        fp = app.secrets.get(SecretKey.PINNED_FINGERPRINT)
        if fp and st.pinned_for == hostport(url):
            try:
                pem = self.pinned_cert_path.read_text(encoding="ascii")
            except OSError:
                pem = ""
            if pem:
                return Trust(pinned_fingerprint=fp, pinned_pem=pem)
        ca_file = app._ca_file or st.ca_file
        return Trust(ca_file=ca_file)

    def check_server(self, url: str) -> ServerCheck:
        """Validate the URL and reach ``/api/v1/health`` over verified TLS.

        Raises the typed error for DNS, refused, timeout, expired certificate, host name
        mismatch, a changed pin or "not a NexaVPN server". An untrusted certificate is not an
        exception here: the result says ``trusted=False`` and carries its fingerprint.
        """
        app = self._app
        norm = normalize_server_url(url)
        trust = self.trust_for(norm)
        app._step(f"Checking {norm}")
        api = app._new_api(norm, trust)
        try:
            health = api.health()
        except errors.PinMismatch as exc:
            cert = peek_certificate(norm, timeout=connect_timeout(app.timeout))
            raise errors.PinMismatch(
                exc.message, fingerprint=format_fingerprint(cert.fingerprint)
            ) from None
        except errors.CertificateUntrusted as exc:
            cert = peek_certificate(norm, timeout=connect_timeout(app.timeout))
            return ServerCheck(
                url=norm,
                trusted=False,
                fingerprint=format_fingerprint(cert.fingerprint),
                subject=cert.subject,
                issuer=cert.issuer,
                not_after=_iso(cert.not_after),
                problem=exc.message,
            )
        finally:
            api.close()
        return ServerCheck(
            url=norm, trusted=True, trust_mode=trust.mode, version=str(health.get("version"))
        )

    def trust(self, url: str, fingerprint: str) -> ServerCheck:
        """Pin the server's certificate after the user confirmed its SHA-256 fingerprint.

        The certificate the server presents must have exactly this fingerprint
        (:class:`PinMismatch` otherwise) and the server must then answer as NexaVPN over the
        pinned connection; only then is the pin stored.
        """
        app = self._app
        norm = normalize_server_url(url)
        wanted = normalize_fingerprint(fingerprint)
        app._step("Checking the server certificate")
        cert = peek_certificate(norm, timeout=connect_timeout(app.timeout))
        if cert.fingerprint != wanted:
            raise errors.PinMismatch(
                "The server's certificate does not have the fingerprint you entered "
                f"(it has {format_fingerprint(cert.fingerprint)}). Do not continue unless "
                "your administrator confirms this one."
            )
        trust = Trust(pinned_fingerprint=wanted, pinned_pem=cert.pem)
        api = app._new_api(norm, trust)
        try:
            health = api.health()
        finally:
            api.close()
        with app._lock:
            atomic_write(self.pinned_cert_path, cert.pem.encode("ascii"), mode=0o600)
            app.secrets.set(SecretKey.PINNED_FINGERPRINT, wanted)
            state = app._load()
            state.pinned_for = hostport(norm)
            app._save(state)
        return ServerCheck(
            url=norm,
            trusted=True,
            trust_mode="pinned",
            version=str(health.get("version")),
            fingerprint=format_fingerprint(wanted),
            subject=cert.subject,
            issuer=cert.issuer,
            not_after=_iso(cert.not_after),
        )
