"""Real ``nexavpn-server serve`` processes on loopback, plain HTTP calls, and a TCP proxy that
can refuse or silently swallow database traffic (a stopped or a blackholed database)."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

SERVER = Path(sys.executable).with_name("nexavpn-server")
PASSWORD = "control plane password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 60,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """(status, JSON body or None, headers) of one request."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # loopback only
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return exc.code, parsed, dict(exc.headers)


class Server:
    """``nexavpn-server serve`` in its own process group, on a free loopback port."""

    def __init__(
        self, db_url: str, data_dir: Path, *, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = data_dir / f"server-{self.port}.log"
        full_env = {
            **os.environ,
            "NEXAVPN_DATA_DIR": str(data_dir),
            "NEXAVPN_DATABASE_URL": db_url,
            "NEXAVPN_DEVICE_LIMIT": "100000",
            **(env or {}),
        }
        self._logf = self.log.open("wb")
        self.proc = subprocess.Popen(
            [str(SERVER), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)],
            env=full_env,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if call(self.base, "GET", "/api/v1/health", timeout=2)[0] == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not come up in 90 s")

    def kill(self) -> None:
        """kill -9 the whole server (master and workers), no graceful anything."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._logf.close()

    def errors_logged(self) -> list[str]:
        return [
            ln
            for ln in self.log.read_text(errors="replace").splitlines()
            if "Traceback" in ln or "unhandled error" in ln
        ]


def direct_app(db_url: str, data_dir: Path):
    """An app object on the same database, for seeding and checking rows directly."""
    from nexavpn_api.app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": "x",
            "JWT_SECRET_KEY": "y" * 48,
        }
    )


def reset_pg(app) -> None:
    from sqlalchemy import text

    from nexavpn_api.extensions import db

    with app.app_context():
        names = ", ".join(t.name for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.session.commit()


def seed_users(app, n: int, prefix: str = "u") -> None:
    """``n`` users ``<prefix>0..`` with PASSWORD (one hash, inserted at once)."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import User
    from nexavpn_api.services.passwords import hash_password

    with app.app_context():
        pw = hash_password(PASSWORD)
        for i in range(n):
            db.session.add(User(username=f"{prefix}{i}", role="user", password_hash=pw))
        db.session.commit()


def login(base: str, username: str) -> str:
    status, body, _ = call(
        base, "POST", "/api/v1/auth/login", {"username": username, "password": PASSWORD}
    )
    assert status == 200, body
    return body["access_token"]


class TcpProxy:
    """Loopback TCP proxy to ``target``: ``pass`` forwards, ``blackhole`` accepts and swallows
    bytes without ever answering (a silent database), ``down`` refuses and resets (stopped)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode = "pass"
        self._listener: socket.socket | None = None
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._open_listener()
        threading.Thread(target=self._pump, daemon=True).start()

    def _open_listener(self) -> None:
        lst = socket.socket()
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", self.port))
        lst.listen(128)
        lst.setblocking(False)
        self._listener = lst

    def set_mode(self, mode: str) -> None:
        with self._lock:
            self.mode = mode
            if mode == "down":
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None
                for conn in self._conns:
                    with contextlib.suppress(OSError):
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                        conn.close()
                self._conns.clear()
            elif self._listener is None:
                self._open_listener()

    def close(self) -> None:
        self._stop.set()
        self.set_mode("down")

    def _pump(self) -> None:
        sel = selectors.DefaultSelector()
        registered: dict[int, Any] = {}
        peers: dict[socket.socket, socket.socket] = {}
        while not self._stop.is_set():
            with self._lock:
                listener, mode = self._listener, self.mode
                live = [c for c in self._conns if c.fileno() >= 0]
            if listener is not None and listener.fileno() >= 0:
                try:
                    client, _ = listener.accept()
                except (BlockingIOError, OSError):
                    client = None
                if client is not None:
                    upstream = None
                    if mode == "pass":
                        try:
                            upstream = socket.create_connection(self.target, timeout=5)
                        except OSError:
                            client.close()
                            client = None
                    if client is not None:
                        with self._lock:
                            self._conns.append(client)
                            if upstream is not None:
                                self._conns.append(upstream)
                                peers[client], peers[upstream] = upstream, client
                        live.append(client)
                        if upstream is not None:
                            live.append(upstream)
            for conn in live:
                if conn.fileno() not in registered:
                    with contextlib.suppress(ValueError, KeyError, OSError):
                        sel.register(conn, selectors.EVENT_READ)
                        registered[conn.fileno()] = conn
            for fd, conn in list(registered.items()):
                if conn.fileno() < 0:
                    with contextlib.suppress(KeyError, ValueError):
                        sel.unregister(conn)
                    registered.pop(fd, None)
            try:
                events = sel.select(timeout=0.01) if registered else []
            except (OSError, ValueError):
                events = []
            if not registered:
                time.sleep(0.01)
            for key, _ in events:
                conn = key.fileobj
                try:
                    data = conn.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    other = peers.pop(conn, None)
                    for s in (conn, other):
                        if s is not None:
                            with contextlib.suppress(KeyError, ValueError):
                                sel.unregister(s)
                            registered = {f: c for f, c in registered.items() if c is not s}
                            s.close()
                    continue
                if self.mode == "pass" and conn in peers:
                    with contextlib.suppress(OSError):
                        peers[conn].sendall(data)
                # blackhole: the bytes are read (TCP acknowledges them) and dropped
