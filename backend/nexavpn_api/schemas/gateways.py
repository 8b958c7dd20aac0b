"""Gateway schemas; values (endpoint, CIDRs, key, DNS) are checked by the shared validators."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from nexavpn_shared.netaddr import MAX_DNS_SERVERS

from . import StrictSchema

MTU_MIN, MTU_MAX, MTU_DEFAULT = 1280, 9000, 1420

_mtu = validate.Range(min=MTU_MIN, max=MTU_MAX, error=f"must be {MTU_MIN}-{MTU_MAX}")
_short = validate.Length(max=300)
_dns = validate.Length(max=MAX_DNS_SERVERS, error=f"at most {MAX_DNS_SERVERS} DNS servers")


class GatewaySchema(Schema):
    """A gateway as the API shows it."""

    id = fields.Integer()
    name = fields.String()
    endpoint = fields.String(metadata={"example": "vpn.example.com:51820"})
    public_key = fields.String(allow_none=True)
    vpn_cidr = fields.String(metadata={"example": "10.8.0.0/24"})
    vpn_cidr6 = fields.String(allow_none=True, metadata={"example": "fd8a::/64"})
    dns = fields.List(fields.String())
    mtu = fields.Integer()
    enabled = fields.Boolean()
    status = fields.String(metadata={"enum": ["online", "offline"]})
    last_seen_at = fields.DateTime(allow_none=True)
    peer_count = fields.Integer(metadata={"description": "active devices served"})
    listen_port = fields.Integer(allow_none=True, metadata={"description": "reported by agent"})
    created_at = fields.DateTime()


class GatewayCreatedSchema(GatewaySchema):
    """The create (and new-token) answer: the only time the agent token is shown."""

    agent_token = fields.String(required=True)
    agent_command = fields.String(required=True, metadata={
        "description": "the command that starts the agent on the gateway host against this "
                       "server (with --server-fingerprint when its certificate is self-signed)"})


class GatewayWriteSchema(StrictSchema):
    """POST /gateways body."""

    name = fields.String(required=True, validate=validate.Length(max=300))
    endpoint = fields.String(required=True, validate=_short)
    public_key = fields.String(allow_none=True, load_default=None, validate=_short)
    vpn_cidr = fields.String(required=True, validate=_short)
    vpn_cidr6 = fields.String(allow_none=True, load_default=None, validate=_short)
    dns = fields.List(fields.String(validate=_short), load_default=list, validate=_dns)
    mtu = fields.Integer(load_default=MTU_DEFAULT, strict=True, validate=_mtu)
    enabled = fields.Boolean(load_default=True)


class GatewayUpdateSchema(StrictSchema):
    """PATCH /gateways/{id} body; every field optional."""

    name = fields.String(validate=validate.Length(max=300))
    endpoint = fields.String(validate=_short)
    public_key = fields.String(allow_none=True, validate=_short)
    vpn_cidr = fields.String(validate=_short)
    vpn_cidr6 = fields.String(allow_none=True, validate=_short)
    dns = fields.List(fields.String(validate=_short), validate=_dns)
    mtu = fields.Integer(strict=True, validate=_mtu)
    enabled = fields.Boolean()
