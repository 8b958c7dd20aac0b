"""/api/v1/policies — placeholder blueprint; the resource's routes go here."""

from __future__ import annotations

from .common import Blueprint, api_prefix

blp = Blueprint("policies", __name__, url_prefix=api_prefix("policies"), description="policies")
