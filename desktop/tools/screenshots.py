"""Screenshots of the desktop app, signed in to a real local server (run by scripts/screenshots.sh).

Starts ``nexavpn-server serve --self-signed`` in a temporary NEXAVPN_DATA_DIR, sets it up the
way an administrator would (an admin from ``create-admin``, then over the API: a user, a
gateway brought online by its agent heartbeat, two policies), then opens the real window
around the real core, types into the sign-in form, trusts the self-signed certificate by its
fingerprint, signs in and saves PNGs of the views.

``--tunnel linux`` (run inside a throwaway network namespace: the script changes interfaces)
also starts a stand-in gateway interface with wireguard-go on loopback so the connected view
shows a real tunnel with a real handshake. ``--tunnel handoff`` needs no privileges.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication

from nexavpn_client.app import ClientApp
from nexavpn_client.runner import SubprocessRunner
from nexavpn_client.secrets import MemoryStore
from nexavpn_client.tunnel import HandoffBackend, LinuxBackend
from nexavpn_desktop.app import build
from nexavpn_desktop.window import DEFAULT_SIZE, MainWindow
from nexavpn_shared import keys

ADMIN_PASSWORD = "Screenshot-admin-" + secrets.token_hex(6)
USER_PASSWORD = "Screenshot-user-" + secrets.token_hex(6)
GW_PORT = 51820
#: Interface names start with this (UAPI sockets in /var/run/wireguard are shared by all netns).
PREFIX = os.environ.get("NEXAVPN_SHOT_PREFIX", "nx")[:4]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(argv: list[str], *, input: str | None = None, env: dict | None = None) -> str:
    out = subprocess.run(argv, input=input, env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {out.stderr.strip()}")
    return out.stdout


class LocalServer:
    """``nexavpn-server serve --self-signed`` on 127.0.0.1, set up over its own API."""

    def __init__(self, workdir: Path) -> None:
        self.data_dir = workdir / "server"
        self.env = {**os.environ, "NEXAVPN_DATA_DIR": str(self.data_dir)}
        self.port = _free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        server = str(BIN / "nexavpn-server")
        _run([server, "create-admin", "--username", "admin", "--password-stdin"],
             input=ADMIN_PASSWORD + "\n", env=self.env)
        self.log = (workdir / "server.log").open("w")
        self.proc = subprocess.Popen(  # stopped in close()
            [server, "serve", "--self-signed", "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", "1", "--threads", "8"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.cert = self.data_dir / "tls" / "server.crt"
        self.http = requests.Session()
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would override the pin below
        self.http.verify = str(self.cert)  # the admin pins the server's own certificate
        try:
            self._wait_up()
            token = self.post("/auth/login", {"username": "admin", "password": ADMIN_PASSWORD},
                              auth=False)["access_token"]
        except BaseException:
            self.close()  # never leave the server running behind us
            print((workdir / "server.log").read_text()[-3000:], file=sys.stderr)
            raise
        self.http.headers["Authorization"] = f"Bearer {token}"

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nexavpn-server exited; see server.log")
            if self.cert.exists():
                try:
                    if self.http.get(self.url + "/api/v1/health", timeout=2).ok:
                        return
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        raise RuntimeError("nexavpn-server did not come up")

    def post(self, path: str, body: dict, *, auth: bool = True, headers: dict | None = None):
        r = self.http.post(self.url + "/api/v1" + path, json=body, timeout=10,
                           headers=headers or None)
        if r.status_code >= 400:
            raise RuntimeError(f"POST {path}: {r.status_code} {r.text}")
        return r.json() if r.content else {}

    def setup(self, gateway_public_key: str) -> None:
        """A user, an online gateway and two policies, as an admin would make them."""
        self.post("/users", {"username": "alice", "password": USER_PASSWORD,
                             "email": "alice@example.com", "role": "user",
                             "groups": ["engineering"]})
        gw = self.post("/gateways", {"name": "office-gw", "endpoint": f"127.0.0.1:{GW_PORT}",
                                     "vpn_cidr": "10.8.0.0/24", "dns": [], "mtu": 1420})
        self.post("/gateway-agent/heartbeat",
                  {"public_key": gateway_public_key, "listen_port": GW_PORT, "peers": []},
                  headers={"Authorization": f"Bearer {gw['agent_token']}"})
        self.post("/policies", {"name": "engineering-servers", "description": "build farm",
                                "enabled": True, "user_ids": [], "groups": ["engineering"],
                                "destinations": ["10.20.0.0/24"]})
        self.post("/policies", {"name": "office-printers", "description": "", "enabled": True,
                                "user_ids": [], "groups": ["engineering"],
                                "destinations": ["10.30.5.0/28"]})

    def device_keys(self) -> list[tuple[str, str]]:
        """(public key, VPN IP) of every active device."""
        r = self.http.get(self.url + "/api/v1/devices", timeout=10)
        r.raise_for_status()
        return [(d["public_key"], d["vpn_ip"]) for d in r.json()["items"]
                if d["status"] == "active"]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class StandInGateway:
    """A WireGuard interface on loopback playing the gateway (wireguard-go, in the netns)."""

    def __init__(self, private_key: str) -> None:
        self.name = PREFIX + "gw" + secrets.token_hex(3)
        _run(["wireguard-go", self.name])
        for _ in range(50):
            if subprocess.run(["ip", "link", "show", self.name], capture_output=True,
                              timeout=10, check=False).returncode == 0:
                break
            time.sleep(0.1)
        _run(["wg", "set", self.name, "private-key", "/dev/stdin", "listen-port",
              str(GW_PORT)], input=private_key + "\n")
        _run(["ip", "address", "add", "10.8.0.1/24", "dev", self.name])
        _run(["ip", "link", "set", self.name, "up"])

    def add_peer(self, public_key: str, vpn_ip: str) -> None:
        _run(["wg", "set", self.name, "peer", public_key, "allowed-ips", f"{vpn_ip}/32"])

    def close(self) -> None:
        subprocess.run(["ip", "link", "del", self.name], capture_output=True, timeout=15,
                       check=False)


def wait_for(app: QApplication, pred: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Run the event loop until ``pred()`` holds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def settle(app: QApplication, seconds: float = 0.4) -> None:
    """Let layouts and repaints finish before a grab."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def open_window(app: QApplication, client: ClientApp, workdir: Path, tag: str) -> MainWindow:
    settings = QSettings(str(workdir / f"desktop-{tag}.ini"), QSettings.Format.IniFormat)
    window, _tray = build(client, settings=settings, tray=False)
    window.resize(*DEFAULT_SIZE)
    window.show()
    window.start()
    wait_for(app, lambda: window.tasks.idle, "start")
    return window


def sign_in(app: QApplication, window: MainWindow, url: str) -> None:
    """Type into the form, trust the certificate by its fingerprint, wait for the status view."""
    view = window.signin
    view.url_edit.setText(url)
    view.username_edit.setText("alice")
    view.password_edit.setText(USER_PASSWORD)
    wait_for(app, lambda: view.trust_box.isVisible() and window.tasks.idle, "trust question")
    view.trust_button.click()
    wait_for(app, lambda: window.stack.currentWidget() is window.connected
             and window.tasks.idle, "the connected view")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--tunnel", choices=["linux", "handoff"], default="handoff",
                        help="linux: a real tunnel (root, inside a throwaway netns)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    gw_keys = keys.generate_keypair()
    with tempfile.TemporaryDirectory(prefix="nexavpn-shots-") as tmp:
        workdir = Path(tmp)
        server = LocalServer(workdir)
        gateway: StandInGateway | None = None
        clients: list[ClientApp] = []
        try:
            server.setup(gw_keys.public_key)
            runner = SubprocessRunner()
            if args.tunnel == "linux":
                gateway = StandInGateway(gw_keys.private_key)
                backend = LinuxBackend(runner)
                ok, why = backend.is_available()
                if not ok:
                    raise RuntimeError(f"the Linux tunnel backend cannot run here: {why}")
            else:
                backend = HandoffBackend(runner, workdir / "client" / "export",
                                         which=lambda _name: None)
            client = ClientApp(MemoryStore(), workdir / "client", runner=runner,
                               backend=backend, tunnel_name=PREFIX + secrets.token_hex(3))
            clients.append(client)
            window = open_window(app, client, workdir, "main")
            view = window.signin
            view.url_edit.setText(server.url)
            view.username_edit.setText("alice")
            view.password_edit.setText(USER_PASSWORD)
            wait_for(app, lambda: view.trust_box.isVisible() and window.tasks.idle,
                     "trust question")
            settle(app)
            window.grab().save(str(args.out / "desktop-sign-in.png"))
            print(f"saved {args.out / 'desktop-sign-in.png'}")
            view.trust_button.click()
            wait_for(app, lambda: window.stack.currentWidget() is window.connected
                     and window.tasks.idle, "the connected view")

            if gateway is not None:
                for public_key, vpn_ip in server.device_keys():
                    gateway.add_peer(public_key, vpn_ip)
                window.connected.connect_button.click()
                wait_for(app, lambda: window.connected.state == "connected"
                         and window.tasks.idle, "the tunnel")

                # Traffic into the tunnel makes WireGuard start its handshake right away.
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                    udp.sendto(b"hello", ("10.20.0.1", 9))

                def handshook() -> bool:
                    if not window.tasks.idle:
                        return False
                    st = window.status
                    if st and st.handshake_age is not None:
                        return True
                    window.refresh_status()
                    return False

                try:
                    wait_for(app, handshook, "a handshake with the stand-in gateway", 30)
                except RuntimeError:
                    for cmd in (["wg", "show", "all"], ["ip", "-brief", "address"],
                                ["ip", "route"]):
                        print(_run(cmd), file=sys.stderr)
                    raise
            settle(app)
            name = "desktop-connected.png" if gateway is not None else "desktop-handoff.png"
            window.grab().save(str(args.out / name))
            print(f"saved {args.out / name}")
            if gateway is not None:
                window.connected.set_details_expanded(True)
                settle(app)
                window.grab().save(str(args.out / "desktop-connected-details.png"))
                print(f"saved {args.out / 'desktop-connected-details.png'}")
                window.connected.set_details_expanded(False)
            window.connected.settings_button.click()
            settle(app)
            window.grab().save(str(args.out / "desktop-settings.png"))
            print(f"saved {args.out / 'desktop-settings.png'}")

            if gateway is not None:
                # The import-handoff fallback, as a second computer would see it.
                client2 = ClientApp(
                    MemoryStore(), workdir / "client2", runner=runner,
                    backend=HandoffBackend(runner, workdir / "client2" / "export",
                                           which=lambda _name: None),
                    fingerprint=lambda _store: secrets.token_hex(32),
                )
                clients.append(client2)
                window2 = open_window(app, client2, workdir, "second")
                sign_in(app, window2, server.url)
                wait_for(app, lambda: window2.connected.qr_label.pixmap() is not None
                         and not window2.connected.qr_label.pixmap().isNull(), "the QR code")
                settle(app)
                window2.grab().save(str(args.out / "desktop-handoff.png"))
                print(f"saved {args.out / 'desktop-handoff.png'}")
        finally:
            for c in clients:
                try:
                    c.backend().remove(c.tunnel_name)
                except Exception as exc:  # best effort; the netns goes away anyway
                    print(f"cleanup: {exc}", file=sys.stderr)
            if gateway is not None:
                gateway.close()
            server.close()
            if os.environ.get("NEXAVPN_SCREENSHOT_KEEP_LOG"):
                shutil.copy(workdir / "server.log", args.out / "server.log")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
