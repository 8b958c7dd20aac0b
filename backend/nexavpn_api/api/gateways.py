"""/api/v1/gateways — placeholder blueprint; the resource's routes go here."""

from __future__ import annotations

from .common import Blueprint, api_prefix

blp = Blueprint("gateways", __name__, url_prefix=api_prefix("gateways"), description="gateways")
