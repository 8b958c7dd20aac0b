"""/api/v1/dashboard — the admin overview."""

from __future__ import annotations

from flask.views import MethodView

from ..schemas import error_responses
from ..schemas.dashboard import DashboardSchema
from ..security import admin_required
from ..services import dashboard as dashboard_service
from .common import Blueprint, api_prefix

blp = Blueprint(
    "dashboard", __name__, url_prefix=api_prefix("dashboard"), description="Admin overview"
)


@blp.route("")
class Dashboard(MethodView):
    """Counts and recent activity."""

    @admin_required
    @blp.response(200, DashboardSchema)
    @error_responses(blp, 401, 403)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self):
        """Users, devices by status, gateways online/offline, latest enrollments and events."""
        return dashboard_service.summary()
