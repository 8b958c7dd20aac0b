"""Policies: CRUD, strict destinations, user/group references, re-provisioning, audit."""

from __future__ import annotations

import pytest

from nexavpn_shared.keys import generate_keypair

POL = "/api/v1/policies"


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


def _device(app, user_id, n=2):
    """An active device of ``user_id`` on a gateway made here; returns the device id."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, Gateway

    with app.app_context():
        gw = db.session.execute(db.select(Gateway)).scalar()
        if gw is None:
            gw = Gateway(
                name="gw", endpoint="h.example:1", vpn_cidr="10.8.0.0/24", agent_token_hash="f" * 64
            )
            db.session.add(gw)
            db.session.flush()
        dev = Device(
            user_id=user_id,
            gateway_id=gw.id,
            name=f"d{n}",
            fingerprint=f"{n:064x}",
            public_key=generate_keypair().public_key,
            platform="macos",
            status="active",
            vpn_ip=f"10.8.0.{n}",
        )
        db.session.add(dev)
        db.session.commit()
        return dev.id


def _dev(app, dev_id):
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device

    with app.app_context():
        d = db.session.get(Device, dev_id)
        return d.profile_revision, [r["destination"] for r in d.resources]


def test_crud_and_audit(app, api, client, admin_headers):
    u1 = api.create_user("u1")
    resp = client.post(
        POL,
        json={
            "name": " Engineering ",
            "description": "eng nets",
            "user_ids": [u1, u1],
            "groups": ["eng", "eng"],
            "destinations": ["10.20.0.0/24", "FD00:20::/64", "10.20.0.0/24", "192.0.2.1"],
        },
        headers=admin_headers,
    )
    assert resp.status_code == 201, resp.get_json()
    pol = resp.get_json()
    assert set(pol) == {
        "id",
        "name",
        "description",
        "enabled",
        "user_ids",
        "groups",
        "destinations",
    }
    assert pol["name"] == "Engineering" and pol["enabled"] is True
    assert pol["user_ids"] == [u1] and pol["groups"] == ["eng"]
    assert pol["destinations"] == ["10.20.0.0/24", "fd00:20::/64", "192.0.2.1/32"]

    assert client.get(f"{POL}/{pol['id']}", headers=admin_headers).get_json() == pol
    page = client.get(POL, headers=admin_headers).get_json()
    assert page["total"] == 1 and page["items"] == [pol]

    resp = client.patch(
        f"{POL}/{pol['id']}", json={"enabled": False, "groups": []}, headers=admin_headers
    )
    assert resp.status_code == 200
    assert resp.get_json()["enabled"] is False and resp.get_json()["groups"] == []

    assert client.delete(f"{POL}/{pol['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"{POL}/{pol['id']}", headers=admin_headers).status_code == 404
    assert client.patch(f"{POL}/{pol['id']}", json={}, headers=admin_headers).status_code == 404

    assert _audit(app, "policy.create")[0][1]["destinations"] == pol["destinations"]
    assert _audit(app, "policy.update")[0][1]["changed"] == ["enabled", "groups"]
    assert _audit(app, "policy.delete") == [(str(pol["id"]), {"name": "Engineering"})]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"destinations": ["10.20.0.1/24"]}, "destinations"),
        ({"destinations": ["fd00:20::1/64"]}, "destinations"),
        ({"destinations": ["10.20.0.0/33"]}, "destinations"),
        ({"destinations": ["10.20.0.0/255.255.255.0"]}, "destinations"),
        ({"destinations": ["example.com"]}, "destinations"),
        ({"destinations": [42]}, "destinations"),
        ({"destinations": "10.0.0.0/8"}, "destinations"),
        ({"name": ""}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"name": "line\nbreak"}, "name"),
        ({"user_ids": [999999]}, "user_ids"),
        ({"user_ids": ["1"]}, "user_ids"),
        ({"groups": ["has space"]}, "groups"),
        ({"enabled": "yes please"}, "enabled"),
        ({"owner": "me"}, "owner"),
    ],
)
def test_create_validation(client, admin_headers, body, field):
    full = {"name": "p", "destinations": ["10.0.0.0/8"], **body}
    resp = client.post(POL, json=full, headers=admin_headers)
    assert resp.status_code == 400, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == "validation_error" and field in err["details"], err


def test_host_bits_error_names_the_entry(client, admin_headers):
    resp = client.post(
        POL,
        json={"name": "p", "destinations": ["10.0.0.0/8", "10.20.0.5/24"]},
        headers=admin_headers,
    )
    details = resp.get_json()["error"]["details"]
    assert list(details["destinations"]) == ["1"]
    assert "host bits" in details["destinations"]["1"][0]


def test_missing_required_fields(client, admin_headers):
    resp = client.post(POL, json={"name": "p"}, headers=admin_headers)
    assert resp.status_code == 400 and "destinations" in resp.get_json()["error"]["details"]
    resp = client.post(POL, json={"destinations": []}, headers=admin_headers)
    assert resp.status_code == 400 and "name" in resp.get_json()["error"]["details"]


def test_names_unique(client, admin_headers):
    body = {"name": "Ops", "destinations": ["10.0.0.0/8"]}
    assert client.post(POL, json=body, headers=admin_headers).status_code == 201
    resp = client.post(POL, json={**body, "name": "ops"}, headers=admin_headers)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    other = client.post(POL, json={**body, "name": "dev"}, headers=admin_headers).get_json()
    resp = client.patch(f"{POL}/{other['id']}", json={"name": "OPS"}, headers=admin_headers)
    assert resp.status_code == 409


@pytest.mark.parametrize(
    ("first", "second"), [("Þ", "Þ"), ("Þ", "þ"), ("Straße", "STRASSE"), ("Ωmega", "ωMEGA")]
)
def test_names_unique_regardless_of_case_in_every_script(client, admin_headers, first, second):
    """Not only ASCII: a duplicate is 409 (never 500), on SQLite as on PostgreSQL."""
    body = {"destinations": ["10.0.0.0/8"]}
    assert client.post(POL, json={**body, "name": first}, headers=admin_headers).status_code == 201
    resp = client.post(POL, json={**body, "name": second}, headers=admin_headers)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    other = client.post(POL, json={**body, "name": "other"}, headers=admin_headers).get_json()
    resp = client.patch(f"{POL}/{other['id']}", json={"name": second}, headers=admin_headers)
    assert resp.status_code == 409


def test_gateway_names_unique_regardless_of_case_in_every_script(client, admin_headers):
    gw = {"endpoint": "vpn.example.com:51820"}
    first = client.post(
        "/api/v1/gateways",
        json={**gw, "name": "Þing", "vpn_cidr": "10.61.0.0/24"},
        headers=admin_headers,
    )
    assert first.status_code == 201
    resp = client.post(
        "/api/v1/gateways",
        json={**gw, "name": "þING", "vpn_cidr": "10.62.0.0/24"},
        headers=admin_headers,
    )
    assert resp.status_code == 409


def test_changes_reprovision_reached_devices(app, api, client, admin_headers):
    alice = api.create_user("alice", groups=["eng"])
    bob = api.create_user("bob")
    carol = api.create_user("carol")
    d_alice, d_bob, d_carol = (_device(app, u, n) for u, n in ((alice, 2), (bob, 3), (carol, 4)))

    pol = client.post(
        POL,
        json={
            "name": "eng",
            "groups": ["eng"],
            "user_ids": [bob],
            "destinations": ["10.20.0.0/24"],
        },
        headers=admin_headers,
    ).get_json()
    assert _dev(app, d_alice) == (2, ["10.20.0.0/24"])
    assert _dev(app, d_bob) == (2, ["10.20.0.0/24"])
    assert _dev(app, d_carol) == (1, [])

    # Moving the grant from bob to carol: both change (before + after), alice's list grows.
    resp = client.patch(
        f"{POL}/{pol['id']}",
        json={"user_ids": [carol], "destinations": ["10.20.0.0/24", "10.30.0.0/16"]},
        headers=admin_headers,
    )
    assert resp.status_code == 200
    assert _dev(app, d_bob) == (3, [])
    assert _dev(app, d_carol) == (2, ["10.20.0.0/24", "10.30.0.0/16"])
    assert _dev(app, d_alice) == (3, ["10.20.0.0/24", "10.30.0.0/16"])

    # A description edit changes no profile.
    client.patch(f"{POL}/{pol['id']}", json={"description": "x"}, headers=admin_headers)
    assert _dev(app, d_alice)[0] == 3

    # Disabling removes the destinations; deleting a disabled policy changes nothing more.
    client.patch(f"{POL}/{pol['id']}", json={"enabled": False}, headers=admin_headers)
    assert _dev(app, d_alice) == (4, [])
    client.patch(f"{POL}/{pol['id']}", json={"enabled": True}, headers=admin_headers)
    assert _dev(app, d_alice) == (5, ["10.20.0.0/24", "10.30.0.0/16"])
    assert client.delete(f"{POL}/{pol['id']}", headers=admin_headers).status_code == 204
    assert _dev(app, d_alice) == (6, [])
    assert _dev(app, d_carol) == (5, [])  # disabled, enabled, deleted


def test_filters(api, client, admin_headers):
    uid = api.create_user("fil")
    for name, extra in [
        ("alpha", {"user_ids": [uid]}),
        ("beta", {"groups": ["eng"], "enabled": False}),
        ("gamma", {}),
    ]:
        body = {"name": name, "destinations": ["10.0.0.0/8"], **extra}
        assert client.post(POL, json=body, headers=admin_headers).status_code == 201

    def names(query):
        resp = client.get(f"{POL}?{query}", headers=admin_headers)
        assert resp.status_code == 200
        return [p["name"] for p in resp.get_json()["items"]]

    assert names(f"user_id={uid}") == ["alpha"]
    assert names("group=eng") == ["beta"]
    assert names("enabled=false") == ["beta"]
    assert names("q=MM") == ["gamma"]
    assert names("per_page=1&page=3") == ["gamma"]


def test_users_cannot_touch_policies(api, client, admin_headers):
    pol = client.post(
        POL, json={"name": "p", "destinations": ["10.0.0.0/8"]}, headers=admin_headers
    ).get_json()
    headers = api.user_headers("plain")
    assert client.get(POL, headers=headers).status_code == 403
    assert client.get(f"{POL}/{pol['id']}", headers=headers).status_code == 403
    assert (
        client.post(POL, json={"name": "x", "destinations": []}, headers=headers).status_code == 403
    )
    assert client.delete(f"{POL}/{pol['id']}", headers=headers).status_code == 403
