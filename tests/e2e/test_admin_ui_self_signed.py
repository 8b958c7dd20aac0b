"""The admin UI in real headless Chromium against `nexavpn-server serve --self-signed`, the
quick-start setup: http:// is redirected to https://, the certificate fingerprint the UI shows is
the one `serve` printed, "New gateway" gives the pinned agent command, a new token can be made,
password rules show before submit, and the audit log filters by names.

The browser trusts the server by pinning its public key (``--ignore-certificate-errors-spki-list``
with the SHA-256 of exactly this certificate's key), the same trust model agents and clients use.
NEXAVPN_SCREENSHOT_DIR keeps a screenshot of each page (docs/screenshots/).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from nexavpn_gateway.pinning import PinnedAdapter
from nexavpn_shared.keys import generate_keypair
from nexavpn_shared.tls_pin import der_fingerprint, format_fingerprint
from tests.e2e.test_admin_ui_browser import (
    BIN,
    CHROMEDRIVER,
    CHROMIUM,
    ROOT,
    UI_DIR,
    _free_port,
    button,
    by_css,
    dialog,
    dialog_closed,
    field,
    nav,
    sign_in,
    text_appears,
    wait_for,
)

selenium = pytest.importorskip("selenium", reason="selenium is in the dev extra")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="chromium and chromium-driver are not installed (scripts/install-system-deps.sh)",
    ),
]

ADMIN_PASSWORD = "admin-pw-" + os.urandom(6).hex()


class Served:
    """The running server: URL, printed fingerprint, DER certificate, a pinned admin session."""

    def __init__(self, url: str, fingerprint: str, der: bytes) -> None:
        self.url = url
        self.fingerprint = fingerprint
        self.der = der
        self.http = requests.Session()
        self.http.mount("https://", PinnedAdapter(der, fingerprint))

    def call(self, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, f"{self.url}/api/v1{path}", headers=headers,
                                 timeout=15, **kw)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    build = subprocess.run(["bash", str(ROOT / "scripts" / "build-admin-ui.sh")],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    data = tmp_path_factory.mktemp("self-signed-server")
    env = {**os.environ, "NEXAVPN_DATA_DIR": str(data),
           "NEXAVPN_DATABASE_URL": f"sqlite:///{data / 'nexavpn.db'}",
           "NEXAVPN_ADMIN_UI_DIR": str(UI_DIR / "dist")}
    for name in ("NEXAVPN_TEST_DATABASE_URL", "NEXAVPN_PUBLIC_URL", "NEXAVPN_TLS_CERT"):
        env.pop(name, None)
    cli = str(BIN / "nexavpn-server")
    made = subprocess.run([cli, "create-admin", "--username", "admin", "--password-stdin"],
                          input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, env=env,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    port = _free_port()
    log_path = data / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([cli, "serve", "--self-signed", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "1"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while "fingerprint: " not in log_path.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        printed = re.search(r"fingerprint: ([0-9A-F:]{95})", log_path.read_text())
        assert printed
        der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))
        assert format_fingerprint(der_fingerprint(der)) == printed.group(1)
        yield Served(f"https://127.0.0.1:{port}", printed.group(1), der)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless Chromium that trusts exactly this server's key (and nothing else extra)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    spki = x509.load_der_x509_certificate(served.der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-pinned')}",
                 f"--ignore-certificate-errors-spki-list={pin}", "--window-size=1280,900"):
        opts.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots() -> Callable[[WebDriver, str], None]:
    target = os.environ.get("NEXAVPN_SCREENSHOT_DIR")

    def shot(driver: WebDriver, name: str) -> None:
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            time.sleep(0.3)
            driver.save_screenshot(str(Path(target) / f"{name}.png"))

    return shot


def test_first_hour_in_the_admin_ui(served: Served, browser: WebDriver, shots) -> None:
    d = browser
    # http:// to the HTTPS port: the browser lands on https:// (308 from the server).
    d.get(served.url.replace("https://", "http://") + "/")
    wait_for(d, lambda dr: dr.current_url.startswith(served.url + "/"), "redirect to https")
    sign_in(d, "admin", ADMIN_PASSWORD)
    text_appears(d, "h1", "Dashboard")
    assert by_css(d, "[data-testid=server-fingerprint]").text == served.fingerprint
    assert by_css(d, "[data-testid=server-url]").text == served.url
    shots(d, "dashboard-server-identity")

    # New gateway: the command carries the pin; a real heartbeat brings it online with its key.
    nav(d, "Gateways", "Gateways")
    button(d, "New gateway").click()
    dlg = dialog(d)
    field(dlg, "Name").send_keys("branch-office")
    field(dlg, "Public endpoint").send_keys("gw1.example.com:51820")
    button(dlg, "Create gateway").click()
    token = by_css(d, "[data-testid=agent-token]").text.strip()
    command = shlex.split(by_css(d, "[data-testid=agent-command]").text)
    assert command[command.index("--server") + 1] == served.url
    assert command[command.index("--server-fingerprint") + 1] == served.fingerprint
    shots(d, "gateway-token-pinned")
    button(d, "I have saved the token").click()
    key = generate_keypair()
    beat = served.call("POST", "/gateway-agent/heartbeat", token,
                       json={"public_key": key.public_key, "listen_port": 51820, "peers": []})
    assert beat.status_code == 204, beat.text
    nav(d, "Dashboard", "Dashboard")
    nav(d, "Gateways", "Gateways")
    text_appears(d, "[data-testid=gateway-public-key]", key.public_key)
    shots(d, "gateways-self-signed")

    # New token: the dialog says what follows; afterwards the old token is refused.
    row = by_css(d, "tr[data-gateway=branch-office]")
    button(row, "New token").click()
    dlg = dialog(d)
    assert "stops working at once" in dlg.text
    shots(d, "gateway-new-token")
    button(dlg, "Make a new token").click()
    dialog_closed(d)
    new_token = by_css(d, "[data-testid=agent-token]").text.strip()
    assert new_token != token
    assert served.call("GET", "/gateway-agent/config", token).status_code == 401
    assert served.call("GET", "/gateway-agent/config", new_token).status_code == 200
    button(d, "I have saved the token").click()

    # Password rules before submit.
    nav(d, "Users", "Users")
    button(d, "New user").click()
    dlg = dialog(d)
    field(dlg, "Username").send_keys("alice")
    field(dlg, "Password").send_keys("short")
    assert "At least 8 characters (now 5)" in by_css(d, "[aria-label='Password rules']").text
    button(dlg, "Create user").click()
    text_appears(d, "[role=dialog] .field-error", "at least 8 characters")
    shots(d, "user-password-rules")
    field(dlg, "Password").send_keys("-and-long-enough")
    button(dlg, "Create user").click()
    dialog_closed(d)

    # The audit log by names.
    nav(d, "Audit log", "Audit log")
    field(d, "Actor").send_keys("admin")
    field(d, "Target").send_keys("branch-office")
    button(d, "Apply filters").click()
    wait_for(d, lambda dr: "target=branch-office" in dr.current_url, "filters in the URL")
    text_appears(d, "tr[data-action='gateway.update']", "gateway branch-office")

    def only_matching(dr: WebDriver) -> bool:
        rows = dr.find_elements(By.CSS_SELECTOR, "tr[data-action]")
        return bool(rows) and all("branch-office" in r.text and "admin (#" in r.text
                                  for r in rows)

    wait_for(d, only_matching, "only the admin's events about branch-office")
    actions = {r.get_attribute("data-action") for r in d.find_elements(By.CSS_SELECTOR,
                                                                         "tr[data-action]")}
    assert actions == {"gateway.create", "gateway.update"}
    shots(d, "audit-by-name")
