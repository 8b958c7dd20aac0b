"""Login rate limiting: atomic counters in the database, keyed on (user, address) with a slower
per-user backoff and a per-address limit, known clients let through, refusals audited in
aggregate."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.backend_fixtures import TEST_PASSWORD

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def app_config(app_config):
    app_config.update(
        NEXAVPN_LOGIN_MAX_FAILURES=3,
        NEXAVPN_LOGIN_MAX_FAILURES_PER_USER=6,
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


def _audit_rows(app, action="auth.login_failed"):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    with app.app_context():
        return [
            (e.ip, e.details)
            for e in db.session.execute(
                db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            ).scalars()
        ]


def test_user_and_address_pair_is_limited_after_max_failures(api, client):
    api.create_user("alice")
    for _ in range(3):
        assert _try(client, "alice").status_code == 401
    # Even the right password is refused from that address: the limiter runs first.
    resp = _try(client, "alice", TEST_PASSWORD)
    assert resp.status_code == 429
    body = resp.get_json()
    assert body["error"]["code"] == "rate_limited"
    retry = int(resp.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert body["error"]["details"]["retry_after"] == retry
    # Case does not dodge it.
    assert _try(client, "ALICE", TEST_PASSWORD).status_code == 429
    # The owner elsewhere is not locked out by someone failing on purpose from one address.
    assert _try(client, "alice", TEST_PASSWORD, ip="10.9.9.9").status_code == 200
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


def test_slower_per_user_backoff_spares_known_clients(api, client):
    """Guesses spread over many addresses lock the username for new addresses, but an address
    that signed in as that user recently still gets in with the right password."""
    api.create_user("gina")
    assert _try(client, "gina", TEST_PASSWORD, ip="198.51.100.1").status_code == 200
    for i in range(6):  # one failure from each of six addresses: under every pair limit
        assert _try(client, "gina", ip=f"203.0.113.{i + 1}").status_code == 401
    assert _try(client, "gina", TEST_PASSWORD, ip="203.0.113.99").status_code == 429
    assert _try(client, "gina", TEST_PASSWORD, ip="198.51.100.1").status_code == 200
    # A known client still has its own pair limit: wrong guesses from it are limited.
    for _ in range(3):
        assert _try(client, "gina", ip="198.51.100.1").status_code == 401
    assert _try(client, "gina", TEST_PASSWORD, ip="198.51.100.1").status_code == 429


def test_success_resets_the_username_count(api, client):
    api.create_user("dave")
    for _ in range(2):
        assert _try(client, "dave").status_code == 401
    assert _try(client, "dave", TEST_PASSWORD).status_code == 200
    for _ in range(2):
        assert _try(client, "dave").status_code == 401
    assert _try(client, "dave", TEST_PASSWORD).status_code == 200


def test_limit_holds_across_processes(app_config, api, client):
    """Failures seen by one worker lock the pair on another (shared database)."""
    from nexavpn_api.app import create_app

    api.create_user("erin")
    other = create_app(dict(app_config)).test_client()
    assert _try(client, "erin").status_code == 401
    assert _try(other, "erin").status_code == 401
    assert _try(client, "erin").status_code == 401
    assert _try(other, "erin", TEST_PASSWORD).status_code == 429


def test_concurrent_guesses_cannot_race_past_the_limit(app_config, api):
    """40 wrong guesses at once: exactly the limit of them reach the password check."""
    from nexavpn_api.app import create_app

    api.create_user("hank")
    apps = [create_app(dict(app_config)) for _ in range(4)]
    clients = [a.test_client() for a in apps]

    def guess(i: int) -> int:
        return _try(clients[i % 4], "hank", ip="192.0.2.50").status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        codes = list(pool.map(guess, range(40)))
    assert codes.count(401) == 3, codes
    assert codes.count(429) == 37, codes


def test_refused_attempts_are_aggregated_and_do_not_extend_the_lock(app, api, client, clock):
    app.config["NEXAVPN_LOGIN_WINDOW_SECONDS"] = 2
    api.create_user("frank")
    for _ in range(3):
        assert _try(client, "frank").status_code == 401
    for _ in range(25):
        assert _try(client, "frank", TEST_PASSWORD).status_code == 429
    clock.advance(2.2)
    assert _try(client, "frank", TEST_PASSWORD).status_code == 200
    rows = _audit_rows(app)
    limited = [d for _ip, d in rows if d["reason"] == "rate_limited"]
    # 25 refusals: a row at the 1st and the 10th, each with the running count, not 25 rows.
    assert [d["refused"] for d in limited] == [1, 10]
    assert [d["reason"] for _ip, d in rows].count("bad_password") == 3


def test_failed_login_audit_keeps_only_real_usernames(app, api, client):
    api.create_user("ivy")
    assert _try(client, "ivy").status_code == 401
    assert _try(client, "my secret password!").status_code == 401
    names = [d["username"] for _ip, d in _audit_rows(app)]
    assert names[0] == "ivy"
    assert names[1].startswith("sha256:") and "secret" not in names[1]
