"""Enrollment storms against a real server with several worker processes (gunicorn, 4 workers).

SQLite (WAL, busy timeout, BEGIN IMMEDIATE) takes 50 simultaneous enrollments; PostgreSQL 200.
Every answer must be a clean 201/409 (never a 5xx), no address may be handed out twice, and a
pool that runs dry mid-storm must answer 409 ``ip_pool_exhausted``. Also: a change committed
by one worker wakes long-polls (agent and client) waiting in the others within a second.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.backend.provisioning_helpers import enroll_body, new_key

PG_URL = os.environ.get("NEXAVPN_TEST_DATABASE_URL", "")
PASSWORD = "storm password 123"
SERVER = Path(sys.executable).with_name("nexavpn-server")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 60,
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # loopback only
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


class Server:
    """``nexavpn-server serve --workers 4`` in a subprocess, on a free loopback port."""

    def __init__(self, db_url: str, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        full_env = {
            **os.environ,
            "NEXAVPN_DATA_DIR": str(data_dir),
            "NEXAVPN_DATABASE_URL": db_url,
            "NEXAVPN_DEVICE_LIMIT": "100000",
            **(env or {}),
        }
        self._logf = self.log.open("wb")
        self.proc = subprocess.Popen(
            [
                str(SERVER),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "4",
            ],
            env=full_env,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if _call(self.base, "GET", "/api/v1/health", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not come up in 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group of the master we started
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


def _direct_app(db_url: str, data_dir: Path):
    from nexavpn_api.app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": "x",
            "JWT_SECRET_KEY": "y" * 48,
        }
    )


def _reset_pg(app) -> None:
    from sqlalchemy import text

    from nexavpn_api.extensions import db

    with app.app_context():
        names = ", ".join(t.name for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.session.commit()


def _seed(app, users: int, cidr: str) -> tuple[int, str]:
    """``users`` users (password PASSWORD) and one online gateway; returns (gateway id, token)."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import User
    from nexavpn_api.services.passwords import hash_password
    from tests.backend.provisioning_helpers import make_gateway

    with app.app_context():
        pw = hash_password(PASSWORD)
        for i in range(users):
            db.session.add(User(username=f"storm{i}", role="user", password_hash=pw))
        db.session.commit()
    return make_gateway(app, "storm", vpn_cidr=cidr)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def backend(request, tmp_path):
    """(kind, db_url, direct app) with a migrated, empty database and a running server."""
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("NEXAVPN_TEST_DATABASE_URL is not set (PostgreSQL storm)")
        db_url = PG_URL
    else:
        db_url = f"sqlite:///{tmp_path / 'storm.db'}"
    marker = request.node.get_closest_marker("server_env")
    env = dict(marker.kwargs) if marker else None
    server = Server(db_url, tmp_path / "data", env)  # migrates the database on start
    app = _direct_app(db_url, tmp_path / "direct")
    if request.param == "postgres":
        _reset_pg(app)
    try:
        yield request.param, server, app
    finally:
        server.stop()
        from nexavpn_api.extensions import db

        with app.app_context():
            db.engine.dispose()


def _login_all(base: str, n: int) -> list[str]:
    tokens = []
    for i in range(n):
        status, body = _call(
            base, "POST", "/api/v1/auth/login", {"username": f"storm{i}", "password": PASSWORD}
        )
        assert status == 200, body
        tokens.append(body["access_token"])
    return tokens


def _sessions(base: str, users: int, n: int) -> list[str]:
    """``n`` sessions spread over ``users`` users: one per device (a session that enrolls a
    device is bound to it)."""
    tokens = []
    for i in range(n):
        status, body = _call(
            base,
            "POST",
            "/api/v1/auth/login",
            {"username": f"storm{i % users}", "password": PASSWORD},
        )
        assert status == 200, body
        tokens.append(body["access_token"])
    return tokens


def _storm(base: str, jobs: list[tuple[str, dict]]) -> list[tuple[int, Any]]:
    """Fire every (token, body) enrollment at once (threads released by one barrier)."""
    results: list[tuple[int, Any] | None] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(i: int, token: str, body: dict) -> None:
        barrier.wait()
        try:
            results[i] = _call(base, "POST", "/api/v1/devices/enroll", body, token, timeout=120)
        except OSError as exc:  # a refused/reset connection is a failure too
            results[i] = (0, repr(exc))

    threads = [threading.Thread(target=run, args=(i, t, b)) for i, (t, b) in enumerate(jobs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(180)
    return [r if r is not None else (0, "no answer") for r in results]


def _assert_consistent(app, gateway_id: int, expected_active: int) -> None:
    from sqlalchemy import func, select

    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, Gateway, IpLease

    with app.app_context():
        rows = db.session.execute(
            select(Device.vpn_ip, Device.vpn_ip6).where(Device.status == "active")
        ).all()
        assert len(rows) == expected_active
        assert len({r[0] for r in rows}) == len(rows), "duplicate IPv4 address"
        leases = db.session.execute(
            select(func.count()).select_from(IpLease).where(IpLease.gateway_id == gateway_id)
        ).scalar_one()
        assert leases == expected_active
        # The trigger-kept count agrees with the rows, however the storm interleaved.
        kept = db.session.execute(
            select(Gateway.lease_count).where(Gateway.id == gateway_id)
        ).scalar_one()
        assert kept == expected_active
        db.session.rollback()


def _sizes(kind: str) -> int:
    return 200 if kind == "postgres" else 50


def test_simultaneous_enrollments(backend):
    kind, server, app = backend
    n = _sizes(kind)
    gid, agent_token = _seed(app, users=20, cidr="10.8.0.0/22")
    tokens = _sessions(server.base, 20, n)
    jobs = [(tokens[i], enroll_body()) for i in range(n)]
    results = _storm(server.base, jobs)
    statuses = Counter(s for s, _ in results)
    assert statuses == {201: n}, (statuses, [r for r in results if r[0] != 201][:3])
    ips = [body["device"]["vpn_ip"] for _, body in results]
    assert len(set(ips)) == n
    _assert_consistent(app, gid, n)
    status, cfg = _call(server.base, "GET", "/api/v1/gateway-agent/config", token=agent_token)
    assert status == 200
    assert len(cfg["peers"]) == n
    addrs = [a for p in cfg["peers"] for a in p["allowed_ips"]]
    assert len(addrs) == len(set(addrs)) == n
    assert server.errors_logged() == []


def test_pool_runs_dry_mid_storm(backend):
    kind, server, app = backend
    n = _sizes(kind)
    # /27: gateway .1, devices .2-.30 → 29 addresses for n contenders.
    gid, _ = _seed(app, users=10, cidr="10.9.0.0/27")
    tokens = _sessions(server.base, 10, n)
    results = _storm(server.base, [(tokens[i], enroll_body()) for i in range(n)])
    statuses = Counter(s for s, _ in results)
    assert statuses == {201: 29, 409: n - 29}, statuses
    codes = {body["error"]["code"] for s, body in results if s == 409}
    assert codes == {"ip_pool_exhausted"}
    ips = sorted(body["device"]["vpn_ip"] for s, body in results if s == 201)
    assert ips == sorted(f"10.9.0.{i}" for i in range(2, 31))
    _assert_consistent(app, gid, 29)
    assert server.errors_logged() == []


def test_same_public_key_race_has_one_winner(backend):
    _kind, server, app = backend
    _seed(app, users=10, cidr="10.10.0.0/24")
    tokens = _login_all(server.base, 10)
    key = new_key()
    results = _storm(server.base, [(t, enroll_body(public_key=key)) for t in tokens])
    statuses = Counter(s for s, _ in results)
    assert statuses == {201: 1, 409: 9}, statuses
    assert {b["error"]["code"] for s, b in results if s == 409} == {"public_key_in_use"}


def test_same_fingerprint_race_makes_one_device(backend):
    _kind, server, app = backend
    gid, _ = _seed(app, users=1, cidr="10.11.0.0/24")
    (token,) = _login_all(server.base, 1)
    body = enroll_body()
    results = _storm(server.base, [(token, body) for _ in range(10)])
    statuses = Counter(s for s, _ in results)
    assert statuses == {201: 1, 200: 9}, statuses
    assert len({b["device"]["id"] for _, b in results}) == 1
    _assert_consistent(app, gid, 1)


@pytest.mark.server_env(NEXAVPN_DEVICE_LIMIT="3")
def test_device_limit_holds_when_one_user_races(backend):
    """Twenty new devices of one user at once against a limit of three: exactly three win.

    On PostgreSQL this needs the count to be read after the user's row lock is granted."""
    _kind, server, app = backend
    gid, _ = _seed(app, users=1, cidr="10.13.0.0/24")
    tokens = _sessions(server.base, 1, 20)
    results = _storm(server.base, [(t, enroll_body()) for t in tokens])
    statuses = Counter(s for s, _ in results)
    assert statuses == {201: 3, 403: 17}, statuses
    assert {b["error"]["code"] for s, b in results if s == 403} == {"device_limit_reached"}
    _assert_consistent(app, gid, 3)
    assert server.errors_logged() == []


def test_one_session_racing_to_enroll_many_devices_gets_one(backend):
    """Ten different devices enrolled at once with one fresh session: the session binds to
    exactly one of them; the others are refused and leave nothing behind."""
    _kind, server, app = backend
    gid, _ = _seed(app, users=1, cidr="10.14.0.0/24")
    (token,) = _login_all(server.base, 1)
    results = _storm(server.base, [(token, enroll_body()) for _ in range(10)])
    statuses = Counter(s for s, _ in results)
    assert statuses == {201: 1, 403: 9}, statuses
    assert {b["error"]["code"] for s, b in results if s == 403} == {"session_bound_to_device"}
    _assert_consistent(app, gid, 1)
    assert server.errors_logged() == []


def test_long_polls_in_other_workers_are_woken_by_a_change(backend):
    """One agent poll and seven profile polls spread over the four workers: the revoke is
    committed by one of them and reaches the others through NOTIFY / the worker sockets."""
    _kind, server, app = backend
    _, agent_token = _seed(app, users=1, cidr="10.12.0.0/24")
    (token,) = _login_all(server.base, 1)
    status, enrolled = _call(server.base, "POST", "/api/v1/devices/enroll", enroll_body(), token)
    assert status == 201
    dev = enrolled["device"]["id"]
    etag = f'"{enrolled["profile"]["revision"]}"'
    _, cfg = _call(server.base, "GET", "/api/v1/gateway-agent/config", token=agent_token)
    rev = cfg["revision"]
    outs: list[dict[str, Any]] = [{} for _ in range(8)]

    def poll(i: int, out: dict[str, Any]) -> None:
        if i == 0:
            out["result"] = _call(
                server.base, "GET", f"/api/v1/gateway-agent/config?after={rev}&wait=30",
                token=agent_token,
            )
        else:
            req = urllib.request.Request(f"{server.base}/api/v1/devices/{dev}/profile?wait=30")
            req.add_header("Authorization", f"Bearer {token}")
            req.add_header("If-None-Match", etag)
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:  # loopback only
                    out["result"] = (resp.status, None)
            except urllib.error.HTTPError as exc:
                out["result"] = (exc.code, json.loads(exc.read()))
        out["at"] = time.monotonic()

    threads = [threading.Thread(target=poll, args=(i, o)) for i, o in enumerate(outs)]
    for th in threads:
        th.start()
    time.sleep(1.5)
    status, _ = _call(server.base, "POST", f"/api/v1/devices/{dev}/revoke", {}, token)
    done = time.monotonic()
    assert status == 200
    for th in threads:
        th.join(40)
    assert outs[0]["result"][0] == 200
    assert outs[0]["result"][1]["revision"] > rev
    assert outs[0]["result"][1]["peers"] == []
    for out in outs[1:]:
        assert out["result"][0] == 410
    for out in outs:
        assert out["at"] - done < 1.0
