"""The statements an enrollment sends to the database, counted (like Django's assertNumQueries).

Enrollment is the hot path bench/enroll.py measures (no more than 6x a trivial endpoint), and
most of its cost is per statement. These budgets fail when a change adds a round trip (an ORM
lazy load, a second token lookup, a per-device scan) instead of letting it slip in unseen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from tests.backend.provisioning_helpers import E, enroll_body, make_gateway, make_policy

# Both databases send 11 for a new device: PostgreSQL locks the user's row where SQLite sends
# BEGIN IMMEDIATE (its writers hold the database lock from the start); the gateway's row lock
# is the revision bump itself; the session that enrolls is bound to the device (one UPDATE; the
# revoked-key check rides on the lookup query). PostgreSQL adds the NOTIFY that wakes every
# server's waiters (one statement, delivered at commit).
NEW_DEVICE = 11
NOTIFY = "SELECT pg_notify("
REENROLL_UNCHANGED = 8
_WRITE = re.compile(r"(INSERT INTO|UPDATE|DELETE FROM) (\w+)")


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """Collect the SQL each request of the block sends (COMMIT/ROLLBACK are not statements)."""
    from sqlalchemy import event

    from nexavpn_api.extensions import db

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _setup(app, api) -> dict[str, str]:
    api.create_user("alice", groups=["eng"])
    make_gateway(app, vpn_cidr="10.20.0.0/16")
    make_policy(app, "eng-net", ["10.50.0.0/16"], groups=["eng"])
    headers = api.headers(api.login("alice")["access_token"])
    return headers


def test_new_enrollment_stays_within_its_statement_budget(app, client, api):
    headers = _setup(app, api)
    for _ in range(3):  # warm: first-request work (pool, caches) is not what is measured
        warm = api.new_session("alice")  # a session that enrolled is bound to its device
        assert client.post(E, json=enroll_body(), headers=warm).status_code == 201
    with statements(app) as seen:
        r = client.post(E, json=enroll_body(), headers=headers)
    assert r.status_code == 201, r.get_json()
    notifies = [s for s in seen if s.startswith(NOTIFY)]
    assert len(notifies) == (1 if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres")
                             else 0), seen
    assert len(seen) - len(notifies) <= NEW_DEVICE, "\n".join(seen)
    # The token check is one query for family and user together, and nothing loads groups.
    assert sum("FROM token_families" in s or "JOIN token_families" in s for s in seen) == 1
    assert not any("FROM user_groups" in s and "policies" not in s for s in seen), seen
    # Writes: the device, its lease, the gateway's revision, the session's binding and one
    # audit row.
    writes = [f"{m[1].split()[0]} {m[2]}" for s in seen if (m := _WRITE.match(s))]
    assert sorted(writes) == sorted(
        [
            "INSERT devices",
            "INSERT ip_leases",
            "UPDATE gateways",
            "UPDATE token_families",
            "INSERT audit_events",
        ]
    ), writes


def test_unchanged_reenrollment_stays_within_its_statement_budget(app, client, api):
    headers = _setup(app, api)
    body = enroll_body()
    assert client.post(E, json=body, headers=headers).status_code == 201
    assert client.post(E, json=body, headers=headers).status_code == 200
    with statements(app) as seen:
        r = client.post(E, json=body, headers=headers)
    assert r.status_code == 200, r.get_json()
    assert len(seen) <= REENROLL_UNCHANGED, "\n".join(seen)
    # Nothing about the peer changed, so the gateway's desired state is not touched.
    assert not any(s.startswith("UPDATE gateways") for s in seen), seen
