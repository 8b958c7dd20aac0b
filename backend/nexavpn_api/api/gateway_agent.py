"""/api/v1/gateway-agent — placeholder blueprint; the resource's routes go here."""

from __future__ import annotations

from .common import Blueprint, api_prefix

blp = Blueprint(
    "gateway_agent", __name__, url_prefix=api_prefix("gateway-agent"), description="gateway_agent"
)
