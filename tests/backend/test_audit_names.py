"""Audit by names: `actor=` / `target=` filters and the names shown next to the ids."""

from __future__ import annotations

AUD = "/api/v1/audit-logs"


def _actions(client, headers, query):
    resp = client.get(f"{AUD}?{query}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def test_filter_and_show_by_name(api, client, admin_headers):
    bob = api.user_headers("Bob.Smith")
    gw = client.post("/api/v1/gateways", headers=admin_headers, json={
        "name": "edge-1", "endpoint": "vpn.example.com:51820", "vpn_cidr": "10.8.0.0/24"})
    assert gw.status_code == 201
    pol = client.post("/api/v1/policies", headers=admin_headers, json={
        "name": "Office", "destinations": ["10.1.0.0/24"], "groups": ["eng"]})
    assert pol.status_code == 201
    made = client.post("/api/v1/users", headers=admin_headers, json={
        "username": "edge-1", "password": "long-enough-1", "role": "user"})  # same name, a user
    assert made.status_code == 201
    assert client.get("/api/v1/auth/me", headers=bob).status_code == 200

    # Actor by user name, case-insensitive: only events bob did (his login).
    items = _actions(client, admin_headers, "actor=bob.smith")
    assert items and {i["actor_name"] for i in items} == {"Bob.Smith"}
    assert {i["action"] for i in items} == {"auth.login"}

    # Target by name covers every kind with that name: the gateway and the user "edge-1".
    items = _actions(client, admin_headers, "target=EDGE-1")
    assert {(i["target_type"], i["action"]) for i in items} == {
        ("gateway", "gateway.create"), ("user", "user.create")}
    assert {i["target_name"] for i in items} == {"edge-1"}
    policy_items = _actions(client, admin_headers, "target=office&target_type=policy")
    assert [(i["action"], i["target_name"]) for i in policy_items] == [("policy.create", "Office")]
    admin_items = _actions(client, admin_headers, "actor=ROOT&action=policy.create")
    assert [i["actor_name"] for i in admin_items] == ["root"]

    # Unknown names match nothing (not an error); an over-long one is a 400 naming the field.
    assert _actions(client, admin_headers, "actor=nobody") == []
    assert _actions(client, admin_headers, "target=nothing-like-this") == []
    resp = client.get(f"{AUD}?actor={'x' * 65}", headers=admin_headers)
    assert resp.status_code == 400 and "actor" in resp.get_json()["error"]["details"]

    # After the gateway is deleted its events keep the id; the name is no longer known.
    assert client.delete(f"/api/v1/gateways/{gw.get_json()['id']}",
                         headers=admin_headers).status_code == 204
    items = _actions(client, admin_headers, "target_type=gateway")
    assert items and all(i["target_name"] is None for i in items)
