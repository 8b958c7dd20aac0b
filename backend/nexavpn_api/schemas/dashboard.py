"""Dashboard schema: counts and the latest enrollments and audit events."""

from __future__ import annotations

from marshmallow import Schema, fields

from .devices import DeviceSchema


class DeviceCountsSchema(Schema):
    """Devices by status."""

    active = fields.Integer()
    pending = fields.Integer(metadata={"description": "awaiting an admin's approval"})
    revoked = fields.Integer()


class GatewayCountsSchema(Schema):
    """Gateways by heartbeat freshness."""

    online = fields.Integer()
    offline = fields.Integer()


class DashboardAuditSchema(Schema):
    """An audit event, as GET /audit-logs shows it."""

    id = fields.Integer()
    at = fields.DateTime()
    actor_type = fields.String()
    actor_id = fields.String(allow_none=True)
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    details = fields.Dict(allow_none=True)


class DashboardSchema(Schema):
    """GET /dashboard."""

    users = fields.Integer(metadata={"description": "number of users"})
    devices = fields.Nested(DeviceCountsSchema)
    gateways = fields.Nested(GatewayCountsSchema)
    recent_enrollments = fields.List(fields.Nested(DeviceSchema))
    recent_audit = fields.List(fields.Nested(DashboardAuditSchema))
