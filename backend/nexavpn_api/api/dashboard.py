"""/api/v1/dashboard — placeholder blueprint; the resource's routes go here."""

from __future__ import annotations

from .common import Blueprint, api_prefix

blp = Blueprint("dashboard", __name__, url_prefix=api_prefix("dashboard"), description="dashboard")
