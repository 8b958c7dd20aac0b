"""The production nginx site (packaging/nginx) run for real: TLS, security headers on every
answer, client-side route fallback, the /api/ proxy, the body-size limit and JSON errors.

Why a real nginx: `add_header` inheritance and `error_page` in named locations are easy to get
wrong in ways `nginx -t` never reports.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import trustme

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "packaging" / "nginx" / "nexavpn.conf"
HEADERS = ROOT / "packaging" / "nginx" / "nexavpn-headers.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (scripts/install-system-deps.sh installs it)"
)

MAX_BODY = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Upstream(BaseHTTPRequestHandler):
    """Stands in for gunicorn: echoes what nginx forwarded."""

    def _answer(self, body_len: int) -> None:
        payload = json.dumps(
            {
                "path": self.path,
                "method": self.command,
                "received": body_len,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._answer(0)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self._answer(length)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Site:
    def __init__(self, https: str, http: str, ca_pem: Path, upstream: ThreadingHTTPServer) -> None:
        self.https = https
        self.http = http
        self.ca_pem = str(ca_pem)
        self.upstream = upstream

    def get(self, path: str, **kw: object) -> requests.Response:
        return requests.get(self.https + path, verify=self.ca_pem, timeout=10, **kw)

    def post(self, path: str, data: bytes) -> requests.Response:
        return requests.post(
            self.https + path,
            data=data,
            headers={"Content-Type": "application/json"},
            verify=self.ca_pem,
            timeout=10,
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("nginx")
    for sub in ("logs", "tmp", "snippets", "html/assets"):
        (tmp / sub).mkdir(parents=True)
    (tmp / "html" / "index.html").write_text(
        '<!doctype html><div id="root"></div>'
        '<script type="module" src="/assets/app-1a2b.js"></script>'
    )
    (tmp / "html" / "assets" / "app-1a2b.js").write_text("console.log('app')\n")

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    cert.private_key_pem.write_to_path(str(tmp / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp / "cert.pem"))

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    up_port = upstream.server_address[1]
    https_port, http_port = _free_port(), _free_port()

    text = SITE.read_text()
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{up_port};",
        "/etc/nexavpn/tls/fullchain.pem": str(tmp / "cert.pem"),
        "/etc/nexavpn/tls/privkey.pem": str(tmp / "key.pem"),
        "/usr/share/nexavpn/admin-ui": str(tmp / "html"),
        "/etc/nginx/snippets/nexavpn-headers.conf": str(tmp / "snippets" / "headers.conf"),
    }
    for old, new in replacements.items():
        assert old in text, f"site file no longer contains {old!r}; update this test"
        text = text.replace(old, new)
    (tmp / "site.conf").write_text(text)
    shutil.copy(HEADERS, tmp / "snippets" / "headers.conf")
    t = tmp / "tmp"
    (tmp / "nginx.conf").write_text(
        f"""
user root;
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    include {tmp}/site.conf;
}}
"""
    )
    argv = [str(NGINX), "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    check = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {proc.stderr.read()!r}") from None
                time.sleep(0.05)
        yield Site(
            f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", ca_pem, upstream
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()


def _assert_security_headers(resp: requests.Response) -> None:
    h = resp.headers
    assert h["Strict-Transport-Security"].startswith("max-age=")
    assert int(h["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31536000
    csp = h["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert "nginx/" not in h.get("Server", "")


def test_index_and_client_routes_get_the_app_with_headers(site: Site) -> None:
    for path in ("/", "/users", "/devices/42", "/no/such/page"):
        resp = site.get(path)
        assert resp.status_code == 200, path
        assert '<div id="root">' in resp.text
        assert resp.headers["Cache-Control"] == "no-cache"
        _assert_security_headers(resp)


def test_assets_are_cached_and_keep_the_headers(site: Site) -> None:
    resp = site.get("/assets/app-1a2b.js")
    assert resp.status_code == 200
    assert "immutable" in resp.headers["Cache-Control"]
    _assert_security_headers(resp)
    missing = site.get("/assets/gone-0000.js")
    assert missing.status_code == 404
    assert '<div id="root">' not in missing.text


def test_api_is_proxied_with_forwarding_headers(site: Site) -> None:
    resp = site.get("/api/v1/health?x=1")
    assert resp.status_code == 200
    seen = resp.json()
    assert seen["path"] == "/api/v1/health?x=1"
    assert seen["headers"]["x-forwarded-proto"] == "https"
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
    _assert_security_headers(resp)


def test_client_sent_forwarding_headers_cannot_name_the_client(site: Site) -> None:
    """The server trusts X-Real-IP and the rightmost X-Forwarded-For hop from nginx: nginx must
    overwrite the former and append to the latter, whatever the client sent."""
    resp = site.get(
        "/api/v1/health", headers={"X-Real-IP": "6.6.6.6", "X-Forwarded-For": "7.7.7.7"}
    )
    seen = resp.json()["headers"]
    assert seen["x-real-ip"] == "127.0.0.1"
    assert seen["x-forwarded-for"].split(",")[-1].strip() == "127.0.0.1"


def test_body_limit_matches_the_api_and_answers_json(site: Site) -> None:
    ok = site.post("/api/v1/devices/enroll", b"x" * (MAX_BODY - 1024))
    assert ok.status_code == 200
    assert ok.json()["received"] == MAX_BODY - 1024
    big = site.post("/api/v1/devices/enroll", b"x" * (MAX_BODY + 1))
    assert big.status_code == 413
    assert big.headers["Content-Type"].startswith("application/json")
    assert big.json()["error"]["code"] == "payload_too_large"
    _assert_security_headers(big)


def test_over_long_request_line_answers_json(site: Site) -> None:
    """Longer than gunicorn behind it accepts (4094): refused by nginx, in the envelope."""
    resp = site.get("/api/v1/audit-logs?action=" + "a" * 5000)
    assert resp.status_code == 414
    assert resp.json()["error"]["code"] == "uri_too_long"
    assert site.get("/api/v1/health?x=" + "a" * 3000).status_code == 200


def test_plain_http_redirects_to_https(site: Site) -> None:
    resp = requests.get(site.http + "/users", allow_redirects=False, timeout=10)
    assert resp.status_code == 301
    assert resp.headers["Location"].startswith("https://")
    assert resp.headers["Location"].endswith("/users")


def test_api_down_answers_the_json_envelope(site: Site) -> None:
    # Runs last in this module: stops the fake gunicorn.
    site.upstream.shutdown()
    site.upstream.server_close()
    resp = site.get("/api/v1/health")
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "service_unavailable"
    assert resp.headers["Retry-After"] == "5"
    _assert_security_headers(resp)
