"""A newcomer's first hour, end to end: the README/docs walk with no knowledge of the code.

Topology (every address lives only on links this test makes)::

    root ns  ── veth 10.213.R.1/30 ────── 10.213.R.2/30 ── "gateway host" ns
      nexavpn-server serve --self-signed                      (own mount namespace: its own
      --public-host 10.213.R.1 (and --host                    /etc, /var/lib, /run/wireguard;
      10.213.R.1: the test does not open                      the agent runs exactly the command
      a port on every host address)                           the admin UI shows)
                                                              │ veth 172.31.1.1 ── client ns
                                                              │ veth 172.31.9.1 ── resources ns
                                                                  (A 10.77.1.1, B 10.77.2.1)

The admin reads the certificate fingerprint from ``serve``'s output and the admin API (what the
UI shows), creates a gateway and starts the agent with the command from the create answer (the
source the UI prints); a user signs in with the client core (pinning the same fingerprint),
enrolls and connects over a real wireguard-go/kernel tunnel; a policy edit reaches the client,
and a revoke stops its traffic.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from nexavpn_client import errors
from nexavpn_client.app import ClientApp
from nexavpn_client.secrets import MemoryStore
from nexavpn_client.tunnel import LinuxBackend
from nexavpn_gateway.pinning import PinnedAdapter
from nexavpn_shared.tls_pin import (
    der_fingerprint,
    format_fingerprint,
    normalize_fingerprint,
    peek_certificate,
)
from tests.e2e.test_tunnel_e2e import NetnsRunner, ping, stop_process, wait_until
from tests.gateway.netns import Lab, lab, missing_parts, sh

pytestmark = [pytest.mark.netns, pytest.mark.slow]

BIN = Path(sys.executable).parent
PY = sys.executable
ADMIN_PASSWORD = "admin-" + secrets.token_hex(8)
USER_PASSWORD = "alice-" + secrets.token_hex(8)
GW_PUBLIC = "172.31.1.1"
NET_A, HOST_A = "10.77.1.0/24", "10.77.1.1"
NET_B, HOST_B = "10.77.2.0/24", "10.77.2.1"

# Runs inside ``ip netns exec <gw> unshare --mount``: give this "host" its own /etc, /var/lib
# and /run/wireguard (overlays and a tmpfs, gone with the mount namespace), then exec the
# agent command unchanged. Nothing the agent writes reaches the real host's directories.
SECOND_HOST = r"""
import os, subprocess, sys
root, argv = sys.argv[1], sys.argv[3:]
assert sys.argv[2] == "--"
def run(*a):
    subprocess.run(list(a), check=True, timeout=30)
for lower in ("/etc", "/var/lib"):
    name = lower.strip("/").replace("/", "-")
    up, work = f"{root}/{name}-up", f"{root}/{name}-work"
    os.makedirs(up, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    run("mount", "-t", "overlay", "overlay", "-o",
        f"lowerdir={lower},upperdir={up},workdir={work}", lower)
run("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run/wireguard"
    if os.path.isdir("/run/wireguard") else "/var/run/wireguard")
os.execvp(argv[0], argv)
"""


def _skip_reason() -> str | None:
    reason = missing_parts()
    if reason:
        return reason
    for tool in ("unshare", "nsenter", "mount", "ping"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    for script in ("nexavpn-server", "nexavpn-gateway"):
        if not (BIN / script).exists():
            return f"{script} is not installed in {BIN}"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "mount",
                            "-t", "tmpfs", "tmpfs", "/mnt"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        return "private mount namespaces are not available here"
    return None


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Walk:
    """What the walk made; ``stack`` tears it down in reverse order."""

    lab: Lab
    tmp: Path
    stack: contextlib.ExitStack
    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    gw_ns: str = ""
    client_ns: str = ""
    res_ns: str = ""
    server_ip: str = ""
    url: str = ""
    fingerprint: str = ""
    admin: requests.Session = field(default_factory=requests.Session)
    logs: dict[str, Path] = field(default_factory=dict)

    def netns(self, role: str) -> str:
        name = f"fh{role}{self.suffix}"
        sh(["ip", "netns", "add", name])
        self.lab.namespaces.append(name)
        sh(["ip", "link", "set", "lo", "up"], netns=name)
        return name

    def veth(self, ns_a: str | None, addr_a: str, ns_b: str, addr_b: str, tag: str) -> None:
        a, b = f"fhv{tag}a{self.suffix}", f"fhv{tag}b{self.suffix}"
        sh(["ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b])
        if ns_a:
            sh(["ip", "link", "set", a, "netns", ns_a])
        else:  # root side: removed at tear-down (the peer's netns going takes it too)
            self.stack.callback(sh, ["ip", "link", "del", a], check=False)
        for ns, dev, addr in ((ns_a, a, addr_a), (ns_b, b, addr_b)):
            prefix = ["ip", "-n", ns] if ns else ["ip"]
            sh([*prefix, "address", "add", addr, "dev", dev])
            sh([*prefix, "link", "set", dev, "up"])

    def popen(self, argv: list[str], name: str, **kw: Any) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        out = log.open("w")
        self.logs[name] = log
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=True, **kw)
        self.stack.callback(out.close)
        self.stack.callback(stop_process, proc)
        return proc

    def call(self, method: str, path: str, expect: int, **kw: Any) -> Any:
        resp = self.admin.request(method, f"{self.url}/api/v1{path}", timeout=15, **kw)
        assert resp.status_code == expect, (method, path, resp.status_code, resp.text[:500])
        return resp.json() if resp.content else None

    def dump_logs(self) -> str:
        return "\n".join(f"--- {n} (tail) ---\n{p.read_text()[-3000:]}"
                         for n, p in self.logs.items() if p.exists())


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    with lab() as the_lab, contextlib.ExitStack() as stack:
        w = Walk(lab=the_lab, tmp=tmp_path, stack=stack)
        stack.callback(w.admin.close)
        third = 16 + secrets.randbelow(200)
        w.server_ip = f"10.213.{third}.1"
        w.gw_ns, w.client_ns, w.res_ns = w.netns("g"), w.netns("c"), w.netns("r")
        w.veth(None, f"{w.server_ip}/30", w.gw_ns, f"10.213.{third}.2/30", "s")
        w.veth(w.gw_ns, f"{GW_PUBLIC}/24", w.client_ns, "172.31.1.2/24", "c")
        w.veth(w.gw_ns, "172.31.9.1/24", w.res_ns, "172.31.9.2/24", "r")
        for host in (HOST_A, HOST_B):
            sh(["ip", "address", "add", f"{host}/32", "dev", "lo"], netns=w.res_ns)
        for net in (NET_A, NET_B):
            sh(["ip", "route", "add", net, "via", "172.31.9.2"], netns=w.gw_ns)
        assert ping(w.gw_ns, HOST_A) and ping(w.gw_ns, w.server_ip)
        try:
            yield w
        except BaseException:
            print(w.dump_logs())
            raise


def _serve(w: Walk) -> None:
    """README: first admin, then ``serve --self-signed`` with the public address."""
    data = w.tmp / "server"
    data.mkdir()
    env = {**os.environ, "NEXAVPN_DATA_DIR": str(data),
           "NEXAVPN_DATABASE_URL": f"sqlite:///{data / 'nexavpn.db'}"}
    for name in ("NEXAVPN_TEST_DATABASE_URL", "NEXAVPN_PUBLIC_URL", "NEXAVPN_TLS_CERT",
                 "NEXAVPN_HOST", "NEXAVPN_PUBLIC_HOST"):
        env.pop(name, None)
    cli = str(BIN / "nexavpn-server")
    made = subprocess.run([cli, "create-admin", "--username", "admin", "--password-stdin"],
                          input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    port = _free_port(w.server_ip)
    server = w.popen([cli, "serve", "--self-signed", "--public-host", w.server_ip,
                      "--host", w.server_ip, "--port", str(port)], "server", env=env)
    w.url = f"https://{w.server_ip}:{port}"

    def announced() -> bool:
        assert server.poll() is None, w.dump_logs()
        return "fingerprint: " in w.logs["server"].read_text()

    wait_until("serve prints its fingerprint", announced, 90, every=0.2)
    out = w.logs["server"].read_text()
    assert f"reachable as {w.url}" in out or f"listening on {w.url}" in out
    printed = re.search(r"Self-signed certificate SHA-256 fingerprint: ([0-9A-F:]{95})", out)
    assert printed, out
    w.fingerprint = printed.group(1)
    # The admin's browser trusts exactly that certificate (the same pin model as agent/client).
    der = peek_certificate(w.server_ip, port)
    assert format_fingerprint(der_fingerprint(der)) == w.fingerprint
    w.admin.mount("https://", PinnedAdapter(der, w.fingerprint))
    token = w.call("POST", "/auth/login", 200,
                   json={"username": "admin", "password": ADMIN_PASSWORD})["access_token"]
    w.admin.headers["Authorization"] = f"Bearer {token}"


def _second_host_argv(w: Walk, command: list[str]) -> list[str]:
    root = w.tmp / "gateway-host"
    return ["ip", "netns", "exec", w.gw_ns, "unshare", "--mount", "--propagation", "private",
            "--", PY, "-c", SECOND_HOST, str(root), "--", *command]


def _start_gateway(w: Walk) -> dict[str, Any]:
    """Admin UI: Gateways → New gateway; on the gateway host: token file, then the command."""
    info = w.call("GET", "/server-info", 200)
    assert info["public_url"] == w.url
    assert info["tls"]["fingerprint"] == w.fingerprint and info["tls"]["self_signed"] is True
    created = w.call("POST", "/gateways", 201, json={
        "name": "branch-office", "endpoint": f"{GW_PUBLIC}:51820", "vpn_cidr": "10.8.0.0/24"})
    command = shlex.split(created["agent_command"])
    opts = dict(zip(command[2::2], command[3::2], strict=True))
    assert command[:2] == ["nexavpn-gateway", "run"]
    assert opts["--server"] == w.url and opts["--server-fingerprint"] == w.fingerprint
    # "Save it to /etc/nexavpn/gateway.token (mode 600)" — on the gateway host's own /etc.
    etc = w.tmp / "gateway-host" / "etc-up" / "nexavpn"
    etc.mkdir(parents=True)
    token_file = etc / "gateway.token"
    token_file.touch(mode=0o600)
    token_file.write_text(created["agent_token"] + "\n")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    for name in [k for k in env if k.startswith(("NEXAVPN_", "REQUESTS_CA", "SSL_CERT"))]:
        env.pop(name)

    # Without the pin the agent refuses the self-signed server and says what to pass.
    unpinned = [*command[:command.index("--server-fingerprint")], "--once"]
    refused = subprocess.run(_second_host_argv(w, unpinned), capture_output=True, text=True,
                             env=env, timeout=120)
    assert refused.returncode == 1
    said = refused.stdout + refused.stderr
    assert "self-signed or unknown issuer" in said and "--server-fingerprint" in said, said
    assert "wg0" not in sh(["ip", "-o", "link"], netns=w.gw_ns).stdout  # nothing was made

    t0 = time.monotonic()
    agent = w.popen(_second_host_argv(w, command), "agent", env=env)
    w.stack.callback(sh, ["ip", "-n", w.gw_ns, "link", "del", "wg0"], check=False)

    def online() -> bool:
        assert agent.poll() is None, w.dump_logs()
        return w.call("GET", f"/gateways/{created['id']}", 200)["status"] == "online"

    wait_until("gateway online", online, 60, every=0.2)
    print(f"\n[walk] gateway online {time.monotonic() - t0:.2f} s after the command started")
    gw = w.call("GET", f"/gateways/{created['id']}", 200)
    # wg talks to wireguard-go through the gateway host's own /run/wireguard: enter its mounts.
    on_host = ["nsenter", "--target", str(agent.pid), "--mount", "--net", "--"]
    wg_key = sh([*on_host, "wg", "show", "wg0", "public-key"]).stdout.strip()
    assert gw["public_key"] == wg_key
    assert "server certificate matches the pinned fingerprint" in w.logs["agent"].read_text()
    # The key lives in the gateway host's default state dir, not on the real host.
    assert (w.tmp / "gateway-host" / "var-lib-up" / "nexavpn" / "gateway").is_dir()
    return gw


def _quietly_disconnect(app: ClientApp) -> None:
    with contextlib.suppress(Exception):
        app.disconnect()


def test_newcomer_walk(walk: Walk) -> None:
    w = walk
    host_had_state = Path("/var/lib/nexavpn/gateway").exists()
    _serve(w)
    _start_gateway(w)
    alice = w.call("POST", "/users", 201, json={
        "username": "alice", "password": USER_PASSWORD, "role": "user", "groups": []})
    policy = w.call("POST", "/policies", 201, json={
        "name": "network-a", "description": "", "enabled": True, "user_ids": [alice["id"]],
        "groups": [], "destinations": [NET_A]})

    # The user: the server's certificate is unknown until its fingerprint is confirmed; the
    # fingerprint the app shows is the one the admin sees in the UI.
    runner = NetnsRunner(w.client_ns)
    tunnel = f"fhc{w.suffix}"
    w.lab.track_link(w.client_ns, tunnel)
    app = ClientApp(MemoryStore(), w.tmp / "client", runner=runner,
                    backend=LinuxBackend(runner, userspace="auto"), platform="linux",
                    timeout=(5.0, 15.0), tunnel_name=tunnel,
                    fingerprint=lambda _store: secrets.token_hex(32))
    w.stack.callback(_quietly_disconnect, app)
    check = app.check_server(w.url)
    assert check.trusted is False
    assert normalize_fingerprint(check.fingerprint) == normalize_fingerprint(w.fingerprint)
    with pytest.raises(errors.CertificateUntrusted):
        app.login(w.url, "alice", USER_PASSWORD)
    app.login(w.url, "alice", USER_PASSWORD, trust_fingerprint=w.fingerprint)
    device = app.enroll("alice-laptop")
    app.connect()
    wait_until("A answers through the tunnel", lambda: ping(w.client_ns, HOST_A), 15)
    assert app.status().connection == "connected"
    assert not ping(w.client_ns, HOST_B)

    # Policy edit: the client's next sync carries B, and B answers.
    t_edit = time.monotonic()
    w.call("PATCH", f"/policies/{policy['id']}", 200, json={"destinations": [NET_A, NET_B]})
    assert app.sync().changed
    wait_until("B answers after the policy edit", lambda: ping(w.client_ns, HOST_B, 0.5), 15,
               every=0.05)
    print(f"[walk] policy edit → B reachable in {time.monotonic() - t_edit:.2f} s")

    # Revoke: the gateway drops the peer; the client learns it and takes the tunnel down.
    t_revoke = time.monotonic()
    w.call("POST", f"/devices/{device.id}/revoke", 200, json={})
    wait_until("traffic stops after the revoke", lambda: not ping(w.client_ns, HOST_A, 0.3),
               15, every=0.05)
    print(f"[walk] revoke → traffic stopped in {time.monotonic() - t_revoke:.2f} s")
    with pytest.raises(errors.DeviceRevoked):
        app.sync()
    assert app.status().revoked

    # Leaving: log out; the device is forgotten on this machine.
    app.logout()
    assert app.status().connection == "disconnected"
    assert not app.status().enrolled
    assert Path("/var/lib/nexavpn/gateway").exists() == host_had_state  # the real host untouched
