"""Browser sessions: the admin UI's refresh token lives in an HttpOnly, Secure, SameSite=Strict
cookie on the auth path, spent only with the double-submit CSRF header; bearer clients keep
getting the refresh token in the body."""

from __future__ import annotations

from tests.backend_fixtures import TEST_PASSWORD

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
BROWSER = {"X-NexaVPN-Session": "cookie"}


def _set_cookies(resp) -> dict[str, str]:
    out = {}
    for header in resp.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        out[name] = header
    return out


def _browser_login(api, client, name: str = "ann"):
    api.create_user(name, role="admin")
    resp = client.post(LOGIN, json={"username": name, "password": TEST_PASSWORD}, headers=BROWSER)
    assert resp.status_code == 200
    return resp


def test_browser_login_puts_the_refresh_token_in_an_httponly_cookie(api, client):
    resp = _browser_login(api, client)
    body = resp.get_json()
    assert "refresh_token" not in body and body["access_token"]
    cookies = _set_cookies(resp)
    refresh = cookies["nexavpn_refresh"]
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"):
        assert flag in refresh, (flag, refresh)
    csrf = cookies["nexavpn_csrf"]
    assert "Secure" in csrf and "SameSite=Strict" in csrf and "HttpOnly" not in csrf
    assert resp.headers["Cache-Control"] == "no-store"


def test_cookie_refresh_needs_the_csrf_header_and_rotates(api, client):
    _browser_login(api, client)
    csrf = client.get_cookie("nexavpn_csrf", path="/").value
    old = client.get_cookie("nexavpn_refresh", path="/api/v1/auth").value

    missing = client.post(REFRESH)
    assert missing.status_code == 403 and missing.get_json()["error"]["code"] == "csrf_failed"
    wrong = client.post(REFRESH, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403

    ok = client.post(REFRESH, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.get_json()
    assert "refresh_token" not in ok.get_json()
    new = client.get_cookie("nexavpn_refresh", path="/api/v1/auth").value
    assert new != old
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {ok.get_json()['access_token']}"}
    )
    assert me.status_code == 200  # like a reload: a new access token from the cookie alone

    # A spent cookie presented again (stolen copy) ends the session.
    client.set_cookie("nexavpn_refresh", old, path="/api/v1/auth")
    reused = client.post(REFRESH, headers={"X-CSRF-Token": csrf})
    assert reused.status_code == 401


def test_access_tokens_never_come_from_cookies(api, client):
    _browser_login(api, client)
    refresh = client.get_cookie("nexavpn_refresh", path="/api/v1/auth").value
    client.set_cookie("access_token_cookie", refresh, path="/")
    assert client.get("/api/v1/auth/me").status_code == 401


def test_logout_clears_the_cookies(api, client):
    resp = _browser_login(api, client)
    token = resp.get_json()["access_token"]
    out = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204
    cleared = _set_cookies(out)
    assert (
        "Max-Age=0" in cleared["nexavpn_refresh"]
        or "expires=Thu, 01 Jan 1970" in cleared["nexavpn_refresh"]
    )
    assert client.get_cookie("nexavpn_refresh", path="/api/v1/auth") is None


def test_bearer_clients_are_unchanged(api, client):
    api.create_user("bea")
    resp = client.post(LOGIN, json={"username": "bea", "password": TEST_PASSWORD})
    assert resp.get_json()["refresh_token"]
    assert "Set-Cookie" not in resp.headers
