"""Usernames are unique regardless of case in the database too (migration 0003), not only in
the API's own check; the upgrade stops with a clear message on a database that already holds
names differing only in case."""

from __future__ import annotations

import logging

import pytest


def _add_user(app, username: str) -> None:
    from nexavpn_api.extensions import db
    from nexavpn_api.models import User

    with app.app_context():
        db.session.add(User(username=username, role="user", password_hash="x"))
        db.session.commit()


def test_the_database_refuses_a_second_spelling(app):
    """What two concurrent creates would do: both passed the API's check, one insert fails."""
    from sqlalchemy.exc import IntegrityError

    _add_user(app, "Alice")
    with pytest.raises(IntegrityError):
        _add_user(app, "aLICE")


def test_api_answers_409_for_another_spelling(client, api, admin_headers):
    api.create_user("alice")
    r = client.post(
        "/api/v1/users",
        json={"username": "ALICE", "password": "long enough password", "role": "user"},
        headers=admin_headers,
    )
    assert r.status_code == 409, r.get_json()
    assert r.get_json()["error"]["code"] == "conflict"


def test_sign_in_lookup_uses_the_index(app):
    """``lower(username) = ?`` is answered from the new index, not a scan of every user."""
    from sqlalchemy import text

    from nexavpn_api.extensions import db
    from tests.backend_fixtures import PG_URL

    _add_user(app, "Bob")
    with app.app_context():
        if PG_URL:
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(
                db.session.execute(
                    text("EXPLAIN SELECT id FROM users WHERE lower(username) = 'bob'")
                ).scalars()
            )
        else:
            plan = "\n".join(
                str(r[-1])
                for r in db.session.execute(
                    text("EXPLAIN QUERY PLAN SELECT id FROM users WHERE lower(username) = 'bob'")
                )
            )
        db.session.rollback()
    assert "uq_users_username_lower" in plan, plan


def test_upgrade_stops_on_names_that_differ_only_in_case(tmp_path, caplog):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from nexavpn_api.app import create_app
    from nexavpn_api.extensions import db
    from tests.backend_fixtures import _base_config

    app = create_app(_base_config(f"sqlite:///{tmp_path / 'old.db'}", tmp_path))
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory, revision="0002")
        for i, name in enumerate(["carol", "Carol", "dave"], start=1):
            db.session.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, disabled, created_at,"
                    " updated_at) VALUES (:i, :n, 'x', 'user', false, '2026-01-01 00:00:00',"
                    " '2026-01-01 00:00:00')"
                ),
                {"i": i, "n": name},
            )
        db.session.commit()
        # Flask-Migrate logs the migration's error and exits 1 (what `nexavpn-server migrate`
        # and the package's postinst show the operator).
        with caplog.at_level(logging.ERROR), pytest.raises(SystemExit):
            upgrade(directory=directory)
        assert "usernames exist more than once when case is ignored: carol." in caplog.text
        db.session.rollback()
        stuck = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert stuck == "0002"
        db.session.execute(text("UPDATE users SET username = 'carol2' WHERE id = 2"))
        db.session.commit()
        upgrade(directory=directory)  # after the rename it goes through
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.session.remove()
        db.engine.dispose()
    assert version != "0002"  # through 0003 (and whatever follows it)


def test_ids_of_deleted_users_are_never_reused(api, client, admin_headers):
    """A new user must not inherit a deleted user's id, and with it the old audit trail."""
    body = {"password": "password-123"}
    gone = client.post("/api/v1/users", json={**body, "username": "gone"}, headers=admin_headers)
    gone_id = gone.get_json()["id"]
    assert client.delete(f"/api/v1/users/{gone_id}", headers=admin_headers).status_code == 204
    new = client.post("/api/v1/users", json={**body, "username": "new"}, headers=admin_headers)
    assert new.get_json()["id"] > gone_id


def test_users_rebuild_keeps_rows_and_references(tmp_path):
    """The SQLite rebuild of users (AUTOINCREMENT) keeps every row, the rows that reference a
    user (no cascade fires) and the case-insensitive username index."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from nexavpn_api.app import create_app
    from nexavpn_api.extensions import db
    from tests.backend_fixtures import _base_config

    app = create_app(_base_config(f"sqlite:///{tmp_path / 'old.db'}", tmp_path))
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory, revision="0005")
        db.session.execute(
            text(
                "INSERT INTO users (id, username, password_hash, role, disabled, created_at,"
                " updated_at) VALUES (7, 'erin', 'x', 'user', false, '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00')"
            )
        )
        db.session.execute(text("INSERT INTO user_groups (user_id, name) VALUES (7, 'eng')"))
        db.session.commit()
        upgrade(directory=directory)
        ddl = db.session.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'users'")
        ).scalar_one()
        assert "AUTOINCREMENT" in ddl
        assert db.session.execute(text("SELECT username FROM users")).scalars().all() == ["erin"]
        groups = db.session.execute(text("SELECT user_id, name FROM user_groups")).all()
        assert [tuple(g) for g in groups] == [(7, "eng")]
        indexes = db.session.execute(text("PRAGMA index_list(users)")).all()
        assert "uq_users_username_lower" in {row[1] for row in indexes}
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.remove()
        db.engine.dispose()
