"""/api/v1/audit-logs: the append-only audit trail, filtered and paginated (admin)."""

from __future__ import annotations

from flask.views import MethodView

from ..pagination import page_schema
from ..schemas import error_responses
from ..schemas.audit import AuditArgsSchema, AuditLogSchema
from ..security import admin_required
from ..services import audit_log
from .common import Blueprint, api_prefix

blp = Blueprint("audit", __name__, url_prefix=api_prefix("audit-logs"), description="Audit trail")

BEARER = [{"bearerAuth": []}]
AuditPageSchema = page_schema(AuditLogSchema, "AuditLogPage")


@blp.route("")
class AuditLogs(MethodView):
    """The audit trail."""

    @admin_required
    @blp.arguments(AuditArgsSchema, location="query")
    @blp.response(200, AuditPageSchema)
    @error_responses(blp, 401, 403)
    @blp.doc(security=BEARER)
    def get(self, args: dict):
        """Audit events, newest first. Filters are ANDed; `since`/`until` are inclusive ISO
        8601 times (a bad value is 400); `action` ending in '.' matches a prefix."""
        return audit_log.list_events(args)
