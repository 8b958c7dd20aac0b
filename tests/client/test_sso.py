"""Single sign-on with a loopback redirect (RFC 8252) and the TOTP step, core and CLI.

The browser is played by an HTTP client: it opens the server's start URL (the in-memory
server answers 302 to the loopback redirect_uri with code and state, as the real one does after
the identity provider), then follows that redirect to the client's real loopback listener.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from nexavpn_client import errors
from nexavpn_client.secrets.base import SecretKey
from nexavpn_client.sso import LoopbackReceiver, new_pkce

from .conftest import SERVER
from .test_cli import run as cli_run

PASSWORD = "correct horse"


@pytest.fixture
def app(client_app):
    return client_app


def _browser(server, tamper_state: bool = False):
    """A stand-in for the system browser: follows the start URL to the loopback listener."""
    seen: dict[str, object] = {}

    def open_url(url: str) -> bool:
        session = requests.Session()
        session.mount("https://", server)
        resp = session.get(url, allow_redirects=False)
        assert resp.status_code == 302
        location = resp.headers["Location"]
        if tamper_state:
            location = location.replace("state=", "state=x")
        seen["location"] = location
        page = requests.get(location, timeout=5)  # a real socket to 127.0.0.1
        seen["page"] = page.text
        return True

    return open_url, seen


def test_sso_loopback_flow_signs_in(app, server, secrets_store):
    open_url, seen = _browser(server)
    app.open_browser = open_url
    user = app.login_sso(SERVER, "corp", timeout=10)
    assert user.username == "alice"
    assert secrets_store.get(SecretKey.REFRESH_TOKEN).startswith("ref-")
    start = server.oidc_starts[-1]
    redirect = urlsplit(start["redirect_uri"])
    assert redirect.scheme == "http" and redirect.hostname == "127.0.0.1" and redirect.port
    assert start["code_challenge_method"] == "S256" and len(start["state"]) >= 22
    assert "You can close this window" in seen["page"]
    # The verifier never travelled with the browser; only its S256 challenge did.
    token_req = [r for r in server.requests if r.path_url == "/api/v1/auth/oidc/token"][-1]
    verifier = json.loads(token_req.body)["code_verifier"]
    assert verifier not in str(start) and verifier not in str(seen["location"])
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == start["code_challenge"]
    # The listener is gone after the sign-in.
    with pytest.raises(requests.ConnectionError):
        requests.get(start["redirect_uri"], timeout=2)


def test_sso_state_mismatch_refused(app, server, secrets_store):
    open_url, _ = _browser(server, tamper_state=True)
    app.open_browser = open_url
    with pytest.raises(errors.SignInCancelled, match="does not belong"):
        app.login_sso(SERVER, "corp", timeout=10)
    assert secrets_store.get(SecretKey.REFRESH_TOKEN) is None


def test_sso_code_bound_to_verifier(server):
    api_session = requests.Session()
    api_session.mount("https://", server)
    pkce = new_pkce()
    resp = api_session.get(
        f"{SERVER}/api/v1/auth/oidc/corp/start",
        params={"redirect_uri": "http://127.0.0.1:5/cb", "state": "s",
                "code_challenge": pkce.challenge, "code_challenge_method": "S256"},
        allow_redirects=False)
    code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    from nexavpn_client.api import ApiClient

    api = ApiClient(SERVER, transport=server)
    with pytest.raises(errors.SignInCancelled):
        api.oidc_token(code, new_pkce().verifier)  # wrong verifier: refused in words


def test_sso_times_out_without_browser(app, server):
    app.open_browser = lambda url: False
    with pytest.raises(errors.SignInCancelled, match="did not finish"):
        app.login_sso(SERVER, "corp", timeout=0.3)


def test_loopback_ignores_other_paths_and_reports_errors():
    with LoopbackReceiver() as rx:
        base = rx.redirect_uri.rsplit("/", 1)[0]
        assert requests.get(base + "/favicon.ico", timeout=2).status_code == 404
        page = requests.get(rx.redirect_uri, params={"error": "user_disabled", "state": "s"},
                            timeout=2)
        assert "did not finish" in page.text
        got = rx.wait(1)
        assert got is not None and got.error == "user_disabled" and got.code is None


def test_cli_sso_prints_url_when_no_browser(app, server):
    def no_browser(url: str) -> bool:
        # Nothing opens; a person copies the printed URL into a browser a moment later.
        def later():
            session = requests.Session()
            session.mount("https://", server)
            loc = session.get(url, allow_redirects=False).headers["Location"]
            requests.get(loc, timeout=5)

        threading.Timer(0.2, later).start()
        return False

    app.open_browser = no_browser
    code, out, err = cli_run(app, "login", "--server", SERVER, "--sso")
    assert code == 0, err
    assert "No browser could be opened" in out and "/api/v1/auth/oidc/corp/start?" in out
    assert "Signed in as alice" in out and "Corp SSO" in out


def test_cli_sso_provider_choice(app, server):
    server.providers = [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]
    code, _, err = cli_run(app, "login", "--server", SERVER, "--sso")
    assert code == 2 and "--sso ID" in err and "a (A)" in err
    code, _, err = cli_run(app, "login", "--server", SERVER, "--sso", "zzz")
    assert code == 2 and "No sign-in provider 'zzz'" in err


# ------------------------------------------------------------------ TOTP


def test_totp_step_in_core(app, server, secrets_store):
    server.totp["alice"] = "123456"
    with pytest.raises(errors.MfaRequired) as info:
        app.login(SERVER, "alice", PASSWORD)
    mfa = info.value
    assert "mfa-" not in str(mfa) and "mfa-" not in repr(mfa)
    assert secrets_store.get(SecretKey.ACCESS_TOKEN) is None
    with pytest.raises(errors.InvalidMfaCode):
        app.login_mfa(SERVER, mfa.mfa_token, "000000")
    user = app.login_mfa(SERVER, mfa.mfa_token, "123 456", username="alice")
    assert user.username == "alice" and secrets_store.get(SecretKey.ACCESS_TOKEN)


def test_totp_step_in_cli(app, server):
    server.totp["alice"] = "654321"
    code, out, err = cli_run(app, "login", "--server", SERVER, "--username", "alice",
                             "--password-stdin", stdin=f"{PASSWORD}\n654321\n")
    assert code == 0 and "Signed in as alice" in out, err
    server.used_codes.clear()
    code, out, err = cli_run(app, "login", "--server", SERVER, "--username", "alice",
                             "--password-stdin", stdin=f"{PASSWORD}\n111111\n")
    assert code == 3 and "two-factor code is wrong" in err


def test_mfa_setup_required_is_explained_and_no_tokens_kept(app, server, secrets_store):
    server.mfa_setup_required.add("alice")
    with pytest.raises(errors.MfaSetupRequired, match="set up your authenticator app"):
        app.login(SERVER, "alice", PASSWORD)
    assert secrets_store.get(SecretKey.REFRESH_TOKEN) is None
    assert any(r.path_url == "/api/v1/auth/logout" for r in server.requests)
