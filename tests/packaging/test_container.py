"""The container files (packaging/docker): there is no Docker engine on this machine, so the
compose file and the Dockerfile are checked as data (non-root user, health checks, what nginx
reaches, TLS paths, build inputs), and the server image's start command is run for real with
the image's own environment (paths moved into a temp dir): it must migrate a fresh database and
pass the image's HEALTHCHECK command.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "packaging" / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
SITE = ROOT / "packaging" / "nginx" / "nexavpn.conf"
VENV_BIN = Path(sys.executable).parent


def _instructions(text: str) -> list[tuple[str, str]]:
    """Dockerfile → [(INSTRUCTION, arguments)] with continuations joined, comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current = None
    for ins, args in _instructions(DOCKERFILE.read_text()):
        if ins == "FROM":
            current = args.split()[-1] if " AS " in args.upper() else args
            stages[current] = []
        else:
            assert current is not None
            stages[current].append((ins, args))
    return stages


def _env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins, args in stage:
        if ins == "ENV":
            for pair in shlex.split(args):
                key, value = pair.split("=", 1)
                env[key] = value
    return env


def _one(stage: list[tuple[str, str]], ins: str) -> str:
    found = [a for i, a in stage if i == ins]
    assert found, f"no {ins} in the stage"
    return found[-1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_services_and_hardening(compose):
    services = compose["services"]
    assert set(services) == {"db", "server", "nginx"}
    server = services["server"]
    assert server["user"].split(":")[0] not in ("0", "root")
    assert server["read_only"] is True
    assert server["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in server["security_opt"]
    assert "ports" not in services["db"], "PostgreSQL must not be published"
    for name in ("db", "server", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    # depends_on waits only on services that have a health check
    for name, svc in services.items():
        for dep, cond in svc.get("depends_on", {}).items():
            assert cond["condition"] == "service_healthy" and "healthcheck" in services[dep]
    # the database password is required from .env, never a default in the file
    assert "${NEXAVPN_DB_PASSWORD:?" in COMPOSE.read_text()
    assert "${NEXAVPN_DB_PASSWORD:?" in server["environment"]["NEXAVPN_DATABASE_URL"]


def test_nginx_reaches_the_server_with_the_site_unchanged(compose):
    services = compose["services"]
    site = SITE.read_text()
    upstream = re.search(r"upstream nexavpn_api \{\s*server ([\d.]+):(\d+);", site)
    assert upstream, "packaging/nginx's upstream changed shape"
    host, port = upstream.groups()
    server_env = services["server"]["environment"]
    assert services["nginx"]["network_mode"] == "service:server"
    assert (server_env["NEXAVPN_HOST"], str(server_env["NEXAVPN_PORT"])) == (host, port)
    # what nginx listens on is published (on the shared namespace's owner, the server)
    listens = set(re.findall(r"listen (\d+)", site))
    published = {p.split(":")[-1] for p in services["server"]["ports"]}
    assert listens == published
    # the certificate paths of the site are where the TLS directory is mounted
    certs = re.findall(r"ssl_certificate(?:_key)?\s+(\S+);", site)
    cert_dirs = {str(Path(p).parent) for p in certs}
    mounts = {v.split(":")[1] for v in services["nginx"]["volumes"]}
    assert cert_dirs <= mounts, (cert_dirs, mounts)


def test_dockerfile_builds_from_files_that_exist(compose):
    stages = _stages()
    assert {"admin-ui", "build", "server", "nginx"} <= set(stages)
    for name in ("server", "nginx"):
        build = compose["services"][name]["build"]
        assert build["target"] in stages
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    for stage in stages.values():
        for ins, args in stage:
            if ins == "COPY" and "--from=" not in args:
                for src in shlex.split(args)[:-1]:
                    assert (ROOT / src).exists(), f"COPY source {src} does not exist"


def test_server_image_is_non_root_and_migrates_on_start():
    server = _stages()["server"]
    user = _one(server, "USER").split(":")[0]
    assert user.isdigit() and user != "0"
    assert any(f"--uid {user}" in a for i, a in server if i == "RUN"), "USER is not the made user"
    assert json.loads(_one(server, "ENTRYPOINT")) == ["nexavpn-server"]
    assert json.loads(_one(server, "CMD")) == ["serve"]  # serve applies migrations first


@pytest.mark.skipif(sys.platform != "linux", reason="gunicorn runs on Linux here")
def test_image_start_command_and_healthcheck_for_real(tmp_path):
    """Run ENTRYPOINT+CMD with the image's ENV (paths remapped), then its HEALTHCHECK."""
    server = _stages()["server"]
    env = _env_of(server)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    remap = {
        "NEXAVPN_DATA_DIR": str(tmp_path / "data"),
        "NEXAVPN_GUNICORN_CONFIG": str(ROOT / "packaging" / "server" / "gunicorn.conf.py"),
        "NEXAVPN_ADMIN_UI_DIR": str(tmp_path / "ui"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "NEXAVPN_PORT": str(port),
        "PATH": f"{VENV_BIN}:{env['PATH']}",
    }
    assert set(remap) - {"PATH"} <= set(env), "the image's ENV changed; update the remap"
    env.update(remap)
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        metrics_port = s.getsockname()[1]
    env.update(NEXAVPN_WORKERS="2", NEXAVPN_METRICS_ENABLED="1",
               NEXAVPN_METRICS_BIND=f"127.0.0.2:{metrics_port}")
    argv = json.loads(_one(server, "ENTRYPOINT")) + json.loads(_one(server, "CMD"))
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(argv, env={**env, "HOME": str(tmp_path)}, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        else:
            pytest.fail("the image's command never became healthy")
        db = sqlite3.connect(tmp_path / "data" / "nexavpn.db")
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()  # migrated
        db.close()
        hc = _one(server, "HEALTHCHECK")
        cmd = json.loads(hc[hc.index("CMD") + 3:].strip())
        cmd[0] = shutil.which(cmd[0], path=env["PATH"])
        assert subprocess.run(cmd, env=env, timeout=30).returncode == 0
        # two gunicorn workers from the config file, counted across them by the metrics
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                 text=True, timeout=10).stdout.split()
        assert len(workers) == 2, workers
        for _ in range(10):
            requests.get(base + "/api/v1/nope", timeout=5)
        text = requests.get(base + "/metrics", timeout=5).text
        m = re.search(r'nexavpn_http_errors_total\{code="not_found",status="404"\} (\S+)', text)
        assert m and float(m[1]) == 10, text[:1500]
        # the extra metrics listener answers too (127.0.0.2 is loopback, so it is allowed)
        extra = requests.get(f"http://127.0.0.2:{metrics_port}/metrics", timeout=5)
        assert extra.status_code == 200 and "nexavpn_gateways_online" in extra.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    # graceful stop: the master exits 0 on SIGTERM
    assert proc.returncode == 0, (tmp_path / "server.log").read_text()[-2000:]


def test_docker_compose_config_when_available(tmp_path):
    """`docker compose config` validates the file when the compose plugin exists (no engine
    needed); this machine has the docker CLI without the plugin, so it usually skips."""
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True,
                                        timeout=30).returncode != 0:
        pytest.skip("the docker compose plugin is not installed here")
    env = dict(os.environ, NEXAVPN_DB_PASSWORD="x" * 24)
    res = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "-q"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr
