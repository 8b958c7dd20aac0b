"""The client address behind a proxy: only a trusted proxy's word counts, and only for the hop
it appended (the rightmost untrusted X-Forwarded-For entry, or its X-Real-IP)."""

from __future__ import annotations

import pytest

from tests.backend_fixtures import TEST_PASSWORD

LOGIN = "/api/v1/auth/login"


def _login(client, remote: str, headers: dict[str, str], password: str = TEST_PASSWORD):
    return client.post(
        LOGIN,
        json={"username": "alice", "password": password},
        headers=headers,
        environ_overrides={"REMOTE_ADDR": remote},
    )


def _last_login_ip(app) -> str | None:
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    with app.app_context():
        return db.session.execute(
            db.select(AuditEvent.ip)
            .where(AuditEvent.action.in_(("auth.login", "auth.login_failed")))
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).scalar_one()


@pytest.mark.parametrize(
    ("remote", "headers", "expected"),
    [
        # nginx appends the address it saw: a client-chosen leftmost entry never wins.
        ("127.0.0.1", {"X-Forwarded-For": "1.2.3.4, 198.51.100.9"}, "198.51.100.9"),
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.9"}, "198.51.100.9"),
        ("127.0.0.1", {"X-Real-IP": "198.51.100.10"}, "198.51.100.10"),
        ("::1", {"X-Forwarded-For": "2001:db8::7"}, "2001:db8::7"),
        # A caller that is not the proxy does not get to name its address.
        ("192.0.2.5", {"X-Forwarded-For": "1.2.3.4", "X-Real-IP": "1.2.3.4"}, "192.0.2.5"),
        # Garbage after a trusted hop: stop at the last address that is known.
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.9, not-an-ip"}, "127.0.0.1"),
        ("127.0.0.1", {}, "127.0.0.1"),
    ],
)
def test_packaged_nginx_on_loopback(app, api, client, remote, headers, expected):
    app.config["NEXAVPN_TRUST_PROXY"] = True
    api.create_user("alice")
    assert _login(client, remote, headers).status_code == 200
    assert _last_login_ip(app) == expected


def test_chain_of_trusted_proxies_skips_them_all(app, api, client):
    app.config["NEXAVPN_TRUSTED_PROXIES"] = "10.0.0.0/8, 172.16.0.1"
    api.create_user("alice")
    xff = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7, 172.16.0.1, 10.1.2.3"}
    assert _login(client, "10.0.0.5", xff).status_code == 200
    assert _last_login_ip(app) == "203.0.113.7"
    # Loopback is not trusted unless NEXAVPN_TRUST_PROXY says so.
    assert _login(client, "127.0.0.1", xff).status_code == 200
    assert _last_login_ip(app) == "127.0.0.1"


def test_forwarding_headers_ignored_without_a_trusted_proxy(app, api, client):
    api.create_user("alice")
    assert _login(client, "127.0.0.1", {"X-Forwarded-For": "1.2.3.4"}).status_code == 200
    assert _last_login_ip(app) == "127.0.0.1"


def test_varying_forwarded_for_does_not_dodge_the_limit(app, client):
    """Password spraying (many usernames) behind the packaged proxy, each try with a new
    X-Forwarded-For: the address limit still holds, on the address nginx saw."""
    app.config["NEXAVPN_TRUST_PROXY"] = True
    app.config["NEXAVPN_LOGIN_MAX_FAILURES_PER_IP"] = 6
    codes = [
        client.post(
            LOGIN,
            json={"username": f"user{i}", "password": "guess"},
            headers={"X-Forwarded-For": f"10.{i}.0.1, 198.51.100.9", "X-Real-IP": "198.51.100.9"},
            environ_overrides={"REMOTE_ADDR": "127.0.0.1"},
        ).status_code
        for i in range(9)
    ]
    assert codes == [401] * 6 + [429] * 3


def test_a_bad_trusted_proxy_list_stops_the_start(monkeypatch, tmp_path):
    from nexavpn_api.config import load_config

    monkeypatch.setenv("NEXAVPN_TRUSTED_PROXIES", "10.0.0.0/8, 10.0.0.300")
    with pytest.raises(RuntimeError, match=r"10\.0\.0\.300"):
        load_config({"DATA_DIR": tmp_path, "SECRET_KEY": "x", "JWT_SECRET_KEY": "y"})
