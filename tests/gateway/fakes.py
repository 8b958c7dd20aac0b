"""Test doubles for the agent: a fake ``wg``/``ip``/``nft`` world and a fake control plane.

The fake control plane is a tiny http.server on 127.0.0.1 answering the contract's JSON: a test
double for the backend's gateway-agent endpoints, nothing more.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nexavpn_gateway.runner import CommandError, RecordingRunner, Result
from nexavpn_shared.keys import generate_keypair
from nexavpn_shared.wgconf import parse


def new_key() -> str:
    """A fresh public key."""
    return generate_keypair().public_key


@dataclass
class FakePeer:
    allowed_ips: list[str]
    endpoint: str = "(none)"
    handshake: int = 0
    rx: int = 0
    tx: int = 0


@dataclass
class FakeWorld:
    """Simulates one WireGuard interface (+ addresses and nft) behind a RecordingRunner."""

    name: str = "nxwgtest"
    exists: bool = False
    kernel: bool = False
    private_key_file: str | None = None
    public_key: str | None = None
    listen_port: int = 0
    peers: dict[str, FakePeer] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)
    nft_text: list[str] = field(default_factory=list)
    nft_fail_delta: bool = False
    runner: RecordingRunner = field(default_factory=RecordingRunner)

    def __post_init__(self) -> None:
        self.runner.on((), self.handle)

    def handle(self, argv: tuple[str, ...], stdin: str | None) -> Result:
        ok = Result(argv, 0, "", "")
        if argv[:2] == ("wg", "show"):
            if not self.exists:
                return Result(argv, 1, "", "Unable to access interface: No such device\n")
            if argv[3] == "listen-port":
                return Result(argv, 0, f"{self.listen_port}\n", "")
            lines = [f"(none)\t{self.public_key or '(none)'}\t{self.listen_port}\toff"]
            for key, p in self.peers.items():
                ips = ",".join(p.allowed_ips) or "(none)"
                lines.append(f"{key}\t(none)\t{p.endpoint}\t{ips}\t{p.handshake}\t{p.rx}\t{p.tx}\toff")
            return Result(argv, 0, "\n".join(lines) + "\n", "")
        if argv[:3] == ("ip", "link", "add"):
            if not self.kernel:
                return Result(argv, 2, "", "Error: Unknown device type.\n")
            self.exists = True
            return ok
        if argv[0] == "wireguard-go":
            self.exists = True
            return ok
        if argv[:2] == ("wg", "set"):
            self._wg_set(list(argv[3:]))
            return ok
        if argv[:2] == ("wg", "syncconf"):
            cfg = parse(stdin or "")
            if cfg.interface.private_key is None:  # like the real tool: the key is wiped
                self.public_key = None
            wanted = {p.public_key: list(p.allowed_ips) for p in cfg.peers}
            for key in list(self.peers):
                if key not in wanted:
                    del self.peers[key]
            for key, ips in wanted.items():
                if key in self.peers:
                    self.peers[key].allowed_ips = ips
                else:
                    self.peers[key] = FakePeer(ips)
            return ok
        if argv[:3] == ("ip", "-j", "address"):
            info = [{"local": a.split("/")[0], "prefixlen": int(a.split("/")[1]),
                     "scope": "global"} for a in self.addresses]
            return Result(argv, 0, json.dumps([{"ifname": self.name, "addr_info": info}]), "")
        if argv[:3] == ("ip", "address", "add"):
            self.addresses.append(argv[3])
            return ok
        if argv[:3] == ("ip", "address", "del"):
            self.addresses.remove(argv[3])
            return ok
        if argv[:2] == ("nft", "-f"):
            text = stdin or ""
            if self.nft_fail_delta and text.startswith(("add element", "delete element")):
                return Result(argv, 1, "", "Error: Could not process rule: No such file\n")
            self.nft_text.append(text)
            return ok
        return ok

    def _wg_set(self, args: list[str]) -> None:
        i = 0
        current: str | None = None
        while i < len(args):
            word = args[i]
            if word == "listen-port":
                self.listen_port = int(args[i + 1])
                i += 2
            elif word == "private-key":
                self.private_key_file = args[i + 1]
                from nexavpn_shared.keys import public_key_from_private

                with open(args[i + 1]) as fh:
                    self.public_key = public_key_from_private(fh.read().strip())
                i += 2
            elif word == "peer":
                current = args[i + 1]
                self.peers.setdefault(current, FakePeer([]))
                i += 2
            elif word == "remove":
                assert current is not None
                del self.peers[current]
                i += 1
            elif word == "allowed-ips":
                assert current is not None
                self.peers[current].allowed_ips = [a for a in args[i + 1].split(",") if a]
                i += 2
            else:
                raise CommandError(("wg", "set"), 1, f"Invalid argument: {word}")


class FakeControlPlane:
    """The contract's /gateway-agent endpoints on 127.0.0.1, scripted by the test."""

    def __init__(self, token: str = "agent-token-123") -> None:
        self.token = token
        self.config: dict[str, Any] | None = None
        self.heartbeats: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.status_override: int | None = None
        self.changed = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _auth(self) -> bool:
                if outer.status_override is not None:
                    code = outer.status_override
                    self._send(code, {"error": {"code": "unauthorized" if code == 401
                                                else "unavailable", "message": "no"}})
                    return False
                if self.headers.get("Authorization") != f"Bearer {outer.token}":
                    self._send(401, {"error": {"code": "unauthorized", "message": "bad token"}})
                    return False
                return True

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                outer.requests.append(("GET", url.path, query))
                if url.path != "/api/v1/gateway-agent/config":
                    self._send(404, {"error": {"code": "not_found", "message": "no"}})
                    return
                if not self._auth():
                    return
                after = int(query["after"][0]) if "after" in query else None
                wait = min(float(query.get("wait", ["0"])[0]), 60)
                with outer.changed:
                    if after is not None:
                        outer.changed.wait_for(
                            lambda: outer.config is not None
                            and outer.config["revision"] != after, timeout=wait)
                    cfg = outer.config
                if cfg is None or (after is not None and cfg["revision"] == after):
                    self._send(304)
                else:
                    self._send(200, cfg)

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                outer.requests.append(("POST", url.path, {}))
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self._auth():
                    return
                outer.heartbeats.append(body)
                self._send(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def set_config(self, config: dict[str, Any]) -> None:
        with self.changed:
            self.config = config
            self.changed.notify_all()

    def __enter__(self) -> FakeControlPlane:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def config_payload(revision: int, peers: list[dict[str, Any]], *, port: int = 51820,
                   address6: str | None = None) -> dict[str, Any]:
    """A config body as the contract describes it."""
    return {
        "revision": revision,
        "interface": {"address": "10.8.0.1/24", "address6": address6, "listen_port": port},
        "peers": peers,
    }


def peer(key: str, n: int, *destinations: str) -> dict[str, Any]:
    """A contract peer with VPN address 10.8.0.n."""
    return {"public_key": key, "allowed_ips": [f"10.8.0.{n}/32"],
            "destinations": list(destinations)}
