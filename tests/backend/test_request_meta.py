"""The caller's address and User-Agent reach the services only through the RequestMeta the views
build: every audit row written while serving a request still carries the address, the session
row keeps the User-Agent cut to its column, and the services work the same with no request."""

from __future__ import annotations

from sqlalchemy import select

from tests.backend.provisioning_helpers import E, enroll_body, make_gateway
from tests.backend_fixtures import TEST_PASSWORD

CALLER = "198.51.100.23"


def _audit_rows(app) -> list[tuple[str, str | None]]:
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    with app.app_context():
        return [
            (row.action, row.ip)
            for row in db.session.execute(
                select(AuditEvent.action, AuditEvent.ip).order_by(AuditEvent.id)
            )
        ]


def test_audit_rows_of_requests_keep_the_callers_address(app, api, client):
    client.environ_base["REMOTE_ADDR"] = CALLER
    api.create_user("root", role="admin")
    admin = api.new_session("root")
    uid = api.create_user("alice")
    make_gateway(app)
    alice = api.new_session("alice")

    device = client.post(E, json=enroll_body(), headers=alice).get_json()["device"]
    assert client.post(f"/api/v1/devices/{device['id']}/rotate", headers=alice).status_code == 200
    assert client.post(f"/api/v1/devices/{device['id']}/revoke", headers=alice).status_code == 200
    gw = client.post(
        "/api/v1/gateways",
        json={"name": "gw2", "endpoint": "vpn2.example.com:51820", "vpn_cidr": "10.9.0.0/24"},
        headers=admin,
    )
    assert gw.status_code == 201, gw.get_json()
    policy = client.post(
        "/api/v1/policies",
        json={"name": "p", "user_ids": [uid], "destinations": ["10.1.0.0/16"]},
        headers=admin,
    )
    assert policy.status_code == 201, policy.get_json()
    assert (
        client.patch(f"/api/v1/users/{uid}", json={"disabled": True}, headers=admin).status_code
        == 200
    )
    assert client.post("/api/v1/auth/logout", headers=admin).status_code in (200, 204)

    rows = _audit_rows(app)
    actions = {action for action, _ in rows}
    for expected in (
        "auth.login",
        "device.enroll",
        "device.rotate",
        "device.revoke",
        "gateway.create",
        "policy.create",
        "user.update",
        "auth.logout",
    ):
        assert expected in actions, (expected, rows)
    assert [r for r in rows if r[1] != CALLER] == []


def test_session_keeps_address_and_user_agent_cut_to_255(app, api, client):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import TokenFamily

    api.create_user("alice")
    resp = client.post(
        "/api/v1/auth/login",
        json={"username": "alice", "password": TEST_PASSWORD},
        headers={"User-Agent": "u" * 400},
        environ_overrides={"REMOTE_ADDR": CALLER},
    )
    assert resp.status_code == 200, resp.get_json()
    with app.app_context():
        family = db.session.execute(select(TokenFamily)).scalar_one()
        assert family.ip == CALLER
        assert family.user_agent == "u" * 255


def test_services_need_no_request(app, api):
    """With no HTTP request at all (the CLI), a service takes the caller it is handed."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent, TokenFamily, User
    from nexavpn_api.request_meta import NO_REQUEST, RequestMeta
    from nexavpn_api.services import tokens

    uid = api.create_user("alice")
    with app.app_context():
        user = db.session.get(User, uid)
        tokens.complete_login(user, "password", meta=RequestMeta("192.0.2.8", "cli/1"))
        tokens.complete_login(user, "password", meta=NO_REQUEST)
        sessions = db.session.execute(
            select(TokenFamily.ip, TokenFamily.user_agent).order_by(TokenFamily.created_at)
        ).all()
        ips = db.session.execute(
            select(AuditEvent.ip).where(AuditEvent.action == "auth.login").order_by(AuditEvent.id)
        ).scalars().all()
    assert sorted(sessions, key=lambda s: s[0] or "") == [(None, None), ("192.0.2.8", "cli/1")]
    assert ips == ["192.0.2.8", None]

