"""Auth request/response schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from . import StrictSchema


class LoginSchema(StrictSchema):
    """POST /auth/login body."""

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=1024)
    )


class SessionUserSchema(Schema):
    """The signed-in user as the login answer names it."""

    id = fields.Integer()
    username = fields.String()
    role = fields.String(metadata={"enum": ["admin", "user"]})


class RefreshResponseSchema(Schema):
    """A new token pair (the refresh token replaces the spent one)."""

    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "access token lifetime in seconds"})


class LoginResponseSchema(RefreshResponseSchema):
    """POST /auth/login answer."""

    user = fields.Nested(SessionUserSchema)
