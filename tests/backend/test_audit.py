"""Audit trail: filters, inclusive time bounds, newest first, pagination, append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

AUD = "/api/v1/audit-logs"
T0 = datetime(2001, 1, 2, 3, 4, 5, tzinfo=UTC)


def _seed(app):
    """Five events a minute apart (ids 1..5 after whatever login rows exist)."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    rows = [
        ("user", "7", "user.create", "user", "8"),
        ("user", "7", "user.update", "user", "8"),
        ("gateway", "3", "device.revoke", "device", "11"),
        ("system", None, "user.update", "user", "9"),
        ("user", "8", "policy.create", "policy", "1"),
    ]
    with app.app_context():
        ids = []
        for i, (atype, aid, action, ttype, tid) in enumerate(rows):
            ev = AuditEvent(
                at=T0 + timedelta(minutes=i),
                actor_type=atype,
                actor_id=aid,
                action=action,
                target_type=ttype,
                target_id=tid,
                ip="192.0.2.1",
                details={"n": i},
            )
            db.session.add(ev)
            db.session.flush()
            ids.append(ev.id)
        db.session.commit()
        return ids


def _get(client, headers, query=""):
    resp = client.get(f"{AUD}?{query}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _ns(page):
    return [item["details"].get("n") for item in page["items"]]


def test_items_shape_and_newest_first(app, client, admin_headers):
    _seed(app)
    page = _get(client, admin_headers)
    # The admin's own login (now) is newest, then the seeded rows from 2030... newest first.
    assert [i["action"] for i in page["items"][:1]] in (["policy.create"], ["auth.login"])
    seeded = [i for i in page["items"] if "n" in i["details"]]
    assert [i["details"]["n"] for i in seeded] == [4, 3, 2, 1, 0]
    item = seeded[-1]
    assert set(item) == {
        "id",
        "at",
        "actor_type",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "ip",
        "details",
        "actor_name",
        "target_name",
    }
    assert item["actor_name"] is None and item["target_name"] is None  # users 7/8 do not exist
    assert item["at"].startswith("2001-01-02T03:04:05") and item["at"].endswith(("Z", "+00:00"))
    assert item["actor_type"] == "user" and item["actor_id"] == "7"
    assert item["target_type"] == "user" and item["target_id"] == "8"


def test_filters(app, client, admin_headers):
    _seed(app)
    assert _ns(_get(client, admin_headers, "actor_id=7")) == [1, 0]
    assert _ns(_get(client, admin_headers, "action=user.update")) == [3, 1]
    assert _ns(_get(client, admin_headers, "action=user.")) == [3, 1, 0]
    assert _ns(_get(client, admin_headers, "target_type=device")) == [2]
    assert _ns(_get(client, admin_headers, "target_type=user&target_id=8")) == [1, 0]
    assert _ns(_get(client, admin_headers, "actor_type=system")) == [3]
    assert _ns(_get(client, admin_headers, "actor_type=gateway&actor_id=3")) == [2]
    assert _get(client, admin_headers, "action=nothing.here")["total"] == 0


def test_since_until_are_inclusive(app, client, admin_headers):
    _seed(app)
    since = quote((T0 + timedelta(minutes=1)).isoformat())
    until = quote((T0 + timedelta(minutes=3)).isoformat())
    assert _ns(_get(client, admin_headers, f"since={since}&until={until}")) == [3, 2, 1]
    # Z suffix, naive (= UTC) and an unencoded '+' (arrives as a space) all work.
    assert _ns(_get(client, admin_headers, "until=2001-01-02T03:05:05Z")) == [1, 0]
    assert _ns(_get(client, admin_headers, "until=2001-01-02T03:05:05")) == [1, 0]
    assert _ns(_get(client, admin_headers, "until=2001-01-02T03:05:05+00:00")) == [1, 0]
    assert _ns(_get(client, admin_headers, "until=2001-01-02T04:05:05%2B01:00")) == [1, 0]
    late = "until=2002-01-01T00:00:00Z"
    assert _ns(_get(client, admin_headers, f"since=2001-01-02T03:08:05Z&{late}")) == [4]
    assert _ns(_get(client, admin_headers, f"since=2001-01-02T03:08:05.000001Z&{late}")) == []


@pytest.mark.parametrize(
    "query",
    [
        "since=yesterday",
        "until=2001-13-01T00:00:00Z",
        "since=2001-01-02T00:00:00Z&until=2001-01-01T00:00:00Z",
        "target_type=planet",
        "actor_type=robot",
        "per_page=0",
        "per_page=201",
        "page=0",
    ],
)
def test_bad_query_is_400(client, admin_headers, query):
    resp = client.get(f"{AUD}?{query}", headers=admin_headers)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "validation_error"


def test_pagination(app, client, admin_headers):
    _seed(app)
    page = _get(client, admin_headers, "action=user.&per_page=2&page=2")
    assert page["total"] == 3 and page["page"] == 2 and page["per_page"] == 2
    assert _ns(page) == [0]


def test_admin_only(api, client):
    headers = api.user_headers("plain")
    assert client.get(AUD, headers=headers).status_code == 403
    assert client.get(AUD).status_code == 401


def test_rows_are_append_only(app):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    ids = _seed(app)
    with app.app_context():
        ev = db.session.get(AuditEvent, ids[0])
        ev.action = "tampered"
        with pytest.raises(RuntimeError):
            db.session.commit()
        db.session.rollback()
        with pytest.raises(RuntimeError):
            db.session.delete(db.session.get(AuditEvent, ids[0]))
            db.session.commit()
        db.session.rollback()
        assert db.session.get(AuditEvent, ids[0]).action == "user.create"


def test_every_mutation_leaves_a_row(api, client, admin_headers):
    """One pass through the admin API; each action's audit row appears in the API's answer."""
    uid = client.post(
        "/api/v1/users", json={"username": "x1", "password": "password-1"}, headers=admin_headers
    ).get_json()["id"]
    client.patch(f"/api/v1/users/{uid}", json={"email": "x@example.com"}, headers=admin_headers)
    gw = client.post(
        "/api/v1/gateways",
        json={"name": "g", "endpoint": "g.example:51820", "vpn_cidr": "10.8.0.0/24"},
        headers=admin_headers,
    ).get_json()
    client.patch(f"/api/v1/gateways/{gw['id']}", json={"mtu": 1400}, headers=admin_headers)
    pol = client.post(
        "/api/v1/policies",
        json={"name": "p", "destinations": ["10.0.0.0/8"]},
        headers=admin_headers,
    ).get_json()
    client.patch(f"/api/v1/policies/{pol['id']}", json={"enabled": False}, headers=admin_headers)
    client.delete(f"/api/v1/policies/{pol['id']}", headers=admin_headers)
    client.delete(f"/api/v1/gateways/{gw['id']}", headers=admin_headers)
    client.delete(f"/api/v1/users/{uid}", headers=admin_headers)
    bad = client.post("/api/v1/auth/login", json={"username": "root", "password": "nope-nope"})
    assert bad.status_code == 401
    client.post("/api/v1/auth/logout", headers=admin_headers)
    actions = [
        i["action"]
        for i in api.client.get(
            f"{AUD}?per_page=200", headers=api.headers(api.login("root")["access_token"])
        ).get_json()["items"]
    ]
    expected = [
        "auth.login",
        "user.create",
        "user.update",
        "gateway.create",
        "gateway.update",
        "policy.create",
        "policy.update",
        "policy.delete",
        "gateway.delete",
        "user.delete",
        "auth.login_failed",
        "auth.logout",
        "auth.login",
    ]
    assert list(reversed(actions)) == expected
