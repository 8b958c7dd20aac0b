"""GET /server-info: the URL and certificate an admin hands to agents and users."""

from __future__ import annotations

from marshmallow import Schema, fields


class ServerCertificateSchema(Schema):
    """The certificate the server itself presents."""

    fingerprint = fields.String(metadata={
        "description": "SHA-256 of the DER certificate, AB:CD:… (what clients and agents pin)"})
    self_signed = fields.Boolean()
    subject = fields.String()
    not_after = fields.DateTime()


class ServerInfoSchema(Schema):
    """Where and how to reach this server."""

    public_url = fields.String(metadata={"example": "https://vpn.example.com:8443"})
    tls = fields.Nested(ServerCertificateSchema, allow_none=True, metadata={
        "description": "null when a proxy in front terminates TLS"})
