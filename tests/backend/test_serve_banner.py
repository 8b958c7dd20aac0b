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


def test_public_host_goes_into_the_certificate_url_and_fingerprint_every_start(
        tmp_path: Path) -> None:
    """A gateway on another machine needs a name the certificate carries and its fingerprint."""
    import ssl

    from cryptography import x509

    from nexavpn_shared.tls_pin import der_fingerprint, format_fingerprint

    env = {**os.environ, "NEXAVPN_DATA_DIR": str(tmp_path),
           "NEXAVPN_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    env.pop("NEXAVPN_PUBLIC_URL", None)
    printed = []
    for public in ("vpn.example.test", "vpn.example.test", "10.99.1.1"):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        proc = subprocess.Popen(
            [str(BIN / "nexavpn-server"), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--self-signed", "--public-host", public],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        try:
            assert proc.stdout is not None
            lines: list[str] = []
            deadline = time.monotonic() + 60
            while not any("fingerprint: " in line for line in lines):
                assert time.monotonic() < deadline, lines
                line = proc.stdout.readline()
                assert line, "".join(lines)
                lines.append(line)
            out = "".join(lines)
            assert f"reachable as https://{public}:{port}" in out
            fp = out.split("fingerprint: ", 1)[1].split()[0]
            der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))
            assert fp == format_fingerprint(der_fingerprint(der))
            sans = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value
            names = {*sans.get_values_for_type(x509.DNSName),
                     *(str(a) for a in sans.get_values_for_type(x509.IPAddress))}
            assert {public, "localhost", "127.0.0.1"} <= names
            assert "vpn.example.test" in names  # a new name adds to the old ones
            printed.append((fp, "pinned an earlier one" in out))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    # Same name again: same certificate, fingerprint shown again. A new name: reissued, said.
    assert printed[0] == (printed[1][0], False) and printed[1][1] is False
    assert printed[2][0] != printed[0][0] and printed[2][1] is True
