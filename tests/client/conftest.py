"""Shared fixtures of the client tests: memory secrets, fake server, fake tunnel, app."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexavpn_client.app import ClientApp
from nexavpn_client.runner import RecordingRunner
from nexavpn_client.secrets import MemoryStore
from nexavpn_client.tunnel import (
    CONNECTED,
    DISCONNECTED,
    TunnelBackend,
    TunnelConfig,
    TunnelStatus,
)

from .fakeserver import FakeServer

SERVER = "https://vpn.example.test"


class FakeTunnel(TunnelBackend):
    """An in-memory tunnel: remembers the config it was given and whether it is up."""

    name = "fake"

    def __init__(self) -> None:
        self.up: TunnelConfig | None = None
        self.installed: list[TunnelConfig] = []
        self.removed = 0
        self.handshake_age: float | None = 3.0

    def is_available(self) -> tuple[bool, str]:
        return True, "fake"

    def install(self, config: TunnelConfig) -> None:
        self.installed.append(config)
        if self.up is not None:
            self.up = config

    def connect(self, config: TunnelConfig) -> None:
        self.up = config

    def disconnect(self, name: str) -> None:
        self.up = None

    def status(self, name: str) -> TunnelStatus:
        if self.up is None:
            return TunnelStatus(DISCONNECTED, self.name)
        return TunnelStatus(CONNECTED, self.name, handshake_age=self.handshake_age, rx_bytes=10,
                            tx_bytes=20)

    def remove(self, name: str) -> None:
        self.removed += 1
        self.up = None


@pytest.fixture
def secrets_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def tunnel() -> FakeTunnel:
    return FakeTunnel()


@pytest.fixture
def make_app(tmp_path: Path, secrets_store: MemoryStore, server: FakeServer, tunnel: FakeTunnel):
    """Build ClientApps sharing one keyring and data dir (like successive CLI runs)."""

    def factory(**kw) -> ClientApp:
        kw.setdefault("runner", RecordingRunner())
        kw.setdefault("backend", tunnel)
        kw.setdefault("transport", server)
        kw.setdefault("platform", "linux")
        kw.setdefault("fingerprint", lambda store: "f" * 64)
        return ClientApp(secrets_store, tmp_path / "data", **kw)

    return factory


@pytest.fixture
def client_app(make_app) -> ClientApp:
    """A ClientApp on the fakes (not named ``app``: that is the backend's root fixture)."""
    return make_app()
