"""User schemas (groups are names attached to users; the password is write-only)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_load, validate

from ..pagination import PageArgsSchema
from . import StrictSchema

USERNAME_RE = r"^[A-Za-z0-9._@-]{1,64}$"
GROUP_RE = r"^[A-Za-z0-9._-]{1,64}$"
ROLES = ("admin", "user")
MAX_GROUPS = 100

_username = validate.Regexp(USERNAME_RE, error="1-64 characters of A-Z a-z 0-9 . _ @ -")
_group = validate.Regexp(GROUP_RE, error="group names are 1-64 characters of A-Z a-z 0-9 . _ -")
_password = validate.Length(min=8, max=1024, error="must be 8-1024 characters")
_email = validate.And(validate.Length(max=254), validate.Email(error="not a valid email address"))


def group_list(**kwargs) -> fields.List:
    """A list of group names."""
    return fields.List(
        fields.String(validate=_group), validate=validate.Length(max=MAX_GROUPS), **kwargs
    )


class UserSchema(Schema):
    """A user as the API shows it."""

    id = fields.Integer(dump_only=True)
    username = fields.String()
    email = fields.String(allow_none=True)
    role = fields.String(validate=validate.OneOf(ROLES))
    groups = fields.List(fields.String())
    disabled = fields.Boolean()
    created_at = fields.DateTime(dump_only=True)
    sign_in_method = fields.String(
        dump_only=True,
        metadata={"enum": ["password", "oidc"], "description": "how the user signs in"},
    )
    sso_provider = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "identity provider id (oidc users)"},
    )
    totp_enabled = fields.Boolean(
        dump_only=True, metadata={"description": "two-factor (TOTP) is on"}
    )


class _EmailBlankIsNone(StrictSchema):
    """An empty email field means "no email" (forms send "")."""

    @pre_load
    def _blank_email(self, data: Any, **_kw: Any) -> Any:
        email = data.get("email") if isinstance(data, dict) else None
        if isinstance(email, str) and not email.strip():
            data = {**data, "email": None}
        return data


class UserCreateSchema(_EmailBlankIsNone):
    """POST /users body."""

    username = fields.String(required=True, validate=_username)
    password = fields.String(required=True, load_only=True, validate=_password)
    email = fields.String(allow_none=True, load_default=None, validate=_email)
    role = fields.String(load_default="user", validate=validate.OneOf(ROLES))
    groups = group_list(load_default=list)
    disabled = fields.Boolean(load_default=False)


class UserUpdateSchema(_EmailBlankIsNone):
    """PATCH /users/{id} body; every field optional.

    A user editing itself may change only ``password`` (giving ``current_password``) and
    ``email``; the other fields are for admins.
    """

    username = fields.String(validate=_username)
    password = fields.String(load_only=True, validate=_password)
    current_password = fields.String(
        load_only=True,
        validate=validate.Length(max=1024),
        metadata={"description": "required when changing your own password"},
    )
    email = fields.String(allow_none=True, validate=_email)
    role = fields.String(validate=validate.OneOf(ROLES))
    groups = group_list()
    disabled = fields.Boolean()


class UserListArgsSchema(PageArgsSchema):
    """GET /users query: search and filters plus pagination."""

    q = fields.String(
        validate=validate.Length(max=254),
        metadata={"description": "substring of username or email (case-insensitive)"},
    )
    role = fields.String(validate=validate.OneOf(ROLES))
    disabled = fields.Boolean()
