"""POST /devices/enroll: each numbered step of the engine, re-enrollment and every refusal."""

from __future__ import annotations

import pytest

from nexavpn_shared.wgconf import PRIVATE_KEY_PLACEHOLDER, parse
from tests.backend.provisioning_helpers import (
    E,
    agent_headers,
    audit_actions,
    device_row,
    enroll_body,
    gateway_revision,
    leases,
    make_gateway,
    make_policy,
    new_key,
    update_gateway,
)


@pytest.fixture
def user(api):
    """A user with an access-token header and its id."""
    uid = api.create_user("alice", groups=["eng"])
    return uid, api.headers(api.login("alice")["access_token"])


def _snapshot(app) -> tuple:
    from sqlalchemy import func, select

    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent, Device, Gateway, IpLease

    with app.app_context():
        return (
            db.session.execute(select(func.count()).select_from(Device)).scalar_one(),
            db.session.execute(select(func.count()).select_from(IpLease)).scalar_one(),
            db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
            tuple(db.session.execute(select(Gateway.revision).order_by(Gateway.id)).scalars()),
        )


def _enroll(client, headers) -> dict:
    r = client.post(E, json=enroll_body(), headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["device"]


# ------------------------------------------------------------------ step 1: create / update


def test_new_device_is_201_with_device_and_profile(app, client, user):
    uid, h = user
    gid, _ = make_gateway(app)
    body = enroll_body(name="  work laptop  ")
    r = client.post(E, json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    d = r.get_json()["device"]
    assert d["user_id"] == uid
    assert d["name"] == "work laptop"
    assert d["fingerprint"] == body["fingerprint"]
    assert d["public_key"] == body["public_key"]
    assert d["platform"] == "linux"
    assert d["status"] == "active"
    assert d["gateway_id"] == gid
    assert d["vpn_ip"] == "10.8.0.2"
    assert d["vpn_ip6"] is None
    assert d["profile_revision"] == 1
    assert d["rotation_required"] is False
    assert d["online"] is False
    assert d["last_handshake_at"] is None
    assert set(d) >= {"id", "created_at", "last_sync_at"}
    p = r.get_json()["profile"]
    assert p["revision"] == 1
    assert p["rotation_required"] is False


def test_reenroll_same_fingerprint_is_200_same_record_and_address(app, client, user):
    _, h = user
    make_gateway(app)
    body = enroll_body()
    first = client.post(E, json=body, headers=h).get_json()["device"]
    again = client.post(E, json={**body, "name": "renamed"}, headers=h)
    assert again.status_code == 200
    d = again.get_json()["device"]
    assert d["id"] == first["id"]
    assert d["vpn_ip"] == first["vpn_ip"]
    assert d["name"] == "renamed"
    # Same key: the profile did not change, so neither did its revision.
    assert d["profile_revision"] == first["profile_revision"]


def test_reenroll_with_new_key_bumps_revision_and_replaces_peer(app, client, api, user):
    _, h = user
    gid, token = make_gateway(app)
    body = enroll_body()
    first = client.post(E, json=body, headers=h).get_json()["device"]
    rev = gateway_revision(app, gid)
    key2 = new_key()
    d = client.post(E, json={**body, "public_key": key2}, headers=h).get_json()["device"]
    assert d["id"] == first["id"] and d["vpn_ip"] == first["vpn_ip"]
    assert d["profile_revision"] == first["profile_revision"] + 1
    assert gateway_revision(app, gid) > rev
    peers = client.get("/api/v1/gateway-agent/config", headers=agent_headers(token)).get_json()
    assert [p["public_key"] for p in peers["peers"]] == [key2]
    # The old key is free again: another device (signed in on its own) may use it.
    other = client.post(
        E, json=enroll_body(public_key=body["public_key"]), headers=api.new_session("alice")
    )
    assert other.status_code == 201


def test_same_fingerprint_of_another_user_is_a_separate_device(app, client, api, user):
    _, h = user
    make_gateway(app)
    body = enroll_body()
    a = client.post(E, json=body, headers=h).get_json()["device"]
    hb = api.user_headers("bob")
    b = client.post(E, json={**body, "public_key": new_key()}, headers=hb)
    assert b.status_code == 201
    assert b.get_json()["device"]["id"] != a["id"]
    assert b.get_json()["device"]["vpn_ip"] != a["vpn_ip"]


# ------------------------------------------------------------------ step 2: gateway choice


def test_least_loaded_usable_gateway_is_chosen(app, client, api):
    g1, _ = make_gateway(app, "gw1", vpn_cidr="10.8.0.0/24")
    g2, _ = make_gateway(app, "gw2", vpn_cidr="10.9.0.0/24")
    make_gateway(app, "off", vpn_cidr="10.10.0.0/24", online=False)
    make_gateway(app, "disabled", vpn_cidr="10.11.0.0/24", enabled=False)
    make_gateway(app, "nokey", vpn_cidr="10.12.0.0/24", public_key=None)
    api.create_user("u1")
    got = [
        client.post(E, json=enroll_body(), headers=api.new_session("u1")).get_json()["device"]
        for _ in range(4)
    ]
    assert [d["gateway_id"] for d in got] == [g1, g2, g1, g2]
    assert [d["vpn_ip"] for d in got] == ["10.8.0.2", "10.9.0.2", "10.8.0.3", "10.9.0.3"]


def test_reenroll_keeps_its_gateway_while_usable_and_moves_when_not(app, client, user):
    _, h = user
    g1, _ = make_gateway(app, "gw1", vpn_cidr="10.8.0.0/24")
    body = enroll_body()
    d1 = client.post(E, json=body, headers=h).get_json()["device"]
    assert d1["gateway_id"] == g1
    g2, _ = make_gateway(app, "gw2", vpn_cidr="10.9.0.0/24")
    # gw2 is now less loaded, but the device stays where it is.
    d2 = client.post(E, json=body, headers=h).get_json()["device"]
    assert (d2["gateway_id"], d2["vpn_ip"]) == (g1, d1["vpn_ip"])
    rev1, rev2 = gateway_revision(app, g1), gateway_revision(app, g2)
    update_gateway(app, g1, enabled=False)
    d3 = client.post(E, json=body, headers=h).get_json()["device"]
    assert (d3["gateway_id"], d3["vpn_ip"]) == (g2, "10.9.0.2")
    assert d3["profile_revision"] == d2["profile_revision"] + 1
    assert leases(app) == [(g2, 2, d1["id"])]
    assert gateway_revision(app, g1) > rev1 and gateway_revision(app, g2) > rev2


def test_gateway_online_window_is_configurable(app):
    from datetime import timedelta

    from nexavpn_api.extensions import db
    from nexavpn_api.models import Gateway
    from nexavpn_api.models._types import utcnow
    from nexavpn_api.services.enrollment import gateway_usable

    app.config["NEXAVPN_GATEWAY_ONLINE_SECONDS"] = 10
    gid, _ = make_gateway(app)
    with app.app_context():
        gw = db.session.get(Gateway, gid)
        assert gateway_usable(gw)
        gw.last_seen_at = utcnow() - timedelta(seconds=30)
        assert not gateway_usable(gw)
        app.config["NEXAVPN_GATEWAY_ONLINE_SECONDS"] = 60
        assert gateway_usable(gw)
        db.session.rollback()


# ------------------------------------------------------------------ step 3: addresses


def test_ipv6_pool_shares_the_host_offset(app, client, user):
    _, h = user
    make_gateway(app, vpn_cidr="10.8.0.0/24", vpn_cidr6="fd8a::/64")
    d = client.post(E, json=enroll_body(), headers=h).get_json()
    assert d["device"]["vpn_ip"] == "10.8.0.2"
    assert d["device"]["vpn_ip6"] == "fd8a::2"
    assert d["profile"]["interface"]["addresses"] == ["10.8.0.2/32", "fd8a::2/128"]


def test_deleted_devices_address_is_reused(app, client, api, user, admin_headers):
    _, h = user
    gid, _ = make_gateway(app)
    ids = [_enroll(client, api.new_session("alice"))["id"] for _ in range(3)]
    assert client.delete(f"/api/v1/devices/{ids[0]}", headers=admin_headers).status_code == 204
    d = client.post(E, json=enroll_body(), headers=h).get_json()["device"]
    assert d["vpn_ip"] == "10.8.0.2"
    assert sorted(o for _, o, _ in leases(app, gid)) == [2, 3, 4]


# ------------------------------------------------------------------ step 4: policies


def test_destinations_from_enabled_policies_of_user_and_groups(app, client, user):
    uid, h = user
    make_gateway(app)
    make_policy(app, "wiki", ["10.20.0.0/25", "fd00:20::/64"], user_ids=[uid])
    make_policy(app, "eng-net", ["10.20.0.0/24"], groups=["eng"])
    make_policy(app, "ops", ["192.168.5.0/24"], groups=["ops"])
    make_policy(app, "off", ["172.16.0.0/12"], user_ids=[uid], enabled=False)
    p = client.post(E, json=enroll_body(), headers=h).get_json()["profile"]
    assert p["peer"]["allowed_ips"] == ["10.20.0.0/24", "fd00:20::/64", "10.8.0.1/32"]
    assert p["allowed_resources"] == [
        {"destination": "10.20.0.0/24", "policy": "eng-net"},
        {"destination": "fd00:20::/64", "policy": "wiki"},
    ]


def test_full_tunnel_policy_gives_default_routes(app, client, user):
    uid, h = user
    make_gateway(app)
    make_policy(app, "all", ["0.0.0.0/0", "::/0"], user_ids=[uid])
    p = client.post(E, json=enroll_body(), headers=h).get_json()["profile"]
    assert p["peer"]["allowed_ips"] == ["0.0.0.0/0", "::/0"]  # the DNS server is inside
    assert "AllowedIPs = 0.0.0.0/0, ::/0" in p["config"]


# ------------------------------------------------------------------ step 5: gateway desired state


def test_enrolled_peer_appears_in_gateway_config(app, client, user):
    uid, h = user
    gid, token = make_gateway(app, vpn_cidr6="fd8a::/64")
    make_policy(app, "wiki", ["10.20.0.0/24"], user_ids=[uid])
    rev = gateway_revision(app, gid)
    body = enroll_body()
    client.post(E, json=body, headers=h)
    assert gateway_revision(app, gid) > rev
    cfg = client.get("/api/v1/gateway-agent/config", headers=agent_headers(token)).get_json()
    assert cfg["peers"] == [
        {
            "public_key": body["public_key"],
            "allowed_ips": ["10.8.0.2/32", "fd8a::2/128"],
            "destinations": ["10.20.0.0/24"],
            "device_id": cfg["peers"][0]["device_id"],
        }
    ]


# ------------------------------------------------------------------ step 6: profile


def test_profile_config_is_complete_and_parses_back_to_the_same_data(app, client, user):
    uid, h = user
    make_gateway(
        app,
        vpn_cidr6="fd8a::/64",
        dns=["10.8.0.1", "fd8a::1"],
        mtu=1380,
        endpoint="[2001:db8::1]:51820",
    )
    make_policy(app, "net", ["10.20.0.0/24"], user_ids=[uid])
    p = client.post(E, json=enroll_body(), headers=h).get_json()["profile"]
    assert p["interface"] == {
        "addresses": ["10.8.0.2/32", "fd8a::2/128"],
        "dns": ["10.8.0.1", "fd8a::1"],
        "mtu": 1380,
    }
    assert p["peer"]["endpoint"] == "[2001:db8::1]:51820"
    assert p["peer"]["persistent_keepalive"] == 25
    cfg = parse(p["config"])
    assert cfg.interface.private_key == PRIVATE_KEY_PLACEHOLDER
    assert list(cfg.interface.addresses) == p["interface"]["addresses"]
    assert list(cfg.interface.dns) == p["interface"]["dns"]
    assert cfg.interface.mtu == 1380
    (peer,) = cfg.peers
    assert peer.public_key == p["peer"]["public_key"]
    assert list(peer.allowed_ips) == p["peer"]["allowed_ips"]
    assert peer.endpoint == p["peer"]["endpoint"]
    assert peer.persistent_keepalive == 25


# ------------------------------------------------------------------ step 7: audit


def test_enroll_and_reenroll_are_audited(app, client, user):
    _, h = user
    make_gateway(app)
    body = enroll_body()
    did = client.post(E, json=body, headers=h).get_json()["device"]["id"]
    client.post(E, json=body, headers=h)
    assert audit_actions(app, did) == ["device.enroll", "device.reenroll"]


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"private_key": "x"}, "private_key"),
        ({"fingerprint": "short"}, "fingerprint"),
        ({"fingerprint": "a" * 20 + " " + "b" * 20}, "fingerprint"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "bad\nname"}, "name"),
        ({"name": "bad\u2028name"}, "name"),
        ({"platform": "android"}, "platform"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_400_naming_the_field(app, client, user, change, field):
    _, h = user
    make_gateway(app)
    before = _snapshot(app)
    r = client.post(E, json=enroll_body(**change), headers=h)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["code"] == "validation_error"
    assert field in r.get_json()["error"]["details"]
    assert _snapshot(app) == before


@pytest.mark.parametrize("key", ["", "abc", "A" * 44, "not a key" * 5, 42])
def test_invalid_public_key_is_400(app, client, user, key):
    _, h = user
    make_gateway(app)
    r = client.post(E, json=enroll_body(public_key=key), headers=h)
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] in {"invalid_public_key", "validation_error"}
    assert "public_key" in r.get_json()["error"]["details"]


def test_missing_fields_and_no_auth(app, client, user):
    _, h = user
    r = client.post(E, json={"name": "x"}, headers=h)
    assert r.status_code == 400
    assert {"fingerprint", "public_key", "platform"} <= set(r.get_json()["error"]["details"])
    assert client.post(E, json=enroll_body()).status_code == 401


def test_public_key_of_another_device_is_409(app, client, api, user):
    _, h = user
    make_gateway(app)
    body = enroll_body()
    client.post(E, json=body, headers=h)
    hb = api.user_headers("bob")
    before = _snapshot(app)
    r = client.post(E, json=enroll_body(public_key=body["public_key"]), headers=hb)
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "public_key_in_use"
    assert _snapshot(app) == before


def test_device_limit_is_403_and_revoked_devices_do_not_count(app, client, api):
    app.config["NEXAVPN_DEVICE_LIMIT"] = 2
    h = api.user_headers("carol")  # the user's browser: enrolls nothing
    make_gateway(app)
    ids = [_enroll(client, api.new_session("carol"))["id"] for _ in range(2)]
    third = api.new_session("carol")
    before = _snapshot(app)
    r = client.post(E, json=enroll_body(), headers=third)
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "device_limit_reached"
    assert _snapshot(app) == before
    assert client.post(f"/api/v1/devices/{ids[0]}/revoke", json={}, headers=h).status_code == 200
    assert client.post(E, json=enroll_body(), headers=third).status_code == 201


def test_reenroll_at_the_limit_is_allowed(app, client, api):
    app.config["NEXAVPN_DEVICE_LIMIT"] = 1
    h = api.user_headers("dave")
    make_gateway(app)
    body = enroll_body()
    assert client.post(E, json=body, headers=h).status_code == 201
    assert client.post(E, json=body, headers=h).status_code == 200
    r = client.post(E, json=enroll_body(), headers=api.new_session("dave"))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "device_limit_reached"


def test_full_pool_is_409_and_nothing_is_written(app, client, api, user):
    _, h = user
    # /30: network .0, gateway .1, one device .2, broadcast .3.
    make_gateway(app, vpn_cidr="10.8.0.0/30")
    d = client.post(E, json=enroll_body(), headers=h).get_json()["device"]
    assert d["vpn_ip"] == "10.8.0.2"
    second = api.new_session("alice")
    before = _snapshot(app)
    r = client.post(E, json=enroll_body(), headers=second)
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "ip_pool_exhausted"
    assert _snapshot(app) == before


def test_no_active_gateway_is_503_and_nothing_is_written(app, client, user):
    _, h = user
    make_gateway(app, "offline", online=False)
    make_gateway(app, "disabled", vpn_cidr="10.9.0.0/24", enabled=False)
    before = _snapshot(app)
    r = client.post(E, json=enroll_body(), headers=h)
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "no_active_gateway"
    assert _snapshot(app) == before


def test_no_gateway_at_all_is_503(app, client, user):
    _, h = user
    r = client.post(E, json=enroll_body(), headers=h)
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "no_active_gateway"


def test_second_gateway_takes_over_when_first_is_full(app, client, api, user):
    g1, _ = make_gateway(app, "small", vpn_cidr="10.8.0.0/30")
    g2, _ = make_gateway(app, "big", vpn_cidr="10.9.0.0/24")
    got = [
        client.post(E, json=enroll_body(), headers=api.new_session("alice")).get_json()["device"]
        for _ in range(3)
    ]
    assert sorted(d["gateway_id"] for d in got) == [g1, g2, g2]
    assert device_row(app, got[0]["id"])["status"] == "active"
