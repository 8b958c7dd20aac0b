"""Single sign-on end to end over HTTP: a real OpenID provider process (oidc-provider-mock),
a provider whose ID tokens the test shapes, and the NexaVPN app served on loopback. The
browser step is done by an HTTP client, as the desktop's loopback flow would have it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from joserfc.jwk import RSAKey

from tests.backend.oidc_helpers import (
    CLIENT_REDIRECT,
    LiveServer,
    MockIdp,
    SigningIdp,
    follow_signing_idp,
    free_port,
    pkce,
    query,
    sign_in,
    start,
)
from tests.backend.provisioning_helpers import enroll_body, make_gateway, make_policy
from tests.backend_fixtures import TEST_PASSWORD

POLICY_NET = "10.20.0.0/24"


@pytest.fixture(scope="module")
def mock_idp() -> Iterator[MockIdp]:
    idp = MockIdp()
    yield idp
    idp.stop()


@pytest.fixture
def signing_idp() -> Iterator[SigningIdp]:
    idp = SigningIdp()
    yield idp
    idp.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections into its backlog but never answers (a hung provider)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


@pytest.fixture
def app_config(
    app_config: dict[str, Any], mock_idp: MockIdp, signing_idp: SigningIdp, silent_port: int
) -> dict[str, Any]:
    def provider(pid: str, issuer: str, **kw: Any) -> dict[str, Any]:
        return {
            "id": pid,
            "name": pid.title(),
            "issuer": issuer,
            "client_id": "nexavpn",
            "client_secret": "client-secret-value",
            **kw,
        }

    from nexavpn_api.services.oidc_providers import CACHE

    CACHE.clear()
    app_config["NEXAVPN_OIDC_PROVIDERS"] = [
        provider("mock", mock_idp.url, groups_claim="groups", admin_group="vpn-admins"),
        provider("signer", signing_idp.url, groups_claim="roles"),
        provider("down", f"http://127.0.0.1:{free_port()}"),
        provider("hung", f"http://127.0.0.1:{silent_port}"),
    ]
    app_config["NEXAVPN_OIDC_TIMEOUT_SECONDS"] = 1
    return app_config


@pytest.fixture
def server(app) -> Iterator[LiveServer]:
    srv = LiveServer(app)
    yield srv
    srv.stop()


def _mock_step(mock_idp: MockIdp, sub: str):
    return lambda url: mock_idp.authorize(url, sub)


def _me(server: LiveServer, token: str) -> dict[str, Any]:
    resp = requests.get(
        server.api + "/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def _profile(server: LiveServer, token: str, device_id: int) -> dict[str, Any]:
    resp = requests.get(
        f"{server.api}/devices/{device_id}/profile",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_providers_are_listed_publicly(server):
    resp = requests.get(server.api + "/auth/providers", timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["password"] is True
    assert [p["id"] for p in body["oidc"]] == ["mock", "signer", "down", "hung"]
    assert body["oidc"][0] == {"id": "mock", "name": "Mock"}
    assert "client_secret" not in resp.text and "client-secret-value" not in resp.text


def test_code_flow_groups_drive_policy_and_removal_takes_access_away(app, server, mock_idp):
    make_gateway(app)
    make_policy(app, "eng-net", [POLICY_NET], groups=["eng"])
    mock_idp.set_user(
        "alice-sub",
        preferred_username="alice",
        email="alice@example.com",
        groups=["eng", "/staff/all"],
    )

    token, _params = sign_in(server, "mock", _mock_step(mock_idp, "alice-sub"))
    assert token.status_code == 200, token.text
    body = token.json()
    assert set(body) >= {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["user"]["username"] == "alice" and body["user"]["role"] == "user"
    access = body["access_token"]
    me = _me(server, access)
    assert me["sign_in_method"] == "oidc" and me["sso_provider"] == "mock"
    assert me["groups"] == ["eng", "staff_all"] and me["email"] == "alice@example.com"

    enrolled = requests.post(
        server.api + "/devices/enroll",
        json=enroll_body(),
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    assert enrolled.status_code == 201, enrolled.text
    device_id = enrolled.json()["device"]["id"]
    first = _profile(server, access, device_id)
    assert POLICY_NET in first["peer"]["allowed_ips"]
    assert {"destination": POLICY_NET, "policy": "eng-net"} in first["allowed_resources"]

    # Removed from the group at the provider: the next sign-in takes the access away.
    mock_idp.set_user(
        "alice-sub", preferred_username="alice", email="alice@example.com", groups=["/staff/all"]
    )
    again, _ = sign_in(server, "mock", _mock_step(mock_idp, "alice-sub"))
    assert again.status_code == 200, again.text
    assert again.json()["user"]["id"] == body["user"]["id"]  # same user, found by (provider, sub)
    second = _profile(server, again.json()["access_token"], device_id)
    assert POLICY_NET not in second["peer"]["allowed_ips"]
    assert second["revision"] > first["revision"]

    # No password: the password login refuses the SSO user like a wrong password.
    for pw in ("", "x" * 12):
        resp = requests.post(
            server.api + "/auth/login",
            json={"username": "alice", "password": pw or "whatever-pw"},
            timeout=10,
        )
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_credentials"

    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    with app.app_context():
        logins = (
            db.session.execute(
                db.select(AuditEvent.details).where(AuditEvent.action == "auth.login")
            )
            .scalars()
            .all()
        )
    assert [d["method"] for d in logins] == ["oidc", "oidc"]


def test_admin_group_gives_admin_and_losing_it_takes_it_back(server, mock_idp):
    mock_idp.set_user("boss-sub", preferred_username="boss", groups=["vpn-admins"])
    token, _ = sign_in(server, "mock", _mock_step(mock_idp, "boss-sub"))
    assert token.json()["user"]["role"] == "admin"
    users = requests.get(
        server.api + "/users",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=10,
    )
    assert users.status_code == 200
    mock_idp.set_user("boss-sub", preferred_username="boss", groups=[])
    token, _ = sign_in(server, "mock", _mock_step(mock_idp, "boss-sub"))
    assert token.json()["user"]["role"] == "user"


def test_provider_username_never_takes_over_a_local_account(api, server, mock_idp):
    api.create_user("carol")
    mock_idp.set_user("carol-sub", preferred_username="Carol", email="carol@example.com")
    token, _ = sign_in(server, "mock", _mock_step(mock_idp, "carol-sub"))
    assert token.status_code == 200
    assert token.json()["user"]["username"] == "Carol-2"
    api.login("carol")  # the local Carol still signs in with her password


def test_code_is_single_use(server, mock_idp):
    mock_idp.set_user("dave-sub", preferred_username="dave")
    verifier, challenge = pkce()
    resp = start(server, "mock", challenge=challenge)
    back = requests.get(
        mock_idp.authorize(resp.headers["Location"], "dave-sub"), allow_redirects=False, timeout=10
    )
    code = query(back.headers["Location"])["code"]
    body = {"code": code, "code_verifier": verifier}
    first = requests.post(server.api + "/auth/oidc/token", json=body, timeout=10)
    assert first.status_code == 200
    replay = requests.post(server.api + "/auth/oidc/token", json=body, timeout=10)
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "invalid_grant"


def test_wrong_pkce_verifier_is_refused_and_spends_the_code(server, mock_idp):
    mock_idp.set_user("erin-sub", preferred_username="erin")
    verifier, challenge = pkce()
    resp = start(server, "mock", challenge=challenge)
    back = requests.get(
        mock_idp.authorize(resp.headers["Location"], "erin-sub"), allow_redirects=False, timeout=10
    )
    code = query(back.headers["Location"])["code"]
    wrong = requests.post(
        server.api + "/auth/oidc/token", json={"code": code, "code_verifier": pkce()[0]}, timeout=10
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_grant"
    right = requests.post(
        server.api + "/auth/oidc/token", json={"code": code, "code_verifier": verifier}, timeout=10
    )
    assert right.status_code == 400  # an intercepted code cannot be tried twice


def test_expired_code_is_refused(app, server, mock_idp):
    mock_idp.set_user("fay-sub", preferred_username="fay")
    verifier, challenge = pkce()
    resp = start(server, "mock", challenge=challenge)
    back = requests.get(
        mock_idp.authorize(resp.headers["Location"], "fay-sub"), allow_redirects=False, timeout=10
    )
    code = query(back.headers["Location"])["code"]
    from datetime import timedelta

    from nexavpn_api.extensions import db
    from nexavpn_api.models import OidcGrant
    from nexavpn_api.models._types import utcnow

    with app.app_context():  # 61 s later
        db.session.execute(db.update(OidcGrant).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    late = requests.post(
        server.api + "/auth/oidc/token", json={"code": code, "code_verifier": verifier}, timeout=10
    )
    assert late.status_code == 400 and late.json()["error"]["code"] == "invalid_grant"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "http://localhost:5000/callback",
        "http://127.0.0.1/callback",
        "http://127.0.0.1.evil.example:8080/callback",
        "http://user@127.0.0.1:8080/callback",
        "https://127.0.0.1:8080/callback",
        "javascript:alert(1)",
    ],
)
def test_redirect_uri_must_be_loopback_or_the_admin_ui(server, redirect_uri):
    resp = start(server, "mock", redirect_uri=redirect_uri)
    assert resp.status_code == 400, resp.text
    assert "redirect_uri" in resp.json()["error"]["details"]


@pytest.mark.parametrize("redirect_uri", ["http://[::1]:9999/cb", "http://127.0.0.1:1/x?y=z", None])
def test_loopback_and_admin_ui_callback_are_accepted(server, redirect_uri):
    resp = start(server, "mock", redirect_uri=redirect_uri or server.url + "/auth/callback")
    assert resp.status_code == 302
    sent = query(resp.headers["Location"])
    assert sent["code_challenge_method"] == "S256" and sent["nonce"] and sent["state"]
    assert sent["redirect_uri"] == server.api + "/auth/oidc/mock/callback"
    assert sent["state"] != "client-state"  # our own state towards the provider


def test_unknown_provider_is_404(server):
    assert start(server, "nope").status_code == 404


def test_state_mismatch_and_reuse_are_refused(server, mock_idp):
    mock_idp.set_user("gus-sub", preferred_username="gus")
    resp = start(server, "mock")
    callback = mock_idp.authorize(resp.headers["Location"], "gus-sub")
    params = query(callback)
    forged = requests.get(
        server.api + "/auth/oidc/mock/callback",
        params={"code": params["code"], "state": "forged"},
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_state"
    wrong_provider = requests.get(
        server.api + "/auth/oidc/signer/callback", params=params, allow_redirects=False, timeout=10
    )
    assert wrong_provider.status_code == 400
    ok = requests.get(callback, allow_redirects=False, timeout=10)
    assert ok.status_code == 302 and "code" in query(ok.headers["Location"])
    again = requests.get(callback, allow_redirects=False, timeout=10)
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_state"


def test_disabled_user_is_sent_back_with_an_error(app, server, mock_idp):
    mock_idp.set_user("hal-sub", preferred_username="hal")
    token, _ = sign_in(server, "mock", _mock_step(mock_idp, "hal-sub"))
    from nexavpn_api.extensions import db
    from nexavpn_api.models import User

    with app.app_context():
        db.session.get(User, token.json()["user"]["id"]).disabled = True
        db.session.commit()
    _back, params = sign_in(server, "mock", _mock_step(mock_idp, "hal-sub"))
    assert params == {"error": "user_disabled", "state": "client-state"}


def test_signing_provider_happy_path_and_key_rotation(server, signing_idp):
    token, _ = sign_in(server, "signer", follow_signing_idp)
    assert token.status_code == 200, token.text
    assert token.json()["user"]["username"] == "signer"
    fetched = signing_idp.jwks_fetches
    signing_idp.rotate("k2")
    token, _ = sign_in(server, "signer", follow_signing_idp)
    assert token.status_code == 200, token.text
    assert signing_idp.jwks_fetches == fetched + 1  # the unknown kid fetched the keys again


@pytest.mark.parametrize(
    "tamper",
    [
        {"iss": "http://127.0.0.1:1"},
        {"aud": "another-client"},
        {"aud": ["nexavpn", "another-client"]},  # several audiences and no azp
        {"nonce": "replayed-nonce"},
        {"nonce": None},
        {"exp": 1_000_000_000},
        {"sub": None},
    ],
)
def test_tampered_id_tokens_are_refused(server, signing_idp, tamper):
    signing_idp.tamper = tamper
    _back, params = sign_in(server, "signer", follow_signing_idp)
    assert params == {"error": "invalid_id_token", "state": "client-state"}


def test_id_token_signed_by_another_key_is_refused(server, signing_idp):
    signing_idp.sign_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    _back, params = sign_in(server, "signer", follow_signing_idp)
    assert params == {"error": "invalid_id_token", "state": "client-state"}


@pytest.mark.parametrize("provider", ["down", "hung"])
def test_unreachable_provider_is_503(server, provider):
    resp = start(server, provider)
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "identity_provider_unavailable"


def test_provider_gone_during_callback_sends_the_client_an_error(app, server, signing_idp):
    resp = start(server, "signer")
    callback = follow_signing_idp(resp.headers["Location"])
    from nexavpn_api.services.oidc_providers import CACHE

    signing_idp.stop()
    CACHE.clear()
    back = requests.get(callback, allow_redirects=False, timeout=30)
    assert back.status_code == 302
    assert query(back.headers["Location"]) == {
        "error": "identity_provider_unavailable",
        "state": "client-state",
    }
    assert back.headers["Location"].startswith(CLIENT_REDIRECT)


@pytest.mark.parametrize(
    "params",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge": "short"},
        {"code_challenge": "!" * 43},
        {"redirect_uri": ""},
    ],
)
def test_bad_start_parameters_are_400(server, params):
    base = {
        "redirect_uri": CLIENT_REDIRECT,
        "state": "s",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
    }
    resp = requests.get(
        server.api + "/auth/oidc/mock/start",
        params={**base, **params},
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"code": "x"},
        {"code": "x", "code_verifier": "short"},
        {"code": "x" * 600, "code_verifier": "v" * 43},
        {"code": "x", "code_verifier": "v" * 43, "extra": 1},
    ],
)
def test_bad_token_bodies_are_400(server, body):
    resp = requests.post(server.api + "/auth/oidc/token", json=body, timeout=10)
    assert resp.status_code == 400, resp.text


def test_callback_without_state_is_400(server):
    resp = requests.get(server.api + "/auth/oidc/mock/callback", allow_redirects=False, timeout=10)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_state"


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"id": "Bad Id"}, "id"),
        ({"issuer": "http://sso.example.com"}, "https"),
        ({"client_secret": ""}, "client_secret"),
        ({"groups": "x"}, "unknown fields"),
    ],
)
def test_a_wrong_provider_entry_stops_the_start(tmp_path, entry, why):
    from nexavpn_api.app import create_app

    good = {
        "id": "corp",
        "name": "Corp",
        "issuer": "https://sso.example.com",
        "client_id": "c",
        "client_secret": "s",
    }
    with pytest.raises(RuntimeError, match=why):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                "DATA_DIR": str(tmp_path),
                "SECRET_KEY": "k",
                "JWT_SECRET_KEY": "j" * 40,
                "NEXAVPN_OIDC_PROVIDERS": [{**good, **entry}],
            }
        )


def test_providers_file_and_json_env(tmp_path, monkeypatch):
    import json

    from nexavpn_api.config import load_config

    path = tmp_path / "providers.json"
    path.write_text(json.dumps([{"id": "f"}]))
    monkeypatch.setenv("NEXAVPN_OIDC_PROVIDERS_FILE", str(path))
    monkeypatch.delenv("NEXAVPN_OIDC_PROVIDERS", raising=False)
    assert load_config({"DATA_DIR": str(tmp_path)})["NEXAVPN_OIDC_PROVIDERS"] == [{"id": "f"}]
    monkeypatch.setenv("NEXAVPN_OIDC_PROVIDERS", '[{"id": "e"}]')
    assert load_config({"DATA_DIR": str(tmp_path)})["NEXAVPN_OIDC_PROVIDERS"] == [{"id": "e"}]
    monkeypatch.setenv("NEXAVPN_OIDC_PROVIDERS", "{not json")
    with pytest.raises(RuntimeError, match="not valid JSON"):
        load_config({"DATA_DIR": str(tmp_path)})


def test_claims_only_in_userinfo_are_used(server, signing_idp):
    signing_idp.userinfo_claims = {"roles": ["ops", "db admins"], "email": "s@example.com"}
    token, _ = sign_in(server, "signer", follow_signing_idp)
    assert token.status_code == 200, token.text
    me = _me(server, token.json()["access_token"])
    assert me["groups"] == ["db_admins", "ops"] and me["email"] == "s@example.com"


def test_userinfo_of_another_subject_is_refused(server, signing_idp):
    signing_idp.userinfo_claims = {"sub": "someone-else"}
    _back, params = sign_in(server, "signer", follow_signing_idp)
    assert params == {"error": "invalid_id_token", "state": "client-state"}


def test_sso_sessions_end_after_their_limit(app, server, mock_idp):
    mock_idp.set_user("ivy-sub", preferred_username="ivy")
    token, _ = sign_in(server, "mock", _mock_step(mock_idp, "ivy-sub"))
    refresh = token.json()["refresh_token"]
    ok = requests.post(
        server.api + "/auth/refresh", headers={"Authorization": f"Bearer {refresh}"}, timeout=10
    )
    assert ok.status_code == 200  # within the limit: refresh works as for any session
    from datetime import timedelta

    from nexavpn_api.extensions import db
    from nexavpn_api.models import TokenFamily
    from nexavpn_api.models._types import utcnow

    with app.app_context():  # a day and a second later
        db.session.execute(
            db.update(TokenFamily).values(created_at=utcnow() - timedelta(seconds=86401))
        )
        db.session.commit()
    late = requests.post(
        server.api + "/auth/refresh",
        headers={"Authorization": f"Bearer {ok.json()['refresh_token']}"},
        timeout=10,
    )
    assert late.status_code == 401 and late.json()["error"]["code"] == "session_expired"
    me = requests.get(
        server.api + "/auth/me",
        headers={"Authorization": f"Bearer {ok.json()['access_token']}"},
        timeout=10,
    )
    assert me.status_code == 401  # the whole session ended


def test_password_sessions_have_no_sso_limit(app, api, server):
    api.create_user("pete")
    body = requests.post(
        server.api + "/auth/login", json={"username": "pete", "password": TEST_PASSWORD}, timeout=10
    ).json()
    from datetime import timedelta

    from nexavpn_api.extensions import db
    from nexavpn_api.models import TokenFamily
    from nexavpn_api.models._types import utcnow

    with app.app_context():
        db.session.execute(db.update(TokenFamily).values(created_at=utcnow() - timedelta(days=5)))
        db.session.commit()
    resp = requests.post(
        server.api + "/auth/refresh",
        headers={"Authorization": f"Bearer {body['refresh_token']}"},
        timeout=10,
    )
    assert resp.status_code == 200
