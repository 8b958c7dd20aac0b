"""The console script: --version, settings errors, and real runs (--once, SIGTERM) in a netns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nexavpn_gateway import __version__
from nexavpn_gateway.cli import main
from nexavpn_gateway.wg import parse_dump
from tests.gateway.fakes import FakeControlPlane, config_payload, new_key, peer
from tests.gateway.netns import lab, sh, unique

SCRIPT = [sys.executable, "-m", "nexavpn_gateway.cli"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"nexavpn-gateway {__version__}"


def test_missing_settings_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    for key in list(os.environ):
        if key.startswith("NEXAVPN_GATEWAY_"):
            monkeypatch.delenv(key)
    assert main(["run", "--server", "https://cp.example", "--interface", "wg0"]) == 2
    assert "--token-file" in capsys.readouterr().err


def test_non_loopback_http_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text("tok")
    token.chmod(0o600)
    assert main(["run", "--server", "http://cp.example", "--token-file", str(token),
                 "--interface", "wg0"]) == 2
    assert "https" in capsys.readouterr().err


def test_unreadable_ca_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text("tok")
    token.chmod(0o600)
    assert main(["run", "--server", "https://cp.example", "--token-file", str(token),
                 "--interface", "wg0", "--ca-file", str(tmp_path / "nope.pem")]) == 2
    assert "nope.pem" in capsys.readouterr().err


def _cmd(cp: FakeControlPlane, tmp_path: Path, ns: str, ifname: str, *extra: str) -> list[str]:
    token = tmp_path / "token"
    token.write_text(cp.token + "\n")
    token.chmod(0o600)
    return [*SCRIPT, "run", "--server", cp.url, "--token-file", str(token),
            "--interface", ifname, "--listen-port", "51820", "--state-dir", str(tmp_path / "s"),
            "--netns", ns, *extra]


@pytest.mark.netns
def test_once_applies_and_exits(tmp_path: Path) -> None:
    with lab() as L, FakeControlPlane() as cp:
        ns = L.netns()
        ifname = L.track_link(ns, unique("nxg"))
        k = new_key()
        cp.set_config(config_payload(1, [peer(k, 2, "10.20.0.0/24")]))
        proc = subprocess.run(_cmd(cp, tmp_path, ns, ifname, "--once"), capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        state = parse_dump(sh(["wg", "show", ifname, "dump"], netns=ns).stdout)
        assert set(state.peers) == {k}
        assert cp.heartbeats[0]["public_key"] == state.public_key
        assert '"msg": "converged"' in proc.stderr  # JSON lines
        assert cp.token not in proc.stderr
        assert (tmp_path / "s" / "private.key").read_text().strip() not in proc.stderr


@pytest.mark.netns
def test_sigterm_stops_cleanly_and_leaves_the_data_plane(tmp_path: Path) -> None:
    with lab() as L, FakeControlPlane() as cp:
        ns = L.netns()
        ifname = L.track_link(ns, unique("nxg"))
        k = new_key()
        cp.set_config(config_payload(1, [peer(k, 2, "10.20.0.0/24")]))
        proc = subprocess.Popen(_cmd(cp, tmp_path, ns, ifname, "--poll-wait", "30"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if any(r[2].get("after") == ["1"] for r in cp.requests):
                    break  # converged on revision 1 and now long-polling
                time.sleep(0.1)
            else:
                pytest.fail("agent never reached the long-poll")
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0
        assert "stopped" in err
        state = parse_dump(sh(["wg", "show", ifname, "dump"], netns=ns).stdout)
        assert set(state.peers) == {k}  # a stop never flushes the data plane
        assert "10.8.0.2" in sh(["nft", "list", "table", "inet", "nexavpn"], netns=ns).stdout


def test_state_dir_default_is_one_truth(capsys: pytest.CaptureFixture[str]) -> None:
    """--help, the code default, the systemd unit and docs/operations.md name one directory."""
    from nexavpn_gateway.config import DEFAULT_STATE_DIR

    root = Path(__file__).resolve().parents[2]
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert f"({DEFAULT_STATE_DIR})" in " ".join(capsys.readouterr().out.split())
    unit = (root / "packaging/gateway/nexavpn-gateway.service").read_text()
    assert f"NEXAVPN_GATEWAY_STATE_DIR={DEFAULT_STATE_DIR}\n" in unit
    ops = (root / "docs/operations.md").read_text()
    assert str(DEFAULT_STATE_DIR) in ops
    assert "/var/lib/nexavpn-gateway" not in ops + unit
