"""Network failures → the typed client errors a user can act on.

requests, urllib3, ssl and socket each report the same problem (a DNS failure, a refused port,
an expired certificate, a changed pin) in their own exception types, often wrapped two or three
levels deep. This module walks such a chain once and names the problem with one class of
:mod:`nexavpn_client.errors`, so the API client, the CLI and the GUI never look at transport
exceptions. It is kept apart from :mod:`nexavpn_client.tls`, which decides what to trust:
classifying a failure trusts nothing.
"""

from __future__ import annotations

import socket
import ssl

import requests

from nexavpn_shared.exc_chain import exception_chain

from . import errors

_EXPIRED_CODES = {9, 10}  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
_HOSTNAME_CODES = {62}  # X509_V_ERR_HOSTNAME_MISMATCH
_UNTRUSTED_CODES = {2, 18, 19, 20, 21, 24, 27, 28}


def classify_exception(exc: BaseException, *, pinned: bool = False) -> errors.ClientError:
    """Turn a requests/urllib3/ssl/socket failure into the typed error a user can act on.

    With a pin, a certificate that does not chain to the pinned one is a changed certificate
    (:class:`~errors.PinMismatch`), not an untrusted authority.
    """
    if isinstance(exc, errors.ClientError):
        return exc
    result = _classify(exc)
    if pinned and type(result) is errors.CertificateUntrusted:
        return errors.PinMismatch()
    return result


def _classify(exc: BaseException) -> errors.ClientError:
    items = list(exception_chain(exc))
    for item in items:
        if isinstance(item, ssl.SSLCertVerificationError):
            code = getattr(item, "verify_code", None)
            message = (getattr(item, "verify_message", "") or "").lower()
            if code in _EXPIRED_CODES or "expired" in message or "not yet valid" in message:
                return errors.CertificateExpired()
            if code in _HOSTNAME_CODES or "hostname" in message or "ip address mismatch" in message:
                return errors.HostnameMismatch()
            return errors.CertificateUntrusted()
    for item in items:
        text = str(item)
        if "Fingerprints did not match" in text or "No certificate for the peer" in text:
            return errors.PinMismatch()
    for item in items:
        if isinstance(item, socket.gaierror):
            return errors.DnsLookupFailed()
        if type(item).__name__ == "NameResolutionError":
            return errors.DnsLookupFailed()
    for item in items:
        if isinstance(item, ConnectionRefusedError):
            return errors.ConnectionRefused()
    for item in items:
        if isinstance(item, TimeoutError | socket.timeout | requests.Timeout):
            return errors.ServerTimeout()
        if type(item).__name__ in {"ConnectTimeoutError", "ReadTimeoutError"}:
            return errors.ServerTimeout()
    for item in items:
        if isinstance(item, ssl.SSLError):
            return errors.TlsError(
                "A secure connection to the server could not be established "
                f"({getattr(item, 'reason', None) or 'TLS error'})."
            )
    for item in items:
        if isinstance(item, ConnectionResetError | BrokenPipeError):
            return errors.ServerUnreachable(
                "The server closed the connection unexpectedly. Is this the right address "
                "and port (an https server)?"
            )
    return errors.ServerUnreachable()
