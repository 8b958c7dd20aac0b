"""The frame: health, OpenAPI served, the error envelope for framework errors."""

import pytest


def test_health(client):
    resp = client.get("/api/v1/health")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok" and body["service"] == "nexavpn" and body["api"] == "v1"
    assert body["version"]


def test_unknown_api_path_is_json_404(client):
    resp = client.get("/api/v1/does-not-exist")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(client):
    resp = client.delete("/api/v1/health")
    assert resp.status_code == 405
    assert resp.get_json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/v1/auth/login", "POST"),
        ("GET", "/api/v1/devices/enroll", "POST"),
        ("HEAD", "/api/v1/auth/refresh", "POST"),
        ("GET", "/api/v1/devices/1/revoke", "POST"),
    ],
)
def test_method_a_path_does_not_serve_is_405_never_404(client, method, path, allow):
    """The admin UI's catch-all answers GET for every path; an API path served only for other
    methods is still 405 with Allow, not 404."""
    resp = client.open(path, method=method)
    assert resp.status_code == 405
    assert allow in resp.headers["Allow"]
    if method != "HEAD":
        assert resp.get_json()["error"]["code"] == "method_not_allowed"


def test_hsts_only_over_https(client):
    """Embedded TLS mode: browsers are told to stay on HTTPS (nginx adds its own)."""
    secure = client.get("/api/v1/health", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(secure.headers["Strict-Transport-Security"].split("=")[1]) >= 31536000
    assert "Strict-Transport-Security" not in client.get("/api/v1/health").headers


def test_openapi_served(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/health" in doc["paths"]


def test_body_too_large_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    resp = client.post(
        "/api/v1/auth/login",
        data=b'{"username": "' + b"a" * 4096 + b'"}',
        content_type="application/json",
    )
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "payload_too_large"
