"""TOTP two-factor sign-in: setup and confirmation, the login challenge, codes accepted once,
recovery codes, turning it off, the admin reset, rate limiting and NEXAVPN_MFA_REQUIRED."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest

from tests.backend_fixtures import TEST_PASSWORD

LOGIN = "/api/v1/auth/login"
VERIFY = "/api/v1/auth/mfa/verify"
SETUP = "/api/v1/auth/mfa/totp"
CONFIRM = "/api/v1/auth/mfa/totp/confirm"


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current time step (or one ahead: still inside the ±1 window)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def _enable(client, headers) -> tuple[str, list[str]]:
    setup = client.post(SETUP, headers=headers)
    assert setup.status_code == 200, setup.get_json()
    secret = setup.get_json()["secret"]
    confirmed = client.post(CONFIRM, json={"code": _code(secret)}, headers=headers)
    assert confirmed.status_code == 200, confirmed.get_json()
    return secret, confirmed.get_json()["recovery_codes"]


def _challenge(client, username: str) -> str:
    resp = client.post(LOGIN, json={"username": username, "password": TEST_PASSWORD})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body == {"mfa_required": True, "mfa_token": body["mfa_token"], "methods": ["totp"]}
    return body["mfa_token"]


def test_setup_confirm_and_sign_in_with_totp(app, api, client):
    headers = api.user_headers("tina")
    setup = client.post(SETUP, headers=headers).get_json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/NexaVPN:tina?")
    assert f"secret={setup['secret']}" in setup["otpauth_uri"]
    assert setup["qr_svg"].startswith("data:image/svg+xml")

    wrong = client.post(CONFIRM, json={"code": "000000"}, headers=headers)
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "validation_error"
    codes = client.post(CONFIRM, json={"code": _code(setup["secret"])}, headers=headers)
    assert codes.status_code == 200
    recovery = codes.get_json()["recovery_codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10

    # Secret encrypted at rest, recovery codes stored hashed.
    from nexavpn_api.extensions import db
    from nexavpn_api.models import RecoveryCode, User

    with app.app_context():
        user = db.session.execute(db.select(User).where(User.username == "tina")).scalar_one()
        assert user.totp_enabled and setup["secret"] not in user.totp_secret
        stored = db.session.execute(db.select(RecoveryCode.code_hash)).scalars().all()
        assert len(stored) == 10 and not set(stored) & set(recovery)
        uid = user.id

    me = client.get(f"/api/v1/users/{uid}", headers=headers).get_json()
    assert me["totp_enabled"] is True

    token = _challenge(client, "tina")
    bad = client.post(VERIFY, json={"mfa_token": token, "code": "123456"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "invalid_code"
    good = client.post(VERIFY, json={"mfa_token": token, "code": _code(setup["secret"], 1)})
    assert good.status_code == 200, good.get_json()
    assert set(good.get_json()) >= {"access_token", "refresh_token", "user"}
    assert (
        client.get(
            "/api/v1/auth/me", headers=api.headers(good.get_json()["access_token"])
        ).status_code
        == 200
    )

    from nexavpn_api.models import AuditEvent

    with app.app_context():
        methods = [
            d.get("method")
            for d in db.session.execute(
                db.select(AuditEvent.details).where(AuditEvent.action == "auth.login")
            ).scalars()
        ]
    assert methods == ["password", "totp"]


def test_a_code_is_accepted_once(api, client):
    headers = api.user_headers("uma")
    secret, _ = _enable(client, headers)  # spends the current step
    token = _challenge(client, "uma")
    replay = client.post(VERIFY, json={"mfa_token": token, "code": _code(secret)})
    assert replay.status_code == 401
    nxt = _code(secret, 1)
    assert client.post(VERIFY, json={"mfa_token": token, "code": nxt}).status_code == 200
    again = client.post(VERIFY, json={"mfa_token": _challenge(client, "uma"), "code": nxt})
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "invalid_code"


def test_recovery_code_works_once(api, client):
    headers = api.user_headers("vic")
    _, recovery = _enable(client, headers)
    used = client.post(VERIFY, json={"mfa_token": _challenge(client, "vic"), "code": recovery[3]})
    assert used.status_code == 200
    again = client.post(VERIFY, json={"mfa_token": _challenge(client, "vic"), "code": recovery[3]})
    assert again.status_code == 401
    other = client.post(
        VERIFY, json={"mfa_token": _challenge(client, "vic"), "code": recovery[4].upper()}
    )
    assert other.status_code == 200


def test_mfa_token_is_signed_and_bound_to_its_purpose(api, client):
    headers = api.user_headers("wes")
    secret, _ = _enable(client, headers)
    token = _challenge(client, "wes")
    forged = client.post(VERIFY, json={"mfa_token": token[:-2] + "xx", "code": _code(secret, 1)})
    assert forged.status_code == 401
    access = headers["Authorization"].split()[1]
    as_access = client.post(VERIFY, json={"mfa_token": access, "code": _code(secret, 1)})
    assert as_access.status_code == 401


def test_mfa_token_expires_after_five_minutes(app, api, client, monkeypatch):
    headers = api.user_headers("xia")
    secret, _ = _enable(client, headers)
    token = _challenge(client, "xia")
    from nexavpn_api.services import mfa

    monkeypatch.setattr(mfa, "MFA_TOKEN_SECONDS", -1)
    late = client.post(VERIFY, json={"mfa_token": token, "code": _code(secret, 1)})
    assert late.status_code == 401 and late.get_json()["error"]["code"] == "mfa_token_expired"


def test_wrong_codes_count_toward_the_login_limit(app_config, api, client):
    headers = api.user_headers("yan")
    secret, _ = _enable(client, headers)
    token = _challenge(client, "yan")
    statuses = [
        client.post(VERIFY, json={"mfa_token": token, "code": "000000"}).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    # Even the right code waits now: a stolen password alone cannot grind through codes.
    resp = client.post(VERIFY, json={"mfa_token": token, "code": _code(secret, 1)})
    assert resp.status_code == 429 and resp.headers["Retry-After"]


def test_user_turns_totp_off_with_a_code(api, client):
    headers = api.user_headers("zed")
    secret, _ = _enable(client, headers)
    bad = client.delete(SETUP, json={"code": "000000"}, headers=headers)
    assert bad.status_code == 400
    assert client.delete(SETUP, json={"code": _code(secret, 1)}, headers=headers).status_code == 204
    resp = client.post(LOGIN, json={"username": "zed", "password": TEST_PASSWORD})
    assert "access_token" in resp.get_json()


def test_admin_resets_two_factor(api, client, admin_headers):
    headers = api.user_headers("amy")
    _enable(client, headers)
    from nexavpn_api.extensions import db
    from nexavpn_api.models import User

    with api.app.app_context():
        uid = db.session.execute(db.select(User.id).where(User.username == "amy")).scalar_one()
    assert client.delete(f"/api/v1/users/{uid}/mfa", headers=headers).status_code == 403
    assert client.delete(f"/api/v1/users/{uid}/mfa", headers=admin_headers).status_code == 204
    assert client.delete("/api/v1/users/999999/mfa", headers=admin_headers).status_code == 404
    user = client.get(f"/api/v1/users/{uid}", headers=admin_headers).get_json()
    assert user["totp_enabled"] is False
    resp = client.post(LOGIN, json={"username": "amy", "password": TEST_PASSWORD})
    assert "access_token" in resp.get_json()


def test_setup_twice_is_a_conflict(api, client):
    headers = api.user_headers("bob")
    _enable(client, headers)
    assert client.post(SETUP, headers=headers).status_code == 409


@pytest.fixture
def mfa_for_admins(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["NEXAVPN_MFA_REQUIRED"] = "admins"
    return app_config


def test_mfa_required_limits_the_session_to_setup(mfa_for_admins, api, client):
    api.create_user("boss", role="admin")
    body = api.login("boss")
    assert body["mfa_setup_required"] is True
    headers = api.headers(body["access_token"])
    blocked = client.get("/api/v1/users", headers=headers)
    assert blocked.status_code == 403
    assert blocked.get_json()["error"]["code"] == "mfa_setup_required"
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    refreshed = client.post(
        "/api/v1/auth/refresh", headers=api.headers(body["refresh_token"])
    ).get_json()
    assert refreshed["mfa_setup_required"] is True

    _enable(client, headers)
    assert client.get("/api/v1/users", headers=headers).status_code == 200  # same session, freed

    # Users are not held back in "admins" mode.
    plain = api.login(api.create_user("pat") and "pat")
    assert "mfa_setup_required" not in plain
    assert (
        client.get("/api/v1/devices", headers=api.headers(plain["access_token"])).status_code == 200
    )


@pytest.fixture
def mfa_for_all(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["NEXAVPN_MFA_REQUIRED"] = "all"
    return app_config


def test_mfa_required_all(mfa_for_all, api, client):
    api.create_user("pam")
    body = api.login("pam")
    assert body["mfa_setup_required"] is True
    blocked = client.get("/api/v1/devices", headers=api.headers(body["access_token"]))
    assert blocked.status_code == 403


def test_a_password_change_voids_a_pending_challenge(api, client):
    headers = api.user_headers("cai")
    secret, _ = _enable(client, headers)
    token = _challenge(client, "cai")
    from nexavpn_api.extensions import db
    from nexavpn_api.models import User
    from nexavpn_api.services.passwords import hash_password

    with api.app.app_context():
        user = db.session.execute(db.select(User).where(User.username == "cai")).scalar_one()
        user.password_hash = hash_password("another password 1")
        db.session.commit()
    resp = client.post(VERIFY, json={"mfa_token": token, "code": _code(secret, 1)})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_racing_verifications_accept_a_code_once(app, api, client):
    """Two sign-ins racing with the same code over real HTTP: one session, one refusal."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from tests.backend.oidc_helpers import LiveServer

    headers = api.user_headers("dan")
    secret, _ = _enable(client, headers)
    tokens = [_challenge(client, "dan") for _ in range(4)]
    code = _code(secret, 1)
    server = LiveServer(app)
    try:
        with ThreadPoolExecutor(len(tokens)) as pool:
            statuses = list(
                pool.map(
                    lambda t: (
                        requests.post(
                            server.api + "/auth/mfa/verify",
                            json={"mfa_token": t, "code": code},
                            timeout=30,
                        ).status_code
                    ),
                    tokens,
                )
            )
    finally:
        server.stop()
    assert sorted(statuses) == [200, 401, 401, 401], statuses
