"""Login rate limiting: counted from the audit trail, so it holds across processes."""

from __future__ import annotations

import time

import pytest

from tests.backend_fixtures import TEST_PASSWORD

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def app_config(app_config):
    app_config.update(
        NEXAVPN_LOGIN_MAX_FAILURES=3,
        NEXAVPN_LOGIN_MAX_FAILURES_PER_IP=6,
        NEXAVPN_LOGIN_WINDOW_SECONDS=60,
    )
    return app_config


def _try(client, username, password="wrong password", ip="127.0.0.1"):
    return client.post(
        LOGIN,
        json={"username": username, "password": password},
        environ_overrides={"REMOTE_ADDR": ip},
    )


def test_username_is_limited_after_max_failures(api, client):
    api.create_user("alice")
    for _ in range(3):
        assert _try(client, "alice").status_code == 401
    # Even the right password is refused now: the limiter runs before the password check.
    resp = _try(client, "alice", TEST_PASSWORD)
    assert resp.status_code == 429
    body = resp.get_json()
    assert body["error"]["code"] == "rate_limited"
    retry = int(resp.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert body["error"]["details"]["retry_after"] == retry
    # Case does not dodge it; another address does not either (per-username limit).
    assert _try(client, "ALICE", TEST_PASSWORD, ip="10.9.9.9").status_code == 429
    # Other users from the same address are not affected by alice's lock.
    api.create_user("bob")
    assert _try(client, "bob", TEST_PASSWORD).status_code == 200


def test_unknown_usernames_are_limited_too(client):
    for _ in range(3):
        assert _try(client, "ghost").status_code == 401
    assert _try(client, "ghost").status_code == 429


def test_address_is_limited_across_usernames(api, client):
    api.create_user("carol")
    for i in range(6):
        assert _try(client, f"user{i}", ip="192.0.2.7").status_code == 401
    resp = _try(client, "carol", TEST_PASSWORD, ip="192.0.2.7")
    assert resp.status_code == 429
    assert _try(client, "carol", TEST_PASSWORD, ip="192.0.2.8").status_code == 200


def test_success_resets_the_username_count(api, client):
    api.create_user("dave")
    for _ in range(2):
        assert _try(client, "dave").status_code == 401
    assert _try(client, "dave", TEST_PASSWORD).status_code == 200
    for _ in range(2):
        assert _try(client, "dave").status_code == 401
    assert _try(client, "dave", TEST_PASSWORD).status_code == 200


def test_limit_holds_across_processes(app_config, api, client):
    """Failures seen by one worker lock the username on another (shared database)."""
    from nexavpn_api.app import create_app

    api.create_user("erin")
    other = create_app(dict(app_config)).test_client()
    assert _try(client, "erin").status_code == 401
    assert _try(other, "erin").status_code == 401
    assert _try(client, "erin").status_code == 401
    assert _try(other, "erin", TEST_PASSWORD).status_code == 429


def test_refused_attempts_are_audited_but_do_not_extend_the_lock(app, app_config, api, client):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    app.config["NEXAVPN_LOGIN_WINDOW_SECONDS"] = 2
    api.create_user("frank")
    for _ in range(3):
        assert _try(client, "frank").status_code == 401
    assert _try(client, "frank", TEST_PASSWORD).status_code == 429
    time.sleep(1.2)
    assert _try(client, "frank", TEST_PASSWORD).status_code == 429
    time.sleep(1.2)
    assert _try(client, "frank", TEST_PASSWORD).status_code == 200
    with app.app_context():
        reasons = [
            e.details["reason"]
            for e in db.session.execute(
                db.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
            ).scalars()
        ]
    assert reasons.count("rate_limited") == 2 and reasons.count("bad_password") == 3
