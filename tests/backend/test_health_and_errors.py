"""The frame: health, OpenAPI served, the error envelope for framework errors."""


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
