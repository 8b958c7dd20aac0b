"""Propagation benchmark: how fast a change reaches waiting long-polls, and what holding
thousands of them costs.

    .venv/bin/python bench/propagation.py                       # SQLite in a temporary directory
    .venv/bin/python bench/propagation.py --database-url postgresql://u:p@127.0.0.1/nexavpn_bench

The PostgreSQL database must be dedicated to the bench (its tables are emptied). Measured, in
one run:
1. revoke at 1,000 peers → the peer gone from a waiting agent's config, the waiter on one server
   process and the revoke through another (two ``serve --workers 1`` on the same database);
   also the client's profile long-poll → 410. Targets: p50 ≤ 20 ms, p95 ≤ 50 ms.
2. 1,000 agent + 10,000 client long-polls held by one ``serve --workers 2``: ``/health`` p99
   (target ≤ 50 ms), server RSS (≤ 1 GiB), database transactions per second while idle
   (PostgreSQL, from pg_stat_database; target ≈ 0).
3. heartbeat p99 during a 20 logins/s storm on SQLite at production argon2 cost (≤ 100 ms).
The enrollment cost is ``bench/enroll.py``'s.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PATHS = [str(ROOT), str(ROOT / "backend"), str(ROOT / "shared")]
sys.path[:0] = _PATHS
# The servers this bench starts run this checkout's code, not whatever the venv installed.
os.environ["PYTHONPATH"] = os.pathsep.join([*_PATHS, os.environ.get("PYTHONPATH", "")])

os.environ.setdefault("NEXAVPN_ARGON2_TIME_COST", "1")  # seeding only; servers get their own
os.environ.setdefault("NEXAVPN_ARGON2_MEMORY_KIB", "8")
os.environ.setdefault("NEXAVPN_ARGON2_PARALLELISM", "1")

# One kept-open connection, as an agent's requests.Session or a browser keeps.
from bench.enroll import Client as KeepAlive  # noqa: E402
from tests.backend.live_server import (  # noqa: E402
    PASSWORD,
    Server,
    call,
    direct_app,
    login,
    reset_pg,
    seed_users,
)
from tests.backend.provisioning_helpers import enroll_body, make_gateway, new_key  # noqa: E402

CONFIG = "/api/v1/gateway-agent/config"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return (f"p50 {pct(values, 50) * 1000:.1f} ms, p95 {pct(values, 95) * 1000:.1f} ms, "
            f"p99 {pct(values, 99) * 1000:.1f} ms (n={len(values)})")


def prepare(url: str | None, tmp: Path, name: str) -> str:
    """The database for one part: the given PostgreSQL (emptied later), else a new SQLite."""
    return url or f"sqlite:///{tmp / f'{name}.db'}"


def enroll_many(base: str, users: list[str], n: int, threads: int = 8) -> list[dict]:
    """``n`` devices spread over ``users``, each enrolled by a sign-in of its own (sessions are
    bound to the device they enroll)."""
    out: list[dict] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        for i in range(k, n, threads):
            token = login(base, users[i % len(users)])
            status, body, _ = call(base, "POST", "/api/v1/devices/enroll", enroll_body(), token)
            assert status == 201, body
            with lock:
                out.append(body)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def revoke_propagation(url: str | None, tmp: Path, rounds: int) -> None:
    db_url = prepare(url, tmp, "revoke")
    env = {  # one secret for both servers: a token minted by one is accepted by the other
        "NEXAVPN_DEVICE_LIMIT": "100000",
        "NEXAVPN_SECRET_KEY": os.urandom(24).hex(),
        "NEXAVPN_JWT_SECRET_KEY": os.urandom(32).hex(),
    }
    a = Server(db_url, tmp / "a", env=env)
    b = Server(db_url, tmp / "b", env=env)
    app = direct_app(db_url, tmp / "direct")
    try:
        if db_url.startswith("postgresql"):
            reset_pg(app)
        seed_users(app, 20, "r")
        _gid, agent = make_gateway(app, "bench", vpn_cidr="10.50.0.0/20")
        t0 = time.monotonic()
        devices = enroll_many(a.base, [f"r{i}" for i in range(20)], 1000 + 2 * rounds)
        print(f"  seeded {len(devices)} peers in {time.monotonic() - t0:.1f} s")
        tokens = {f"r{i}": login(a.base, f"r{i}") for i in range(20)}  # owners revoke
        owner_of = {body["device"]["id"]: body["device"]["user_id"] for body in devices}
        # Like the real agent (a requests.Session) and an admin UI, each side keeps its
        # connection open; the bench's own garbage is frozen so its collector does not stall
        # the measurement.
        agent_conn, client_conn = KeepAlive(b.base), KeepAlive(b.base)
        revoker = KeepAlive(a.base)
        gc.collect()
        gc.freeze()
        agent_lat: list[float] = []
        wake_lat: list[float] = []  # from the revoke's answer (its commit) to the agent's
        revoke_lat: list[float] = []  # the revoke request itself while the agent waits
        client_lat: list[float] = []
        victims = devices[-2 * rounds:]
        for i in range(rounds):
            # agent: long-poll on B, revoke on A
            body = victims[2 * i]
            dev = body["device"]["id"]
            _, cfg = agent_conn.call("GET", CONFIG, token=agent)
            rev = cfg["revision"]
            got: dict = {}

            def poll(rev: int = rev, got: dict = got) -> None:
                got["r"] = agent_conn.call("GET", f"{CONFIG}?after={rev}&wait=30", token=agent)
                got["at"] = time.perf_counter()

            th = threading.Thread(target=poll)
            th.start()
            time.sleep(0.3)
            user_token = tokens[f"r{owner_of[dev] - 1}"]
            sent = time.perf_counter()
            status, _ = revoker.call("POST", f"/api/v1/devices/{dev}/revoke", {}, user_token)
            answered = time.perf_counter()
            assert status == 200
            th.join(30)
            wake_lat.append(got["at"] - answered)
            revoke_lat.append(answered - sent)
            assert got["r"][0] == 200
            assert dev not in {p["device_id"] for p in got["r"][1]["peers"]}
            agent_lat.append(got["at"] - sent)
            # client: profile long-poll on B, revoke on A → 410
            body = victims[2 * i + 1]
            dev = body["device"]["id"]
            user_token = tokens[f"r{owner_of[dev] - 1}"]
            etag = f'"{body["profile"]["revision"]}"'
            got = {}

            def ppoll(dev: int = dev, etag: str = etag, tok: str = user_token,
                      got: dict = got) -> None:
                got["r"] = client_conn.call("GET", f"/api/v1/devices/{dev}/profile?wait=30",
                                            token=tok, extra_headers={"If-None-Match": etag})
                got["at"] = time.perf_counter()

            th = threading.Thread(target=ppoll)
            th.start()
            time.sleep(0.3)
            sent = time.perf_counter()
            status, _ = revoker.call("POST", f"/api/v1/devices/{dev}/revoke", {}, user_token)
            assert status == 200
            th.join(30)
            assert got["r"][0] == 410, got["r"]
            client_lat.append(got["at"] - sent)
        plain, revokes = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            agent_conn.call("GET", CONFIG, token=agent)
            plain.append(time.perf_counter() - started)
        for body in devices[: rounds]:
            dev = body["device"]["id"]
            started = time.perf_counter()
            revoker.call("POST", f"/api/v1/devices/{dev}/revoke", {},
                         tokens[f"r{owner_of[dev] - 1}"])
            revokes.append(time.perf_counter() - started)
        gc.unfreeze()
        print(f"  for comparison: the revoke request alone: {ms(revokes)}")
        print(f"  for comparison: GET config ({len(devices) - 2 * rounds} peers) at once: "
              f"{ms(plain)}")
        print(f"  the revoke request while the agent waits: {ms(revoke_lat)}")
        print(f"  revoke → agent config without the peer (other process): {ms(agent_lat)}")
        print(f"  revoke's answer → agent's answer (negative: the agent was first): "
              f"{ms(wake_lat)}")
        print(f"  revoke → client profile long-poll 410 (other process):  {ms(client_lat)}")
    finally:
        a.stop()
        b.stop()


def _rss_kib(pid: int) -> int:
    """RSS of a process and its children (master + workers)."""
    total = 0
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().split()
            except OSError:
                continue
            if int(stat[3]) == pid:
                pids.append(int(entry.name))
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _pg_transactions(app) -> int | None:
    from sqlalchemy import text

    from nexavpn_api.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return None
        value = db.session.execute(text(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )).scalar_one()
        db.session.rollback()
        return int(value)


def held_polls(url: str | None, tmp: Path, agents: int, clients: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = agents + clients + 200
    if hard < need:
        print(f"  skipped: open-files hard limit {hard} < {need}")
        return
    db_url = prepare(url, tmp, "held")
    server = Server(db_url, tmp / "held", workers=2)
    app = direct_app(db_url, tmp / "held-direct")
    socks: list[socket.socket] = []
    try:
        if db_url.startswith("postgresql"):
            reset_pg(app)
        seed_users(app, 10, "h")
        from sqlalchemy import select

        from nexavpn_api.extensions import db
        from nexavpn_api.models import Gateway
        from nexavpn_api.models._types import utcnow
        from nexavpn_api.security import hash_token

        tokens = [f"bench-agent-{i}-{os.urandom(8).hex()}" for i in range(agents)]
        with app.app_context():
            for i, tok in enumerate(tokens):
                db.session.add(Gateway(
                    name=f"hg{i}", endpoint=f"hg{i}.example.test:51820", public_key=new_key(),
                    vpn_cidr=f"10.{64 + i // 250}.{i % 250}.0/24", dns=[], mtu=1420,
                    enabled=True, agent_token_hash=hash_token(tok), last_seen_at=utcnow(),
                ))
            db.session.commit()
        devices = enroll_many(server.base, [f"h{i}" for i in range(10)], 10, threads=2)
        by_user = {uid: login(server.base, f"h{uid - 1}") for uid in range(1, 11)}  # ids 1-10
        user_tokens = {d["device"]["id"]: by_user[d["device"]["user_id"]] for d in devices}
        with app.app_context():
            revisions = dict(db.session.execute(select(Gateway.id, Gateway.revision)).all())
            ids = dict(db.session.execute(select(Gateway.agent_token_hash, Gateway.id)).all())
            db.session.rollback()
        requests = []
        for tok in tokens:
            rev = revisions[ids[hash_token(tok)]]
            requests.append(
                f"GET {CONFIG}?after={rev}&wait=60 HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {tok}\r\n\r\n".encode()
            )
        for i in range(clients):
            d = devices[i % len(devices)]
            dev = d["device"]["id"]
            requests.append(
                f"GET /api/v1/devices/{dev}/profile?wait=60 HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {user_tokens[dev]}\r\n"
                f"If-None-Match: \"{d['profile']['revision']}\"\r\n\r\n".encode()
            )
        def park(batch: list[bytes]) -> float:
            t0 = time.monotonic()
            for raw in batch:
                s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                s.sendall(raw)
                socks.append(s)
            while True:  # parked once /health is quick again
                started = time.perf_counter()
                call(server.base, "GET", "/api/v1/health", timeout=60)
                if time.perf_counter() - started < 0.05:
                    return time.monotonic() - t0

        first = requests[: agents + min(clients, 1000)]
        took = park(first)
        print(f"  {len(first)} long-polls parked in {took:.1f} s")
        if _pg_transactions(app) is not None:
            # The server may still be authenticating the last arrivals, and autovacuum's
            # transactions count too: six 5 s windows, the median reported (the pg_stat read
            # itself is one transaction per window).
            rates: list[float] = []
            previous = _pg_transactions(app)
            for _ in range(6):
                time.sleep(5)
                now = _pg_transactions(app)
                rates.append((now - previous - 1) / 5)
                previous = now
            print(f"  database transactions/s while {len(first)} wait and nothing changes: "
                  f"median {statistics.median(rates):.2f} "
                  f"(5 s windows: {', '.join(f'{r:.1f}' for r in rates)})")
        took = park(requests[len(first):])
        print(f"  all {len(requests)} long-polls parked ({took:.1f} s more)")
        lat = []
        for _ in range(200):
            started = time.perf_counter()
            call(server.base, "GET", "/api/v1/health")
            lat.append(time.perf_counter() - started)
            time.sleep(0.02)
        print(f"  /health while they wait: {ms(lat)}")
        print(f"  server RSS (master + workers): {_rss_kib(server.proc.pid) / 1024:.0f} MiB")
        answered: dict[str, int] = {}
        sample = socks[::100]
        for s in sample:
            s.setblocking(False)
            try:
                head = s.recv(4096).decode(errors="replace")
                code = head.split("\r\n", 1)[0]
                if '"code": "' in head:
                    code += " " + head.split('"code": "', 1)[1].split('"', 1)[0]
            except BlockingIOError:
                code = "still waiting"
            answered[code] = answered.get(code, 0) + 1
        # 304s are waits of 60 s that ran out while the rest were still being parked.
        print(f"  a sample of {len(sample)} long-polls: {answered}")
    finally:
        for s in socks:
            s.close()
        server.stop()
    # Counted after the stop: releasing thousands of waiting polls at once is part of the run.
    print(f"  tracebacks in the server log, stop included: {len(server.errors_logged())} "
          f"({server.log})")


def login_storm(tmp: Path, seconds: float) -> None:
    db_url = f"sqlite:///{tmp / 'storm.db'}"
    server = Server(db_url, tmp / "storm", workers=2, env={
        "NEXAVPN_ARGON2_TIME_COST": "3", "NEXAVPN_ARGON2_MEMORY_KIB": "65536",
        "NEXAVPN_ARGON2_PARALLELISM": "4",
        "NEXAVPN_LOGIN_MAX_FAILURES": "1000000", "NEXAVPN_LOGIN_MAX_FAILURES_PER_IP": "1000000",
    })
    app = direct_app(db_url, tmp / "storm-direct")
    try:
        seed_users(app, 20, "s")
        _gid, agent = make_gateway(app, "hb", vpn_cidr="10.60.0.0/24")
        stop = threading.Event()
        done: list[int] = []

        def sender(i: int) -> None:
            while not stop.is_set():
                started = time.monotonic()
                pw = PASSWORD if i % 2 else "wrong password"
                done.append(call(server.base, "POST", "/api/v1/auth/login",
                                 {"username": f"s{i}", "password": pw})[0])
                stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))

        threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(20)]
        for t in threads:
            t.start()
        time.sleep(1)
        key = new_key()
        lat = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            _status, _, _ = call(server.base, "POST", "/api/v1/gateway-agent/heartbeat",
                                {"public_key": key, "peers": []}, agent)
            lat.append(time.perf_counter() - started)
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(60)
        print(f"  logins answered: {len(done)} ({len(done) / (seconds + 1):.1f}/s)")
        print(f"  heartbeat during the storm: {ms(lat)}")
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", help="PostgreSQL for parts 1-2 (default: SQLite)")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=10000)
    ap.add_argument("--storm-seconds", type=float, default=10)
    ap.add_argument("--only", choices=("revoke", "held", "storm"))
    ap.add_argument("--workdir", help="keep server logs here (default: a temporary directory)")
    args = ap.parse_args()
    url = args.database_url
    if url and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    with tempfile.TemporaryDirectory(prefix="nexavpn-prop-") as tmpd:
        tmp = Path(args.workdir or tmpd)
        tmp.mkdir(parents=True, exist_ok=True)
        backend = "PostgreSQL" if url else "SQLite"
        if args.only in (None, "revoke"):
            print(f"1. revoke at 1,000 peers, waiter and revoke on different processes ({backend})")
            revoke_propagation(url, tmp, args.rounds)
        if args.only in (None, "held"):
            print(f"2. {args.agents} agent + {args.clients} client long-polls, one 2-worker "
                  f"server ({backend})")
            held_polls(url, tmp, args.agents, args.clients)
        if args.only in (None, "storm"):
            print("3. heartbeats during a 20 logins/s storm (SQLite, production argon2 cost)")
            login_storm(tmp, args.storm_seconds)


if __name__ == "__main__":
    main()
