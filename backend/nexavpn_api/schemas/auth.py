"""Auth request/response schemas."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

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
    refresh_token = fields.String(
        required=True,
        metadata={
            "description": "absent when the request asked for a browser session "
            "(X-NexaVPN-Session: cookie): then it is in an HttpOnly cookie"
        },
    )
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "access token lifetime in seconds"})
    mfa_setup_required = fields.Boolean(
        metadata={
            "description": "true when NEXAVPN_MFA_REQUIRED obliges this user to set up TOTP: "
            "until confirmed, the tokens reach only the TOTP setup calls"
        }
    )


class LoginResponseSchema(RefreshResponseSchema):
    """POST /auth/login answer: a session, or (TOTP on) only a two-factor challenge:
    ``{"mfa_required": true, "mfa_token", "methods": ["totp"]}`` and no tokens."""

    user = fields.Nested(SessionUserSchema)
    mfa_required = fields.Boolean(metadata={"enum": [True]})
    mfa_token = fields.String(metadata={"description": "for POST /auth/mfa/verify; 5 minutes"})
    methods = fields.List(fields.String(metadata={"enum": ["totp"]}))


class MfaVerifySchema(StrictSchema):
    """POST /auth/mfa/verify body."""

    mfa_token = fields.String(required=True, validate=validate.Length(min=1, max=512))
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class TotpCodeSchema(StrictSchema):
    """A TOTP code (or a recovery code where the call takes one)."""

    code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class TotpSetupSchema(Schema):
    """A new TOTP secret, shown once; TOTP stays off until confirmed."""

    secret = fields.String(required=True, metadata={"description": "base32"})
    otpauth_uri = fields.String(required=True)
    qr_svg = fields.String(
        metadata={"description": "the otpauth URI as a QR code, an SVG data: URI for an <img>"}
    )


class RecoveryCodesSchema(Schema):
    """TOTP is on; the recovery codes, shown once."""

    recovery_codes = fields.List(fields.String(), required=True)


class ProviderSchema(Schema):
    """A single sign-on provider as the sign-in pages list it."""

    id = fields.String(required=True)
    name = fields.String(required=True)


class ProvidersSchema(Schema):
    """GET /auth/providers answer."""

    password = fields.Boolean(required=True)
    oidc = fields.List(fields.Nested(ProviderSchema), required=True)


class OidcStartArgsSchema(StrictSchema):
    """GET /auth/oidc/{id}/start query."""

    redirect_uri = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    state = fields.String(load_default="", validate=validate.Length(max=512))
    code_challenge = fields.String(required=True, validate=validate.Length(min=43, max=128))
    code_challenge_method = fields.String(load_default="S256", validate=validate.OneOf(["S256"]))


class OidcCallbackArgsSchema(Schema):
    """What the provider sends back (unknown parameters such as session_state are ignored)."""

    class Meta:
        unknown = EXCLUDE

    state = fields.String(load_default="", validate=validate.Length(max=512))
    code = fields.String(load_default="", validate=validate.Length(max=4096))
    error = fields.String(load_default="", validate=validate.Length(max=256))


class OidcTokenSchema(StrictSchema):
    """POST /auth/oidc/token body."""

    code = fields.String(required=True, validate=validate.Length(min=1, max=512))
    code_verifier = fields.String(required=True, validate=validate.Length(min=43, max=128))
