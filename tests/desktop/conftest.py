"""Desktop GUI fixtures: offscreen Qt, the real backend over HTTPS on 127.0.0.1, the real core.

The backend is the real Flask app (``tests/backend_fixtures.py``'s ``app``) served by werkzeug
with TLS in a thread: a trustme CA (given to the core as its CA file) or a self-signed
certificate (trusted in the GUI by pinning its fingerprint). The core is the real
:class:`ClientApp` with a memory secret store and a recording tunnel backend.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PySide6")

from nexavpn_client.app import ClientApp
from nexavpn_client.secrets import MemoryStore
from nexavpn_client.tunnel import (
    CONNECTED,
    DISCONNECTED,
    TunnelBackend,
    TunnelConfig,
    TunnelStatus,
)

TEST_PASSWORD = "correct horse battery"  # the password tests/backend_fixtures.py uses
REQUIRED_RULES = {
    "/api/v1/health",
    "/api/v1/auth/login",
    "/api/v1/devices/enroll",
    "/api/v1/devices/<int:device_id>/profile",
    "/api/v1/devices/<int:device_id>/revoke",
}


class RecordingTunnel(TunnelBackend):
    """A tunnel that only remembers what it was told (no root, no interfaces)."""

    name = "linux"

    def __init__(self) -> None:
        self.up: TunnelConfig | None = None
        self.calls: list[str] = []

    def is_available(self) -> tuple[bool, str]:
        return True, "recording"

    def install(self, config: TunnelConfig) -> None:
        self.calls.append("install")
        if self.up is not None:
            self.up = config

    def connect(self, config: TunnelConfig) -> None:
        self.calls.append("connect")
        self.up = config

    def disconnect(self, name: str) -> None:
        self.calls.append("disconnect")
        self.up = None

    def status(self, name: str) -> TunnelStatus:
        if self.up is None:
            return TunnelStatus(DISCONNECTED, self.name)
        return TunnelStatus(CONNECTED, self.name, handshake_age=7.0, rx_bytes=1, tx_bytes=2)

    def remove(self, name: str) -> None:
        self.calls.append("remove")
        self.up = None


# ---------------------------------------------------------------- TLS server


class Served:
    """A WSGI app on 127.0.0.1 over TLS in a thread (werkzeug's threaded server)."""

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


def _context(cert_pem: bytes, key_pem: bytes, tmp_path: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    f = tmp_path / f"srv-{secrets.token_hex(4)}.pem"
    f.write_bytes(cert_pem + key_pem)
    ctx.load_cert_chain(f)
    return ctx


def self_signed() -> tuple[bytes, bytes, bytes]:
    """(cert PEM, key PEM, cert DER) of a self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nexavpn.local")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("nexavpn.local"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        ), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
        cert.public_bytes(serialization.Encoding.DER),
    )


@pytest.fixture
def backend_app(app):
    """The real backend app, skipped (with the reason) while it lacks an endpoint we call."""
    rules = {r.rule for r in app.url_map.iter_rules()}
    missing = sorted(REQUIRED_RULES - rules)
    if missing:
        pytest.skip(f"backend does not serve {', '.join(missing)} yet")
    return app


@pytest.fixture
def served(backend_app, tmp_path) -> Iterator[tuple[Served, str]]:
    """The backend over HTTPS with a certificate from a test CA; yields (server, CA file)."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    ctx = _context(b"".join(b.bytes() for b in leaf.cert_chain_pems),
                   leaf.private_key_pem.bytes(), tmp_path)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    srv = Served(backend_app, ctx)
    yield srv, str(ca_file)
    srv.close()


@pytest.fixture
def served_self_signed(backend_app, tmp_path) -> Iterator[tuple[Served, str]]:
    """The backend over HTTPS with a self-signed certificate; yields (server, sha256 hex)."""
    import hashlib

    cert_pem, key_pem, der = self_signed()
    srv = Served(backend_app, _context(cert_pem, key_pem, tmp_path))
    yield srv, hashlib.sha256(der).hexdigest()
    srv.close()


# ---------------------------------------------------------------- backend data


@pytest.fixture
def alice(backend_app, api) -> int:
    """The user who signs in through the window (group ``eng``)."""
    return api.create_user("alice", groups=["eng"])


@pytest.fixture
def gateway(backend_app):
    """An enabled, online gateway (inserted through the models) and a policy for ``eng``."""
    from tests.backend.provisioning_helpers import make_gateway, make_policy

    gid, _token = make_gateway(backend_app, "gw-test", vpn_cidr="10.8.0.0/24")
    make_policy(backend_app, "engineering", ["10.20.0.0/24", "10.30.5.0/24"], groups=["eng"])
    return gid


# ---------------------------------------------------------------- the core and the window


@pytest.fixture
def tunnel() -> RecordingTunnel:
    return RecordingTunnel()


@pytest.fixture
def make_client(tmp_path, tunnel):
    """Real ClientApps (memory secrets, recording tunnel) with short network timeouts."""

    def factory(**kw) -> ClientApp:
        kw.setdefault("backend", tunnel)
        kw.setdefault("platform", "linux")
        kw.setdefault("timeout", (3.0, 10.0))
        fp = secrets.token_hex(32)
        kw.setdefault("fingerprint", lambda store: fp)
        return ClientApp(MemoryStore(), tmp_path / f"client-{secrets.token_hex(3)}", **kw)

    return factory


@pytest.fixture
def qsettings(tmp_path):
    """Window settings in a temporary INI file (never the user's real settings)."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "desktop.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, qsettings):
    """Build (and afterwards close) MainWindows around given ClientApps."""
    from nexavpn_desktop.app import build

    made = []

    def factory(client: ClientApp, *, start: bool = True, tray: bool = True, **kw):
        window, _tray = build(client, settings=qsettings, tray=tray, **kw)
        qtbot.addWidget(window)
        made.append(window)
        window.show()
        if start:
            window.start()
            qtbot.waitUntil(lambda: window.tasks.idle, timeout=10000)
        return window

    yield factory
    for w in made:
        w._quitting = True
        w.close()
        w.shutdown()
