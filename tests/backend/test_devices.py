"""Devices API: list/get scoping, delete, rotate, revoke (and revoke_sessions)."""

from __future__ import annotations

import pytest

from tests.backend.provisioning_helpers import (
    E,
    agent_headers,
    audit_actions,
    device_row,
    enroll_body,
    gateway_revision,
    leases,
    make_gateway,
)

D = "/api/v1/devices"


@pytest.fixture
def setup(app, client, api, admin_headers):
    """A gateway, two users with one device each, and the admin.

    ``ha``/``hb`` are the users' browser sessions; ``da``/``db`` the sessions of the devices'
    clients, which enrolled (and are bound to) the devices.
    """
    gid, token = make_gateway(app)
    ha = api.user_headers("alice")
    hb = api.user_headers("bob")
    da, db = api.new_session("alice"), api.new_session("bob")
    a = client.post(E, json=enroll_body(name="a-laptop"), headers=da).get_json()["device"]
    b = client.post(E, json=enroll_body(name="b-laptop"), headers=db).get_json()["device"]
    return {
        "gid": gid, "token": token, "ha": ha, "hb": hb, "da": da, "db": db,
        "a": a, "b": b, "admin": admin_headers,
    }


def test_user_lists_only_own_devices(client, setup):
    r = client.get(D, headers=setup["ha"])
    assert r.status_code == 200
    body = r.get_json()
    assert [d["id"] for d in body["items"]] == [setup["a"]["id"]]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 1)
    # Filtering by another user's id never reveals their devices.
    r = client.get(D, query_string={"user_id": setup["b"]["user_id"]}, headers=setup["ha"])
    assert r.get_json()["items"] == []


def test_admin_lists_all_with_filters(client, setup):
    adm = setup["admin"]
    assert client.get(D, headers=adm).get_json()["total"] == 2
    r = client.get(D, query_string={"user_id": setup["b"]["user_id"]}, headers=adm)
    assert [d["id"] for d in r.get_json()["items"]] == [setup["b"]["id"]]
    r = client.get(D, query_string={"gateway_id": setup["gid"]}, headers=adm)
    assert r.get_json()["total"] == 2
    r = client.get(D, query_string={"gateway_id": setup["gid"] + 100}, headers=adm)
    assert r.get_json()["total"] == 0
    client.post(f"{D}/{setup['a']['id']}/revoke", json={}, headers=adm)
    r = client.get(D, query_string={"status": "revoked"}, headers=adm)
    assert [d["id"] for d in r.get_json()["items"]] == [setup["a"]["id"]]
    r = client.get(D, query_string={"status": "active", "per_page": 1}, headers=adm)
    assert r.get_json()["total"] == 1 and len(r.get_json()["items"]) == 1


@pytest.mark.parametrize(
    "query",
    [{"per_page": 0}, {"per_page": 201}, {"page": 0}, {"status": "gone"}, {"user_id": "x"}],
)
def test_bad_list_query_is_400(client, setup, query):
    r = client.get(D, query_string=query, headers=setup["admin"])
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "validation_error"


def test_get_is_404_for_other_users_and_missing(client, setup):
    assert client.get(f"{D}/{setup['a']['id']}", headers=setup["ha"]).status_code == 200
    r = client.get(f"{D}/{setup['b']['id']}", headers=setup["ha"])
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert client.get(f"{D}/999999", headers=setup["admin"]).status_code == 404
    assert client.get(f"{D}/{setup['b']['id']}", headers=setup["admin"]).status_code == 200
    assert client.get(f"{D}/{setup['a']['id']}").status_code == 401


def test_rotate_sets_flag_bumps_revision_and_reenroll_with_new_key_clears_it(app, client, setup):
    a, ha = setup["a"], setup["da"]  # the device's own (bound) session may rotate it
    r = client.post(f"{D}/{a['id']}/rotate", headers=ha)
    assert r.status_code == 200
    assert r.get_json()["rotation_required"] is True
    assert r.get_json()["profile_revision"] == a["profile_revision"] + 1
    prof = client.get(f"{D}/{a['id']}/profile", headers=ha).get_json()
    assert prof["rotation_required"] is True
    assert prof["revision"] == a["profile_revision"] + 1
    row = device_row(app, a["id"])
    # Re-enrolling with the same key does not satisfy the rotation.
    same = {
        "name": a["name"],
        "fingerprint": a["fingerprint"],
        "public_key": a["public_key"],
        "platform": "linux",
    }
    r = client.post(E, json=same, headers=ha)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "public_key_in_use"
    fresh = enroll_body(name=a["name"], fingerprint=a["fingerprint"])
    r = client.post(E, json=fresh, headers=ha)
    assert r.status_code == 200
    d = r.get_json()["device"]
    assert d["rotation_required"] is False
    assert d["profile_revision"] == row["profile_revision"] + 1
    assert r.get_json()["profile"]["rotation_required"] is False
    assert audit_actions(app, a["id"]) == ["device.enroll", "device.rotate", "device.reenroll"]


def test_rotate_others_device_is_404_admin_may(client, setup):
    assert client.post(f"{D}/{setup['b']['id']}/rotate", headers=setup["ha"]).status_code == 404
    assert client.post(f"{D}/{setup['b']['id']}/rotate", headers=setup["admin"]).status_code == 200


def test_revoke_removes_peer_frees_address_and_profile_is_410(app, client, setup):
    a, ha, gid = setup["a"], setup["ha"], setup["gid"]
    rev = gateway_revision(app, gid)
    r = client.post(f"{D}/{a['id']}/revoke", headers=ha)  # no body at all is fine too
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "revoked"
    assert r.get_json()["revoked_at"]
    assert gateway_revision(app, gid) > rev
    cfg = client.get("/api/v1/gateway-agent/config", headers=agent_headers(setup["token"]))
    assert [p["public_key"] for p in cfg.get_json()["peers"]] == [setup["b"]["public_key"]]
    assert a["id"] not in [dev for _, _, dev in leases(app)]
    r = client.get(f"{D}/{a['id']}/profile", headers=ha)
    assert r.status_code == 410 and r.get_json()["error"]["code"] == "device_revoked"
    # The record stays for the audit trail.
    assert client.get(f"{D}/{a['id']}", headers=ha).get_json()["status"] == "revoked"
    assert "device.revoke" in audit_actions(app, a["id"])
    # Its address goes to the next device.
    n = client.post(E, json=enroll_body(), headers=ha).get_json()["device"]
    assert n["vpn_ip"] == a["vpn_ip"]
    # The user's session still works (no revoke_sessions).
    assert client.get(D, headers=ha).status_code == 200


def test_enrolling_a_revoked_fingerprint_makes_a_new_device(client, api, setup):
    a, ha = setup["a"], setup["ha"]
    client.post(f"{D}/{a['id']}/revoke", json={}, headers=ha)
    r = client.post(E, json=enroll_body(fingerprint=a["fingerprint"]), headers=ha)
    assert r.status_code == 201
    assert r.get_json()["device"]["id"] != a["id"]
    # The revoked device's old key never comes back, though.
    other = api.new_session("alice")
    r = client.post(E, json=enroll_body(public_key=a["public_key"]), headers=other)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "public_key_revoked"


def test_revoke_others_device_is_404(client, setup):
    assert (
        client.post(f"{D}/{setup['b']['id']}/revoke", json={}, headers=setup["ha"]).status_code
        == 404
    )


def test_user_cannot_ask_to_revoke_sessions(client, setup):
    r = client.post(
        f"{D}/{setup['a']['id']}/revoke", json={"revoke_sessions": True}, headers=setup["ha"]
    )
    assert r.status_code == 403
    assert (
        client.get(f"{D}/{setup['a']['id']}", headers=setup["ha"]).get_json()["status"] == "active"
    )


def test_revoke_body_is_validated(client, setup):
    r = client.post(f"{D}/{setup['a']['id']}/revoke", json={"nope": 1}, headers=setup["ha"])
    assert r.status_code == 400


def test_admin_revoke_with_sessions_ends_owner_sessions(client, api, setup):
    second = api.headers(api.login("alice")["access_token"])
    r = client.post(
        f"{D}/{setup['a']['id']}/revoke", json={"revoke_sessions": True}, headers=setup["admin"]
    )
    assert r.status_code == 200
    for h in (setup["ha"], second):
        assert client.get(D, headers=h).status_code == 401
    # Other users are untouched.
    assert client.get(D, headers=setup["hb"]).status_code == 200
    assert client.get(D, headers=setup["admin"]).status_code == 200


def test_revoke_twice_is_idempotent(app, client, setup):
    url = f"{D}/{setup['a']['id']}/revoke"
    assert client.post(url, json={}, headers=setup["ha"]).status_code == 200
    assert client.post(url, json={}, headers=setup["ha"]).status_code == 200
    assert audit_actions(app, setup["a"]["id"]).count("device.revoke") == 1


def test_delete_is_admin_only_revokes_first_and_frees_address(app, client, setup):
    a = setup["a"]
    assert client.delete(f"{D}/{a['id']}", headers=setup["ha"]).status_code == 403
    rev = gateway_revision(app, setup["gid"])
    assert client.delete(f"{D}/{a['id']}", headers=setup["admin"]).status_code == 204
    assert gateway_revision(app, setup["gid"]) > rev
    assert device_row(app, a["id"]) == {}
    assert client.get(f"{D}/{a['id']}", headers=setup["admin"]).status_code == 404
    assert client.delete(f"{D}/{a['id']}", headers=setup["admin"]).status_code == 404
    actions = audit_actions(app, a["id"])
    assert actions[-2:] == ["device.revoke", "device.delete"]
    n = client.post(E, json=enroll_body(), headers=setup["hb"]).get_json()["device"]
    assert n["vpn_ip"] == a["vpn_ip"]


def test_online_follows_handshake_window(app, client, setup):
    from datetime import timedelta

    from nexavpn_api.models._types import utcnow

    aid = setup["a"]["id"]
    _set_handshake(app, aid, utcnow() - timedelta(seconds=30))
    assert client.get(f"{D}/{aid}", headers=setup["ha"]).get_json()["online"] is True
    _set_handshake(app, aid, utcnow() - timedelta(seconds=500))
    assert client.get(f"{D}/{aid}", headers=setup["ha"]).get_json()["online"] is False
    app.config["NEXAVPN_PEER_ONLINE_SECONDS"] = 600
    assert client.get(f"{D}/{aid}", headers=setup["ha"]).get_json()["online"] is True


def _set_handshake(app, device_id, when):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device

    with app.app_context():
        db.session.get(Device, device_id).last_handshake_at = when
        db.session.commit()
