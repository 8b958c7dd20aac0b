"""``gateways.lease_count`` is kept by database triggers: exact after every way a lease comes and
goes (enroll, revoke, delete, user deletion, a move to another gateway, a raw cascade), and
backfilled when migration 0002 runs on a database that already has leases."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.backend.provisioning_helpers import E, enroll_body, make_gateway, update_gateway


def _counts(app) -> dict[int, tuple[int, int]]:
    """gateway id → (kept lease_count, actual number of lease rows)."""
    from sqlalchemy import func, select

    from nexavpn_api.extensions import db
    from nexavpn_api.models import Gateway, IpLease

    with app.app_context():
        actual = dict(
            db.session.execute(
                select(IpLease.gateway_id, func.count()).group_by(IpLease.gateway_id)
            ).all()
        )
        kept = dict(db.session.execute(select(Gateway.id, Gateway.lease_count)).all())
        db.session.rollback()
    return {gid: (kept[gid], actual.get(gid, 0)) for gid in kept}


def _assert_exact(app, expected: dict[int, int]) -> None:
    counts = _counts(app)
    assert {gid: kept for gid, (kept, _) in counts.items()} == expected, counts
    assert all(kept == actual for kept, actual in counts.values()), counts


def _enroll(client, headers, **body) -> dict:
    r = client.post(E, json=enroll_body(**body), headers=headers)
    assert r.status_code in (200, 201), r.get_json()
    return r.get_json()["device"]


def test_count_follows_every_way_a_lease_comes_and_goes(app, client, api, admin_headers):
    g1, _ = make_gateway(app, "gw1", vpn_cidr="10.30.0.0/24")
    g2, _ = make_gateway(app, "gw2", vpn_cidr="10.31.0.0/24")
    api.create_user("alice")
    api.create_user("bob")
    # One session per device (a session that enrolls a device is bound to it).
    alice = [api.new_session("alice") for _ in range(3)]
    bob = [api.new_session("bob") for _ in range(3)]

    devices = [_enroll(client, h) for h in alice] + [_enroll(client, h) for h in bob]
    placed = [d["gateway_id"] for d in devices]
    # Least loaded first: the two gateways share the six devices.
    assert sorted(placed.count(g) for g in (g1, g2)) == [3, 3]
    _assert_exact(app, {g1: 3, g2: 3})

    revoke = client.post(
        f"/api/v1/devices/{devices[0]['id']}/revoke", json={}, headers=admin_headers
    )
    assert revoke.status_code == 200, revoke.get_json()
    by_gateway = {g1: placed.count(g1), g2: placed.count(g2)}
    by_gateway[placed[0]] -= 1
    _assert_exact(app, by_gateway)

    delete = client.delete(f"/api/v1/devices/{devices[1]['id']}", headers=admin_headers)
    assert delete.status_code == 204, delete.get_json()
    by_gateway[placed[1]] -= 1
    _assert_exact(app, by_gateway)

    # A device whose gateway goes away re-enrolls onto the other one: a move, both counts change.
    moved_from = placed[2]
    moved_to = g2 if moved_from == g1 else g1
    update_gateway(app, moved_from, enabled=False)
    fp = devices[2]["fingerprint"]
    again = _enroll(client, alice[2], fingerprint=fp)
    assert again["id"] == devices[2]["id"] and again["gateway_id"] == moved_to
    by_gateway[moved_from] -= 1
    by_gateway[moved_to] += 1
    _assert_exact(app, by_gateway)
    update_gateway(app, moved_from, enabled=True)

    bob_id = devices[3]["user_id"]
    gone = client.delete(f"/api/v1/users/{bob_id}", headers=admin_headers)
    assert gone.status_code == 204, gone.get_json()
    for d in devices[3:]:
        by_gateway[d["gateway_id"]] -= 1
    _assert_exact(app, by_gateway)


def test_a_raw_cascade_keeps_the_count(app, client, api):
    """Deleting a device row in SQL (the foreign key cascades to its lease) still counts."""
    from sqlalchemy import delete

    from nexavpn_api.extensions import db
    from nexavpn_api.models import Device

    gid, _ = make_gateway(app, "gw1", vpn_cidr="10.32.0.0/24")
    api.create_user("carol")
    first = _enroll(client, api.new_session("carol"))
    _enroll(client, api.new_session("carol"))
    _assert_exact(app, {gid: 2})
    with app.app_context():
        db.session.execute(delete(Device).where(Device.id == first["id"]))
        db.session.commit()
    _assert_exact(app, {gid: 1})


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """An empty database (no migrations yet): a SQLite file, or a scratch PostgreSQL database
    created beside the test database (the test database itself is at head already)."""
    from tests.backend_fixtures import PG_URL

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not PG_URL:
        pytest.skip("NEXAVPN_TEST_DATABASE_URL is not set")
    import psycopg

    name = f"nexavpn_mig_{secrets.token_hex(4)}"
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(PG_URL)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migration_backfills_existing_leases(empty_db_url, tmp_path):
    """A database at 0001 with leases gets the right counts when 0002 runs."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from nexavpn_api.app import create_app
    from nexavpn_api.extensions import db
    from tests.backend_fixtures import _base_config

    app = create_app(_base_config(empty_db_url, tmp_path))
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory, revision="0001")
        db.session.execute(
            text(
                "INSERT INTO gateways (id, name, endpoint, vpn_cidr, dns, mtu, enabled,"
                " agent_token_hash, revision, created_at, updated_at) VALUES"
                " (1, 'a', 'a.example:51820', '10.40.0.0/24', '[]', 1420, true, 'h1', 1,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00'),"
                " (2, 'b', 'b.example:51820', '10.41.0.0/24', '[]', 1420, true, 'h2', 1,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO users (id, username, password_hash, role, disabled, created_at,"
                " updated_at) VALUES (1, 'u', 'x', 'user', false, '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00')"
            )
        )
        for i in range(1, 6):
            gw = 1 if i <= 4 else 2
            db.session.execute(
                text(
                    "INSERT INTO devices (id, user_id, gateway_id, name, fingerprint, public_key,"
                    " platform, status, profile_revision, rotation_required, resources,"
                    " created_at, updated_at, rx_bytes, tx_bytes) VALUES (:i, 1, :gw, 'd', :fp,"
                    " :pk, 'linux', 'active', 1, false, '[]', '2026-01-01 00:00:00',"
                    " '2026-01-01 00:00:00', 0, 0)"
                ),
                {"i": i, "gw": gw, "fp": f"fp{i:016d}", "pk": f"pk{i}"},
            )
            db.session.execute(
                text(
                    'INSERT INTO ip_leases (gateway_id, "offset", device_id) VALUES (:gw, :o, :i)'
                ),
                {"gw": gw, "o": i + 1, "i": i},
            )
        db.session.commit()
        upgrade(directory=directory)
        counts = dict(db.session.execute(text("SELECT id, lease_count FROM gateways")).all())
        db.session.remove()
        db.engine.dispose()
    assert counts == {1: 4, 2: 1}
