"""The control plane under real processes: wake-ups across servers, thousands of waiting
long-polls, database faults, login storms, slow clients and a server killed mid-storm.

Bounds here are generous (1 s); the tight targets are measured by bench/propagation.py.
"""

from __future__ import annotations

import os
import resource
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.backend.live_server import (
    PASSWORD,
    Server,
    TcpProxy,
    call,
    direct_app,
    login,
    reset_pg,
    seed_users,
)
from tests.backend.provisioning_helpers import enroll_body, make_gateway, new_key

PG_URL = os.environ.get("NEXAVPN_TEST_DATABASE_URL", "")
CONFIG = "/api/v1/gateway-agent/config"
HEARTBEAT = "/api/v1/gateway-agent/heartbeat"
ENROLL = "/api/v1/devices/enroll"

needs_pg = pytest.mark.skipif(not PG_URL, reason="NEXAVPN_TEST_DATABASE_URL is not set")


def _in_thread(func, *args) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        out["result"] = func(*args)
        out["at"] = time.monotonic()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, out


@pytest.fixture
def pg_app(tmp_path: Path):
    if not PG_URL:
        pytest.skip("NEXAVPN_TEST_DATABASE_URL is not set")
    app = direct_app(PG_URL, tmp_path / "direct")
    yield app
    from nexavpn_api.extensions import db

    with app.app_context():
        db.engine.dispose()


# ---------------------------------------------------------------- two servers, one database


@pytest.mark.slow
@pytest.mark.postgres
@needs_pg
def test_two_servers_on_one_postgres(tmp_path: Path, pg_app) -> None:
    a = Server(PG_URL, tmp_path / "a")
    b = Server(PG_URL, tmp_path / "b")
    try:
        reset_pg(pg_app)
        seed_users(pg_app, 10, "u")
        gid, agent = make_gateway(pg_app, "shared", vpn_cidr="10.40.0.0/22")
        token_a = login(a.base, "u0")
        status, cfg, _ = call(b.base, "GET", CONFIG, token=agent)
        assert status == 200
        rev = cfg["revision"]

        # A change through A wakes the agent's long-poll waiting on B.
        th, out = _in_thread(call, b.base, "GET", f"{CONFIG}?after={rev}&wait=30", None, agent)
        time.sleep(1.0)
        status, enrolled, _ = call(a.base, "POST", ENROLL, enroll_body(), token_a)
        done = time.monotonic()
        assert status == 201, enrolled
        th.join(10)
        assert out["result"][0] == 200
        assert [p["device_id"] for p in out["result"][1]["peers"]] == [enrolled["device"]["id"]]
        assert out["at"] - done < 1.0

        # A revoke through A answers the client's profile long-poll waiting on B with 410.
        dev = enrolled["device"]["id"]
        etag = f'"{enrolled["profile"]["revision"]}"'
        token_b = login(b.base, "u0")
        th, out = _in_thread(
            call, b.base, "GET", f"/api/v1/devices/{dev}/profile?wait=30", None, token_b, 60,
            {"If-None-Match": etag},
        )
        time.sleep(1.0)
        assert call(a.base, "POST", f"/api/v1/devices/{dev}/revoke", {}, token_a)[0] == 200
        done = time.monotonic()
        th.join(10)
        assert out["result"][0] == 410
        assert out["at"] - done < 1.0

        # One waiting poll per gateway token across servers: a poll on B replaces A's.
        rev = call(a.base, "GET", CONFIG, token=agent)[1]["revision"]
        _assert_a_second_poll_replaces_the_first(a.base, b.base, agent, rev)

        # kill -9 one server in the middle of an enrollment storm: every 2xx is persisted,
        # no address is handed out twice, and the agent carries on against the survivor.
        # One session per device: a session that enrolled is bound to its device.
        tokens = {s.base: [[login(s.base, f"u{i}") for _ in range(6)] for i in range(10)]
                  for s in (a, b)}
        results: list[tuple[int, Any]] = []
        lock = threading.Lock()

        def enroll_many(base: str, user: int) -> None:
            for n in range(6):
                try:
                    status, body, _ = call(base, "POST", ENROLL, enroll_body(),
                                           tokens[base][user][n], timeout=30)
                except OSError as exc:
                    status, body = 0, repr(exc)
                with lock:
                    results.append((status, body))

        workers = [
            threading.Thread(target=enroll_many, args=(s.base, i))
            for s in (a, b) for i in range(10)
        ]
        for w in workers:
            w.start()
        time.sleep(0.5)
        a.kill()
        for w in workers:
            w.join(120)
        ok = [body for status, body in results if status in (200, 201)]
        assert len(ok) >= 60, Counter(s for s, _ in results)  # B's share at least
        assert {s for s, _ in results} <= {0, 200, 201}, Counter(s for s, _ in results)
        from sqlalchemy import select

        from nexavpn_api.extensions import db
        from nexavpn_api.models import Device

        with pg_app.app_context():
            rows = dict(
                db.session.execute(
                    select(Device.id, Device.vpn_ip).where(Device.status == "active")
                ).all()
            )
            db.session.rollback()
        assert len(set(rows.values())) == len(rows), "an address was handed out twice"
        for body in ok:
            assert rows.get(body["device"]["id"]) == body["device"]["vpn_ip"]
        status, cfg, _ = call(b.base, "GET", CONFIG, token=agent)
        assert status == 200
        assert {p["device_id"] for p in cfg["peers"]} == set(rows)
        assert b.errors_logged() == []
        assert gid
    finally:
        a.kill()
        b.stop()


def _assert_a_second_poll_replaces_the_first(
    first: str, second: str, agent: str, rev: int
) -> None:
    """A config poll waiting on ``first`` answers 304 at once when the same token polls on
    ``second`` (another process); the newer poll waits on."""
    th1, out1 = _in_thread(call, first, "GET", f"{CONFIG}?after={rev}&wait=30", None, agent)
    time.sleep(1.0)  # the first is waiting (and its process listens)
    started = time.monotonic()
    th2, out2 = _in_thread(call, second, "GET", f"{CONFIG}?after={rev}&wait=3", None, agent)
    th1.join(10)
    assert out1["result"][0] == 304
    assert out1["at"] - started < 1.0, "the older poll was not replaced across processes"
    th2.join(10)
    assert out2["result"][0] == 304
    assert out2["at"] - started > 2.5, "the newer poll must keep waiting"


@pytest.mark.slow
def test_one_waiting_poll_per_gateway_token_across_sqlite_workers(tmp_path: Path) -> None:
    """Two server processes on one SQLite file (as the workers of one host): the older poll
    of a gateway token is replaced through the workers' sockets, both ways."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a = Server(url, tmp_path / "a")
    b = Server(url, tmp_path / "b")
    try:
        app = direct_app(url, tmp_path / "direct")
        _gid, agent = make_gateway(app, "one-poll", vpn_cidr="10.41.0.0/24")
        rev = call(a.base, "GET", CONFIG, token=agent)[1]["revision"]
        _assert_a_second_poll_replaces_the_first(a.base, b.base, agent, rev)
        _assert_a_second_poll_replaces_the_first(b.base, a.base, agent, rev)
        assert a.errors_logged() == [] and b.errors_logged() == []
    finally:
        a.stop()
        b.stop()


# ---------------------------------------------------------------- database faults


@pytest.mark.slow
@pytest.mark.postgres
@needs_pg
def test_stopped_or_silent_database_is_a_prompt_503_and_recovers(tmp_path: Path, pg_app) -> None:
    target = urlsplit(PG_URL)
    proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 5432))
    via_proxy = PG_URL.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    server = Server(
        via_proxy,
        tmp_path / "srv",
        env={
            "NEXAVPN_DB_DEADLINE_SECONDS": "3",
            "NEXAVPN_DB_CONNECT_TIMEOUT_SECONDS": "2",
            "NEXAVPN_DB_POOL_TIMEOUT_SECONDS": "2",
        },
    )
    try:
        reset_pg(pg_app)
        seed_users(pg_app, 1, "f")
        _gid, agent = make_gateway(pg_app, "faulty", vpn_cidr="10.41.0.0/24")
        assert call(server.base, "GET", "/api/v1/ready")[0] == 200
        assert call(server.base, "GET", CONFIG, token=agent)[0] == 200

        for mode in ("down", "blackhole"):
            proxy.set_mode(mode)
            for path, token in (("/api/v1/ready", None), (CONFIG, agent)):
                started = time.monotonic()
                status, body, headers = call(server.base, "GET", path, token=token, timeout=30)
                took = time.monotonic() - started
                assert status == 503, (mode, path, body)
                assert body["error"]["code"] == "database_unavailable"
                assert int(headers["Retry-After"]) > 0
                assert took < 3 + 2, (mode, path, took)  # the deadline plus slack
            started = time.monotonic()
            assert call(server.base, "GET", "/api/v1/health", timeout=5)[0] == 200
            assert time.monotonic() - started < 1.0  # liveness never touches the database
            proxy.set_mode("pass")
            deadline = time.monotonic() + 20
            while call(server.base, "GET", "/api/v1/ready", timeout=10)[0] != 200:
                assert time.monotonic() < deadline, f"no recovery after {mode}"
                time.sleep(0.3)
            assert call(server.base, "GET", CONFIG, token=agent)[0] == 200
            token = login(server.base, "f0")
            assert call(server.base, "GET", "/api/v1/auth/me", token=token)[0] == 200
        assert server.errors_logged() == []
    finally:
        server.stop()
        proxy.close()


# ---------------------------------------------------------------- thousands of waiting polls


def _open_long_polls(port: int, requests: list[bytes]) -> list[socket.socket]:
    socks = []
    for raw in requests:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(raw)
        socks.append(s)
    return socks


def _raw_get(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _timed(func, *args, **kwargs) -> tuple[float, Any]:
    started = time.monotonic()
    result = func(*args, **kwargs)
    return time.monotonic() - started, result


@pytest.mark.slow
def test_thousands_of_long_polls_leave_the_server_responsive(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 6000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 6000:
        pytest.skip("the open-files limit is too low for 2,500 sockets")
    db_url = f"sqlite:///{tmp_path / 'many.db'}"
    server = Server(db_url, tmp_path / "data", workers=2)
    app = direct_app(db_url, tmp_path / "direct")
    socks: list[socket.socket] = []
    try:
        seed_users(app, 1, "m")
        from sqlalchemy import select

        from nexavpn_api.extensions import db
        from nexavpn_api.models import Gateway
        from nexavpn_api.models._types import utcnow
        from nexavpn_api.security import hash_token

        tokens = [f"agent-token-{i:04d}-{os.urandom(8).hex()}" for i in range(500)]
        keys = [new_key() for _ in tokens]
        with app.app_context():
            for i, tok in enumerate(tokens):
                db.session.add(Gateway(
                    name=f"g{i}", endpoint=f"gw{i}.example.test:51820", public_key=keys[i],
                    vpn_cidr=f"10.{100 + i // 250}.{i % 250}.0/24", dns=[], mtu=1420,
                    enabled=True, agent_token_hash=hash_token(tok), last_seen_at=utcnow(),
                ))
            db.session.commit()
        user = login(server.base, "m0")
        status, enrolled, _ = call(server.base, "POST", ENROLL, enroll_body(), user)
        assert status == 201, enrolled
        with app.app_context():
            revisions = dict(db.session.execute(select(Gateway.id, Gateway.revision)).all())
            db.session.rollback()
        dev = enrolled["device"]["id"]
        etag = f'"{enrolled["profile"]["revision"]}"'
        agent_polls = [
            _raw_get(f"{CONFIG}?after={revisions[i + 1]}&wait=60", {"Authorization": f"Bearer {t}"})
            for i, t in enumerate(tokens)
        ]
        client_polls = [
            _raw_get(f"/api/v1/devices/{dev}/profile?wait=60",
                     {"Authorization": f"Bearer {user}", "If-None-Match": etag})
        ] * 2000
        opened = time.monotonic()
        socks = _open_long_polls(server.port, agent_polls + client_polls)
        # Let the server read, authenticate and park every request (a burst of 2,500
        # arrivals costs CPU once); then everything else must answer at once.
        settled = time.monotonic() + 120
        while _timed(call, server.base, "GET", "/api/v1/health", timeout=60)[0] > 0.2:
            assert time.monotonic() < settled, "the burst of long-polls never settled"
        print(f"2,500 long-polls parked in {time.monotonic() - opened:.1f} s")

        took, result = _timed(call, server.base, "GET", "/api/v1/health", timeout=30)
        assert result[0] == 200 and took < 1.0, took
        took, _token = _timed(login, server.base, "m0")
        assert took < 1.0, took
        took, result = _timed(call, server.base, "POST", HEARTBEAT,
                              {"public_key": keys[0], "peers": []}, tokens[0], 30)
        assert result[0] == 204 and took < 1.0, (took, result)
        # Nobody was refused or answered early: every socket is still waiting.
        for s in socks[::50]:
            s.setblocking(False)
            try:
                early = s.recv(200)
            except BlockingIOError:
                continue
            raise AssertionError(f"a long-poll was answered early: {early!r}")
        assert server.errors_logged() == []
    finally:
        for s in socks:
            s.close()
        server.stop()
        with app.app_context():
            from nexavpn_api.extensions import db

            db.engine.dispose()


# ---------------------------------------------------------------- slow work, slow clients


@pytest.mark.slow
def test_login_storm_on_sqlite_leaves_heartbeats_fast(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'storm.db'}"
    server = Server(
        db_url,
        tmp_path / "data",
        workers=2,
        env={  # production argon2 cost: the storm must really cost something
            "NEXAVPN_ARGON2_TIME_COST": "3",
            "NEXAVPN_ARGON2_MEMORY_KIB": "65536",
            "NEXAVPN_ARGON2_PARALLELISM": "4",
            "NEXAVPN_LOGIN_MAX_FAILURES": "100000",
            "NEXAVPN_LOGIN_MAX_FAILURES_PER_IP": "100000",
        },
    )
    app = direct_app(db_url, tmp_path / "direct")
    try:
        seed_users(app, 10, "s")
        _gid, agent = make_gateway(app, "hb", vpn_cidr="10.42.0.0/24")
        stop = threading.Event()
        logins: list[int] = []

        def storm(i: int) -> None:  # ten senders at two logins a second each: 20/s
            while not stop.is_set():
                password = PASSWORD if i % 2 else "wrong password!"
                started = time.monotonic()
                status, _, _ = call(server.base, "POST", "/api/v1/auth/login",
                                    {"username": f"s{i}", "password": password}, timeout=60)
                logins.append(status)
                stop.wait(max(0.0, 0.5 - (time.monotonic() - started)))

        threads = [threading.Thread(target=storm, args=(i,), daemon=True) for i in range(10)]
        for th in threads:
            th.start()
        time.sleep(1.0)
        beats = []
        key = new_key()
        for _ in range(15):
            took, result = _timed(call, server.base, "POST", HEARTBEAT,
                                  {"public_key": key, "peers": []}, agent, 30)
            assert result[0] == 204
            beats.append(took)
            time.sleep(0.2)
        stop.set()
        for th in threads:
            th.join(60)
        assert Counter(logins).keys() <= {200, 401}, Counter(logins)
        assert len(logins) >= 10
        assert max(beats) < 1.0, beats
    finally:
        server.stop()
        from nexavpn_api.extensions import db

        with app.app_context():
            db.engine.dispose()


@pytest.mark.slow
def test_slow_header_clients_do_not_stall_health(tmp_path: Path) -> None:
    server = Server(f"sqlite:///{tmp_path / 'slow.db'}", tmp_path / "data", workers=1)
    socks: list[socket.socket] = []
    try:
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")  # headers never end
            socks.append(s)
        for _ in range(3):
            for s in socks:
                s.sendall(b"X-Slow: 1\r\n")
            took, result = _timed(call, server.base, "GET", "/api/v1/health", timeout=30)
            assert result[0] == 200 and took < 1.0, took
            time.sleep(0.5)
    finally:
        for s in socks:
            s.close()
        server.stop()
