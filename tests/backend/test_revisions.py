"""Every change that alters a device's profile bumps its revision (and only those devices'),
and every change to a gateway's peer set bumps that gateway's revision."""

from __future__ import annotations

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


@pytest.fixture
def world(app, client, api):
    """Two gateways; alice (group eng) on g1, bob (group ops) on g2; one device each."""
    g1, t1 = make_gateway(app, "g1", vpn_cidr="10.1.0.0/24")
    alice = api.create_user("alice", groups=["eng"])
    ha = api.headers(api.login("alice")["access_token"])
    a = client.post(E, json=enroll_body(), headers=ha).get_json()["device"]
    g2, t2 = make_gateway(app, "g2", vpn_cidr="10.2.0.0/24")
    bob = api.create_user("bob", groups=["ops"])
    hb = api.headers(api.login("bob")["access_token"])
    b = client.post(E, json=enroll_body(), headers=hb).get_json()["device"]
    assert (a["gateway_id"], b["gateway_id"]) == (g1, g2)
    return {
        "g1": g1,
        "g2": g2,
        "t1": t1,
        "t2": t2,
        "alice": alice,
        "bob": bob,
        "a": a["id"],
        "b": b["id"],
        "ha": ha,
        "hb": hb,
    }


def _revs(app, w) -> tuple[int, int, int, int]:
    return (
        device_row(app, w["a"])["profile_revision"],
        device_row(app, w["b"])["profile_revision"],
        gateway_revision(app, w["g1"]),
        gateway_revision(app, w["g2"]),
    )


def _in_app(app, fn):
    from nexavpn_api.extensions import db

    with app.app_context():
        result = fn(db)
        db.session.commit()
        return result


def test_policy_create_for_a_group_bumps_only_its_members(app, client, world):
    before = _revs(app, world)
    make_policy(app, "eng-net", ["10.20.0.0/24"], groups=["eng"])
    after = _revs(app, world)
    assert after[0] == before[0] + 1 and after[2] > before[2]
    assert after[1] == before[1] and after[3] == before[3]
    cfg = client.get(C, headers=agent_headers(world["t1"])).get_json()
    assert cfg["peers"][0]["destinations"] == ["10.20.0.0/24"]
    prof = client.get(f"/api/v1/devices/{world['a']}/profile", headers=world["ha"]).get_json()
    assert prof["peer"]["allowed_ips"] == ["10.20.0.0/24", "10.8.0.1/32"]


def test_policy_edit_delete_and_disable_bump_affected_devices(app, world):
    from nexavpn_api.models import Policy
    from nexavpn_api.services import provisioning

    pid = make_policy(app, "direct", ["10.30.0.0/24"], user_ids=[world["bob"]])
    r0 = _revs(app, world)

    def edit(db):
        p = db.session.get(Policy, pid)
        affected = provisioning.user_ids_for_policy(pid)
        p.destinations = ["10.30.0.0/16"]
        db.session.flush()
        provisioning.refresh_users(affected | provisioning.user_ids_for_policy(pid))

    _in_app(app, edit)
    r1 = _revs(app, world)
    assert r1[1] == r0[1] + 1 and r1[3] > r0[3] and r1[0] == r0[0] and r1[2] == r0[2]
    assert device_row(app, world["b"])["resources"] == [
        {"destination": "10.30.0.0/16", "policy": "direct"}
    ]

    def disable(db):
        db.session.get(Policy, pid).enabled = False
        db.session.flush()
        provisioning.refresh_users(provisioning.user_ids_for_policy(pid))

    _in_app(app, disable)
    r2 = _revs(app, world)
    assert r2[1] == r1[1] + 1
    assert device_row(app, world["b"])["resources"] == []

    def enable_then_delete(db):
        db.session.get(Policy, pid).enabled = True
        db.session.flush()
        affected = provisioning.user_ids_for_policy(pid)
        provisioning.refresh_users(affected)
        db.session.delete(db.session.get(Policy, pid))
        db.session.flush()
        provisioning.refresh_users(affected)

    _in_app(app, enable_then_delete)
    r3 = _revs(app, world)
    assert device_row(app, world["b"])["resources"] == []
    # Re-enabled (+1) then deleted (+1) within one transaction.
    assert r3[1] == r2[1] + 2
    assert r3[0] == r0[0]


def test_a_change_that_does_not_alter_the_result_bumps_nothing(app, world):
    from nexavpn_api.services import provisioning

    make_policy(app, "wide", ["10.0.0.0/8"], user_ids=[world["alice"]])
    before = _revs(app, world)
    make_policy(app, "narrow-but-covered", ["10.40.0.0/24"], groups=[], user_ids=[], refresh=False)
    _in_app(app, lambda db: provisioning.refresh_users([world["alice"], world["bob"]]))
    assert _revs(app, world) == before


def test_removing_a_user_from_a_policy_bumps_them(app, world):
    from nexavpn_api.models import Policy
    from nexavpn_api.services import provisioning

    pid = make_policy(app, "p", ["10.60.0.0/24"], user_ids=[world["alice"], world["bob"]])
    before = _revs(app, world)

    def drop_bob(db):
        affected = provisioning.user_ids_for_policy(pid)
        db.session.get(Policy, pid).user_ids = [world["alice"]]
        db.session.flush()
        provisioning.refresh_users(affected | provisioning.user_ids_for_policy(pid))

    _in_app(app, drop_bob)
    after = _revs(app, world)
    assert after[0] == before[0]  # alice's result is unchanged
    assert after[1] == before[1] + 1
    assert device_row(app, world["b"])["resources"] == []


def test_user_groups_change_through_the_users_api(app, client, world, admin_headers):
    make_policy(app, "ops-net", ["192.168.9.0/24"], groups=["ops"])
    before = _revs(app, world)
    r = client.patch(
        f"/api/v1/users/{world['alice']}", json={"groups": ["eng", "ops"]}, headers=admin_headers
    )
    assert r.status_code == 200, r.get_json()
    after = _revs(app, world)
    assert after[0] == before[0] + 1 and after[2] > before[2]
    assert after[1] == before[1]
    assert device_row(app, world["a"])["resources"] == [
        {"destination": "192.168.9.0/24", "policy": "ops-net"}
    ]


def test_disabling_a_user_revokes_its_devices(app, client, world, admin_headers):
    before = _revs(app, world)
    r = client.patch(
        f"/api/v1/users/{world['bob']}", json={"disabled": True}, headers=admin_headers
    )
    assert r.status_code == 200, r.get_json()
    assert device_row(app, world["b"])["status"] == "revoked"
    assert gateway_revision(app, world["g2"]) > before[3]
    cfg = client.get(C, headers=agent_headers(world["t2"])).get_json()
    assert cfg["peers"] == []
    assert device_row(app, world["a"])["status"] == "active"


def test_deleting_a_user_removes_its_peers(app, client, world, admin_headers):
    before = _revs(app, world)
    r = client.delete(f"/api/v1/users/{world['bob']}", headers=admin_headers)
    assert r.status_code == 204
    assert device_row(app, world["b"]) == {}
    assert gateway_revision(app, world["g2"]) > before[3]
    assert client.get(C, headers=agent_headers(world["t2"])).get_json()["peers"] == []


def test_gateway_endpoint_change_bumps_its_devices_only(app, world):
    from nexavpn_api.models import Gateway
    from nexavpn_api.services import provisioning

    before = _revs(app, world)

    def change(db):
        db.session.get(Gateway, world["g1"]).endpoint = "new.example.com:51820"
        provisioning.refresh_gateway(world["g1"])

    _in_app(app, change)
    after = _revs(app, world)
    assert after[0] == before[0] + 1 and after[2] > before[2]
    assert after[1] == before[1] and after[3] == before[3]


def test_revoke_user_devices_counts_and_audits(app, world):
    from nexavpn_api.services import provisioning
    from tests.backend.provisioning_helpers import audit_actions

    n = _in_app(app, lambda db: provisioning.revoke_user_devices(world["alice"], actor=None))
    assert n == 1
    assert (
        _in_app(app, lambda db: provisioning.revoke_user_devices(world["alice"], actor=None)) == 0
    )
    assert audit_actions(app, world["a"])[-1] == "device.revoke"
    assert _in_app(app, lambda db: provisioning.active_device_count(world["g1"])) == 0
    assert _in_app(app, lambda db: provisioning.active_device_count(world["g2"])) == 1


def test_key_change_and_rotation_bump(app, client, world):
    dev = client.get(f"/api/v1/devices/{world['a']}", headers=world["ha"]).get_json()
    body = {"name": dev["name"], "fingerprint": dev["fingerprint"], "platform": "linux"}
    r0 = _revs(app, world)
    client.post(E, json={**body, "public_key": new_key()}, headers=world["ha"])
    r1 = _revs(app, world)
    assert r1[0] == r0[0] + 1 and r1[2] > r0[2]
    client.post(f"/api/v1/devices/{world['a']}/rotate", headers=world["ha"])
    r2 = _revs(app, world)
    assert r2[0] == r1[0] + 1
    assert r2[2] == r1[2]  # rotation alone does not change the gateway's peers


def test_user_ids_for_policy_direct_and_groups(app, api, world):
    from nexavpn_api.services import provisioning

    carol = api.create_user("carol", groups=["eng", "ops"])
    pid = make_policy(app, "mix", ["10.70.0.0/24"], user_ids=[world["bob"]], groups=["eng"])
    got = _in_app(app, lambda db: provisioning.user_ids_for_policy(pid))
    assert got == {world["bob"], world["alice"], carol}
