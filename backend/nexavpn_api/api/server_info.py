"""/api/v1/server-info: public URL and certificate fingerprint, for the admin UI."""

from __future__ import annotations

from flask.views import MethodView

from ..schemas import error_responses
from ..schemas.server_info import ServerInfoSchema
from ..security import admin_required
from ..services import server_info as svc
from .common import Blueprint, api_prefix, request_origin

blp = Blueprint(
    "server_info", __name__, url_prefix=api_prefix("server-info"),
    description="This server's address and certificate (admin)",
)


@blp.route("")
class ServerInfo(MethodView):
    """The server's own address and certificate."""

    @admin_required
    @blp.response(200, ServerInfoSchema)
    @error_responses(blp, 401, 403)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self):
        """The URL agents and clients use and the SHA-256 fingerprint of the served certificate
        (what a self-signed server's users and agents pin)."""
        return svc.summary(request_origin())
