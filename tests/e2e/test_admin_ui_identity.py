"""Identity in the admin UI, in a real headless Chromium against a real `nexavpn-server serve`
and a real OpenID provider process (oidc-provider-mock): a deep link survives a single sign-on,
a reload and a new tab stay signed in (HttpOnly refresh cookie), and a password admin sets up
TOTP from the QR page and then signs in with a code.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import pyotp
import pytest

from tests.backend.oidc_helpers import MockIdp
from tests.e2e.test_admin_ui_browser import (
    BIN,
    CHROMEDRIVER,
    CHROMIUM,
    ROOT,
    UI_DIR,
    Server,
    _free_port,
    button,
    by_css,
    field,
    sign_in,
    text_appears,
    wait_for,
)

selenium = pytest.importorskip("selenium", reason="selenium is in the dev extra")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402

ADMIN_PASSWORD = "admin-" + secrets.token_hex(8)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
        reason="chromium and chromium-driver are not installed (scripts/install-system-deps.sh)",
    ),
]


@pytest.fixture(scope="module")
def idp() -> Iterator[MockIdp]:
    provider = MockIdp()
    provider.set_user("sso-admin-sub", preferred_username="sso-admin", groups=["vpn-admins"])
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, idp: MockIdp) -> Iterator[Server]:
    """`nexavpn-server serve` on a fresh SQLite database with the provider configured."""
    build = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-admin-ui.sh")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    data = tmp_path_factory.mktemp("e2e-identity")
    providers = [
        {
            "id": "mock",
            "name": "Mock IdP",
            "issuer": idp.url,
            "client_id": "nexavpn-admin-ui",
            "client_secret": secrets.token_hex(16),
            "groups_claim": "groups",
            "admin_group": "vpn-admins",
        }
    ]
    env = {
        **os.environ,
        "NEXAVPN_DATA_DIR": str(data),
        "NEXAVPN_DATABASE_URL": f"sqlite:///{data / 'nexavpn.db'}",
        "NEXAVPN_ADMIN_UI_DIR": str(UI_DIR / "dist"),
        "NEXAVPN_OIDC_PROVIDERS": json.dumps(providers),
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
            except Exception:  # not listening yet
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
    """Debian's Chromium, headless, fresh profile (as in test_admin_ui_browser)."""
    profile = tmp_path_factory.mktemp("chromium-identity")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ):
        opts.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def heading(driver: WebDriver, text: str) -> None:
    text_appears(driver, "h1", text)


def sign_out(driver: WebDriver) -> None:
    button(driver, "Sign out").click()
    wait_for(driver, lambda d: d.current_url.endswith("/login"), "back at sign-in")


def test_sso_deep_link_reload_and_new_tab(server: Server, browser: WebDriver) -> None:
    d = browser
    d.get(server.url + "/policies")
    wait_for(d, lambda dr: dr.current_url.endswith("/login"), "redirect to /login")
    wait_for(d, lambda dr: button(dr, "Sign in with Mock IdP"), "the provider's button").click()

    # At the provider: pick the user (the mock's consent form).
    sub = wait_for(d, lambda dr: dr.find_element(By.CSS_SELECTOR, "input[name=sub]"), "IdP form")
    sub.send_keys("sso-admin-sub")
    d.find_element(By.XPATH, "//button[normalize-space()='Authorize']").click()

    # Back through the server's callback and the UI's: landed on the deep link, signed in.
    heading(d, "Policies")
    assert d.current_url == server.url + "/policies"
    assert "sso-admin" in by_css(d, ".who").text

    # The refresh token is not visible to page scripts; only the CSRF cookie is.
    cookies = d.execute_script("return document.cookie")
    assert "nexavpn_csrf=" in cookies and "nexavpn_refresh" not in cookies

    # A reload keeps the session (the HttpOnly cookie on /api/v1/auth is all it has).
    d.refresh()
    heading(d, "Policies")
    assert d.current_url.endswith("/policies")

    # So does a new tab.
    first = d.current_window_handle
    d.switch_to.new_window("tab")
    d.get(server.url + "/users")
    heading(d, "Users")
    row = by_css(d, "tr[data-username=sso-admin]")
    assert "SSO (mock)" in row.text
    d.close()
    d.switch_to.window(first)

    sign_out(d)
    d.get(server.url + "/users")  # signed out for good: the cookie was cleared
    wait_for(d, lambda dr: dr.current_url.endswith("/login"), "signed out after reload")


def test_totp_setup_and_sign_in(server: Server, browser: WebDriver) -> None:
    d = browser
    d.get(server.url + "/")
    by_css(d, "form.signin-card")
    sign_in(d, "admin", ADMIN_PASSWORD)
    heading(d, "Dashboard")
    d.find_element(By.XPATH, "//a[normalize-space()='Two-factor']").click()
    heading(d, "Two-factor sign-in")
    button(d, "Set up two-factor").click()
    qr = by_css(d, "img.qr")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert d.execute_script("return arguments[0].naturalWidth > 0", qr)  # the QR code rendered
    secret = by_css(d, "[data-testid=totp-secret]").text.strip()
    field(d, "Code from the app").send_keys(pyotp.TOTP(secret).now())
    button(d, "Turn on two-factor").click()
    codes = wait_for(
        d, lambda dr: dr.find_elements(By.CSS_SELECTOR, "ul.recovery-codes li"), "recovery codes"
    )
    assert len(codes) == 10
    button(d, "Done").click()
    text_appears(d, "p", "is on")
    sign_out(d)

    sign_in(d, "admin", ADMIN_PASSWORD)
    heading(d, "Two-factor sign-in")
    field(d, "Code").send_keys(pyotp.TOTP(secret).at(time.time() + 30))  # a step not used yet
    button(d, "Verify").click()
    # Signed in, back on the page the admin signed out from (it shows TOTP on).
    text_appears(d, ".who", "admin")
    text_appears(d, "p", "is on")
    d.refresh()
    text_appears(d, "p", "is on")
    assert "admin" in by_css(d, ".who").text
