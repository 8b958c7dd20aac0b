"""Device schemas: the enrollment body, the device and profile as the API shows them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates

from nexavpn_shared.contract import DEVICE_STATUSES, PLATFORMS
from nexavpn_shared.netaddr import InvalidValue, validate_fingerprint, validate_name

from ..models._types import utcnow
from ..pagination import PageArgsSchema, page_schema
from . import ID_RANGE, StrictSchema

FORBIDDEN_FIELDS = ("private_key", "privateKey", "PrivateKey")


def _trimmed_text(max_len: int):
    """Validator for free-text labels (no control or line-separator characters)."""

    def check(value: str) -> None:
        try:
            validate_name(value, "value", max_len=max_len)
        except InvalidValue as exc:
            raise ValidationError(exc.message) from None

    return check


class EnrollSchema(StrictSchema):
    """POST /devices/enroll body. A private key is never accepted (it stays on the device)."""

    name = fields.String(required=True, metadata={"description": "1-64 characters"})
    fingerprint = fields.String(
        required=True, metadata={"description": "16-128 characters of A-Z a-z 0-9 . _ : -"}
    )
    public_key = fields.String(required=True, metadata={"description": "WireGuard public key"})
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    os_version = fields.String(allow_none=True, validate=_trimmed_text(128))
    client_version = fields.String(allow_none=True, validate=_trimmed_text(64))

    @pre_load
    def _refuse_private_key(self, data: Any, **_kw: Any) -> Any:
        if isinstance(data, dict):
            bad = [f for f in FORBIDDEN_FIELDS if f in data]
            if bad:
                raise ValidationError(
                    {f: ["A private key must never be sent; it stays on the device."] for f in bad}
                )
            if isinstance(data.get("name"), str):
                data = {**data, "name": data["name"].strip()}
            for f in ("os_version", "client_version"):
                if isinstance(data.get(f), str):
                    data = {**data, f: data[f].strip() or None}
        return data

    @validates("name")
    def _name(self, value: str, **_kw: Any) -> None:
        try:
            validate_name(value)
        except InvalidValue as exc:
            raise ValidationError(exc.message) from None

    @validates("fingerprint")
    def _fingerprint(self, value: str, **_kw: Any) -> None:
        try:
            validate_fingerprint(value)
        except InvalidValue as exc:
            raise ValidationError(exc.message) from None


class DeviceSchema(Schema):
    """A device as the API shows it (``online``: a handshake within the configured window)."""

    id = fields.Integer()
    user_id = fields.Integer()
    username = fields.Method("_username")
    name = fields.String()
    fingerprint = fields.String()
    public_key = fields.String()
    platform = fields.String()
    os_version = fields.String(allow_none=True)
    client_version = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(DEVICE_STATUSES)})
    vpn_ip = fields.String(allow_none=True)
    vpn_ip6 = fields.String(allow_none=True)
    gateway_id = fields.Integer(allow_none=True)
    profile_revision = fields.Integer()
    rotation_required = fields.Boolean()
    created_at = fields.DateTime()
    last_sync_at = fields.DateTime(allow_none=True)
    last_handshake_at = fields.DateTime(allow_none=True)
    online = fields.Method("_online", metadata={"type": "boolean"})
    revoked_at = fields.DateTime(allow_none=True)
    rx_bytes = fields.Integer()
    tx_bytes = fields.Integer()

    def _username(self, obj: Any) -> str | None:
        user = getattr(obj, "user", None)
        return user.username if user is not None else None

    def _online(self, obj: Any) -> bool:
        seen = getattr(obj, "last_handshake_at", None)
        if seen is None or getattr(obj, "status", None) != "active":
            return False
        window = current_app.config["NEXAVPN_PEER_ONLINE_SECONDS"]
        return seen >= utcnow() - timedelta(seconds=window)


class ProfileInterfaceSchema(Schema):
    """The [Interface] part of a profile."""

    addresses = fields.List(fields.String())
    dns = fields.List(fields.String())
    mtu = fields.Integer()


class ProfilePeerSchema(Schema):
    """The gateway as the device's one peer."""

    public_key = fields.String()
    endpoint = fields.String()
    allowed_ips = fields.List(fields.String())
    persistent_keepalive = fields.Integer()


class ResourceSchema(Schema):
    """A destination the device may reach and the policy granting it."""

    destination = fields.String()
    policy = fields.String()


class ProfileSchema(Schema):
    """A device profile: structured data plus the wg-quick file with a private-key placeholder."""

    revision = fields.Integer()
    rotation_required = fields.Boolean()
    interface = fields.Nested(ProfileInterfaceSchema)
    peer = fields.Nested(ProfilePeerSchema)
    allowed_resources = fields.List(fields.Nested(ResourceSchema))
    config = fields.String()


class ProfileArgsSchema(Schema):
    """GET /devices/{id}/profile query: ``wait`` (long-poll seconds, clamped to 0-60)."""

    wait = fields.Float(
        load_default=0.0,
        allow_nan=False,
        metadata={
            "description": "long-poll seconds while If-None-Match still names the revision (0-60)"
        },
    )


class EnrollResponseSchema(Schema):
    """The enrollment answer."""

    device = fields.Nested(DeviceSchema)
    profile = fields.Nested(ProfileSchema)


class DeviceListArgsSchema(PageArgsSchema):
    """GET /devices query (filters are honoured for admins; users only see their own)."""

    user_id = fields.Integer(validate=ID_RANGE)
    status = fields.String(validate=validate.OneOf(DEVICE_STATUSES))
    gateway_id = fields.Integer(validate=ID_RANGE)


class RevokeSchema(StrictSchema):
    """POST /devices/{id}/revoke body (optional; ``{}`` is fine)."""

    revoke_sessions = fields.Boolean(
        load_default=False,
        metadata={"description": "admins only: also end every session of the device's owner"},
    )


DevicePageSchema = page_schema(DeviceSchema, "DevicePage")
