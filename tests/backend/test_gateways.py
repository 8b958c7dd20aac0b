"""Gateways: CRUD, validation of every field, pool overlap, one-time agent token, in-use rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nexavpn_shared.keys import generate_keypair

GWS = "/api/v1/gateways"


def _body(**over):
    body = {"name": "gw-1", "endpoint": "vpn.example.com:51820", "vpn_cidr": "10.8.0.0/24"}
    body.update(over)
    return body


def _audit(app, action):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import AuditEvent

    with app.app_context():
        return [
            (e.target_id, e.details)
            for e in db.session.execute(
                db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            ).scalars()
        ]


def _add_device(app, gateway_id, user_id, *, status="active", n=2):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, IpLease

    with app.app_context():
        dev = Device(
            user_id=user_id,
            gateway_id=gateway_id,
            name=f"d{n}",
            fingerprint=f"{n:064x}",
            public_key=generate_keypair().public_key,
            platform="linux",
            status=status,
            vpn_ip=f"10.8.0.{n}",
        )
        db.session.add(dev)
        db.session.flush()
        if status == "active":
            db.session.add(IpLease(gateway_id=gateway_id, offset=n, device_id=dev.id))
        db.session.commit()
        return dev.id


def test_create_answers_once_with_agent_token(app, client, admin_headers):
    pub = generate_keypair().public_key
    resp = client.post(
        GWS,
        json=_body(public_key=pub, vpn_cidr6="fd8a::/64", dns=["1.1.1.1", "2606:4700::1111"]),
        headers=admin_headers,
    )
    assert resp.status_code == 201, resp.get_json()
    gw = resp.get_json()
    token = gw.pop("agent_token")
    assert gw.pop("agent_command").startswith("nexavpn-gateway run --server ")
    assert len(token) >= 40
    for key in (
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
    ):
        assert key in gw
    assert gw["public_key"] == pub and gw["mtu"] == 1420 and gw["enabled"] is True
    assert gw["status"] == "offline" and gw["last_seen_at"] is None and gw["peer_count"] == 0
    assert gw["vpn_cidr6"] == "fd8a::/64" and gw["dns"] == ["1.1.1.1", "2606:4700::1111"]

    got = client.get(f"{GWS}/{gw['id']}", headers=admin_headers).get_json()
    assert "agent_token" not in got and got == gw
    listed = client.get(GWS, headers=admin_headers).get_json()
    assert listed["total"] == 1 and listed["items"] == [gw]

    from nexavpn_api.extensions import db
    from nexavpn_api.models import Gateway
    from nexavpn_api.security import hash_token

    with app.app_context():
        row = db.session.get(Gateway, gw["id"])
        assert row.agent_token_hash == hash_token(token) and token not in row.agent_token_hash
    created = _audit(app, "gateway.create")
    assert created[0][0] == str(gw["id"]) and token not in str(created)


def test_agent_token_authenticates_and_rotates(app, client, admin_headers):
    """The token is what agent_required accepts; rotation kills the old one at once."""
    from flask import g

    from nexavpn_api.security import agent_required

    created = client.post(GWS, json=_body(), headers=admin_headers).get_json()

    @agent_required
    def whoami():
        return g.gateway.id

    def call(token):
        with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
            try:
                return whoami()
            except Exception as exc:  # ApiError 401
                return getattr(exc, "status", exc)

    assert call(created["agent_token"]) == created["id"]
    resp = client.post(f"{GWS}/{created['id']}/token", headers=admin_headers)
    assert resp.status_code == 200
    new = resp.get_json()["agent_token"]
    assert new != created["agent_token"]
    assert call(new) == created["id"]
    assert call(created["agent_token"]) == 401
    assert _audit(app, "gateway.update")[-1][1] == {"changed": ["agent_token"]}


@pytest.mark.parametrize(
    ("over", "field", "code"),
    [
        ({"endpoint": "vpn.example.com"}, "endpoint", "validation_error"),
        ({"endpoint": "vpn.example.com:0"}, "endpoint", "validation_error"),
        ({"endpoint": "vpn.example.com:70000"}, "endpoint", "validation_error"),
        ({"endpoint": "bad host:51820"}, "endpoint", "validation_error"),
        ({"endpoint": "fd00::1:51820"}, "endpoint", "validation_error"),
        ({"vpn_cidr": "10.8.0.1/24"}, "vpn_cidr", "validation_error"),
        ({"vpn_cidr": "10.8.0.0/33"}, "vpn_cidr", "validation_error"),
        ({"vpn_cidr": "not-a-cidr"}, "vpn_cidr", "validation_error"),
        ({"vpn_cidr": "fd8a::/64"}, "vpn_cidr", "validation_error"),
        ({"vpn_cidr": "10.8.0.0/32"}, "vpn_cidr", "validation_error"),
        ({"vpn_cidr6": "fd8a::1/64"}, "vpn_cidr6", "validation_error"),
        ({"vpn_cidr6": "10.9.0.0/24"}, "vpn_cidr6", "validation_error"),
        ({"public_key": "abc"}, "public_key", "invalid_public_key"),
        ({"public_key": "A" * 42 + "B="}, "public_key", "invalid_public_key"),
        ({"public_key": "QUFB" * 11}, "public_key", "invalid_public_key"),
        ({"dns": ["1.1.1.1", "dns.example.com"]}, "dns", "validation_error"),
        ({"dns": "1.1.1.1"}, "dns", "validation_error"),
        # One validator per field type: what enrollment refuses, the gateway refuses too.
        ({"public_key": generate_keypair().public_key + "\n"}, "public_key", "invalid_public_key"),
        ({"vpn_cidr": "10.8.0.0/24\n"}, "vpn_cidr", "validation_error"),
        ({"vpn_cidr6": " fd8a::/64"}, "vpn_cidr6", "validation_error"),
        ({"dns": ["1.1.1.1\n"]}, "dns", "validation_error"),
        ({"mtu": 1279}, "mtu", "validation_error"),
        ({"mtu": 9001}, "mtu", "validation_error"),
        ({"mtu": "1420"}, "mtu", "validation_error"),
        ({"name": ""}, "name", "validation_error"),
        ({"name": "bad\nname"}, "name", "validation_error"),
        ({"name": "bad\u2028name"}, "name", "validation_error"),
        ({"name": "x" * 65}, "name", "validation_error"),
        ({"secret": "x"}, "secret", "validation_error"),
    ],
)
def test_create_validation(client, admin_headers, over, field, code):
    resp = client.post(GWS, json=_body(**over), headers=admin_headers)
    assert resp.status_code == 400, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == code and field in err["details"], err


def test_values_are_normalised(client, admin_headers):
    resp = client.post(
        GWS,
        json=_body(
            name="  edge  ",
            endpoint="VPN.Example.COM:443",
            vpn_cidr6="FD8A:0::/64",
            dns=["1.1.1.1", "1.1.1.1"],
            mtu=9000,
            enabled=False,
        ),
        headers=admin_headers,
    )
    assert resp.status_code == 201
    gw = resp.get_json()
    assert gw["name"] == "edge" and gw["endpoint"] == "vpn.example.com:443"
    assert gw["vpn_cidr6"] == "fd8a::/64" and gw["dns"] == ["1.1.1.1"]
    assert gw["mtu"] == 9000 and gw["enabled"] is False


def test_name_and_pools_must_not_clash(client, admin_headers):
    assert (
        client.post(GWS, json=_body(vpn_cidr6="fd8a::/64"), headers=admin_headers).status_code
        == 201
    )
    for over, field in [
        ({"name": "GW-1", "vpn_cidr": "10.9.0.0/24"}, "name"),
        ({"name": "gw-2", "vpn_cidr": "10.8.0.128/25"}, "vpn_cidr"),
        ({"name": "gw-2", "vpn_cidr": "10.0.0.0/8"}, "vpn_cidr"),
        ({"name": "gw-2", "vpn_cidr": "10.9.0.0/24", "vpn_cidr6": "fd8a::/48"}, "vpn_cidr6"),
    ]:
        resp = client.post(GWS, json=_body(**over), headers=admin_headers)
        assert resp.status_code == 409, over
        assert resp.get_json()["error"]["code"] == "conflict"
        assert field in resp.get_json()["error"]["details"]
    second = client.post(
        GWS, json=_body(name="gw-2", vpn_cidr="10.9.0.0/24"), headers=admin_headers
    )
    assert second.status_code == 201
    resp = client.patch(
        f"{GWS}/{second.get_json()['id']}", json={"vpn_cidr": "10.8.0.0/16"}, headers=admin_headers
    )
    assert resp.status_code == 409


def test_patch_bumps_profile_revisions_and_audits(app, api, client, admin_headers):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, Gateway

    gw = client.post(GWS, json=_body(), headers=admin_headers).get_json()
    uid = api.create_user("u1")
    dev = _add_device(app, gw["id"], uid)
    with app.app_context():
        rev_dev = db.session.get(Device, dev).profile_revision
        rev_gw = db.session.get(Gateway, gw["id"]).revision

    resp = client.patch(
        f"{GWS}/{gw['id']}", json={"mtu": 1380, "dns": ["9.9.9.9"]}, headers=admin_headers
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["mtu"] == 1380 and body["dns"] == ["9.9.9.9"] and body["peer_count"] == 1
    with app.app_context():
        assert db.session.get(Device, dev).profile_revision == rev_dev + 1
        assert db.session.get(Gateway, gw["id"]).revision > rev_gw
    upd = _audit(app, "gateway.update")
    assert upd[-1][1]["changed"] == ["dns", "mtu"]

    # A rename changes no profile.
    resp = client.patch(f"{GWS}/{gw['id']}", json={"name": "renamed"}, headers=admin_headers)
    assert resp.status_code == 200
    with app.app_context():
        assert db.session.get(Device, dev).profile_revision == rev_dev + 1

    # An unchanged PATCH writes nothing.
    n = len(_audit(app, "gateway.update"))
    assert (
        client.patch(f"{GWS}/{gw['id']}", json={"mtu": 1380}, headers=admin_headers).status_code
        == 200
    )
    assert len(_audit(app, "gateway.update")) == n

    # A bad key in a PATCH is the same 400 as on create; null clears a preset key.
    resp = client.patch(f"{GWS}/{gw['id']}", json={"public_key": "nope"}, headers=admin_headers)
    assert resp.get_json()["error"]["code"] == "invalid_public_key"
    resp = client.patch(f"{GWS}/{gw['id']}", json={"endpoint": None}, headers=admin_headers)
    assert resp.status_code == 400


def test_pool_change_and_delete_refused_while_devices_active(app, api, client, admin_headers):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device

    gw = client.post(GWS, json=_body(), headers=admin_headers).get_json()
    uid = api.create_user("u2")
    active = _add_device(app, gw["id"], uid, n=2)
    revoked = _add_device(app, gw["id"], uid, status="revoked", n=3)

    resp = client.patch(
        f"{GWS}/{gw['id']}", json={"vpn_cidr": "10.9.0.0/24"}, headers=admin_headers
    )
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "gateway_in_use"
    resp = client.delete(f"{GWS}/{gw['id']}", headers=admin_headers)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "gateway_in_use"

    with app.app_context():
        from nexavpn_api.services import provisioning

        provisioning.revoke_device(db.session.get(Device, active), actor=None)
        db.session.commit()
    resp = client.patch(
        f"{GWS}/{gw['id']}", json={"vpn_cidr": "10.9.0.0/24"}, headers=admin_headers
    )
    assert resp.status_code == 200 and resp.get_json()["vpn_cidr"] == "10.9.0.0/24"
    assert client.delete(f"{GWS}/{gw['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"{GWS}/{gw['id']}", headers=admin_headers).status_code == 404
    with app.app_context():
        for dev_id in (active, revoked):
            dev = db.session.get(Device, dev_id)
            assert dev is not None and dev.gateway_id is None and dev.status == "revoked"
    assert _audit(app, "gateway.delete")[0][1] == {"name": "gw-1"}


def test_status_follows_heartbeat_age(app, client, admin_headers):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Gateway
    from nexavpn_api.models._types import utcnow

    gw = client.post(GWS, json=_body(), headers=admin_headers).get_json()
    with app.app_context():
        db.session.get(Gateway, gw["id"]).last_seen_at = utcnow() - timedelta(seconds=10)
        db.session.commit()
    body = client.get(f"{GWS}/{gw['id']}", headers=admin_headers).get_json()
    assert body["status"] == "online" and body["last_seen_at"]
    with app.app_context():
        db.session.get(Gateway, gw["id"]).last_seen_at = utcnow() - timedelta(seconds=91)
        db.session.commit()
    assert client.get(f"{GWS}/{gw['id']}", headers=admin_headers).get_json()["status"] == "offline"
    app.config["NEXAVPN_GATEWAY_ONLINE_SECONDS"] = 120
    assert client.get(f"{GWS}/{gw['id']}", headers=admin_headers).get_json()["status"] == "online"


def test_users_cannot_touch_gateways(api, client, admin_headers):
    gw = client.post(GWS, json=_body(), headers=admin_headers).get_json()
    headers = api.user_headers("plain")
    assert client.get(GWS, headers=headers).status_code == 403
    assert client.get(f"{GWS}/{gw['id']}", headers=headers).status_code == 403
    assert client.post(GWS, json=_body(name="x"), headers=headers).status_code == 403
    assert client.patch(f"{GWS}/{gw['id']}", json={"mtu": 1400}, headers=headers).status_code == 403
    assert client.delete(f"{GWS}/{gw['id']}", headers=headers).status_code == 403
    assert client.post(f"{GWS}/{gw['id']}/token", headers=headers).status_code == 403
    assert client.get(GWS).status_code == 401
