"""/api/v1/policies: admin CRUD of access policies."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from ..pagination import page_schema
from ..schemas import error_responses
from ..schemas.policies import (
    PolicyListArgsSchema,
    PolicySchema,
    PolicyUpdateSchema,
    PolicyWriteSchema,
)
from ..security import admin_required
from ..services import policies as svc
from .common import Blueprint, api_prefix, request_meta

blp = Blueprint(
    "policies", __name__, url_prefix=api_prefix("policies"), description="Access policies (admin)"
)

BEARER = [{"bearerAuth": []}]
PolicyPageSchema = page_schema(PolicySchema, "PolicyPage")


@blp.route("")
class Policies(MethodView):
    """The policy list."""

    @admin_required
    @blp.arguments(PolicyListArgsSchema, location="query")
    @blp.response(200, PolicyPageSchema)
    @error_responses(blp, 401, 403)
    @blp.doc(security=BEARER)
    def get(self, args: dict):
        """List policies."""
        return svc.list_policies(args)

    @admin_required
    @blp.arguments(PolicyWriteSchema)
    @blp.response(201, PolicySchema)
    @error_responses(blp, 401, 403, 409)
    @blp.doc(security=BEARER)
    def post(self, body: dict):
        """Create a policy. Destinations are CIDRs with no host bits set (400 naming the
        entry); `user_ids` must exist (400); names are unique (409)."""
        return svc.create_policy(current_user, body, meta=request_meta())


@blp.route("/<int:policy_id>")
class PolicyItem(MethodView):
    """One policy."""

    @admin_required
    @blp.response(200, PolicySchema)
    @error_responses(blp, 401, 403, 404)
    @blp.doc(security=BEARER)
    def get(self, policy_id: int):
        """A policy."""
        return svc.get_policy(policy_id)

    @admin_required
    @blp.arguments(PolicyUpdateSchema)
    @blp.response(200, PolicySchema)
    @error_responses(blp, 401, 403, 404, 409)
    @blp.doc(security=BEARER)
    def patch(self, body: dict, policy_id: int):
        """Change a policy; affected devices get new profile revisions."""
        return svc.update_policy(
            current_user, svc.get_policy(policy_id), body, meta=request_meta()
        )

    @admin_required
    @blp.response(204)
    @error_responses(blp, 401, 403, 404)
    @blp.doc(security=BEARER)
    def delete(self, policy_id: int):
        """Delete a policy; the users it reached lose its destinations."""
        svc.delete_policy(current_user, svc.get_policy(policy_id), meta=request_meta())
        return None
