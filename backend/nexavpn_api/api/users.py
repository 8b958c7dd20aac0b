"""/api/v1/users — placeholder blueprint; the resource's routes go here."""

from __future__ import annotations

from .common import Blueprint, api_prefix

blp = Blueprint("users", __name__, url_prefix=api_prefix("users"), description="users")
