"""The served OpenAPI document: valid, complete (every route), errors as the envelope, no 422."""

from __future__ import annotations

import json
import re

import pytest
from openapi_spec_validator import validate

SKIP_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def doc(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def _api_routes(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every /api/v1 rule the app serves, except the doc itself."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([A-Za-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - SKIP_METHODS:
            routes.add((path, method.lower()))
    return routes


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield path, method, op


def _resolve(doc, node):
    while "$ref" in node:
        parts = node["$ref"].lstrip("#/").split("/")
        node = doc
        for part in parts:
            node = node[part]
    return node


def test_document_is_valid_openapi(doc):
    assert doc["openapi"].startswith("3.")
    validate(doc)


def test_every_route_is_documented_and_nothing_else(app, doc):
    served = _api_routes(app)
    documented = {(path, method) for path, method, _ in _operations(doc)}
    assert served, "no API routes found"
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented operations the app does not serve"
    for path in (
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/users/{user_id}",
        "/api/v1/policies/{policy_id}",
        "/api/v1/gateways/{gateway_id}",
        "/api/v1/audit-logs",
    ):
        assert path in doc["paths"], path


def test_error_responses_use_the_envelope(doc):
    error_schema = doc["components"]["schemas"]["Error"]
    assert error_schema["required"] == ["error"]
    body = _resolve(doc, error_schema["properties"]["error"])
    assert set(body["properties"]) >= {"code", "message", "details"}
    checked = 0
    for path, method, op in _operations(doc):
        for status, resp in op["responses"].items():
            if status != "default" and int(status) < 400:
                continue
            resolved = _resolve(doc, resp)
            schema = resolved["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
            checked += 1
    assert checked > 50


def test_no_422_anywhere(doc):
    for path, method, op in _operations(doc):
        assert "422" not in op["responses"], (path, method)
    assert "422" not in json.dumps(doc["paths"])
    assert "UNPROCESSABLE" not in json.dumps(doc["paths"])


def test_bodies_and_protected_operations_are_documented(doc):
    public = {
        ("/api/v1/health", "get"),
        ("/api/v1/ready", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/providers", "get"),
        ("/api/v1/auth/oidc/{provider_id}/start", "get"),
        ("/api/v1/auth/oidc/{provider_id}/callback", "get"),
        ("/api/v1/auth/oidc/token", "post"),
    }
    for path, method, op in _operations(doc):
        if path.startswith("/api/v1/gateway-agent") or (path, method) in public:
            continue
        assert "401" in op["responses"], (path, method)
    for path in ("/api/v1/users", "/api/v1/policies", "/api/v1/gateways"):
        post = doc["paths"][path]["post"]
        assert "400" in post["responses"] and "409" in post["responses"]
        assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"]


@pytest.mark.parametrize(
    ("schema", "fields"),
    [
        ("LoginResponse", {"access_token", "refresh_token", "token_type", "expires_in", "user"}),
        ("RefreshResponse", {"access_token", "refresh_token"}),
        ("SessionUser", {"id", "username", "role"}),
        ("User", {"id", "username", "email", "role", "groups", "disabled", "created_at"}),
        ("UserCreate", {"username", "password", "email", "role", "groups", "disabled"}),
        ("UserUpdate", {"email", "role", "groups", "disabled", "password"}),
        ("Policy", {"id", "name", "description", "enabled", "user_ids", "groups", "destinations"}),
        ("PolicyWrite", {"name", "description", "enabled", "user_ids", "groups", "destinations"}),
        (
            "Gateway",
            {
                "id",
                "name",
                "endpoint",
                "public_key",
                "vpn_cidr",
                "vpn_cidr6",
                "dns",
                "mtu",
                "enabled",
                "status",
                "last_seen_at",
                "peer_count",
            },
        ),
        ("GatewayCreated", {"agent_token"}),
        (
            "GatewayWrite",
            {"name", "endpoint", "public_key", "vpn_cidr", "vpn_cidr6", "dns", "mtu", "enabled"},
        ),
        (
            "AuditLog",
            {
                "id",
                "at",
                "actor_type",
                "actor_id",
                "action",
                "target_type",
                "target_id",
                "ip",
                "details",
            },
        ),
        ("UserPage", {"items", "page", "per_page", "total"}),
    ],
)
def test_contract_fields_are_in_the_schemas(doc, schema, fields):
    props = doc["components"]["schemas"][schema]["properties"]
    assert fields <= set(props), fields - set(props)
    if schema in {"User", "UserCreate", "UserUpdate", "LoginResponse"}:
        for name in ("password_hash",):
            assert name not in props
    if schema == "User":
        assert "password" not in props  # write-only


def test_audit_query_parameters(doc):
    params = {p["name"] for p in doc["paths"]["/api/v1/audit-logs"]["get"]["parameters"]}
    assert {
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "since",
        "until",
        "page",
        "per_page",
    } <= params


def test_profile_caching_is_documented(doc):
    """The contract's If-None-Match → 304 is part of the reference, not only its prose."""
    op = doc["paths"]["/api/v1/devices/{device_id}/profile"]["get"]
    headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
    assert "If-None-Match" in headers
    for status in ("200", "304"):
        assert "ETag" in op["responses"][status]["headers"]
    assert "503" in op["responses"]  # the gateway has no key yet


def test_path_ids_are_bounded(doc):
    """Ids above what an id column holds never match a route (404, not an overflow)."""
    for path, item in doc["paths"].items():
        for param in item.get("parameters", []):
            if param["in"] == "path" and param["schema"]["type"] == "integer":
                assert param["schema"]["maximum"] == 2**31 - 1, path


def test_every_operation_is_in_the_api_reference(doc):
    """docs/api.md is the reference users read without the repository's code: an endpoint the
    server serves but the reference does not name is drift, and fails here."""
    from pathlib import Path

    reference = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    prefix = "/api/v1"

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    documented = {
        (method, shape(path))
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^ ?`\[]*)", reference)
    }
    missing = sorted(
        f"{method.upper()} {path.removeprefix(prefix)}"
        for path, ops in doc["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
        and (method.upper(), shape(path.removeprefix(prefix))) not in documented
    )
    assert missing == [], f"served but not in docs/api.md: {missing}"
