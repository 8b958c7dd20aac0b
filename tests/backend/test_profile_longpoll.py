"""The client's profile long-poll: ``GET /devices/{id}/profile?wait=`` with ``If-None-Match``
answers 200 on a change (policy, gateway, rotation), 410 once revoked, 304 when ``wait`` passes,
and the waiting request is woken by the commit, not by a timer."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.backend.provisioning_helpers import E, enroll_body, make_gateway, make_policy


@pytest.fixture
def enrolled(app, client, api):
    make_gateway(app, vpn_cidr="10.8.0.0/24")
    uid = api.create_user("pat")
    h = api.headers(api.login("pat")["access_token"])
    body = client.post(E, json=enroll_body(), headers=h).get_json()
    return uid, h, body["device"]["id"], f'"{body["profile"]["revision"]}"'


def _wait_in_thread(app, dev: int, headers: dict, etag: str, wait: float):
    out: dict[str, Any] = {}

    def run() -> None:
        c = app.test_client()
        started = time.monotonic()
        r = c.get(
            f"/api/v1/devices/{dev}/profile",
            query_string={"wait": wait},
            headers={**headers, "If-None-Match": etag},
        )
        out.update(status=r.status_code, json=r.get_json(silent=True), etag=r.headers.get("ETag"),
                   at=time.monotonic(), took=time.monotonic() - started)

    th = threading.Thread(target=run)
    th.start()
    return th, out


def test_unchanged_profile_answers_304_when_wait_passes(app, enrolled):
    _uid, h, dev, etag = enrolled
    th, out = _wait_in_thread(app, dev, h, etag, 1)
    th.join(10)
    assert out["status"] == 304
    assert out["etag"] == etag
    assert 0.9 <= out["took"] < 5


def test_policy_change_wakes_the_waiting_client(app, enrolled):
    uid, h, dev, etag = enrolled
    th, out = _wait_in_thread(app, dev, h, etag, 20)
    time.sleep(0.5)
    make_policy(app, "net", ["10.20.0.0/24"], user_ids=[uid])  # a bulk revision bump
    done = time.monotonic()
    th.join(10)
    assert out["status"] == 200
    assert out["at"] - done < 1.0
    assert "10.20.0.0/24" in out["json"]["peer"]["allowed_ips"]
    assert out["etag"] == f'"{out["json"]["revision"]}"' != etag


def test_rotation_and_revocation_wake_the_waiting_client(app, client, enrolled):
    _uid, h, dev, etag = enrolled
    th, out = _wait_in_thread(app, dev, h, etag, 20)
    time.sleep(0.5)
    assert client.post(f"/api/v1/devices/{dev}/rotate", headers=h).status_code == 200
    th.join(10)
    assert out["status"] == 200 and out["json"]["rotation_required"] is True
    th, out = _wait_in_thread(app, dev, h, out["etag"], 20)
    time.sleep(0.5)
    assert client.post(f"/api/v1/devices/{dev}/revoke", json={}, headers=h).status_code == 200
    done = time.monotonic()
    th.join(10)
    assert out["status"] == 410
    assert out["at"] - done < 1.0


def test_wait_without_a_matching_etag_answers_at_once(app, client, enrolled):
    _uid, h, dev, _etag = enrolled
    started = time.monotonic()
    r = client.get(f"/api/v1/devices/{dev}/profile", query_string={"wait": 30},
                   headers={**h, "If-None-Match": '"999"'})
    assert r.status_code == 200
    assert time.monotonic() - started < 5


def test_other_users_devices_stay_404_with_wait(app, client, api, enrolled):
    _uid, _h, dev, etag = enrolled
    other = api.user_headers("mallory")
    started = time.monotonic()
    r = client.get(f"/api/v1/devices/{dev}/profile", query_string={"wait": 30},
                   headers={**other, "If-None-Match": etag})
    assert r.status_code == 404
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("wait", ["soon", "nan"])
def test_bad_wait_is_400(client, enrolled, wait):
    _uid, h, dev, etag = enrolled
    r = client.get(f"/api/v1/devices/{dev}/profile", query_string={"wait": wait},
                   headers={**h, "If-None-Match": etag})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "validation_error"
