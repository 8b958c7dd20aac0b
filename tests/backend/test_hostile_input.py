"""Input built to break the server gets a 400 or 404 in the envelope, never a 500.

Each case here was a 500 once: integers too big for a database column (path ids, page numbers,
filters, ids in bodies), JSON nested deeper than the parser recurses or with integer literals
longer than Python converts, and strings that parse but cannot be stored (lone surrogates,
NUL). Runs on SQLite and, in the PostgreSQL pass of the suite, on PostgreSQL.
"""

from __future__ import annotations

import json

import pytest

from tests.backend.provisioning_helpers import enroll_body

HUGE = 10**30
JUST_OVER = 2**31  # one more than an id column holds (integer on PostgreSQL)
JSON = {"Content-Type": "application/json"}


def _code(resp) -> str:
    return resp.get_json()["error"]["code"]


@pytest.mark.parametrize("big", [HUGE, 2**63, JUST_OVER])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/users/{}",
        "/api/v1/policies/{}",
        "/api/v1/gateways/{}",
        "/api/v1/devices/{}",
        "/api/v1/devices/{}/profile",
    ],
)
def test_path_ids_beyond_int64_are_404(client, admin_headers, path, big):
    resp = client.get(path.format(big), headers=admin_headers)
    assert resp.status_code == 404
    assert _code(resp) == "not_found"


def test_largest_id_is_an_ordinary_404(client, admin_headers):
    resp = client.get(f"/api/v1/users/{JUST_OVER - 1}", headers=admin_headers)
    assert resp.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        f"/api/v1/users?page={HUGE}",
        "/api/v1/devices?page=4611686018427387904",  # (page - 1) * per_page overflows
        f"/api/v1/devices?user_id={HUGE}",
        f"/api/v1/devices?gateway_id={JUST_OVER}",
        f"/api/v1/policies?user_id={JUST_OVER}",
    ],
)
def test_query_integers_beyond_int64_are_400(client, admin_headers, query):
    resp = client.get(query, headers=admin_headers)
    assert resp.status_code == 400
    assert _code(resp) == "validation_error"


def test_a_far_but_valid_page_is_empty(client, admin_headers):
    resp = client.get("/api/v1/users?page=1000000&per_page=200", headers=admin_headers)
    assert resp.status_code == 200
    assert resp.get_json()["items"] == []


@pytest.mark.parametrize("bad_id", [HUGE, 2**63, JUST_OVER, 0, -1])
def test_policy_user_ids_out_of_range_are_400(client, admin_headers, bad_id):
    body = {"name": "p", "destinations": ["10.0.0.0/24"], "user_ids": [bad_id]}
    resp = client.post("/api/v1/policies", json=body, headers=admin_headers)
    assert resp.status_code == 400
    assert _code(resp) == "validation_error"
    assert client.get("/api/v1/policies", headers=admin_headers).get_json()["total"] == 0


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than the JSON parser recurses
        '{"name": "g", "mtu": ' + "9" * 5000 + "}",  # longer than int() converts
    ],
)
def test_json_the_parser_chokes_on_is_400(client, admin_headers, raw):
    resp = client.post("/api/v1/gateways", data=raw, headers={**admin_headers, **JSON})
    assert resp.status_code == 400
    assert _code(resp) == "validation_error"


@pytest.mark.parametrize("bad", ["\\ud800", "a\\u0000b"])
def test_unstorable_strings_are_400_and_nothing_is_written(client, api, admin_headers, bad):
    login = f'{{"username": "{bad}", "password": "xxxxxxxxxx"}}'
    resp = client.post("/api/v1/auth/login", data=login, headers=JSON)
    assert resp.status_code == 400
    assert _code(resp) == "validation_error"

    user = f'{{"username": "okname", "password": "long enough {bad} password"}}'
    resp = client.post("/api/v1/users", data=user, headers={**admin_headers, **JSON})
    assert resp.status_code == 400
    users = client.get("/api/v1/users?per_page=200", headers=admin_headers).get_json()["items"]
    assert "okname" not in {u["username"] for u in users}

    policy = f'{{"name": "pp", "destinations": [], "description": "{bad}"}}'
    resp = client.post("/api/v1/policies", data=policy, headers={**admin_headers, **JSON})
    assert resp.status_code == 400
    assert list(resp.get_json()["error"]["details"]) == ["description"]  # names the field
    assert client.get("/api/v1/policies", headers=admin_headers).get_json()["total"] == 0


def test_unstorable_key_in_a_nested_object_is_400(client, api):
    headers = api.user_headers("mallory")
    raw = json.dumps({**enroll_body(), "x": {"KEY": 1}}).replace('"KEY"', '"\\ud800"')
    resp = client.post("/api/v1/devices/enroll", data=raw, headers={**headers, **JSON})
    assert resp.status_code == 400
    assert _code(resp) == "validation_error"
    assert list(resp.get_json()["error"]["details"]) == ["x"]


def test_ordinary_unicode_still_passes(client, admin_headers):
    body = {"name": "p-ü", "destinations": ["10.0.0.0/24"], "description": "Zürich 🚀 office"}
    resp = client.post("/api/v1/policies", json=body, headers=admin_headers)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["description"] == "Zürich 🚀 office"


def test_blank_query_values_mean_not_given(client, api, admin_headers):
    """The contract's own template, `?actor_id=&action=&…`, with every filter left blank."""
    api.create_user("blanky")
    blank = "actor_id=&action=&target_type=&target_id=&since=&until=&page=&per_page="
    resp = client.get(f"/api/v1/audit-logs?{blank}", headers=admin_headers)
    assert resp.status_code == 200, resp.get_json()
    unfiltered = client.get("/api/v1/audit-logs", headers=admin_headers).get_json()
    assert resp.get_json() == unfiltered
    assert unfiltered["total"] >= 1 and unfiltered["per_page"] == 50
    # A blank beside a real value: the real one still filters, the blank is ignored.
    resp = client.get("/api/v1/devices?status=&user_id=999999", headers=admin_headers)
    assert resp.status_code == 200 and resp.get_json()["items"] == []
    # Not blank but wrong is still a 400 naming the field.
    resp = client.get("/api/v1/devices?status=nope", headers=admin_headers)
    assert resp.status_code == 400 and "status" in resp.get_json()["error"]["details"]
