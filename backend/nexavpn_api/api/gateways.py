"""/api/v1/gateways: admin CRUD; the create answer carries the one-time agent token."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from ..pagination import PageArgsSchema, page_schema
from ..schemas import error_responses
from ..schemas.gateways import (
    GatewayCreatedSchema,
    GatewaySchema,
    GatewayUpdateSchema,
    GatewayWriteSchema,
)
from ..security import admin_required
from ..services import gateways as svc
from .common import Blueprint, api_prefix, request_meta, request_origin

blp = Blueprint(
    "gateways", __name__, url_prefix=api_prefix("gateways"), description="Gateways (admin)"
)

BEARER = [{"bearerAuth": []}]
GatewayPageSchema = page_schema(GatewaySchema, "GatewayPage")


@blp.route("")
class Gateways(MethodView):
    """The gateway list."""

    @admin_required
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, GatewayPageSchema)
    @error_responses(blp, 401, 403)
    @blp.doc(security=BEARER)
    def get(self, args: dict):
        """List gateways with status (online/offline) and peer count."""
        return svc.list_gateways(args)

    @admin_required
    @blp.arguments(GatewayWriteSchema)
    @blp.response(201, GatewayCreatedSchema)
    @error_responses(blp, 401, 403, 409)
    @blp.doc(security=BEARER)
    def post(self, body: dict):
        """Create a gateway. The answer's `agent_token` is shown only this once.

        400 for a bad endpoint, CIDR (host bits set, wrong family, no room for a device) or
        DNS server; 400 `invalid_public_key`; 409 `conflict` for a taken name or a pool that
        overlaps another gateway's.
        """
        return svc.create_gateway(
            current_user, body, origin=request_origin(), meta=request_meta()
        )


@blp.route("/<int:gateway_id>")
class GatewayItem(MethodView):
    """One gateway."""

    @admin_required
    @blp.response(200, GatewaySchema)
    @error_responses(blp, 401, 403, 404)
    @blp.doc(security=BEARER)
    def get(self, gateway_id: int):
        """A gateway."""
        return svc.present(svc.get_gateway(gateway_id))

    @admin_required
    @blp.arguments(GatewayUpdateSchema)
    @blp.response(200, GatewaySchema)
    @error_responses(blp, 401, 403, 404, 409)
    @blp.doc(security=BEARER)
    def patch(self, body: dict, gateway_id: int):
        """Change a gateway. Changing a pool while active devices use it is 409
        `gateway_in_use`; endpoint/key/DNS/MTU changes bump the devices' profile revisions."""
        return svc.update_gateway(
            current_user, svc.get_gateway(gateway_id), body, meta=request_meta()
        )

    @admin_required
    @blp.response(204)
    @error_responses(blp, 401, 403, 404, 409)
    @blp.doc(security=BEARER)
    def delete(self, gateway_id: int):
        """Delete a gateway; 409 `gateway_in_use` while active devices use it."""
        svc.delete_gateway(current_user, svc.get_gateway(gateway_id), meta=request_meta())
        return None


@blp.route("/<int:gateway_id>/token")
class GatewayToken(MethodView):
    """A new agent token (instead of deleting and re-creating the gateway)."""

    @admin_required
    @blp.response(200, GatewayCreatedSchema)
    @error_responses(blp, 401, 403, 404)
    @blp.doc(security=BEARER)
    def post(self, gateway_id: int):
        """Replace the gateway's agent token: the old one stops working at once, the new one is
        shown only in this answer (with the agent's start command). Audit `gateway.update`."""
        return svc.rotate_agent_token(
            current_user,
            svc.get_gateway(gateway_id),
            origin=request_origin(),
            meta=request_meta(),
        )
