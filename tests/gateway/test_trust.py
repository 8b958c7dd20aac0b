"""The agent's trust in the control plane: pinned self-signed certificate, CA file, words."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nexavpn_gateway.client import ControlPlaneClient, TlsVerificationFailed
from nexavpn_gateway.config import SettingsError, load_settings
from nexavpn_shared.tls_pin import der_fingerprint, format_fingerprint, normalize_fingerprint


class _Hello(BaseHTTPRequestHandler):
    """A TLS test server's one answer: an empty agent config."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b'{"revision": 1, "interface": {"address": "10.8.0.1/24"}, "peers": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

def _self_signed(tmp: Path, name: str) -> tuple[Path, Path, str]:
    """A self-signed certificate like ``nexavpn-server serve --self-signed`` makes."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, der_fingerprint(cert.public_bytes(serialization.Encoding.DER))


@contextmanager
def https_server(cert: Path, key: Path) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_self_signed_server_needs_a_pin_and_the_error_says_so(tmp_path: Path) -> None:
    cert, key, fp = _self_signed(tmp_path, "cp.nexavpn.test")
    with https_server(cert, key) as port:
        url = f"https://127.0.0.1:{port}"
        with pytest.raises(TlsVerificationFailed) as info:
            ControlPlaneClient(url, "t").fetch_config()
        text = str(info.value)
        assert "self-signed or unknown issuer" in text  # the words an operator searches for
        assert "--server-fingerprint" in text and "--ca-file" in text
        # The pin, written as the admin UI shows it (AB:CD:…), is trusted; the host name is
        # not matched (the certificate names cp.nexavpn.test, the URL 127.0.0.1).
        client = ControlPlaneClient(url, "t", server_fingerprint=format_fingerprint(fp))
        assert client.fetch_config()["revision"] == 1
        assert client.fetch_config()["revision"] == 1  # pooled connection, still pinned
        other = "00" * 32
        with pytest.raises(TlsVerificationFailed, match="does not match --server-fingerprint"):
            ControlPlaneClient(url, "t", server_fingerprint=other).fetch_config()


def test_pinned_client_refuses_a_replaced_certificate(tmp_path: Path) -> None:
    cert, key, fp = _self_signed(tmp_path, "a.test")
    cert2, key2, _ = _self_signed(tmp_path, "b.test")
    with https_server(cert, key) as port:
        url = f"https://127.0.0.1:{port}"
        client = ControlPlaneClient(url, "t", server_fingerprint=fp)
        assert client.fetch_config()["revision"] == 1
    with https_server(cert2, key2) as port2:
        # Another certificate behind the same client (e.g. a MITM after the first check).
        client.base = f"https://127.0.0.1:{port2}"
        with pytest.raises(TlsVerificationFailed, match="does not match --server-fingerprint"):
            client.fetch_config()


def test_private_ca_and_name_mismatch_in_words(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    cert, key = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    cert.write_bytes(b"".join(b.bytes() for b in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with https_server(cert, key) as port:
        good = ControlPlaneClient(f"https://localhost:{port}", "t", ca_file=str(ca_file))
        assert good.fetch_config()["revision"] == 1
        wrong_name = ControlPlaneClient(f"https://127.0.0.1:{port}", "t", ca_file=str(ca_file))
        with pytest.raises(TlsVerificationFailed, match=r"not issued for 127\.0\.0\.1"):
            wrong_name.fetch_config()


def test_pin_settings(tmp_path: Path) -> None:
    base = {"server": "https://cp.example", "token_file": "/t", "interface": "wg0"}
    fp = "AB:" * 31 + "AB"
    s = load_settings({**base, "server_fingerprint": fp}, env={}, config_file=None)
    assert s.server_fingerprint == normalize_fingerprint(fp) == "ab" * 32
    with pytest.raises(SettingsError, match="64 hex digits"):
        load_settings({**base, "server_fingerprint": "abc"}, env={}, config_file=None)
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(SettingsError, match="not both"):
        load_settings({**base, "server_fingerprint": fp, "ca_file": str(ca)}, env={},
                      config_file=None)
    env = {"NEXAVPN_GATEWAY_SERVER_FINGERPRINT": "cd" * 32}
    assert load_settings(base, env=env, config_file=None).server_fingerprint == "cd" * 32
