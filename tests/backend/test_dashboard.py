"""GET /dashboard: admin-only counts and recent activity."""

from __future__ import annotations

from tests.backend.provisioning_helpers import E, enroll_body, make_gateway

DASH = "/api/v1/dashboard"


def test_dashboard_counts_and_recent(app, client, api, admin_headers):
    make_gateway(app, "up")
    make_gateway(app, "down", vpn_cidr="10.9.0.0/24", online=False)
    h = api.user_headers("alice")
    ids = [
        client.post(E, json=enroll_body(name=f"d{i}"), headers=api.new_session("alice"))
        .get_json()["device"]["id"]
        for i in range(3)
    ]
    client.post(f"/api/v1/devices/{ids[0]}/revoke", json={}, headers=h)
    r = client.get(DASH, headers=admin_headers)
    assert r.status_code == 200
    body = r.get_json()
    assert body["users"] == 2
    assert body["devices"] == {"active": 2, "pending": 0, "revoked": 1}
    assert body["gateways"] == {"online": 1, "offline": 1}
    assert [d["id"] for d in body["recent_enrollments"]] == ids[::-1]
    assert body["recent_enrollments"][0]["username"] == "alice"
    actions = [a["action"] for a in body["recent_audit"]]
    assert actions[0] == "device.revoke"
    assert actions.count("device.enroll") == 3
    first = body["recent_audit"][0]
    assert set(first) >= {
        "id",
        "at",
        "actor_type",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "ip",
        "details",
    }
    assert (first["target_type"], first["target_id"]) == ("device", str(ids[0]))


def test_dashboard_is_admin_only(client, api):
    assert client.get(DASH).status_code == 401
    assert client.get(DASH, headers=api.user_headers("bob")).status_code == 403


def test_dashboard_empty(client, admin_headers):
    body = client.get(DASH, headers=admin_headers).get_json()
    assert body["devices"] == {"active": 0, "pending": 0, "revoked": 0}
    assert body["gateways"] == {"online": 0, "offline": 0}
    assert body["recent_enrollments"] == []
