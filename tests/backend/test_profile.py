"""GET /devices/{id}/profile: ETag/304, last_sync_at, access, and rendering safety."""

from __future__ import annotations

import pytest

from nexavpn_shared.wgconf import ConfigValueError, parse
from tests.backend.provisioning_helpers import E, device_row, enroll_body, make_gateway, make_policy

D = "/api/v1/devices"


@pytest.fixture
def enrolled(app, client, api):
    uid = api.create_user("alice")
    h = api.headers(api.login("alice")["access_token"])
    make_gateway(app, vpn_cidr6="fd8a::/64")
    make_policy(app, "net", ["10.20.0.0/24"], user_ids=[uid])
    r = client.post(E, json=enroll_body(), headers=h)
    return r.get_json(), h


def test_profile_matches_enroll_answer_and_has_etag(client, enrolled):
    body, h = enrolled
    r = client.get(f"{D}/{body['device']['id']}/profile", headers=h)
    assert r.status_code == 200
    assert r.headers["ETag"] == f'"{body["profile"]["revision"]}"'
    assert r.get_json() == body["profile"]
    assert set(r.get_json()) == {
        "revision",
        "rotation_required",
        "interface",
        "peer",
        "allowed_resources",
        "config",
    }


def test_if_none_match_gives_304_until_revision_changes(app, client, enrolled):
    body, h = enrolled
    url = f"{D}/{body['device']['id']}/profile"
    tag = client.get(url, headers=h).headers["ETag"]
    r = client.get(url, headers={**h, "If-None-Match": tag})
    assert r.status_code == 304
    assert r.data == b""
    assert r.headers["ETag"] == tag
    r = client.get(url, headers={**h, "If-None-Match": '"999"'})
    assert r.status_code == 200
    client.post(f"{D}/{body['device']['id']}/rotate", headers=h)
    r = client.get(url, headers={**h, "If-None-Match": tag})
    assert r.status_code == 200
    assert r.headers["ETag"] != tag


def test_profile_fetch_updates_last_sync_at(app, client, enrolled):
    body, h = enrolled
    did = body["device"]["id"]
    assert device_row(app, did)["last_sync_at"] is None
    client.get(f"{D}/{did}/profile", headers=h)
    first = device_row(app, did)["last_sync_at"]
    assert first is not None
    r = client.get(
        f"{D}/{did}/profile", headers={**h, "If-None-Match": f'"{body["profile"]["revision"]}"'}
    )
    assert r.status_code == 304
    assert device_row(app, did)["last_sync_at"] >= first
    assert client.get(f"{D}/{did}", headers=h).get_json()["last_sync_at"] is not None


def test_profile_access_owner_admin_not_others(client, api, enrolled, admin_headers):
    body, _ = enrolled
    url = f"{D}/{body['device']['id']}/profile"
    assert client.get(url, headers=admin_headers).status_code == 200
    other = api.user_headers("mallory")
    assert client.get(url, headers=other).status_code == 404
    assert client.get(url).status_code == 401
    assert client.get(f"{D}/424242/profile", headers=admin_headers).status_code == 404


def test_config_round_trips_through_the_parser(client, enrolled):
    body, _ = enrolled
    p = body["profile"]
    cfg = parse(p["config"])
    assert list(cfg.interface.addresses) == p["interface"]["addresses"]
    assert list(cfg.peers[0].allowed_ips) == p["peer"]["allowed_ips"]
    assert p["peer"]["allowed_ips"] == ["10.20.0.0/24", "10.8.0.1/32"]  # the DNS server too
    assert "PostUp" not in p["config"]


@pytest.mark.parametrize(
    "endpoint", ["vpn.example.com:51820\nPostUp = rm -rf /", "[Peer]:1", "a=b:1"]
)
def test_renderer_refuses_injection_from_stored_values(app, endpoint):
    """A hostile stored value must never turn into extra config lines."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, Gateway
    from nexavpn_api.services.profiles import build_profile
    from tests.backend.provisioning_helpers import new_key

    with app.app_context():
        gw = Gateway(
            name="g",
            endpoint=endpoint,
            public_key=new_key(),
            vpn_cidr="10.8.0.0/24",
            dns=[],
            mtu=1420,
            agent_token_hash="x" * 64,
        )
        dev = Device(
            user_id=1,
            name="n",
            fingerprint="f" * 16,
            public_key=new_key(),
            platform="linux",
            vpn_ip="10.8.0.2",
            profile_revision=1,
            resources=[],
        )
        with pytest.raises(ConfigValueError):
            build_profile(dev, gw)
        db.session.rollback()


def test_dns_servers_are_routed_through_the_tunnel(app, client, api):
    """Split tunnel: the DNS servers written into the profile are part of AllowedIPs (/32,
    /128), so a host on the local network holding that address never sees the queries."""
    uid = api.create_user("dora")
    h = api.headers(api.login("dora")["access_token"])
    _gw, token = make_gateway(app, vpn_cidr6="fd8a::/64", dns=["10.8.0.1", "fd8a::1"])
    make_policy(app, "net", ["10.20.0.0/24"], user_ids=[uid])
    p = client.post(E, json=enroll_body(), headers=h).get_json()["profile"]
    assert p["interface"]["dns"] == ["10.8.0.1", "fd8a::1"]
    assert p["peer"]["allowed_ips"] == ["10.20.0.0/24", "10.8.0.1/32", "fd8a::1/128"]
    cfg = parse(p["config"])
    assert list(cfg.peers[0].allowed_ips) == p["peer"]["allowed_ips"]
    assert list(cfg.interface.dns) == ["10.8.0.1", "fd8a::1"]
    # The gateway learns the DNS servers, to let every peer reach them on port 53.
    conf = client.get(
        "/api/v1/gateway-agent/config", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert conf["interface"]["dns"] == ["10.8.0.1", "fd8a::1"]
