"""Address allocation: pool edges, lowest-free reuse, IPv4/IPv6 offsets, and SQL-only search."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert

from tests.backend.provisioning_helpers import E, enroll_body, leases, make_gateway


@pytest.mark.parametrize(
    ("cidr", "cidr6", "expected"),
    [
        ("10.8.0.0/29", None, ["10.8.0.2", "10.8.0.3", "10.8.0.4", "10.8.0.5", "10.8.0.6"]),
        ("10.8.0.0/30", None, ["10.8.0.2"]),
        ("10.8.0.0/31", None, ["10.8.0.1"]),  # RFC 3021: gateway .0, device .1
        ("10.8.0.0/32", None, []),
        ("10.8.0.0/24", "fd8a::/126", ["10.8.0.2", "10.8.0.3"]),
        ("10.8.0.0/24", "fd8a::/127", []),  # the v6 pool leaves no device offset
    ],
)
def test_pool_edges_over_http(app, client, api, cidr, cidr6, expected):
    make_gateway(app, vpn_cidr=cidr, vpn_cidr6=cidr6)
    api.create_user("u", groups=[])
    app.config["NEXAVPN_DEVICE_LIMIT"] = 100
    got = []
    for _ in range(len(expected)):
        r = client.post(E, json=enroll_body(), headers=api.new_session("u"))
        assert r.status_code == 201, r.get_json()
        got.append(r.get_json()["device"]["vpn_ip"])
    assert got == expected
    r = client.post(E, json=enroll_body(), headers=api.new_session("u"))
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "ip_pool_exhausted"


def test_pool_layout_combination(app):
    from nexavpn_api.models import Gateway
    from nexavpn_api.services.ipam import pools_of

    gw = Gateway(vpn_cidr="10.8.0.0/24", vpn_cidr6="fd8a::/64")
    p = pools_of(gw)
    assert (p.first, p.last, p.capacity) == (2, 254, 253)
    assert p.addresses(7) == ("10.8.0.7", "fd8a::7")
    assert p.interfaces(7) == ["10.8.0.7/32", "fd8a::7/128"]
    assert p.gateway_interface() == ("10.8.0.1/24", "fd8a::1/64")
    p16 = pools_of(Gateway(vpn_cidr="10.8.0.0/16", vpn_cidr6=None))
    assert (p16.first, p16.last, p16.capacity) == (2, 65534, 65533)
    assert p16.addresses(256) == ("10.8.1.0", None)


def _fill(app, gateway_id: int, offsets: list[int]) -> None:
    """Insert devices and leases at ``offsets`` in bulk (fast, straight SQL)."""
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device, IpLease, User
    from nexavpn_api.services.passwords import hash_password

    with app.app_context():
        user = User(
            username=f"bulk{gateway_id}-{offsets[0]}-{len(offsets)}",
            role="user",
            password_hash=hash_password("x" * 8),
        )
        db.session.add(user)
        db.session.flush()
        rows = [
            {
                "user_id": user.id,
                "gateway_id": gateway_id,
                "name": f"d{o}",
                "fingerprint": f"fp-{gateway_id}-{o:012d}",
                "public_key": f"k{gateway_id:04d}{o:038d}=",
                "platform": "linux",
                "status": "active",
                "profile_revision": 1,
                "rotation_required": False,
                "resources": [],
                "rx_bytes": 0,
                "tx_bytes": 0,
            }
            for o in offsets
        ]
        ids = []
        for start in range(0, len(rows), 5000):
            res = db.session.execute(
                insert(Device).returning(Device.id), rows[start : start + 5000]
            )
            ids.extend(res.scalars().all())
        leases = [
            {"gateway_id": gateway_id, "offset": o, "device_id": d}
            for o, d in zip(offsets, ids, strict=True)
        ]
        # One multi-row INSERT per chunk: a 50,000-statement executemany kept PostgreSQL busy
        # long enough (a lease-count trigger run each) to trip the client's TCP user timeout.
        for start in range(0, len(leases), 5000):
            db.session.execute(insert(IpLease).values(leases[start : start + 5000]))
        db.session.commit()


def _lowest(app, gateway_id: int) -> int | None:
    from nexavpn_api.extensions import db
    from nexavpn_api.models import Gateway
    from nexavpn_api.services import ipam

    with app.app_context():
        gw = db.session.get(Gateway, gateway_id)
        return ipam.lowest_free_offset(gw.id, ipam.pools_of(gw))


def test_lowest_free_offset_fills_holes_first(app):
    gid, _ = make_gateway(app, vpn_cidr="10.8.0.0/24")
    assert _lowest(app, gid) == 2
    _fill(app, gid, [2, 3, 4, 6, 7, 9])
    assert _lowest(app, gid) == 5
    _fill(app, gid, [5])
    assert _lowest(app, gid) == 8
    _fill(app, gid, [8])
    assert _lowest(app, gid) == 10  # dense again: max + 1


def test_hole_at_the_first_offset(app):
    gid, _ = make_gateway(app, vpn_cidr="10.8.0.0/24")
    _fill(app, gid, [3, 4, 5])
    assert _lowest(app, gid) == 2


def test_full_pool_and_last_offset(app):
    gid, _ = make_gateway(app, vpn_cidr="10.8.0.0/28")  # devices .2-.14
    _fill(app, gid, list(range(2, 14)))
    assert _lowest(app, gid) == 14
    _fill(app, gid, [14])
    assert _lowest(app, gid) is None


def test_offsets_of_another_gateway_do_not_count(app):
    g1, _ = make_gateway(app, "g1", vpn_cidr="10.8.0.0/24")
    g2, _ = make_gateway(app, "g2", vpn_cidr="10.9.0.0/24")
    _fill(app, g1, [2, 3, 4])
    assert _lowest(app, g2) == 2
    assert _lowest(app, g1) == 5


@pytest.mark.slow
def test_allocation_at_50000_devices_uses_a_few_indexed_queries(app, client, api):
    """No device rows are read and the statement count does not grow with the pool."""
    from nexavpn_api.extensions import db

    gid, _ = make_gateway(app, vpn_cidr="10.0.0.0/14")
    _fill(app, gid, [o for o in range(2, 50_002) if o != 30_000])
    from nexavpn_api.models._types import utcnow
    from tests.backend.provisioning_helpers import update_gateway

    update_gateway(app, gid, last_seen_at=utcnow())  # the fill may outlast the online window
    statements: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    api.create_user("big")
    h1, h2 = api.new_session("big"), api.new_session("big")
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        r1 = client.post(E, json=enroll_body(), headers=h1)
        r2 = client.post(E, json=enroll_body(), headers=h2)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert r1.status_code == 201, r1.get_json()
    assert r2.status_code == 201, r2.get_json()
    assert r1.get_json()["device"]["vpn_ip"] == "10.0.117.48"  # offset 30000: the hole
    assert r2.get_json()["device"]["vpn_ip"] == "10.0.195.82"  # offset 50002: max + 1
    # Every read of devices or leases is narrowed by an indexed WHERE (no table-wide scan
    # into Python); the number of statements does not depend on the pool size.
    unbounded = [
        st
        for st in statements
        if st.lstrip().upper().startswith("SELECT")
        and ("FROM devices" in st or "FROM ip_leases" in st)
        and "WHERE" not in st
    ]
    assert unbounded == []
    assert len(statements) < 60
    assert len(leases(app, gid)) == 50_001
