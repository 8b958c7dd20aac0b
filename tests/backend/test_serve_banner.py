"""`nexavpn-server serve` announces the URL only once the port is really bound."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
BANNER = "is listening on"


def _serve(tmp_path: Path, port: int, *extra: str, **more_env: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "NEXAVPN_DATA_DIR": str(tmp_path),
        "NEXAVPN_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        **more_env,
    }
    return subprocess.Popen(
        [str(BIN / "nexavpn-server"), "serve", "--port", str(port), "--workers", "1", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_port_taken_exits_without_claiming_to_listen(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = _serve(tmp_path, taken.getsockname()[1])
        try:
            out, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0
    assert "Address already in use" in out
    assert BANNER not in out


def test_banner_comes_after_the_bind(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = _serve(tmp_path, port)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while BANNER not in line:
            assert time.monotonic() < deadline, "no banner"
            line = proc.stdout.readline()
            assert line, "server exited before announcing itself"
        assert line.strip().endswith(f"http://127.0.0.1:{port}")
        # Announced means bound: a connection is accepted at once.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


GUNICORN_CONF = Path(__file__).resolve().parents[2] / "packaging" / "server" / "gunicorn.conf.py"


@pytest.mark.parametrize("extra", [(), ("--gunicorn-config", str(GUNICORN_CONF))])
def test_no_shared_control_socket(tmp_path: Path, extra: tuple[str, ...]) -> None:
    """gunicorn's control socket defaults to one path per account, so a second server would
    take it over and unlink the first one's: serve runs without it."""
    home, run = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    run.mkdir(mode=0o700)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = _serve(
        tmp_path,
        port,
        *extra,
        HOME=str(home),
        XDG_RUNTIME_DIR=str(run),
        NEXAVPN_PORT=str(port),
        NEXAVPN_WORKERS="1",
        NEXAVPN_THREADS="2",
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while BANNER not in line:
            assert time.monotonic() < deadline, "no banner"
            line = proc.stdout.readline()
            assert line, "server exited before announcing itself"
        time.sleep(0.5)
        made = [p for p in (*home.rglob("*"), *run.rglob("*")) if "gunicorn" in p.name]
        assert made == []
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
