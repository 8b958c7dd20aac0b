"""The app factory: config, extensions, blueprints, error envelope."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api
from flask_smorest.spec.plugins import integerconverter2paramschema

from . import __version__, db_setup  # noqa: F401  (db_setup installs engine listeners)
from .api import register_blueprints
from .api.common import ErrorSchema, IdConverter, register_error_responses
from .config import create_private_file, load_config, sqlite_file
from .db_faults import init_db_faults
from .errors import register_error_handlers
from .extensions import db, jwt, migrate
from .metrics import init_metrics
from .security import init_jwt_callbacks
from .services import oidc_providers
from .web import register_web

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")

log = logging.getLogger(__name__)


API_DESCRIPTION = (
    "Errors are always the JSON envelope `{\"error\": {\"code\", \"message\", \"details\"}}`. "
    "A blank query value (`?action=`) means the parameter was not given. A method a path does "
    "not serve is 405 with `Allow`. Request lines longer than 4094 bytes (and over-large header "
    "sets) are refused by the HTTP server before the API sees them; in production nginx fronts "
    "the API and answers those with its own 414/400 (docs/operations.md, Security model)."
)


class _BlankQueryMeansAbsent(BasePlugin):
    """Documents the parser's rule that an empty query value is the same as no value."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            for param in operation.get("parameters", []):
                if isinstance(param, dict) and param.get("in") == "query":
                    param["allowEmptyValue"] = True
                    note = "A blank value means the parameter is not given."
                    param["description"] = f"{param.get('description', '')} {note}".strip()


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
        # Browser sessions: the refresh cookie is read only by /auth/refresh, which checks the
        # double-submit CSRF header itself (api.browser_session).
        JWT_REFRESH_COOKIE_NAME="nexavpn_refresh",
        JWT_COOKIE_CSRF_PROTECT=False,
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
    app.config["API_SPEC_OPTIONS"] = {"info": {"description": API_DESCRIPTION}}
    api = _NexaApi(app, spec_kwargs={"extra_plugins": [_BlankQueryMeansAbsent()]})
    api.register_converter(IdConverter, integerconverter2paramschema)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    register_blueprints(api)
    register_error_handlers(app)
    init_db_faults(app)
    register_web(app)
    init_metrics(app)  # /metrics only when NEXAVPN_METRICS_ENABLED (docs/operations.md)
    with app.app_context():  # a mistyped identity provider stops the start, not a sign-in
        oidc_providers.configured()
    app.extensions["nexavpn_version"] = __version__
    return app
