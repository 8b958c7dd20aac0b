"""Gateway agent API: config shape, long-poll (in-process and cross-process wake-ups,
replacement, capacity), heartbeat storing the key, port, liveness and per-peer handshakes and
counters."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.backend.provisioning_helpers import (
    E,
    agent_headers,
    device_row,
    enroll_body,
    gateway_revision,
    make_gateway,
    make_policy,
    new_key,
)

C = "/api/v1/gateway-agent/config"
HB = "/api/v1/gateway-agent/heartbeat"
D = "/api/v1/devices"


@pytest.fixture
def gw(app):
    gid, token = make_gateway(app, vpn_cidr="10.8.0.0/24", vpn_cidr6="fd8a::/64")
    return gid, agent_headers(token)


@pytest.fixture
def user(api):
    uid = api.create_user("alice")
    return uid, api.headers(api.login("alice")["access_token"])


def test_config_shape(app, client, gw, user):
    gid, ah = gw
    uid, h = user
    make_policy(app, "net", ["10.20.0.0/24", "fd00::/64"], user_ids=[uid])
    dev = client.post(E, json=enroll_body(), headers=h).get_json()["device"]
    r = client.get(C, headers=ah)
    assert r.status_code == 200
    cfg = r.get_json()
    assert cfg["revision"] == gateway_revision(app, gid)
    assert cfg["interface"]["address"] == "10.8.0.1/24"
    assert cfg["interface"]["address6"] == "fd8a::1/64"
    assert cfg["interface"]["listen_port"] == 51820  # from the endpoint until reported
    assert cfg["peers"] == [
        {
            "public_key": dev["public_key"],
            "allowed_ips": ["10.8.0.2/32", "fd8a::2/128"],
            "destinations": ["10.20.0.0/24", "fd00::/64"],
            "device_id": dev["id"],
        }
    ]


def test_config_document_matches_the_schema_and_follows_a_cached_peer(app, client, gw, user):
    """The config is serialised by the service with peers cached per row: it must still be
    exactly what AgentConfigSchema describes, and a peer whose resources changed must show
    the new destinations (the cache key is the row, not the device id)."""
    from nexavpn_api.schemas.agent import AgentConfigSchema

    _gid, ah = gw
    uid, h = user
    dev = client.post(E, json=enroll_body(), headers=h).get_json()["device"]
    first = client.get(C, headers=ah)
    assert first.mimetype == "application/json"
    cfg = first.get_json()
    assert AgentConfigSchema().dump(cfg) == cfg
    assert [p["destinations"] for p in cfg["peers"]] == [[]]
    make_policy(app, "later", ["10.30.0.0/24"], user_ids=[uid])
    cfg = client.get(C, headers=ah).get_json()
    assert [(p["device_id"], p["destinations"]) for p in cfg["peers"]] == [
        (dev["id"], ["10.30.0.0/24"])
    ]
    assert AgentConfigSchema().dump(cfg) == cfg


def test_config_without_v6_has_null_address6(app, client):
    _, token = make_gateway(app, "v4only", vpn_cidr="10.50.0.0/16", endpoint="1.2.3.4:443")
    cfg = client.get(C, headers=agent_headers(token)).get_json()
    assert cfg["interface"]["address"] == "10.50.0.1/16"
    assert cfg["interface"]["address6"] is None
    assert cfg["interface"]["listen_port"] == 443
    assert cfg["peers"] == []


def test_agent_auth(client, gw, admin_headers):
    assert client.get(C).status_code == 401
    assert client.get(C, headers=agent_headers("wrong")).status_code == 401
    assert client.get(C, headers=admin_headers).status_code == 401  # a user token is no agent
    assert client.post(HB, json={"public_key": new_key()}).status_code == 401


def test_long_poll_answers_at_once_without_after_or_when_revision_differs(client, gw):
    _, ah = gw
    rev = client.get(C, headers=ah).get_json()["revision"]
    start = time.monotonic()
    assert client.get(C, query_string={"wait": 5}, headers=ah).status_code == 200
    r = client.get(C, query_string={"after": rev - 1, "wait": 5}, headers=ah)
    assert r.status_code == 200 and r.get_json()["revision"] == rev
    assert time.monotonic() - start < 2


def test_long_poll_304_when_unchanged(client, gw):
    _, ah = gw
    rev = client.get(C, headers=ah).get_json()["revision"]
    r = client.get(C, query_string={"after": rev, "wait": 0}, headers=ah)
    assert r.status_code == 304
    start = time.monotonic()
    r = client.get(C, query_string={"after": rev, "wait": 1}, headers=ah)
    took = time.monotonic() - start
    assert r.status_code == 304
    assert 0.9 <= took < 3


def test_wait_is_clamped(app, client, gw):
    _, ah = gw
    app.config["NEXAVPN_LONGPOLL_MAX_SECONDS"] = 1
    rev = client.get(C, headers=ah).get_json()["revision"]
    start = time.monotonic()
    assert client.get(C, query_string={"after": rev, "wait": 3600}, headers=ah).status_code == 304
    assert time.monotonic() - start < 3
    start = time.monotonic()
    assert client.get(C, query_string={"after": rev, "wait": -5}, headers=ah).status_code == 304
    assert time.monotonic() - start < 0.5


@pytest.mark.parametrize("query", [{"wait": "soon"}, {"after": "x"}, {"after": -1}])
def test_bad_config_query_is_400(client, gw, query):
    _, ah = gw
    assert client.get(C, query_string=query, headers=ah).status_code == 400


def _poll_in_thread(app, headers, after, wait):
    out: dict = {}

    def run():
        c = app.test_client()
        t0 = time.monotonic()
        r = c.get(C, query_string={"after": after, "wait": wait}, headers=headers)
        out["status"], out["at"] = r.status_code, time.monotonic()
        out["json"] = r.get_json(silent=True)
        out["took"] = out["at"] - t0

    th = threading.Thread(target=run)
    th.start()
    return th, out


def test_enrollment_wakes_long_poll_in_process(app, client, gw, user):
    """The commit wakes the waiter in this process directly (no timer, no re-read loop)."""
    _, ah = gw
    _, h = user
    rev = client.get(C, headers=ah).get_json()["revision"]
    th, out = _poll_in_thread(app, ah, rev, 20)
    time.sleep(0.5)
    body = enroll_body()
    assert client.post(E, json=body, headers=h).status_code == 201
    done = time.monotonic()
    th.join(10)
    assert out["status"] == 200
    assert out["at"] - done < 1.0
    assert out["json"]["revision"] > rev
    assert [p["public_key"] for p in out["json"]["peers"]] == [body["public_key"]]


_BUMP_IN_OTHER_PROCESS = """
import sys
from nexavpn_api.app import create_app
from nexavpn_api.extensions import db
from nexavpn_api.services import provisioning
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "DATA_DIR": sys.argv[2],
                  "SECRET_KEY": "x", "JWT_SECRET_KEY": "y" * 40})
with app.app_context():
    provisioning.bump_gateways([int(sys.argv[3])])
    db.session.commit()
"""


def test_change_from_another_process_wakes_the_waiter(app, client, gw, tmp_path):
    """A revision bumped by another process (PostgreSQL NOTIFY, or the SQLite workers'
    sockets) wakes the waiter here; nothing re-reads the row on a timer."""
    import subprocess
    import sys

    gid, ah = gw
    rev = client.get(C, headers=ah).get_json()["revision"]
    th, out = _poll_in_thread(app, ah, rev, 30)
    time.sleep(0.5)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", _BUMP_IN_OTHER_PROCESS,
         app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path / "other"), str(gid)],
        check=True, timeout=60, capture_output=True,
    )
    th.join(20)
    assert out["status"] == 200
    assert out["json"]["revision"] == rev + 1
    assert out["at"] - started < 10  # the other process's start-up included; far below 30 s


def test_a_waiting_long_poll_reads_nothing_while_nothing_changes(app, client, gw):
    from sqlalchemy import event

    from nexavpn_api.extensions import db

    _, ah = gw
    rev = client.get(C, headers=ah).get_json()["revision"]
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    th, out = _poll_in_thread(app, ah, rev, 3)
    time.sleep(0.8)  # authenticated, read once, now waiting
    event.listen(engine, "before_cursor_execute", count)
    try:
        time.sleep(1.5)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    th.join(10)
    assert out["status"] == 304
    assert statements == []


def test_a_second_poll_with_the_same_token_replaces_the_first(app, client, gw):
    _, ah = gw
    rev = client.get(C, headers=ah).get_json()["revision"]
    first, out1 = _poll_in_thread(app, ah, rev, 20)
    time.sleep(0.5)
    second, out2 = _poll_in_thread(app, ah, rev, 1)
    first.join(5)
    assert out1["status"] == 304 and out1["took"] < 3
    second.join(5)
    assert out2["status"] == 304


def test_beyond_capacity_answers_503_at_once(app, client, gw, user):
    _, ah = gw
    _, h = user
    app.config["NEXAVPN_LONGPOLL_CAPACITY"] = 1
    rev = client.get(C, headers=ah).get_json()["revision"]
    th, out = _poll_in_thread(app, ah, rev, 5)
    time.sleep(0.5)
    body = enroll_body()
    created = client.post(E, json=body, headers=h)
    assert created.status_code == 201  # not a long-poll: never refused for capacity
    th.join(10)
    assert out["status"] == 200
    th, out = _poll_in_thread(app, ah, out["json"]["revision"], 5)
    time.sleep(0.5)
    dev = created.get_json()["device"]["id"]
    etag = f'"{created.get_json()["profile"]["revision"]}"'
    started = time.monotonic()
    busy = client.get(
        f"/api/v1/devices/{dev}/profile", query_string={"wait": 5},
        headers={**h, "If-None-Match": etag},
    )
    assert busy.status_code == 503
    assert time.monotonic() - started < 1
    assert busy.get_json()["error"]["code"] == "server_busy"
    assert int(busy.headers["Retry-After"]) > 0
    th.join(10)


def test_rolled_back_change_wakes_nobody(app, client, gw):
    from nexavpn_api.extensions import db
    from nexavpn_api.services import notify, provisioning

    gid, ah = gw
    rev = gateway_revision(app, gid)
    th, out = _poll_in_thread(app, ah, rev, 1.5)
    time.sleep(0.3)
    with app.app_context():
        provisioning.bump_gateways([gid])
        db.session.rollback()
    th.join(10)
    assert out["status"] == 304
    assert gateway_revision(app, gid) == rev
    assert notify  # imported for the hook


# ------------------------------------------------------------------ heartbeat


def test_heartbeat_stores_key_port_and_liveness(app, client):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Gateway

    gid, token = make_gateway(app, "fresh", public_key=None, online=False)
    ah = agent_headers(token)
    key = new_key()
    r = client.post(HB, json={"public_key": key, "listen_port": 51999, "peers": []}, headers=ah)
    assert r.status_code == 204
    with app.app_context():
        g = db.session.get(Gateway, gid)
        assert g.public_key == key and g.listen_port == 51999
        assert g.last_seen_at > datetime.now(UTC) - timedelta(seconds=10)
    assert client.get(C, headers=ah).get_json()["interface"]["listen_port"] == 51999


def test_heartbeat_new_key_replaces_and_bumps_device_profiles(app, client, gw, user):
    gid, ah = gw
    _, h = user
    dev = client.post(E, json=enroll_body(), headers=h).get_json()
    rev = gateway_revision(app, gid)
    key = new_key()
    assert client.post(HB, json={"public_key": key}, headers=ah).status_code == 204
    prof = client.get(f"{D}/{dev['device']['id']}/profile", headers=h).get_json()
    assert prof["revision"] == dev["profile"]["revision"] + 1
    assert prof["peer"]["public_key"] == key
    assert f"PublicKey = {key}" in prof["config"]
    assert gateway_revision(app, gid) > rev
    # The same key again changes nothing.
    rev2 = gateway_revision(app, gid)
    assert client.post(HB, json={"public_key": key}, headers=ah).status_code == 204
    assert gateway_revision(app, gid) == rev2
    assert device_row(app, dev["device"]["id"])["profile_revision"] == prof["revision"]


def test_heartbeat_peer_stats_update_devices(app, client, api, gw, user):
    _, ah = gw
    _, h = user
    a = client.post(E, json=enroll_body(), headers=h).get_json()["device"]
    second = api.new_session(a["username"])  # another machine of the same user
    b = client.post(E, json=enroll_body(), headers=second).get_json()["device"]
    now = int(time.time())
    payload = {
        "public_key": new_key(),
        "listen_port": 51820,
        "peers": [
            {
                "public_key": a["public_key"],
                "latest_handshake": now - 5,
                "rx_bytes": 10,
                "tx_bytes": 20,
            },
            {"public_key": b["public_key"], "latest_handshake": 0, "rx_bytes": 0, "tx_bytes": 0},
            {"public_key": new_key(), "latest_handshake": now, "rx_bytes": 1, "tx_bytes": 1},
        ],
    }
    assert client.post(HB, json=payload, headers=ah).status_code == 204
    da = client.get(f"{D}/{a['id']}", headers=h).get_json()
    db_ = client.get(f"{D}/{b['id']}", headers=h).get_json()
    assert da["online"] is True and da["last_handshake_at"] is not None
    assert (da["rx_bytes"], da["tx_bytes"]) == (10, 20)
    assert db_["online"] is False and db_["last_handshake_at"] is None
    seen = datetime.fromisoformat(da["last_handshake_at"])
    assert abs(seen.timestamp() - (now - 5)) < 1.5
    # An older handshake never moves the time back.
    payload["peers"][0]["latest_handshake"] = now - 1000
    client.post(HB, json=payload, headers=ah)
    again = client.get(f"{D}/{a['id']}", headers=h).get_json()
    assert again["last_handshake_at"] == da["last_handshake_at"]


def test_heartbeat_does_not_touch_other_gateways_devices(app, client, user):
    _, h = user
    g1, _ = make_gateway(app, "g1", vpn_cidr="10.1.0.0/24")
    dev = client.post(E, json=enroll_body(), headers=h).get_json()["device"]
    assert dev["gateway_id"] == g1
    _, t2 = make_gateway(app, "g2", vpn_cidr="10.2.0.0/24")
    payload = {
        "public_key": new_key(),
        "peers": [
            {
                "public_key": dev["public_key"],
                "latest_handshake": int(time.time()),
                "rx_bytes": 5,
                "tx_bytes": 5,
            }
        ],
    }
    assert client.post(HB, json=payload, headers=agent_headers(t2)).status_code == 204
    assert device_row(app, dev["id"])["last_handshake_at"] is None


def test_heartbeat_refuses_a_key_in_use_elsewhere_and_audits(app, client, api, gw, user):
    """Another gateway's key or a device's (also a revoked one) would let this gateway steer
    traffic meant for it: 409, the stored key stays, and the attempt is audited."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent, Gateway

    gid, ah = gw
    _, h = user
    h2 = api.headers(api.login("alice")["access_token"])  # a session binds to one device
    own = new_key()
    assert client.post(HB, json={"public_key": own}, headers=ah).status_code == 204
    other_key = new_key()
    make_gateway(app, "other", vpn_cidr="10.9.0.0/24", public_key=other_key)
    dev = client.post(E, json=enroll_body(), headers=h).get_json()["device"]
    revoked = client.post(E, json=enroll_body(), headers=h2).get_json()["device"]
    assert client.post(f"{D}/{revoked['id']}/revoke", json={}, headers=h).status_code == 200
    for key, holder in (
        (other_key, "gateway"),
        (dev["public_key"], "device"),
        (revoked["public_key"], "device"),
    ):
        r = client.post(HB, json={"public_key": key}, headers=ah)
        assert r.status_code == 409, r.get_json()
        assert r.get_json()["error"]["code"] == "public_key_in_use"
        assert holder in r.get_json()["error"]["details"]["public_key"][0]
    with app.app_context():
        assert db.session.get(Gateway, gid).public_key == own
        rows = (
            db.session.execute(
                db.select(AuditEvent)
                .where(AuditEvent.action.like("gateway.%"))
                .order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
    refused = [e for e in rows if e.action == "gateway.key_refused"]
    assert [e.details["in_use_by"] for e in refused] == ["gateway", "device", "device"]
    change = [e for e in rows if e.action == "gateway.update"][-1]
    assert change.details["public_key"] == own and change.actor_type == "gateway"


@pytest.mark.parametrize(
    "payload",
    [
        {"public_key": "nope"},
        {},
        {"public_key": "KEY", "listen_port": 70000},
        {"public_key": "KEY", "peers": [{"public_key": "KEY", "rx_bytes": -1}]},
        {"public_key": "KEY", "extra": 1},
    ],
)
def test_bad_heartbeat_is_400(client, gw, payload):
    _, ah = gw
    key = new_key()
    payload = {k: (key if v == "KEY" else v) for k, v in payload.items()}
    if "peers" in payload:
        payload["peers"] = [
            {k: (key if v == "KEY" else v) for k, v in p.items()} for p in payload["peers"]
        ]
    assert client.post(HB, json=payload, headers=ah).status_code == 400
