"""The admin web UI in a real headless Chromium against a real `nexavpn-server serve` on a fresh
database: sign in as the first admin, create a user, a gateway and a policy, enroll a device for
the user through the API, see it with its VPN IP, revoke it, find it all in the audit log, sign
out; a wrong password shows the error.

Set NEXAVPN_SCREENSHOT_DIR to keep a screenshot of every page (backend/admin-ui/screenshots.sh
writes them to docs/screenshots/).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from nexavpn_shared.keys import generate_keypair

selenium = pytest.importorskip("selenium", reason="selenium is in the dev extra")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
UI_DIR = ROOT / "backend" / "admin-ui"
BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ADMIN_PASSWORD = "admin-" + secrets.token_hex(8)
USER_PASSWORD = "alice-" + secrets.token_hex(8)
WAIT = 15

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="chromium and chromium-driver are not installed (scripts/install-system-deps.sh)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str) -> None:
        self.url = url
        self.api = url + "/api/v1"

    def call(
        self, method: str, path: str, token: str | None = None, **kw: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, self.api + path, headers=headers, timeout=15, **kw)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server (gunicorn) on a fresh SQLite database, serving the built admin UI."""
    build = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-admin-ui.sh")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    assert (UI_DIR / "dist" / "index.html").is_file()

    data = tmp_path_factory.mktemp("e2e-server")
    env = {
        **os.environ,
        "NEXAVPN_DATA_DIR": str(data),
        "NEXAVPN_DATABASE_URL": f"sqlite:///{data / 'nexavpn.db'}",
        "NEXAVPN_ADMIN_UI_DIR": str(UI_DIR / "dist"),
    }
    env.pop("NEXAVPN_TEST_DATABASE_URL", None)
    cli = str(BIN / "nexavpn-server")
    made = subprocess.run(
        [cli, "create-admin", "--username", "admin", "--password-stdin"],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    port = _free_port()
    log = (data / "server.log").open("w")
    proc = subprocess.Popen(
        [cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    srv = Server(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if srv.call("GET", "/health").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((data / "server.log").read_text()[-4000:])
            time.sleep(0.2)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Debian's Chromium, headless, with a fresh profile and no background traffic."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ):
        opts.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download anything
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots() -> Callable[[WebDriver, str], None]:
    """Save a screenshot per page when NEXAVPN_SCREENSHOT_DIR is set."""
    target = os.environ.get("NEXAVPN_SCREENSHOT_DIR")

    def shot(driver: WebDriver, name: str) -> None:
        if not target:
            return
        Path(target).mkdir(parents=True, exist_ok=True)
        time.sleep(0.3)  # let the spinner-free render settle
        driver.save_screenshot(str(Path(target) / f"{name}.png"))

    return shot


# ---- helpers --------------------------------------------------------------------------------


def wait_for(driver: WebDriver, find: Callable[[WebDriver], Any], what: str) -> Any:
    try:
        # Rows re-render while React loads: a stale element just means "look again".
        waiter = WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException])
        return waiter.until(lambda d: find(d))
    except TimeoutException:
        shown = driver.find_elements(By.CSS_SELECTOR, ".alert-error, .field-error")
        errors = [e.text for e in shown]
        raise AssertionError(
            f"timed out waiting for {what} on {driver.current_url}; errors shown: {errors}"
        ) from None


def by_css(driver: WebDriver, css: str) -> WebElement:
    return wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, css), css)


def text_appears(driver: WebDriver, css: str, text: str) -> WebElement:
    def find(d: WebDriver) -> WebElement | None:
        for el in d.find_elements(By.CSS_SELECTOR, css):
            if text in el.text:
                return el
        return None

    return wait_for(driver, find, f"{text!r} in {css}")


def field(scope: WebDriver | WebElement, label: str) -> WebElement:
    """The input a <label> names (labels are linked with for=/id)."""
    lab = scope.find_element(By.XPATH, f".//label[normalize-space()='{label}']")
    return scope.find_element(By.ID, lab.get_attribute("for"))


def button(scope: WebDriver | WebElement, name: str) -> WebElement:
    return scope.find_element(By.XPATH, f".//button[normalize-space()='{name}']")


def dialog(driver: WebDriver) -> WebElement:
    return by_css(driver, "[role=dialog]")


def dialog_closed(driver: WebDriver) -> None:
    wait_for(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, "[role=dialog]"), "no dialog")


def nav(driver: WebDriver, name: str, heading: str) -> None:
    driver.find_element(
        By.XPATH, f"//nav[@aria-label='Main']//a[normalize-space()='{name}']"
    ).click()
    text_appears(driver, "h1", heading)


def sign_in(driver: WebDriver, username: str, password: str) -> None:
    field(driver, "Username").send_keys(username)
    field(driver, "Password").send_keys(password)
    button(driver, "Sign in").click()


def no_horizontal_overflow(driver: WebDriver) -> bool:
    return bool(
        driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
    )


# ---- tests (run in file order on one server and one browser) ----------------------------------


def test_wrong_password_shows_the_error(server: Server, browser: WebDriver, shots) -> None:
    browser.get(server.url + "/")
    wait_for(browser, lambda d: d.current_url.endswith("/login"), "redirect to /login")
    by_css(browser, "form.signin-card")
    sign_in(browser, "admin", "not-the-password")
    alert = text_appears(browser, ".alert-error", "")
    assert alert.text.strip(), "the error message is empty"
    assert "invalid" in alert.text.lower() or "password" in alert.text.lower(), alert.text
    assert browser.current_url.endswith("/login")
    assert field(browser, "Password").get_attribute("value") == ""
    shots(browser, "sign-in-error")


def test_admin_runs_the_vpn_from_the_console(server: Server, browser: WebDriver, shots) -> None:
    d = browser
    # Sign in as the first admin.
    field(d, "Username").clear()
    sign_in(d, "admin", ADMIN_PASSWORD)
    text_appears(d, "h1", "Dashboard")
    by_css(d, "[data-testid=stat-users]")
    assert d.find_element(By.CSS_SELECTOR, "[data-testid=stat-users]").text == "1"

    # A user.
    nav(d, "Users", "Users")
    button(d, "New user").click()
    dlg = dialog(d)
    field(dlg, "Username").send_keys("alice")
    field(dlg, "Email").send_keys("alice@example.com")
    field(dlg, "Password").send_keys(USER_PASSWORD)
    field(dlg, "Groups").send_keys("eng")
    button(dlg, "Create user").click()
    dialog_closed(d)
    by_css(d, "tr[data-username=alice]")
    shots(d, "users")

    # A gateway: the agent token is shown once, with the command that starts the agent.
    nav(d, "Gateways", "Gateways")
    button(d, "New gateway").click()
    dlg = dialog(d)
    field(dlg, "Name").send_keys("gw-e2e")
    field(dlg, "Public endpoint").send_keys("127.0.0.1:51820")
    assert field(dlg, "VPN network (IPv4)").get_attribute("value") == "10.8.0.0/24"
    button(dlg, "Create gateway").click()
    token = by_css(d, "[data-testid=agent-token]").text.strip()
    command = d.find_element(By.CSS_SELECTOR, "[data-testid=agent-command]").text
    assert len(token) >= 20
    assert command == (
        f"nexavpn-gateway run --server {server.url} --token-file /etc/nexavpn/gateway.token "
        "--interface wg0 --listen-port 51820"
    )
    assert d.find_elements(By.XPATH, "//button[normalize-space()='Copy token']")
    shots(d, "gateway-token")
    button(d, "I have saved the token").click()
    row = by_css(d, "tr[data-gateway=gw-e2e]")
    assert "offline" in row.text

    # The agent reports in (as the real agent would), so the gateway is online for enrollment.
    gw_key = generate_keypair()
    beat = server.call(
        "POST",
        "/gateway-agent/heartbeat",
        token,
        json={"public_key": gw_key.public_key, "listen_port": 51820, "peers": []},
    )
    assert beat.status_code == 204, beat.text
    nav(d, "Dashboard", "Dashboard")
    nav(d, "Gateways", "Gateways")
    wait_for(
        d,
        lambda dr: "online" in dr.find_element(By.CSS_SELECTOR, "tr[data-gateway=gw-e2e]").text,
        "gateway online",
    )
    shots(d, "gateways")

    # A policy; a CIDR with host bits is refused in the form, as the server would.
    nav(d, "Policies", "Policies")
    button(d, "New policy").click()
    dlg = dialog(d)
    field(dlg, "Name").send_keys("office")
    dlg.find_element(
        By.XPATH, ".//label[contains(@class,'check')][normalize-space()='alice']/input"
    ).click()
    field(dlg, "Destinations").send_keys("10.20.0.1/24")
    button(dlg, "Create policy").click()
    text_appears(d, "[role=dialog] .field-error", "host bits are set")
    field(dlg, "Destinations").clear()
    field(dlg, "Destinations").send_keys("10.20.0.0/24")
    button(dlg, "Create policy").click()
    dialog_closed(d)
    row = by_css(d, "tr[data-policy=office]")
    assert "10.20.0.0/24" in row.text and "alice" in row.text
    shots(d, "policies")

    # The user enrolls a device through the API (what the desktop client does).
    login = server.call(
        "POST", "/auth/login", json={"username": "alice", "password": USER_PASSWORD}
    )
    assert login.status_code == 200, login.text
    user_token = login.json()["access_token"]
    dev_key = generate_keypair()
    enrolled = server.call(
        "POST",
        "/devices/enroll",
        user_token,
        json={
            "name": "alice-laptop",
            "fingerprint": secrets.token_hex(32),
            "public_key": dev_key.public_key,
            "platform": "linux",
            "os_version": "Debian 12",
            "client_version": "0.1.0",
        },
    )
    assert enrolled.status_code == 201, enrolled.text
    device = enrolled.json()["device"]
    vpn_ip = device["vpn_ip"]
    assert vpn_ip.startswith("10.8.0.")

    # The device appears with its VPN IP.
    nav(d, "Devices", "Devices")
    row = by_css(d, f"tr[data-device-id='{device['id']}']")
    assert row.find_element(By.CSS_SELECTOR, ".vpn-ip").text == vpn_ip
    assert "alice" in row.text and "active" in row.text and "gw-e2e" in row.text
    shots(d, "devices")
    row.find_element(By.LINK_TEXT, "alice-laptop").click()
    assert by_css(d, "[data-testid=device-vpn-ip]").text == vpn_ip
    text_appears(d, "dd", "gw-e2e")
    shots(d, "device-detail")

    # Revoke it (after confirming) and see the status change.
    button(d, "Revoke").click()
    dlg = dialog(d)
    button(dlg, "Revoke device").click()
    dialog_closed(d)
    text_appears(d, "[data-testid=device-status]", "revoked")
    assert not d.find_elements(By.XPATH, "//button[normalize-space()='Revoke']")
    # Revoking the device ended the session bound to it: the laptop's token is refused and
    # the answer names the reason.
    profile = server.call("GET", f"/devices/{device['id']}/profile", user_token)
    assert profile.status_code == 401, profile.text
    assert profile.json()["error"]["details"]["reason"] == "device_revoked"

    # Those actions are in the audit log; filters and details work.
    nav(d, "Audit log", "Audit log")
    by_css(d, "tr[data-action]")
    seen = {
        el.get_attribute("data-action")
        for el in d.find_elements(By.CSS_SELECTOR, "tr[data-action]")
    }
    for action in (
        "auth.login",
        "user.create",
        "gateway.create",
        "policy.create",
        "device.enroll",
        "device.revoke",
    ):
        assert action in seen, (action, seen)
    field(d, "Action").send_keys("device.revoke")
    button(d, "Apply filters").click()
    wait_for(
        d,
        lambda dr: (
            {
                el.get_attribute("data-action")
                for el in dr.find_elements(By.CSS_SELECTOR, "tr[data-action]")
            }
            == {"device.revoke"}
        ),
        "only device.revoke rows",
    )
    details = d.find_elements(By.XPATH, "//tr[@data-action='device.revoke']//button")
    if details:
        details[0].click()
        by_css(d, ".details-row pre")
    shots(d, "audit-log")

    # The dashboard counts what happened.
    nav(d, "Dashboard", "Dashboard")
    wait_for(
        d,
        lambda dr: (
            dr.find_element(By.CSS_SELECTOR, "[data-testid=stat-devices-revoked]").text == "1"
        ),
        "one revoked device",
    )
    assert d.find_element(By.CSS_SELECTOR, "[data-testid=stat-users]").text == "2"
    text_appears(d, ".card", "alice-laptop")
    assert no_horizontal_overflow(d)
    shots(d, "dashboard")

    # Usable at 768 px: nothing pushes the page sideways.
    d.set_window_size(768, 1000)
    try:
        for name, heading in (
            ("Devices", "Devices"),
            ("Users", "Users"),
            ("Audit log", "Audit log"),
            ("Dashboard", "Dashboard"),
        ):
            nav(d, name, heading)
            by_css(d, "table")
            assert no_horizontal_overflow(d), f"{heading} overflows at 768 px"
        shots(d, "dashboard-768")
    finally:
        d.set_window_size(1280, 900)

    # Sign out.
    button(d, "Sign out").click()
    wait_for(d, lambda dr: dr.current_url.endswith("/login"), "sign-in page")
    by_css(d, "form.signin-card")
    shots(d, "sign-in")


def test_unknown_page_shows_404_after_sign_in(server: Server, browser: WebDriver, shots) -> None:
    # The browser is shared by the module and sessions survive a reload: start signed out.
    browser.get(server.url + "/login")
    browser.delete_all_cookies()
    browser.get(server.url + "/no/such/page")
    wait_for(browser, lambda d: d.current_url.endswith("/login"), "sign-in first")
    sign_in(browser, "admin", ADMIN_PASSWORD)
    text_appears(browser, "h1", "Page not found")
    assert browser.current_url.endswith("/no/such/page")
    shots(browser, "not-found")
