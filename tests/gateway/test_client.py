"""The control-plane client against a loopback fake of the contract's endpoints (and TLS)."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import trustme

from nexavpn_gateway.client import (
    ControlPlaneClient,
    ControlPlaneError,
    ServerUnreachable,
    Unauthorized,
    check_server_url,
)
from tests.gateway.fakes import FakeControlPlane, config_payload, new_key, peer
from tests.https_server import HttpsServer, leaf_context


def test_url_rules(caplog: pytest.LogCaptureFixture) -> None:
    assert check_server_url("https://cp.example/") == "https://cp.example"
    with caplog.at_level(logging.WARNING):
        assert check_server_url("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert "plain http" in caplog.text
    check_server_url("http://[::1]:80")
    check_server_url("http://localhost:8080")
    for bad in ("http://cp.example", "http://10.0.0.1", "ftp://x", "https://u:p@cp.example",
                "https://cp.example/?x=1", "cp.example"):
        with pytest.raises(ValueError):
            check_server_url(bad)


def test_fetch_heartbeat_and_long_poll() -> None:
    with FakeControlPlane() as cp:
        client = ControlPlaneClient(cp.url, cp.token)
        cp.set_config(config_payload(5, [peer(new_key(), 2)]))
        assert client.fetch_config()["revision"] == 5
        assert cp.requests[-1][2] == {}  # no after: answer at once
        t0 = time.monotonic()
        assert client.fetch_config(after=5, wait=1) is None  # 304 after waiting
        assert time.monotonic() - t0 >= 0.9
        assert cp.requests[-1][2] == {"after": ["5"], "wait": ["1"]}
        threading.Timer(0.3, cp.set_config, [config_payload(6, [])]).start()
        t0 = time.monotonic()
        assert client.fetch_config(after=5, wait=10)["revision"] == 6
        assert time.monotonic() - t0 < 5  # woke up on the change, not at the timeout
        client.heartbeat({"public_key": "K", "listen_port": 1, "peers": []})
        assert cp.heartbeats == [{"public_key": "K", "listen_port": 1, "peers": []}]


def test_error_envelopes() -> None:
    with FakeControlPlane() as cp:
        bad = ControlPlaneClient(cp.url, "wrong-token")
        with pytest.raises(Unauthorized) as info:
            bad.fetch_config()
        assert info.value.code == "unauthorized"
        assert "wrong-token" not in str(info.value)
        cp.status_override = 503
        with pytest.raises(ControlPlaneError) as info2:
            ControlPlaneClient(cp.url, cp.token).heartbeat({})
        assert info2.value.status == 503


def test_unreachable() -> None:
    with FakeControlPlane() as cp:
        url = cp.url
    with pytest.raises(ServerUnreachable):
        ControlPlaneClient(url, "t", timeout=2).fetch_config()


def _config_answer(path: str) -> tuple[int, str, bytes]:
    body = b'{"revision": 1, "interface": {"address": "10.8.0.1/24"}, "peers": []}'
    return 200, "application/json", body


def test_tls_private_ca_trusted_only_when_given(tmp_path) -> None:
    ca = trustme.CA()
    server = HttpsServer(leaf_context(ca.issue_cert("localhost", "127.0.0.1"), tmp_path),
                         answer=_config_answer, host="localhost")
    try:
        url = server.url
        with pytest.raises(ServerUnreachable, match="TLS"):
            ControlPlaneClient(url, "t").fetch_config()  # system store: not trusted
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        client = ControlPlaneClient(url, "t", ca_file=str(ca_file))
        assert client.session.verify == str(ca_file)
        assert client.fetch_config()["revision"] == 1
        ca_file.unlink()  # the CA file vanishes while the agent runs: unreachable, not a crash
        with pytest.raises(ServerUnreachable, match="CA file"):
            client.fetch_config()
    finally:
        server.close()
