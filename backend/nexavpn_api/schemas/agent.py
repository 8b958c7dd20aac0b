"""Gateway agent schemas: the long-poll query, the desired config, the heartbeat body."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from . import INT64_MAX, StrictSchema

MAX_HEARTBEAT_PEERS = 100_000


class ConfigArgsSchema(Schema):
    """GET /gateway-agent/config query: ``after`` (revision held), ``wait`` (seconds, clamped)."""

    after = fields.Integer(
        validate=validate.Range(min=0, max=INT64_MAX),
        metadata={"description": "the revision the agent already has"},
    )
    wait = fields.Float(
        load_default=0.0,
        allow_nan=False,
        metadata={"description": "long-poll seconds while the revision is still `after` (0-60)"},
    )


class AgentInterfaceSchema(Schema):
    """The gateway's own interface."""

    address = fields.String(metadata={"example": "10.8.0.1/24"})
    address6 = fields.String(allow_none=True, metadata={"example": "fd8a::1/64"})
    listen_port = fields.Integer()
    mtu = fields.Integer()
    dns = fields.List(
        fields.String(),
        metadata={
            "description": "the DNS servers of the profiles: every peer may reach them on "
            "port 53 (TCP and UDP), whatever its policies grant"
        },
    )


class AgentPeerSchema(Schema):
    """A device as the gateway sees it: its own addresses and what it may reach."""

    public_key = fields.String()
    allowed_ips = fields.List(fields.String(), metadata={"description": "/32 and /128 only"})
    destinations = fields.List(fields.String())
    device_id = fields.Integer()


class AgentConfigSchema(Schema):
    """The gateway's desired state at ``revision``."""

    revision = fields.Integer()
    interface = fields.Nested(AgentInterfaceSchema)
    peers = fields.List(fields.Nested(AgentPeerSchema))


class PeerStatSchema(StrictSchema):
    """One peer's counters from ``wg show dump``."""

    public_key = fields.String(required=True, validate=validate.Length(max=64))
    latest_handshake = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=INT64_MAX),
        metadata={"description": "UNIX seconds; 0 = never"},
    )
    rx_bytes = fields.Integer(load_default=0, validate=validate.Range(min=0, max=INT64_MAX))
    tx_bytes = fields.Integer(load_default=0, validate=validate.Range(min=0, max=INT64_MAX))


class HeartbeatSchema(StrictSchema):
    """POST /gateway-agent/heartbeat body."""

    public_key = fields.String(required=True)
    listen_port = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=65535))
    peers = fields.List(
        fields.Nested(PeerStatSchema),
        load_default=list,
        validate=validate.Length(max=MAX_HEARTBEAT_PEERS),
    )
