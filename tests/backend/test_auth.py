"""Auth: login, identical failures, token types, refresh rotation + reuse, logout, disabled."""

from __future__ import annotations

from tests.backend_fixtures import TEST_PASSWORD

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _audit(app, action: str) -> list:
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    with app.app_context():
        rows = db.session.execute(
            db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).scalars()
        return [
            {
                "actor_type": r.actor_type,
                "actor_id": r.actor_id,
                "target_type": r.target_type,
                "target_id": r.target_id,
                "ip": r.ip,
                "details": r.details,
            }
            for r in rows
        ]


def test_login_answer_matches_contract(app, api, client):
    uid = api.create_user("alice")
    resp = client.post(LOGIN, json={"username": "alice", "password": TEST_PASSWORD})
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "user",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"] == {"id": uid, "username": "alice", "role": "user"}
    assert body["access_token"] != body["refresh_token"]
    rows = _audit(app, "auth.login")
    assert len(rows) == 1
    assert rows[0]["actor_type"] == "user" and rows[0]["actor_id"] == str(uid)
    assert rows[0]["target_type"] == "session" and rows[0]["ip"] == "127.0.0.1"


def test_login_username_ignores_case(api, client):
    api.create_user("Alice")
    resp = client.post(LOGIN, json={"username": "alice", "password": TEST_PASSWORD})
    assert resp.status_code == 200
    assert resp.get_json()["user"]["username"] == "Alice"


def test_unknown_user_and_wrong_password_look_the_same(app, api, client):
    api.create_user("bob")
    wrong = client.post(LOGIN, json={"username": "bob", "password": "not the password"})
    unknown = client.post(LOGIN, json={"username": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"
    rows = _audit(app, "auth.login_failed")
    assert [r["details"]["reason"] for r in rows] == ["bad_password", "unknown_user"]
    names = [r["details"]["username"] for r in rows]
    assert names[0] == "bob" and names[1].startswith("sha256:")  # typed names kept only if real
    assert all("not the password" not in str(r) for r in rows)


def test_login_validation_errors(client):
    resp = client.post(LOGIN, json={"username": "x", "password": "y", "extra": 1})
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "validation_error" and "extra" in err["details"]
    resp = client.post(LOGIN, json={"username": "x"})
    assert resp.status_code == 400 and "password" in resp.get_json()["error"]["details"]
    resp = client.post(LOGIN, data="not json", content_type="application/json")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "validation_error"


def test_me_requires_a_token(api, client):
    assert client.get(ME).status_code == 401
    assert client.get(ME, headers=_bearer("garbage")).get_json()["error"]["code"] == "unauthorized"
    uid = api.create_user("carol", email="carol@example.com", groups=["eng"])
    tokens = api.login("carol")
    body = client.get(ME, headers=_bearer(tokens["access_token"])).get_json()
    assert body["id"] == uid and body["email"] == "carol@example.com"
    assert body["groups"] == ["eng"] and body["disabled"] is False and body["role"] == "user"
    assert "password" not in body and "password_hash" not in body


def test_access_and_refresh_tokens_are_not_interchangeable(api, client):
    api.create_user("dave")
    tokens = api.login("dave")
    assert client.get(ME, headers=_bearer(tokens["refresh_token"])).status_code == 401
    assert client.post(REFRESH, headers=_bearer(tokens["access_token"])).status_code == 401
    assert client.post(LOGOUT, headers=_bearer(tokens["refresh_token"])).status_code == 401
    assert client.get(ME, headers=_bearer(tokens["access_token"])).status_code == 200


def test_refresh_rotates_and_reuse_revokes_the_family(app, api, client):
    api.create_user("erin")
    first = api.login("erin")
    resp = client.post(REFRESH, headers=_bearer(first["refresh_token"]))
    assert resp.status_code == 200
    second = resp.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert client.get(ME, headers=_bearer(second["access_token"])).status_code == 200

    # Spending the old refresh token again is reuse: 401, and the whole family dies.
    reuse = client.post(REFRESH, headers=_bearer(first["refresh_token"]))
    assert reuse.status_code == 401
    assert reuse.get_json()["error"]["code"] == "token_revoked"
    for token in (second["access_token"], first["access_token"]):
        assert client.get(ME, headers=_bearer(token)).status_code == 401
    assert client.post(REFRESH, headers=_bearer(second["refresh_token"])).status_code == 401

    from nexavpn_api.extensions import db
    from nexavpn_api.models import TokenFamily

    with app.app_context():
        fam = db.session.execute(db.select(TokenFamily)).scalar_one()
        assert fam.revoked_reason == "reuse" and fam.revoked_at is not None
    assert len(_audit(app, "auth.refresh_reuse")) == 1


def test_refresh_chain_keeps_working(api, client):
    api.create_user("frank")
    tokens = api.login("frank")
    for _ in range(3):
        resp = client.post(REFRESH, headers=_bearer(tokens["refresh_token"]))
        assert resp.status_code == 200
        tokens = resp.get_json()
    assert client.get(ME, headers=_bearer(tokens["access_token"])).status_code == 200


def test_logout_ends_only_the_callers_session(app, api, client):
    uid = api.create_user("gina")
    laptop = api.login("gina")
    phone = api.login("gina")
    resp = client.post(LOGOUT, headers=_bearer(laptop["access_token"]))
    assert resp.status_code == 204 and resp.data == b""
    assert client.get(ME, headers=_bearer(laptop["access_token"])).status_code == 401
    assert client.post(REFRESH, headers=_bearer(laptop["refresh_token"])).status_code == 401
    assert client.get(ME, headers=_bearer(phone["access_token"])).status_code == 200
    assert client.post(REFRESH, headers=_bearer(phone["refresh_token"])).status_code == 200
    rows = _audit(app, "auth.logout")
    assert len(rows) == 1 and rows[0]["actor_id"] == str(uid)
    assert rows[0]["target_type"] == "session"


def test_revocation_holds_across_processes(app, app_config, api, client):
    """A second app on the same database (another worker) honours a logout at once."""
    from nexavpn_api.app import create_app

    api.create_user("hank")
    tokens = api.login("hank")
    other = create_app(dict(app_config)).test_client()
    assert other.get(ME, headers=_bearer(tokens["access_token"])).status_code == 200
    assert client.post(LOGOUT, headers=_bearer(tokens["access_token"])).status_code == 204
    assert other.get(ME, headers=_bearer(tokens["access_token"])).status_code == 401


def test_disabled_user_is_locked_out_at_once(app, api, client):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import User

    uid = api.create_user("ivan")
    tokens = api.login("ivan")
    with app.app_context():
        db.session.get(User, uid).disabled = True
        db.session.commit()
    assert client.get(ME, headers=_bearer(tokens["access_token"])).status_code == 401
    assert client.post(REFRESH, headers=_bearer(tokens["refresh_token"])).status_code == 401
    right = client.post(LOGIN, json={"username": "ivan", "password": TEST_PASSWORD})
    assert right.status_code == 403
    assert right.get_json()["error"]["code"] == "user_disabled"
    wrong = client.post(LOGIN, json={"username": "ivan", "password": "wrong password"})
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"
    reasons = [r["details"]["reason"] for r in _audit(app, "auth.login_failed")]
    assert reasons == ["disabled", "bad_password"]


def test_expired_access_token_is_401(api, client):
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    from nexavpn_api.extensions import db
    from nexavpn_api.models import TokenFamily, User

    uid = api.create_user("judy")
    api.login("judy")
    with api.app.app_context():
        fam = db.session.execute(db.select(TokenFamily)).scalar_one()
        token = create_access_token(
            identity=db.session.get(User, uid),
            additional_claims={"fam": fam.id},
            expires_delta=timedelta(seconds=-1),  # expired when made: no waiting
        )
    resp = client.get(ME, headers=_bearer(token))
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "token_expired"


def test_refreshing_never_extends_a_session_past_its_absolute_lifetime(app, api, client, clock):
    """Sliding refresh keeps an active session alive, but only up to NEXAVPN_SESSION_MAX_SECONDS
    after sign-in: a stolen refresh token cannot be kept alive forever."""
    app.config["NEXAVPN_SESSION_MAX_SECONDS"] = 2
    api.create_user("sam")
    tokens = api.login("sam")
    for _ in range(2):
        clock.advance(0.6)
        resp = client.post(REFRESH, headers=api.headers(tokens["refresh_token"]))
        assert resp.status_code == 200, resp.get_json()
        tokens = resp.get_json()
    clock.advance(1.0)  # 2.2 s after sign-in: over, though the last refresh was 1 s ago
    resp = client.post(REFRESH, headers=api.headers(tokens["refresh_token"]))
    assert resp.status_code == 401
    assert client.get(ME, headers=api.headers(tokens["access_token"])).status_code == 401
