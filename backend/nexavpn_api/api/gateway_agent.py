"""/api/v1/gateway-agent — the gateway agent's desired state (long-poll) and heartbeat."""

from __future__ import annotations

from flask import current_app, g, make_response
from flask.views import MethodView

from ..errors import ApiError
from ..schemas import error_responses
from ..schemas.agent import AgentConfigSchema, ConfigArgsSchema, HeartbeatSchema
from ..security import agent_required
from ..services import agent as agent_service
from .common import Blueprint, api_prefix, request_meta

blp = Blueprint(
    "gateway_agent",
    __name__,
    url_prefix=api_prefix("gateway-agent"),
    description="Gateway agents (per-gateway agent token)",
)


@blp.route("/config")
class AgentConfig(MethodView):
    """The gateway's desired state."""

    @agent_required
    @blp.arguments(ConfigArgsSchema, location="query")
    @blp.response(200, AgentConfigSchema)
    @blp.alt_response(304, description="still at revision `after` when `wait` ran out")
    @error_responses(blp, 400, 401)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, args):
        """Answer at once without ``after``; else wait (0-60 s) while the revision is ``after``."""
        gateway_id = g.gateway.id
        wait = agent_service.clamp_wait(args.get("wait"))
        document = agent_service.config_or_wait(gateway_id, args.get("after"), wait)
        if document is None:
            return make_response("", 304)
        # Serialised in the schema's exact shape by the service (peers cached per row):
        # dumping 1,000 peers through marshmallow again would add ~40 ms to every propagation.
        return current_app.response_class(document, mimetype="application/json")


@blp.route("/heartbeat")
class AgentHeartbeat(MethodView):
    """Liveness, the gateway's public key and per-peer stats."""

    @agent_required
    @blp.arguments(HeartbeatSchema)
    @blp.response(204)
    @error_responses(blp, 400, 401, 409)
    @blp.doc(security=[{"bearerAuth": []}])
    def post(self, data):
        """Store the report; a new public key bumps the gateway's devices' profiles.

        A key another gateway or any device (revoked ones too) uses is refused with 409
        `public_key_in_use`; key changes and refusals are audited.
        """
        if g.gateway is None:  # pragma: no cover - agent_required always sets it
            raise ApiError(401, "unauthorized", "Gateway agent token required.")
        agent_service.heartbeat(g.gateway, data, meta=request_meta())
        return None
