"""Backend fixtures: a real app on a migrated database (SQLite by default, PostgreSQL when
NEXAVPN_TEST_DATABASE_URL is set), a test client, and helpers that mint real tokens by logging in.

Never a switch that turns auth off: tests sign in like clients do.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_URL = os.environ.get("NEXAVPN_TEST_DATABASE_URL", "")
TEST_PASSWORD = "correct horse battery"


def _base_config(db_url: str, data_dir: Path) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "test-secret-key",
        "JWT_SECRET_KEY": "test-jwt-secret-key-that-is-long-enough-0123456789",
        "DATA_DIR": str(data_dir),
        "TESTING": True,
    }


def _migrate(app) -> None:
    from flask_migrate import upgrade

    from nexavpn_api.extensions import db

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()


@pytest.fixture(scope="session")
def _db_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a template SQLite file, or the PostgreSQL test database."""
    from nexavpn_api.app import create_app

    if PG_URL:
        app = create_app(_base_config(PG_URL, tmp_path_factory.mktemp("pgdata")))
        _migrate(app)
        return PG_URL
    d = tmp_path_factory.mktemp("dbtemplate")
    path = d / "template.db"
    app = create_app(_base_config(f"sqlite:///{path}", d))
    _migrate(app)
    return str(path)


def _truncate_all(app) -> None:
    from sqlalchemy import text

    from nexavpn_api.extensions import db

    with app.app_context():
        names = ", ".join(t.name for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.session.commit()


@pytest.fixture
def db_url(_db_template: str, tmp_path: Path) -> str:
    """A fresh, migrated database URL for one test."""
    if PG_URL:
        return PG_URL
    target = tmp_path / "nexavpn.db"
    shutil.copyfile(_db_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_config(db_url: str, tmp_path: Path) -> dict[str, Any]:
    """Config for the test app; tests may tweak it before requesting ``app``."""
    return _base_config(db_url, tmp_path / "data")


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    """The real Flask app on a fresh database."""
    from nexavpn_api.app import create_app
    from nexavpn_api.extensions import db

    application = create_app(app_config)
    if PG_URL:
        _truncate_all(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """Flask test client."""
    return app.test_client()


class Api:
    """Small helper over the test client: create users, log in, call with tokens."""

    def __init__(self, app, client) -> None:
        self.app = app
        self.client = client

    def create_user(
        self,
        username: str,
        *,
        role: str = "user",
        password: str = TEST_PASSWORD,
        groups: list[str] | None = None,
        email: str | None = None,
    ) -> int:
        """Insert a user directly (bootstrap of admins, like the CLI does)."""
        from nexavpn_api.extensions import db
        from nexavpn_api.models import User
        from nexavpn_api.services.passwords import hash_password

        with self.app.app_context():
            user = User(username=username, role=role, email=email)
            user.password_hash = hash_password(password)
            user.groups = groups or []
            db.session.add(user)
            db.session.commit()
            return user.id

    def login(self, username: str, password: str = TEST_PASSWORD) -> dict[str, Any]:
        """POST /auth/login and return the JSON (asserting success)."""
        resp = self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def headers(self, token: str) -> dict[str, str]:
        """Bearer header."""
        return {"Authorization": f"Bearer {token}"}

    def new_session(self, username: str) -> dict[str, str]:
        """A fresh sign-in's header: what another machine of the user holds (a session that
        enrolls a device is bound to it and may not enroll a second one)."""
        return self.headers(self.login(username)["access_token"])

    def user_headers(self, username: str, *, role: str = "user", **kw: Any) -> dict[str, str]:
        """Create a user, log in, return its access-token header."""
        self.create_user(username, role=role, **kw)
        return self.headers(self.login(username)["access_token"])


@pytest.fixture
def api(app, client) -> Api:
    """The helper."""
    return Api(app, client)


@pytest.fixture
def admin_headers(api: Api) -> dict[str, str]:
    """An admin's bearer header (a real login)."""
    return api.user_headers("root", role="admin")


class MovableClock:
    """The app's clock (``NEXAVPN_CLOCK``) for tests that wait for a window or an expiry:
    they move it instead of sleeping. It stands still until moved."""

    def __init__(self) -> None:
        from nexavpn_api.models._types import utcnow

        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(app) -> MovableClock:
    """Install a movable clock in the app (sign-in limits and session expiry run on it)."""
    moving = MovableClock()
    app.config["NEXAVPN_CLOCK"] = moving
    return moving
