"""The Debian packages for real: build both with packaging/build-debs.sh, install them with apt
(dependencies resolved by apt), run the installed server as its unit would (user, environment,
runtime directories taken from the installed unit file; systemd is not PID 1 here) against
PostgreSQL, upgrade to a rebuilt higher version and find the data again, remove and find the
data still there, then purge and leave the machine as it was.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "build-debs.sh"
PACKAGES = ("nexavpn-server", "nexavpn-gateway")
USERS = ("nexavpn", "nexavpn-gateway")
PATHS = (Path("/etc/nexavpn"), Path("/var/lib/nexavpn"), Path("/opt/nexavpn"),
         Path("/var/backups/nexavpn"), Path("/run/nexavpn"))
SERVER_UNIT = Path("/lib/systemd/system/nexavpn-server.service")
GATEWAY_UNIT = Path("/lib/systemd/system/nexavpn-gateway.service")
TEST_DB = "nexavpn_pkgtest"
ADMIN_PASSWORD = "pkgtest horse battery staple"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TIMINGS: dict[str, float] = {}


def _why_skip() -> str | None:
    if os.geteuid() != 0:
        return "installing Debian packages needs root"
    for tool in ("dpkg-deb", "apt-get", "dpkg-query", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (not a Debian-like machine)"
    if not Path("/usr/bin/python3").exists():
        return "/usr/bin/python3 is missing"
    return None


def _installed(pkg: str) -> str | None:
    res = subprocess.run(["dpkg-query", "-W", "-f=${Status}|${Version}", pkg],
                         capture_output=True, text=True, timeout=30)
    return res.stdout if res.returncode == 0 and "not-installed" not in res.stdout else None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _run(argv: list[str], *, timeout: float = 300, input: str | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                          env=env)


def _apt(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    env.pop("NEXAVPN_SKIP_MIGRATE", None)
    return _run(["apt-get", "-y", "-o", "DPkg::Lock::Timeout=120", *args], timeout=600, env=env)


def _timed(label: str):
    @contextlib.contextmanager
    def cm():
        t0 = time.monotonic()
        yield
        TIMINGS[label] = round(time.monotonic() - t0, 1)
    return cm()


def _pg_base_url() -> str:
    url = os.environ.get("NEXAVPN_TEST_DATABASE_URL", "")
    if url:
        return url
    res = _run(["bash", str(ROOT / "scripts" / "start-postgres.sh")], timeout=120)
    if res.returncode != 0:
        pytest.fail(f"PostgreSQL did not start: {res.stderr}")
    return res.stdout.strip().splitlines()[-1]


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parse_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key.strip()] = value.strip().strip('"').strip("'")
    return env


def _unit(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


class ServiceLikeSystemd:
    """Start ExecStart the way the installed unit says: its User, Environment= values,
    EnvironmentFile (which wins) and RuntimeDirectory=, in a clean environment."""

    def __init__(self, unit_path: Path, log_path: Path) -> None:
        self.unit = _unit(unit_path)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        for item in self.unit.get("Environment", []):
            for pair in shlex.split(item):
                key, value = pair.split("=", 1)
                env[key] = value
        for item in self.unit.get("EnvironmentFile", []):
            env.update(_parse_env_file(Path(item.lstrip("-"))))
        return env

    def start(self) -> None:
        user = self.unit["User"][0]
        pw = pwd.getpwnam(user)
        for spec in self.unit.get("RuntimeDirectory", []):
            for rel in spec.split():
                d = Path("/run") / rel
                d.mkdir(mode=0o750, parents=True, exist_ok=True)
                os.chown(d, pw.pw_uid, pw.pw_gid)
        argv = shlex.split(self.unit["ExecStart"][0])
        env_args = [f"{k}={v}" for k, v in self.environment().items()]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            ["runuser", "-u", user, "--", "env", "-i", *env_args, *argv],
            stdout=log, stderr=subprocess.STDOUT, cwd="/", start_new_session=True,
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


def _wait_health(base: str, log: Path, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            resp = requests.get(base + "/api/v1/health", timeout=3)
            if resp.status_code == 200:
                return resp.json()
            last = f"HTTP {resp.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.3)
    pytest.fail(f"installed server never became healthy ({last}); log:\n"
                + log.read_text(errors="replace")[-4000:])


def _login(base: str) -> requests.Response:
    return requests.post(base + "/api/v1/auth/login",
                         json={"username": "pkgadmin", "password": ADMIN_PASSWORD}, timeout=10)


@pytest.fixture(scope="module")
def machine() -> Iterator[dict]:
    """Preconditions, and a clean-up that leaves the machine as found even on failure."""
    reason = _why_skip()
    if reason:
        pytest.skip(reason)
    present = [p for p in PACKAGES if _installed(p)]
    present += [str(p) for p in PATHS if p.exists()]
    present += [u for u in USERS if _user_exists(u)]
    if present:
        pytest.skip("NexaVPN is already installed on this machine (" + ", ".join(present)
                    + "); the test would disturb it")
    pg = _pg_base_url()
    pkg_url = _with_db(pg, TEST_DB)
    _pg_admin(pg, f"DROP DATABASE IF EXISTS {TEST_DB}")
    _pg_admin(pg, f"CREATE DATABASE {TEST_DB}")
    state: dict = {"pg_url": pkg_url, "services": []}
    try:
        yield state
    finally:
        for svc in state["services"]:
            svc.stop()
        if any(_installed(p) for p in PACKAGES):
            _apt("purge", *PACKAGES)
        for p in PATHS:
            if p.exists():
                shutil.rmtree(p, ignore_errors=True)
        for u in USERS:
            if _user_exists(u):
                _run(["userdel", u], timeout=30)
        with contextlib.suppress(Exception):
            _pg_admin(pg, f"DROP DATABASE IF EXISTS {TEST_DB} WITH (FORCE)")
        print("package test timings (s):", TIMINGS)


def _build(version: str, out: Path) -> dict[str, Path]:
    env = dict(os.environ, NEXAVPN_PKG_VERSION=version, NEXAVPN_PKG_OUT=str(out))
    res = _run(["bash", str(BUILD)], timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-4000:]
    debs = {}
    for line in res.stdout.split():
        path = Path(line)
        debs[path.name.split("_")[0]] = path
    assert set(debs) == set(PACKAGES), res.stdout
    for name, path in debs.items():
        info = _run(["dpkg-deb", "-f", str(path), "Package", "Version"]).stdout
        assert f"Package: {name}" in info and f"Version: {version}" in info
    return debs


def _version_of(pkg: str) -> str:
    status = _installed(pkg)
    assert status and status.startswith("install ok installed"), status
    return status.split("|", 1)[1]


def test_build_install_run_upgrade_remove_purge(machine, tmp_path):
    pyver = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    v1, v2 = f"{pyver}-0pkgtest1", f"{pyver}-0pkgtest2"

    with _timed("build v1 (both packages)"):
        debs1 = _build(v1, tmp_path / "v1")

    # --- install: apt resolves the dependencies; the postinst migrates the default SQLite ---
    with _timed("apt-get install v1"):
        res = _apt("install", *(str(p) for p in debs1.values()))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "Database is up to date." in res.stdout
    assert _version_of("nexavpn-server") == v1 and _version_of("nexavpn-gateway") == v1

    ver = _run(["/opt/nexavpn/server/bin/nexavpn-server", "--version"])
    assert ver.returncode == 0 and pyver in ver.stdout
    gw = _run(["/opt/nexavpn/gateway/bin/nexavpn-gateway", "--version"])
    assert gw.returncode == 0 and "nexavpn-gateway" in gw.stdout + gw.stderr, gw
    # the gateway venv has the agent's dependencies and not the server's
    probe = _run(["/opt/nexavpn/gateway/bin/python", "-c",
                  "import requests, nexavpn_gateway.agent, importlib.util as u;"
                  "print(u.find_spec('flask') is None)"])
    assert probe.returncode == 0 and probe.stdout.strip() == "True", probe

    nexavpn = pwd.getpwnam("nexavpn")
    data = Path("/var/lib/nexavpn/server")
    assert data.stat().st_uid == nexavpn.pw_uid and (data.stat().st_mode & 0o777) == 0o750
    assert (data / "nexavpn.db").stat().st_uid == nexavpn.pw_uid  # made by the nexavpn user
    env_file = Path("/etc/nexavpn/server.env")
    assert env_file.stat().st_gid == nexavpn.pw_gid and (env_file.stat().st_mode & 0o777) == 0o640
    assert Path("/var/lib/nexavpn/gateway").stat().st_uid == pwd.getpwnam("nexavpn-gateway").pw_uid
    if shutil.which("systemd-analyze"):
        for unit in (SERVER_UNIT, GATEWAY_UNIT):
            chk = _run(["systemd-analyze", "verify", "--man=no", str(unit)], timeout=60)
            assert chk.returncode == 0 and not chk.stderr.strip(), (unit, chk.stderr)

    # --- the embedded SQLite database: an online backup with the packaged console ---
    backup = Path("/var/backups/nexavpn/nexavpn-pkgtest.db")
    res = _run(["/usr/bin/nexavpn-server", "backup", "--output", str(backup)], timeout=60)
    assert res.returncode == 0, res.stderr
    assert backup.stat().st_uid == nexavpn.pw_uid and (backup.stat().st_mode & 0o777) == 0o600

    # --- the gateway's token file, made the way docs/operations.md says ---
    res = _run(["install", "-m", "0600", "-o", "nexavpn-gateway", "-g", "nexavpn-gateway",
                "/dev/stdin", "/etc/nexavpn/gateway.token"], input="pkgtest-token\n")
    assert res.returncode == 0, res.stderr
    res = _run(["runuser", "-u", "nexavpn-gateway", "--", "cat", "/etc/nexavpn/gateway.token"])
    assert res.stdout.strip() == "pkgtest-token"
    res = _run(["runuser", "-u", "nexavpn", "--", "cat", "/etc/nexavpn/gateway.token"])
    assert res.returncode != 0  # the server's user cannot read the agent token

    # --- the operator points it at PostgreSQL and makes the first admin ---
    port = _free_port()
    with env_file.open("a") as fh:
        fh.write(f"\nNEXAVPN_DATABASE_URL={machine['pg_url']}\nNEXAVPN_PORT={port}\n"
                 "NEXAVPN_WORKERS=2\nNEXAVPN_METRICS_ENABLED=1\n")
    with _timed("create-admin (migrates PostgreSQL)"):
        res = _run(["/usr/bin/nexavpn-server", "create-admin", "--username", "pkgadmin",
                    "--password-stdin"], input=ADMIN_PASSWORD + "\n", timeout=120)
    assert res.returncode == 0, res.stderr
    # backup of a PostgreSQL server: the command says pg_dump is the tool, exit 2
    res = _run(["/usr/bin/nexavpn-server", "backup", "--output", "/var/backups/nexavpn/x.db"])
    assert res.returncode == 2 and "pg_dump" in res.stderr, res

    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    svc = ServiceLikeSystemd(SERVER_UNIT, log)
    machine["services"].append(svc)
    with _timed("server start to healthy"):
        svc.start()
        health = _wait_health(base, log)
    assert health["status"] == "ok" and health["version"] == pyver
    assert _login(base).status_code == 200
    # metrics, multiprocess across the two workers, only from loopback
    for _ in range(6):
        requests.get(base + "/api/v1/no-such-path", timeout=5)
    scrape = requests.get(base + "/metrics", timeout=10)
    assert scrape.status_code == 200
    m = re.search(r'nexavpn_http_errors_total\{code="not_found",status="404"\} (\S+)', scrape.text)
    assert m and float(m[1]) >= 6, scrape.text[:2000]
    assert any(Path("/run/nexavpn/metrics").glob("*.db"))  # multiprocess files were written
    svc.stop()

    # --- upgrade to a rebuilt, higher version: migrations run, data and settings survive ---
    with _timed("build v2 (both packages)"):
        debs2 = _build(v2, tmp_path / "v2")
    with _timed("apt-get install v2 (upgrade)"):
        res = _apt("install", *(str(p) for p in debs2.values()))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "Database is up to date." in res.stdout  # the postinst migrated PostgreSQL
    assert _version_of("nexavpn-server") == v2 and _version_of("nexavpn-gateway") == v2
    assert machine["pg_url"] in env_file.read_text()  # the edited conffile was kept
    with _timed("server restart after upgrade"):
        svc.start()
        _wait_health(base, log)
    assert _login(base).status_code == 200, "the admin did not survive the upgrade"
    svc.stop()

    # --- remove: programs go, data and settings stay ---
    secret = (data / "secret_key").read_text()
    with _timed("apt-get remove"):
        res = _apt("remove", *PACKAGES)
    assert res.returncode == 0, res.stderr[-3000:]
    assert not Path("/opt/nexavpn/server/bin").exists()
    assert not Path("/opt/nexavpn/gateway/bin").exists()
    assert (data / "secret_key").read_text() == secret
    assert (data / "nexavpn.db").is_file()
    assert machine["pg_url"] in env_file.read_text()
    assert Path("/etc/nexavpn/gateway.env").is_file()
    assert Path("/var/lib/nexavpn/gateway").is_dir()
    assert Path("/etc/nexavpn/gateway.token").is_file()

    # --- purge: everything of ours is gone (the fixture double-checks and cleans up) ---
    with _timed("apt-get purge"):
        res = _apt("purge", *PACKAGES)
    assert res.returncode == 0, res.stderr[-3000:]
    for p in (Path("/etc/nexavpn"), Path("/var/lib/nexavpn"), Path("/opt/nexavpn")):
        assert not p.exists(), f"{p} survived the purge"
    assert not _user_exists("nexavpn") and not _user_exists("nexavpn-gateway")
