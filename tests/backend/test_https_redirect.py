"""http:// to the HTTPS port: a 308 to https:// (real server), and the answer's building rules."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nexavpn_api.https_redirect import redirect_for

BIN = Path(sys.executable).parent


def test_redirect_keeps_host_and_path_and_refuses_tricks(monkeypatch) -> None:
    out = redirect_for(b"GET /devices?x=1 HTTP/1.1\r\nHost: vpn.example.com:8443\r\n\r\n")
    assert out is not None
    head, body = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 308 ")
    assert b"\r\nLocation: https://vpn.example.com:8443/devices?x=1\r\n" in head
    assert b"https://vpn.example.com:8443/devices?x=1" in body
    api = redirect_for(b"POST /api/v1/auth/login HTTP/1.1\r\nhost: [::1]:8443\r\n\r\n")
    assert api is not None
    envelope = json.loads(api.split(b"\r\n\r\n", 1)[1])
    assert envelope["error"]["code"] == "https_required"
    assert envelope["error"]["details"]["location"] == "https://[::1]:8443/api/v1/auth/login"
    # A Host that is not a host name cannot steer the redirect anywhere (nor split headers).
    monkeypatch.setenv("NEXAVPN_PUBLIC_URL", "https://vpn.example.com:8443")
    evil = redirect_for(b"GET / HTTP/1.1\r\nHost: evil.example/\x0d@x\r\n\r\n")
    assert evil is not None and b"Location: https://vpn.example.com:8443/\r\n" in evil
    monkeypatch.delenv("NEXAVPN_PUBLIC_URL")
    assert redirect_for(b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    # Not HTTP at all (or a TLS record): left to the TLS handshake.
    assert redirect_for(b"\x16\x03\x01\x02\x00") is None
    assert redirect_for(b"SSH-2.0-OpenSSH_9.2\r\n") is None


@pytest.mark.slow
def test_real_server_redirects_plain_http_and_still_serves_https(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "NEXAVPN_DATA_DIR": str(tmp_path),
           "NEXAVPN_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    proc = subprocess.Popen(
        [str(BIN / "nexavpn-server"), "serve", "--port", str(port), "--workers", "1",
         "--self-signed"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        while "listening on" not in proc.stdout.readline():
            assert time.monotonic() < deadline and proc.poll() is None
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 308 "), reply[:200]
        assert f"Location: https://127.0.0.1:{port}/api/v1/health\r\n".encode() in reply
        ctx = ssl.create_default_context(cafile=str(tmp_path / "tls" / "server.crt"))
        ctx.check_hostname = False  # the test reads the server's own certificate file
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                ctx.wrap_socket(raw) as tls:
            tls.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ") and b'"status":"ok"' in answer
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
