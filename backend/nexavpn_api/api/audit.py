"""/api/v1/audit-logs — placeholder blueprint; the resource's routes go here."""

from __future__ import annotations

from .common import Blueprint, api_prefix

blp = Blueprint("audit", __name__, url_prefix=api_prefix("audit-logs"), description="audit")
