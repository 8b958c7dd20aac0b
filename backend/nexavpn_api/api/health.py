"""Health: unauthenticated, used by the desktop client's reachability check and by probes."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from .. import __version__
from .common import Blueprint

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


class HealthSchema(Schema):
    """Health answer."""

    status = fields.String()
    service = fields.String()
    version = fields.String()
    api = fields.String()


@blp.route("/health")
class Health(MethodView):
    """Liveness of the API."""

    @blp.response(200, HealthSchema)
    def get(self):
        """Report that the API is up and which version answers."""
        return {"status": "ok", "service": "nexavpn", "version": __version__, "api": "v1"}
