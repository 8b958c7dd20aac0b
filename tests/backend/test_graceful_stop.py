"""A graceful stop must not wait for gateway long-polls to run out (they are released as 304)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(base: str, proc: subprocess.Popen, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited early"
        try:
            if requests.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def test_sigterm_releases_long_polls(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NEXAVPN_DATA_DIR": str(tmp_path),
        "NEXAVPN_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    env.pop("REQUESTS_CA_BUNDLE", None)
    subprocess.run(
        [str(BIN / "nexavpn-server"), "create-admin", "--username", "ops", "--password-stdin"],
        input="long enough password\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(BIN / "nexavpn-server"), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_healthy(base, proc)
        token = requests.post(
            f"{base}/api/v1/auth/login",
            json={"username": "ops", "password": "long enough password"},
            timeout=10,
        ).json()["access_token"]
        created = requests.post(
            f"{base}/api/v1/gateways",
            json={"name": "gw", "endpoint": "vpn.example.test:51820", "vpn_cidr": "10.66.0.0/24"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        agent = {"Authorization": f"Bearer {created.json()['agent_token']}"}
        first = requests.get(f"{base}/api/v1/gateway-agent/config", headers=agent, timeout=10)
        revision = first.json()["revision"]

        answers: list[int] = []

        def long_poll() -> None:
            resp = requests.get(
                f"{base}/api/v1/gateway-agent/config",
                params={"after": revision, "wait": 60},
                headers=agent,
                timeout=90,
            )
            answers.append(resp.status_code)

        poller = threading.Thread(target=long_poll, daemon=True)
        poller.start()
        time.sleep(1.5)  # the long-poll is now waiting inside the worker
        assert poller.is_alive()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=45)
        stopped_after = time.monotonic() - started
        poller.join(timeout=5)
        assert answers == [304]
        assert stopped_after < 10, f"stop took {stopped_after:.1f} s"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
