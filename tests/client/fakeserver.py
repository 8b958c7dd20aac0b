"""An in-memory NexaVPN API (the contract's client-facing part) as a requests transport adapter.

Unit tests mount it in place of the network, so the whole HTTP layer of the client (headers,
bodies, status codes, envelopes, If-None-Match) runs without sockets. It records every prepared
request so tests can check that no private key ever leaves.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from nexavpn_shared import keys, wgconf

ENROLL_FIELDS = {"name", "fingerprint", "public_key", "platform", "os_version", "client_version"}


@dataclass
class Family:
    user: str
    access: set[str] = field(default_factory=set)
    refresh_live: str = ""
    refresh_spent: set[str] = field(default_factory=set)
    dead: bool = False
    device_id: int | None = None


@dataclass
class Device:
    id: int
    user: str
    name: str
    fingerprint: str
    public_key: str
    platform: str
    vpn_ip: str
    revision: int = 1
    status: str = "active"
    rotation_required: bool = False


class FakeServer(BaseAdapter):
    """Answers /api/v1/* like the real backend would (for the calls the client makes)."""

    def __init__(self) -> None:
        super().__init__()
        self.users = {"alice": {"id": 1, "password": "correct horse", "role": "user",
                                "disabled": False}}
        self.families: list[Family] = []
        self.devices: dict[int, Device] = {}
        self.requests: list[requests.PreparedRequest] = []
        self.offline = False
        self.gateway_key = keys.generate_keypair().public_key
        self.destinations = ["10.20.0.0/24"]
        self._ids = itertools.count(1)
        self._ips = itertools.count(2)
        self.health_body: object = {"status": "ok", "service": "nexavpn", "version": "0.1.0",
                                    "api": "v1"}
        self.endpoint = "vpn.example.test:51820"
        # API v1.1 knobs
        self.approval_required = False
        self.owner_delete = True
        self.revoked_keys: set[str] = set()
        self.retry_after: int | None = None  # set: /auth/login answers 429 with Retry-After
        self.totp: dict[str, str] = {}  # username → the one valid code
        self.mfa_setup_required: set[str] = set()
        self.mfa_tokens: dict[str, str] = {}
        self.used_codes: set[str] = set()
        self.providers = [{"id": "corp", "name": "Corp SSO"}]
        self.sso_user = "alice"
        self.oidc_codes: dict[str, tuple[str, str]] = {}  # code → (challenge, user)
        self.oidc_starts: list[dict[str, str]] = []
        self.long_polls: list[float] = []  # wait values received
        self._changed = threading.Condition()

    # -------------------------------------------------------------- admin knobs

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def bump(self, device_id: int, destinations: list[str] | None = None) -> None:
        """Change the device's profile (a policy change)."""
        if destinations is not None:
            self.destinations = destinations
        self.devices[device_id].revision += 1
        self._notify()

    def revoke(self, device_id: int, end_sessions: bool = False) -> None:
        """Revoke; ``end_sessions`` ends the sessions bound to the device (API v1.1)."""
        dev = self.devices[device_id]
        dev.status = "revoked"
        self.revoked_keys.add(dev.public_key)
        if end_sessions:
            for fam in self.families:
                if fam.device_id == device_id:
                    fam.dead = True
        self._notify()

    def approve(self, device_id: int) -> None:
        dev = self.devices[device_id]
        dev.status = "active"
        dev.revision += 1
        self._notify()

    def set_key(self, device_id: int, public_key: str) -> None:
        """Another installation re-enrolled this device with its own key."""
        dev = self.devices[device_id]
        dev.public_key = public_key
        dev.revision += 1
        self._notify()

    def rotate(self, device_id: int) -> None:
        dev = self.devices[device_id]
        dev.rotation_required = True
        dev.revision += 1
        self._notify()

    def expire_access_tokens(self) -> None:
        for fam in self.families:
            fam.access.clear()

    def kill_sessions(self) -> None:
        for fam in self.families:
            fam.dead = True

    # -------------------------------------------------------------- plumbing

    def close(self) -> None:
        pass

    def _resp(self, req: requests.PreparedRequest, status: int, body: object = None,
              headers: dict[str, str] | None = None) -> requests.Response:
        resp = requests.Response()
        resp.status_code = status
        resp.request = req
        resp.url = req.url or ""
        resp.headers = CaseInsensitiveDict(headers or {})
        if body is not None:
            resp._content = json.dumps(body).encode()
            resp.headers["Content-Type"] = "application/json"
        else:
            resp._content = b""
        resp.encoding = "utf-8"
        return resp

    def _err(self, req, status, code, message="", details=None):
        return self._resp(req, status, {"error": {"code": code, "message": message or code,
                                                  "details": details or {}}})

    def _token(self, req) -> str | None:
        auth = req.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def _family(self, req) -> Family | None:
        tok = self._token(req)
        for fam in self.families:
            if not fam.dead and tok in fam.access:
                return fam
        return None

    def _user_for_access(self, req) -> str | None:
        tok = self._token(req)
        for fam in self.families:
            if not fam.dead and tok in fam.access:
                return fam.user
        return None

    def _new_pair(self, fam: Family) -> dict:
        access = "acc-" + secrets.token_hex(8)
        refresh = "ref-" + secrets.token_hex(8)
        fam.access.add(access)
        if fam.refresh_live:
            fam.refresh_spent.add(fam.refresh_live)
        fam.refresh_live = refresh
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": 900}

    def _profile(self, dev: Device) -> dict:
        config = wgconf.render(
            wgconf.WgConfig(
                interface=wgconf.WgInterface(
                    private_key=wgconf.PRIVATE_KEY_PLACEHOLDER,
                    addresses=(f"{dev.vpn_ip}/32",),
                    dns=("10.8.0.1",),
                    mtu=1420,
                ),
                peers=(
                    wgconf.WgPeer(
                        public_key=self.gateway_key,
                        allowed_ips=tuple(["10.8.0.1/32", *self.destinations]),
                        endpoint=self.endpoint,
                        persistent_keepalive=25,
                    ),
                ),
            )
        )
        return {
            "revision": dev.revision,
            "rotation_required": dev.rotation_required,
            "interface": {"addresses": [f"{dev.vpn_ip}/32"], "dns": ["10.8.0.1"], "mtu": 1420},
            "peer": {"public_key": self.gateway_key, "endpoint": self.endpoint,
                     "allowed_ips": ["10.8.0.1/32", *self.destinations],
                     "persistent_keepalive": 25},
            "allowed_resources": [{"destination": d, "policy": "staff"}
                                  for d in self.destinations],
            "config": config,
        }

    def _device_json(self, dev: Device) -> dict:
        return {"id": dev.id, "user_id": self.users[dev.user]["id"], "name": dev.name,
                "fingerprint": dev.fingerprint, "public_key": dev.public_key,
                "platform": dev.platform, "status": dev.status, "vpn_ip": dev.vpn_ip,
                "vpn_ip6": None, "gateway_id": 1, "profile_revision": dev.revision,
                "rotation_required": dev.rotation_required, "created_at": "2024-01-01T00:00:00Z",
                "last_sync_at": None, "last_handshake_at": None, "online": False}

    # -------------------------------------------------------------- dispatch

    def _tokens_for(self, request, username: str) -> requests.Response:
        user = self.users[username]
        fam = Family(username)
        self.families.append(fam)
        pair = self._new_pair(fam)
        return self._resp(request, 200, {**pair, "user": {
            "id": user["id"], "username": username, "role": user["role"]}})

    def _public(self, request, m: str, path: str, body, query) -> requests.Response | None:
        """The unauthenticated v1.1 calls: providers, SSO start/token, MFA verify."""
        if (m, path) == ("GET", "/auth/providers"):
            return self._resp(request, 200, {"password": True, "oidc": self.providers})
        parts = path.strip("/").split("/")
        if m == "GET" and parts[:2] == ["auth", "oidc"] and len(parts) == 4 \
                and parts[3] == "start":
            q = {k: v[0] for k, v in query.items()}
            self.oidc_starts.append(q)
            redirect = q.get("redirect_uri", "")
            if not (redirect.startswith("http://127.0.0.1:")
                    or redirect.startswith("http://[::1]:")):
                return self._err(request, 400, "validation_error")
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                return self._err(request, 400, "validation_error")
            if parts[2] not in {p["id"] for p in self.providers}:
                return self._err(request, 404, "not_found")
            code = "code-" + secrets.token_hex(8)
            self.oidc_codes[code] = (q["code_challenge"], self.sso_user)
            location = redirect + "?" + urlencode({"code": code, "state": q.get("state", "")})
            return self._resp(request, 302, headers={"Location": location})
        if (m, path) == ("POST", "/auth/oidc/token"):
            entry = self.oidc_codes.pop(body.get("code"), None)
            verifier = str(body.get("code_verifier") or "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if entry is None or entry[0] != challenge:
                return self._err(request, 400, "invalid_grant")
            return self._tokens_for(request, entry[1])
        if (m, path) == ("POST", "/auth/mfa/verify"):
            username = self.mfa_tokens.get(body.get("mfa_token"))
            code = body.get("code")
            if username is None or code != self.totp.get(username) or code in self.used_codes:
                return self._err(request, 401, "invalid_credentials")
            self.used_codes.add(code)
            del self.mfa_tokens[body["mfa_token"]]
            return self._tokens_for(request, username)
        return None

    def _long_poll(self, dev: Device, inm: str | None, wait: float) -> None:
        """Hold until the revision moves past If-None-Match, the device is revoked, or wait."""
        deadline = time.monotonic() + wait
        with self._changed:
            while (inm == f'"{dev.revision}"' and dev.status != "revoked"
                   and time.monotonic() < deadline):
                self._changed.wait(max(0.0, deadline - time.monotonic()))

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.requests.append(request)
        if self.offline:
            raise requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
        split = urlsplit(request.url)
        path, query = split.path, parse_qs(split.query)
        assert path.startswith("/api/v1/"), path
        path = path[len("/api/v1"):]
        body = json.loads(request.body) if request.body else None
        m = request.method
        if (m, path) == ("GET", "/health"):
            return self._resp(request, 200, self.health_body)
        public = self._public(request, m, path, body, query)
        if public is not None:
            return public
        if (m, path) == ("POST", "/auth/login"):
            if self.retry_after is not None:
                resp = self._err(request, 429, "rate_limited", "Too many attempts",
                                 {"retry_after": self.retry_after})
                resp.headers["Retry-After"] = str(self.retry_after)
                return resp
            user = self.users.get(body.get("username"))
            if user is None or user["password"] != body.get("password"):
                return self._err(request, 401, "invalid_credentials")
            if user["disabled"]:
                return self._err(request, 403, "user_disabled")
            if body["username"] in self.totp:
                token = "mfa-" + secrets.token_hex(8)
                self.mfa_tokens[token] = body["username"]
                return self._resp(request, 200, {"mfa_required": True, "mfa_token": token,
                                                 "methods": ["totp"]})
            resp = self._tokens_for(request, body["username"])
            if body["username"] in self.mfa_setup_required:
                data = json.loads(resp._content)
                resp._content = json.dumps({**data, "mfa_setup_required": True}).encode()
            return resp
        if (m, path) == ("POST", "/auth/refresh"):
            tok = self._token(request)
            for fam in self.families:
                if tok in fam.refresh_spent:
                    fam.dead = True
                    return self._err(request, 401, "token_revoked")
                if tok == fam.refresh_live and not fam.dead:
                    fam.access.clear()
                    return self._resp(request, 200, self._new_pair(fam))
            return self._err(request, 401, "unauthorized")
        user = self._user_for_access(request)
        if user is None:
            return self._err(request, 401, "unauthorized")
        if (m, path) == ("POST", "/auth/logout"):
            for fam in self.families:
                if self._token(request) in fam.access:
                    fam.dead = True
            return self._resp(request, 204)
        if (m, path) == ("GET", "/auth/me"):
            u = self.users[user]
            return self._resp(request, 200, {"id": u["id"], "username": user, "role": u["role"]})
        if (m, path) == ("POST", "/devices/enroll"):
            unknown = set(body) - ENROLL_FIELDS
            if unknown:
                return self._err(request, 400, "validation_error", details={
                    k: ["unknown field"] for k in unknown})
            if not keys.is_valid_key(body.get("public_key")):
                return self._err(request, 400, "invalid_public_key")
            if body["public_key"] in self.revoked_keys:
                return self._err(request, 409, "public_key_revoked")
            fam = self._family(request)
            bound = self.devices.get(fam.device_id) if fam and fam.device_id else None
            if bound is not None and bound.fingerprint != body["fingerprint"]:
                return self._err(request, 403, "session_bound_to_device")
            for dev in self.devices.values():
                if dev.public_key == body["public_key"] and (
                        dev.user != user or dev.fingerprint != body["fingerprint"]):
                    return self._err(request, 409, "public_key_in_use")
            for dev in self.devices.values():
                if (dev.user == user and dev.fingerprint == body["fingerprint"]
                        and dev.status in ("active", "pending")):
                    if dev.public_key != body["public_key"] or dev.rotation_required:
                        dev.public_key = body["public_key"]
                        dev.rotation_required = False
                        dev.revision += 1
                    dev.name = body["name"]
                    if fam is not None:
                        fam.device_id = dev.id
                    self._notify()
                    return self._resp(request, 200, {"device": self._device_json(dev),
                                                     "profile": self._profile(dev)})
            dev = Device(next(self._ids), user, body["name"], body["fingerprint"],
                         body["public_key"], body["platform"], f"10.8.0.{next(self._ips)}",
                         status="pending" if self.approval_required else "active")
            self.devices[dev.id] = dev
            if fam is not None:
                fam.device_id = dev.id
            return self._resp(request, 201, {"device": self._device_json(dev),
                                             "profile": self._profile(dev)})
        parts = path.strip("/").split("/")
        if parts[0] == "devices" and len(parts) >= 2:
            dev = self.devices.get(int(parts[1]))
            if dev is None or dev.user != user:
                return self._err(request, 404, "not_found")
            if len(parts) == 3 and parts[2] == "profile" and m == "GET":
                inm = request.headers.get("If-None-Match")
                if "wait" in query and inm:
                    wait = max(0.0, min(float(query["wait"][0]), 60.0))
                    self.long_polls.append(wait)
                    self._long_poll(dev, inm, wait)
                if dev.status == "revoked":
                    return self._err(request, 410, "device_revoked")
                if inm == f'"{dev.revision}"':
                    return self._resp(request, 304)
                return self._resp(request, 200, self._profile(dev))
            if len(parts) == 2 and m == "GET":
                return self._resp(request, 200, self._device_json(dev))
            if len(parts) == 2 and m == "DELETE":
                if not self.owner_delete:
                    return self._err(request, 403, "forbidden")
                self.revoke(dev.id, end_sessions=True)
                del self.devices[dev.id]
                return self._resp(request, 204)
            if len(parts) == 3 and parts[2] == "revoke" and m == "POST":
                self.revoke(dev.id, end_sessions=True)
                return self._resp(request, 200, self._device_json(dev))
        return self._err(request, 404, "not_found")
