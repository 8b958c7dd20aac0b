"""/api/v1/devices — placeholder blueprint; the resource's routes go here."""

from __future__ import annotations

from .common import Blueprint, api_prefix

blp = Blueprint("devices", __name__, url_prefix=api_prefix("devices"), description="devices")
