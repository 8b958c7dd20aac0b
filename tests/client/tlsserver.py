"""A tiny HTTPS server on 127.0.0.1 for the TLS-error tests (and certificate helpers)."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HEALTH = {"status": "ok", "service": "nexavpn", "version": "9.9.9", "api": "v1"}


@dataclass
class SelfSigned:
    cert_pem: bytes
    key_pem: bytes
    der: bytes


def make_self_signed(
    *, cn: str = "nexavpn.local", days_valid: int = 365, expired: bool = False
) -> SelfSigned:
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


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        status, content_type, body = self.server.answer(self.path)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HttpsServer:
    """Serves /api/v1/health (or whatever ``answer`` returns) over TLS on 127.0.0.1."""

    def __init__(self, ctx: ssl.SSLContext, port: int = 0, health: object = HEALTH,
                 status: int = 200, content_type: str = "application/json") -> None:
        self.ctx = ctx
        self.health = health
        self.status = status
        self.content_type = content_type
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.answer = self.answer  # type: ignore[attr-defined]
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
        return f"https://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def __enter__(self) -> HttpsServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def server_context(cert_pem: bytes, key_pem: bytes, tmp_path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert_file = tmp_path / f"srv-{id(cert_pem)}.pem"
    cert_file.write_bytes(cert_pem + key_pem)
    ctx.load_cert_chain(cert_file)
    return ctx


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A WSGI app (the real backend) on 127.0.0.1 over TLS in a thread (werkzeug's server)."""

    def __init__(self, app, ssl_ctx: ssl.SSLContext) -> None:
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
