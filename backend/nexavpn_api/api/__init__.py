"""One blueprint per resource, all registered by the app factory."""

from __future__ import annotations

from flask_smorest import Api

from . import (
    audit,
    auth,
    dashboard,
    devices,
    gateway_agent,
    gateways,
    health,
    policies,
    server_info,
    sso,
    users,
)

BLUEPRINTS = [
    health.blp,
    auth.blp,
    sso.blp,
    users.blp,
    policies.blp,
    gateways.blp,
    devices.blp,
    gateway_agent.blp,
    audit.blp,
    dashboard.blp,
    server_info.blp,
]


def register_blueprints(api: Api) -> None:
    """Register every resource blueprint with the flask-smorest Api."""
    for blp in BLUEPRINTS:
        api.register_blueprint(blp)
