"""Roles: anonymous → 401 everywhere but the public routes; users → 403 on admin resources and
404 on other users' objects; admins → allowed."""

from __future__ import annotations

import re

import pytest

PUBLIC = {
    ("/api/v1/health", "GET"),
    ("/api/v1/ready", "GET"),
    ("/api/v1/openapi.json", "GET"),
    ("/api/v1/auth/login", "POST"),
    # the sign-in steps before a session exists
    ("/api/v1/auth/mfa/verify", "POST"),
    ("/api/v1/auth/providers", "GET"),
    ("/api/v1/auth/oidc/<provider_id>/start", "GET"),
    ("/api/v1/auth/oidc/<provider_id>/callback", "GET"),
    ("/api/v1/auth/oidc/token", "POST"),
}

ADMIN_ONLY = [
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("DELETE", "/api/v1/users/{other}"),
    ("GET", "/api/v1/policies"),
    ("POST", "/api/v1/policies"),
    ("GET", "/api/v1/policies/{policy}"),
    ("PATCH", "/api/v1/policies/{policy}"),
    ("DELETE", "/api/v1/policies/{policy}"),
    ("GET", "/api/v1/gateways"),
    ("POST", "/api/v1/gateways"),
    ("GET", "/api/v1/gateways/{gateway}"),
    ("PATCH", "/api/v1/gateways/{gateway}"),
    ("DELETE", "/api/v1/gateways/{gateway}"),
    ("POST", "/api/v1/gateways/{gateway}/token"),
    ("GET", "/api/v1/audit-logs"),
]


def _all_api_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?[A-Za-z_]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.rule, method, path


def test_anonymous_gets_401_on_every_protected_route(app, client):
    checked = 0
    for rule, method, path in _all_api_routes(app):
        if (rule, method) in PUBLIC:
            continue
        resp = client.open(path, method=method, json={})
        assert resp.status_code == 401, (method, rule, resp.status_code)
        assert resp.get_json()["error"]["code"] == "unauthorized", (method, rule)
        checked += 1
    assert checked >= 20


@pytest.fixture
def world(app, api, client, admin_headers):
    """Two users, a policy and a gateway; the ids tests fill into paths."""
    me = api.create_user("me")
    other = api.create_user("other")
    policy = client.post(
        "/api/v1/policies",
        json={"name": "p", "destinations": ["10.0.0.0/8"], "user_ids": [me]},
        headers=admin_headers,
    ).get_json()["id"]
    gateway = client.post(
        "/api/v1/gateways",
        json={"name": "g", "endpoint": "g.example:51820", "vpn_cidr": "10.8.0.0/24"},
        headers=admin_headers,
    ).get_json()["id"]
    return {
        "me": me,
        "other": other,
        "policy": policy,
        "gateway": gateway,
        "headers": api.headers(api.login("me")["access_token"]),
    }


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_user_gets_403_on_admin_resources(client, world, method, path):
    resp = client.open(path.format(**world), method=method, json={}, headers=world["headers"])
    assert resp.status_code == 403, resp.get_json()
    assert resp.get_json()["error"]["code"] == "forbidden"


def test_user_gets_404_for_other_users(client, world):
    h = world["headers"]
    other = f"/api/v1/users/{world['other']}"
    assert client.get(other, headers=h).status_code == 404
    assert client.patch(other, json={"email": "x@example.com"}, headers=h).status_code == 404
    # Indistinguishable from a user that does not exist.
    missing = client.get("/api/v1/users/424242", headers=h)
    assert client.get(other, headers=h).get_json() == missing.get_json()
    assert client.get(f"/api/v1/users/{world['me']}", headers=h).status_code == 200


def test_admin_reaches_everything(client, world, admin_headers):
    for method, path in ADMIN_ONLY:
        if method != "GET":
            continue
        resp = client.open(path.format(**world), method=method, headers=admin_headers)
        assert resp.status_code == 200, (path, resp.get_json())


def test_deleted_users_token_is_dead(api, client, world, admin_headers):
    assert client.get("/api/v1/auth/me", headers=world["headers"]).status_code == 200
    resp = client.delete(f"/api/v1/users/{world['me']}", headers=admin_headers)
    assert resp.status_code == 204
    assert client.get("/api/v1/auth/me", headers=world["headers"]).status_code == 401


def test_demoted_admin_loses_admin_rights_at_once(api, client, admin_headers):
    api.create_user("boss", role="admin")
    boss = api.headers(api.login("boss")["access_token"])
    assert client.get("/api/v1/users", headers=boss).status_code == 200
    boss_id = client.get("/api/v1/auth/me", headers=boss).get_json()["id"]
    client.patch(f"/api/v1/users/{boss_id}", json={"role": "user"}, headers=admin_headers)
    assert client.get("/api/v1/users", headers=boss).status_code == 403
