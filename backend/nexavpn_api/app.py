"""The app factory: config, extensions, blueprints, error envelope."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.spec.plugins import integerconverter2paramschema

from . import __version__, db_setup  # noqa: F401  (db_setup installs engine listeners)
from .api import register_blueprints
from .api.common import ErrorSchema, IdConverter, register_error_responses
from .config import create_private_file, load_config, sqlite_file
from .errors import register_error_handlers
from .extensions import db, jwt, migrate
from .metrics import init_metrics
from .security import init_jwt_callbacks
from .web import register_web

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")

log = logging.getLogger(__name__)


class _NexaApi(Api):
    """flask-smorest Api documenting our error envelope (one instance per app)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_responses(self) -> None:
        """Shared error responses that name the error codes of their status."""
        register_error_responses(self.spec, self.ERROR_SCHEMA, self.DEFAULT_RESPONSE_CONTENT_TYPE)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app; ``config`` overrides the environment (used by tests)."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(load_config(config))
    app.config.update(
        API_TITLE="NexaVPN control-plane API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
        JWT_TOKEN_LOCATION=["headers"],
        JWT_BLACKLIST_ENABLED=True,
        PROPAGATE_EXCEPTIONS=False,
    )
    app.json.sort_keys = False
    embedded_db = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if embedded_db is not None:
        create_private_file(embedded_db)  # before SQLite makes it world-readable

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    jwt.init_app(app)
    init_jwt_callbacks()

    app.url_map.converters["int"] = IdConverter  # before any route is added
    api = _NexaApi(app)
    api.register_converter(IdConverter, integerconverter2paramschema)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    register_blueprints(api)
    register_error_handlers(app)
    register_web(app)
    init_metrics(app)  # /metrics only when NEXAVPN_METRICS_ENABLED (docs/operations.md)
    app.extensions["nexavpn_version"] = __version__
    return app
