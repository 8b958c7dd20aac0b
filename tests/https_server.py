"""HTTPS test servers on 127.0.0.1, one pytest plugin for every suite (registered in
tests/conftest.py): certificate helpers, a static server for TLS-error tests, and the real backend
served over TLS in a thread (trusted through a test CA file or a pinned self-signed certificate).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HEALTH = {"status": "ok", "service": "nexavpn", "version": "9.9.9", "api": "v1"}

# Endpoints the client and desktop suites call on the real backend. A missing one is drift: the
# tests FAIL naming it (a skip here once hid a renamed route behind "passed, skipped").
CLIENT_RULES = frozenset({
    "/api/v1/health",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/devices/enroll",
    "/api/v1/devices/<int:device_id>/profile",
    "/api/v1/devices/<int:device_id>/revoke",
    "/api/v1/devices/<int:device_id>/rotate",
    "/api/v1/gateways",
    "/api/v1/policies",
    "/api/v1/gateway-agent/heartbeat",
})


@dataclass
class SelfSigned:
    cert_pem: bytes
    key_pem: bytes
    der: bytes

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER certificate in hex: what a client pins."""
        return hashlib.sha256(self.der).hexdigest()


def make_self_signed(
    *, cn: str = "nexavpn.local", days_valid: int = 365, expired: bool = False
) -> SelfSigned:
    """A self-signed EC certificate for `cn` and 127.0.0.1 (optionally already expired)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    if expired:
        not_before, not_after = now - dt.timedelta(days=30), now - dt.timedelta(days=1)
    else:
        not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=days_valid)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(cn), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return SelfSigned(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.DER),
    )


def server_context(cert_pem: bytes, key_pem: bytes, tmp_path: Path) -> ssl.SSLContext:
    """A server-side TLS context from PEM bytes (written to a file in tmp_path for ssl)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert_file = tmp_path / f"srv-{id(cert_pem)}.pem"
    cert_file.write_bytes(cert_pem + key_pem)
    ctx.load_cert_chain(cert_file)
    return ctx


def leaf_context(leaf: trustme.LeafCert, tmp_path: Path) -> ssl.SSLContext:
    """A server-side TLS context for a certificate a trustme CA issued."""
    return server_context(b"".join(b.bytes() for b in leaf.cert_chain_pems),
                          leaf.private_key_pem.bytes(), tmp_path)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


Answer = Callable[[str], tuple[int, str, bytes]]


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        status, content_type, body = self.server.answer(self.path)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HttpsServer:
    """Answers GETs over TLS on 127.0.0.1: /api/v1/health with `health`, or what `answer` says."""

    def __init__(self, ctx: ssl.SSLContext, port: int = 0, health: object = HEALTH,
                 status: int = 200, content_type: str = "application/json",
                 answer: Answer | None = None, host: str = "127.0.0.1") -> None:
        self.ctx = ctx
        self.health = health
        self.status = status
        self.content_type = content_type
        self.host = host
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.answer = answer or self.answer  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path != "/api/v1/health":
            return 404, "text/html", b"<html>not found</html>"
        body = self.health if isinstance(self.health, bytes) else json.dumps(self.health).encode()
        return self.status, self.content_type, body

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def __enter__(self) -> HttpsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Served:
    """A WSGI app (the real backend) on 127.0.0.1 over TLS in a thread (werkzeug's server)."""

    def __init__(self, app: Any, ssl_ctx: ssl.SSLContext) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_ctx)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def missing_rules(app: Any, required: frozenset[str] = CLIENT_RULES) -> list[str]:
    """The required URL rules the app does not serve."""
    return sorted(required - {r.rule for r in app.url_map.iter_rules()})


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def backend_app(app: Any) -> Any:
    """The real backend app (tests/backend_fixtures.py); FAILS if it lacks an endpoint we call."""
    missing = missing_rules(app)
    if missing:
        pytest.fail(f"the backend no longer serves {', '.join(missing)}: client drift",
                    pytrace=False)
    return app


@pytest.fixture
def served_ca(backend_app: Any, tmp_path: Path) -> Iterator[tuple[Served, str]]:
    """The backend over HTTPS with a certificate from a test CA; yields (server, CA file)."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    srv = Served(backend_app, leaf_context(ca.issue_cert("127.0.0.1"), tmp_path))
    yield srv, str(ca_file)
    srv.close()


@pytest.fixture
def served_self_signed(backend_app: Any, tmp_path: Path) -> Iterator[tuple[Served, str]]:
    """The backend over HTTPS with a self-signed certificate; yields (server, sha256 hex)."""
    cert = make_self_signed()
    srv = Served(backend_app, server_context(cert.cert_pem, cert.key_pem, tmp_path))
    yield srv, cert.fingerprint
    srv.close()
