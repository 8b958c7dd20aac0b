"""/api/v1/auth — placeholder blueprint; the resource's routes go here."""

from __future__ import annotations

from .common import Blueprint, api_prefix

blp = Blueprint("auth", __name__, url_prefix=api_prefix("auth"), description="auth")
