"""Enrollment benchmark: enrollments per second and latency at 100, 1,000 and 10,000 devices.

Runs over HTTP against a server, and measures a trivial JSON endpoint in the same run for
comparison (``GET /api/v1/health``, and ``GET /api/v1/auth/me`` which also checks a token).

    # spawn a 4-worker server on a fresh SQLite database in a temporary directory:
    .venv/bin/python bench/enroll.py
    # the same on PostgreSQL (the database must be empty; it is migrated on start):
    .venv/bin/python bench/enroll.py --database-url postgresql://u:p@127.0.0.1/nexavpn_bench
    # against a server that is already running (admin credentials in the environment:
    # NEXAVPN_BENCH_ADMIN, NEXAVPN_BENCH_PASSWORD; the server needs a high NEXAVPN_DEVICE_LIMIT):
    .venv/bin/python bench/enroll.py --url http://127.0.0.1:8000

Targets: the cost per enrollment at 10,000 devices is within 1.3x of the cost at 100,
and an enrollment costs no more than 6x the trivial endpoint.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ADMIN_PASSWORD = "bench-admin-password-1"
USER_PASSWORD = "bench-user-password-1"


def fake_public_key() -> str:
    """A well-formed WireGuard public key (random 32 bytes; the bench never needs the private)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Client:
    """One keep-alive HTTP connection (one per thread)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ):
        headers = {"Content-Type": "application/json", **(extra_headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body)
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_bin() -> str:
    return str(Path(sys.executable).with_name("nexavpn-server"))


def spawn_server(database_url: str | None, workers: int, data_dir: Path, limit: int):
    """Create an admin, then start ``nexavpn-server serve``; returns (process, base URL)."""
    env = {**os.environ, "NEXAVPN_DATA_DIR": str(data_dir), "NEXAVPN_DEVICE_LIMIT": str(limit)}
    # Every enrollment needs a sign-in of its own (sessions are bound to devices): cheap hashing
    # keeps the ~11,000 seeding sign-ins short. The enrollment itself hashes nothing.
    for name, value in (("TIME_COST", "1"), ("MEMORY_KIB", "8"), ("PARALLELISM", "1")):
        env.setdefault(f"NEXAVPN_ARGON2_{name}", value)
    if database_url:
        env["NEXAVPN_DATABASE_URL"] = database_url
    subprocess.run(
        [_server_bin(), "create-admin", "--username", "bench", "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        text=True,
        env=env,
        check=True,
        timeout=120,
        stdout=subprocess.DEVNULL,
    )
    port = _free_port()
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            _server_bin(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited; see {data_dir / 'server.log'}")
        try:
            if Client(base).call("GET", "/api/v1/health")[0] == 200:
                return proc, base
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server we started (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _ok(status: int, body: Any, what: str, expect: tuple[int, ...] = (200, 201, 204)) -> Any:
    if status not in expect:
        raise SystemExit(f"{what} failed: {status} {body}")
    return body


class Users:
    """Users created on demand (as an admin would), each good for ``limit`` enrollments.

    Devices are spread over many users as in a real deployment (the default device limit is
    10 per user), so per-user work stays constant while the total grows. A session is bound to
    the device it enrolls, so each slot is a sign-in of its own.
    """

    def __init__(self, base: str, admin_token: str, group: str, tag: str, limit: int) -> None:
        self.base, self.admin_token, self.group, self.tag = base, admin_token, group, tag
        self.limit = limit
        self.slots: list[str] = []
        self.created = 0
        self.lock = threading.Lock()

    def _make(self, index: int) -> list[str]:
        c = Client(self.base)
        name = f"bench-{self.tag}-{index}"
        _ok(
            *c.call(
                "POST",
                "/api/v1/users",
                {"username": name, "password": USER_PASSWORD, "groups": [self.group]},
                self.admin_token,
            ),
            "create user",
        )
        creds = {"username": name, "password": USER_PASSWORD}
        return [
            _ok(*c.call("POST", "/api/v1/auth/login", creds), "user login")["access_token"]
            for _ in range(self.limit)
        ]

    def ensure(self, n: int, threads: int = 8) -> None:
        """Have at least ``n`` free enrollment slots."""
        need = max(0, -(-(n - len(self.slots)) // self.limit))
        if not need:
            return
        indexes = list(range(self.created, self.created + need))
        self.created += need
        made: list[str] = []

        def run(part: list[int]) -> None:
            for i in part:
                tokens = self._make(i)
                with self.lock:
                    made.extend(tokens)

        parts = [indexes[k::threads] for k in range(threads)]
        ths = [threading.Thread(target=run, args=(p,)) for p in parts if p]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        self.slots.extend(made)

    def take(self, n: int) -> list[str]:
        """``n`` tokens with room for one more device each (creating users as needed)."""
        self.ensure(n)
        out, self.slots = self.slots[:n], self.slots[n:]
        return out


def setup(base: str, admin: str, password: str, limit: int) -> tuple[Users, str, str]:
    """An online gateway (/16), a policy for a group, and a pool of users in that group."""
    c = Client(base)
    login = _ok(
        *c.call("POST", "/api/v1/auth/login", {"username": admin, "password": password}),
        "admin login",
    )
    at = login["access_token"]
    tag = secrets.token_hex(3)
    gw = _ok(
        *c.call(
            "POST",
            "/api/v1/gateways",
            {
                "name": f"bench-{tag}",
                "endpoint": "vpn.bench.example:51820",
                "vpn_cidr": f"10.{64 + secrets.randbelow(60)}.0.0/16",
                "dns": ["10.64.0.1"],
            },
            at,
        ),
        "create gateway",
    )
    agent = gw["agent_token"]
    _ok(
        *c.call(
            "POST",
            "/api/v1/gateway-agent/heartbeat",
            {"public_key": fake_public_key(), "listen_port": 51820, "peers": []},
            agent,
        ),
        "heartbeat",
    )
    group = f"bench-{tag}"
    _ok(
        *c.call(
            "POST",
            "/api/v1/policies",
            {
                "name": f"bench-{tag}",
                "destinations": ["10.200.0.0/16", "fd00:200::/64"],
                "groups": [group],
            },
            at,
        ),
        "create policy",
    )
    threading.Thread(target=_keep_gateway_online, args=(base, agent), daemon=True).start()
    return Users(base, at, group, tag, limit), agent, at


def _keep_gateway_online(base: str, agent: str) -> None:
    c = Client(base)
    key = fake_public_key()
    while True:
        time.sleep(20)
        try:
            c.call("POST", "/api/v1/gateway-agent/heartbeat", {"public_key": key}, agent)
        except OSError:
            return


def _body() -> dict[str, Any]:
    return {
        "name": "bench device",
        "fingerprint": secrets.token_hex(32),
        "public_key": fake_public_key(),
        "platform": "linux",
    }


def enroll_all(base: str, tokens: list[str], threads: int) -> None:
    """One enrollment per token, spread over ``threads`` keep-alive clients."""

    def run(part: list[str]) -> None:
        c = Client(base)
        for token in part:
            _ok(*c.call("POST", "/api/v1/devices/enroll", _body(), token), "enroll")

    parts = [tokens[k::threads] for k in range(threads)]
    ths = [threading.Thread(target=run, args=(p,)) for p in parts if p]
    for th in ths:
        th.start()
    for th in ths:
        th.join()


def timed(fn, n: int) -> list[float]:
    """Latencies (seconds) of ``n`` sequential calls."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def throughput(base: str, tokens: list[str], threads: int) -> float:
    """Enrollments per second with ``threads`` concurrent clients."""
    t0 = time.perf_counter()
    enroll_all(base, tokens, threads)
    return len(tokens) / (time.perf_counter() - t0)


def summary(lat: list[float]) -> dict[str, float]:
    """Median and p95 in milliseconds, and the mean."""
    ms = sorted(x * 1000 for x in lat)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"median": statistics.median(ms), "p95": p95, "mean": statistics.fmean(ms)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running server (else one is spawned)")
    ap.add_argument("--database-url", help="for the spawned server (default: SQLite in a tmpdir)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--sample", type=int, default=200, help="measured enrollments per size")
    ap.add_argument("--threads", type=int, default=8, help="client threads for fill/throughput")
    ap.add_argument("--device-limit", type=int, default=10, help="the server's per-user limit")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    proc = None
    tmp = None
    if args.url:
        base = args.url.rstrip("/")
        admin = os.environ.get("NEXAVPN_BENCH_ADMIN", "admin")
        password = os.environ.get("NEXAVPN_BENCH_PASSWORD", "")
    else:
        tmp = tempfile.TemporaryDirectory(prefix="nexavpn-bench-")
        proc, base = spawn_server(
            args.database_url, args.workers, Path(tmp.name), args.device_limit
        )
        admin, password = "bench", ADMIN_PASSWORD
    try:
        users, _agent, admin_token = setup(base, admin, password, args.device_limit)
        me_client = Client(base)
        enroll_client = Client(base)
        kind = (
            "PostgreSQL"
            if (args.database_url or "").startswith("postgres")
            else ("SQLite" if not args.url else "server at " + base)
        )
        print(
            f"NexaVPN enrollment bench: {kind}, {args.workers} workers, {args.sample} "
            f"sequential enrollments per size, {args.device_limit} devices per user"
        )
        header = (
            f"{'devices':>8} {'enroll med':>10} {'p95':>7} {'mean':>7} {'enr/s seq':>9} "
            f"{'enr/s x' + str(args.threads):>9} {'health med':>10} {'me med':>7} "
            f"{'enr/health':>10} {'enr/me':>7}"
        )
        print(header)
        existing = 0
        rows = []
        for size in sizes:
            enroll_all(base, users.take(size - existing), args.threads)
            existing = size
            health = summary(timed(lambda: me_client.call("GET", "/api/v1/health"), args.sample))
            me = summary(
                timed(
                    lambda: me_client.call("GET", "/api/v1/auth/me", None, admin_token), args.sample
                )
            )
            seq_tokens = iter(users.take(args.sample))

            def one(seq_tokens=seq_tokens) -> None:
                _ok(
                    *enroll_client.call(
                        "POST", "/api/v1/devices/enroll", _body(), next(seq_tokens)
                    ),
                    "enroll",
                )

            enr = summary(timed(one, args.sample))
            tput = throughput(base, users.take(args.sample), args.threads)
            existing += 2 * args.sample
            rows.append((size, enr, health, me, tput))
            print(
                f"{size:>8} {enr['median']:>8.2f}ms {enr['p95']:>5.2f}ms {enr['mean']:>5.2f}ms "
                f"{1000 / enr['mean']:>9.1f} {tput:>9.1f} {health['median']:>8.2f}ms "
                f"{me['median']:>5.2f}ms {enr['median'] / health['median']:>10.2f} "
                f"{enr['median'] / me['median']:>7.2f}",
                flush=True,
            )
        first, last = rows[0], rows[-1]
        growth = last[1]["median"] / first[1]["median"]
        worst = max(r[1]["median"] / r[2]["median"] for r in rows)
        print(f"cost at {last[0]} vs {first[0]} devices (median): {growth:.2f}x (target <= 1.3x)")
        worst_me = max(r[1]["median"] / r[3]["median"] for r in rows)
        print(
            f"enrollment vs trivial endpoint (median, worst size, target <= 6x): "
            f"{worst:.2f}x /health (no auth, no database), "
            f"{worst_me:.2f}x /auth/me (token check + user lookup)"
        )
    finally:
        if proc is not None:
            stop_server(proc)
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
