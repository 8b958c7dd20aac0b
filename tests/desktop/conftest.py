"""Desktop GUI fixtures: offscreen Qt, the real backend over HTTPS on 127.0.0.1, the real core.

The backend is the real Flask app (``tests/backend_fixtures.py``'s ``app``) served by werkzeug
with TLS in a thread (the ``tests/https_server.py`` plugin): a trustme CA (given to the core as
its CA file) or a self-signed certificate (trusted in the GUI by pinning its fingerprint). The
core is the real :class:`ClientApp` with a memory secret store and a recording tunnel backend.
"""

from __future__ import annotations

import os
import secrets

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from nexavpn_client.app import ClientApp
from nexavpn_client.secrets import MemoryStore
from nexavpn_client.tunnel import (
    CONNECTED,
    DISCONNECTED,
    TunnelBackend,
    TunnelConfig,
    TunnelStatus,
)
from tests.https_server import Served

TEST_PASSWORD = "correct horse battery"  # the password tests/backend_fixtures.py uses


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


@pytest.fixture
def served(served_ca: tuple[Served, str]) -> tuple[Served, str]:
    """The backend over HTTPS with a test CA (tests/https_server.py); yields (server, CA file)."""
    return served_ca


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
