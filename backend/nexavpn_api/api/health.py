"""Health: unauthenticated, used by the desktop client's reachability check and by probes."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import text

from .. import __version__
from ..extensions import db
from ..schemas import error_responses
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


class ReadySchema(Schema):
    """Readiness answer."""

    status = fields.String(metadata={"example": "ready"})
    database = fields.String(metadata={"example": "ok"})


@blp.route("/ready")
class Ready(MethodView):
    """Readiness for load balancers: this server can reach its database."""

    @blp.response(200, ReadySchema)
    @error_responses(blp, 503)
    def get(self):
        """200 when the database answers, else 503 ``database_unavailable`` with Retry-After.

        ``/health`` never touches the database (liveness); take a server out of a load
        balancer's rotation on this one instead.
        """
        db.session.execute(text("SELECT 1")).scalar_one()
        db.session.rollback()
        return {"status": "ready", "database": "ok"}
