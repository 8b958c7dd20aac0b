"""Policy schemas; destinations are checked and normalised by the shared CIDR rules."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..pagination import PageArgsSchema
from . import ID_RANGE, StrictSchema
from .users import group_list

MAX_DESTINATIONS = 256
MAX_USERS = 1000

_destinations = validate.Length(max=MAX_DESTINATIONS)
_user_ids = validate.Length(max=MAX_USERS)
_description = validate.Length(max=1000)


class PolicySchema(Schema):
    """A policy as the API shows it."""

    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    enabled = fields.Boolean()
    user_ids = fields.List(fields.Integer())
    groups = fields.List(fields.String())
    destinations = fields.List(fields.String(), metadata={"example": ["10.20.0.0/24"]})


class PolicyWriteSchema(StrictSchema):
    """POST /policies body."""

    name = fields.String(required=True, validate=validate.Length(max=300))
    description = fields.String(load_default="", validate=_description)
    enabled = fields.Boolean(load_default=True)
    user_ids = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE), load_default=list, validate=_user_ids
    )
    groups = group_list(load_default=list)
    destinations = fields.List(
        fields.String(validate=validate.Length(max=64)), required=True, validate=_destinations
    )


class PolicyUpdateSchema(StrictSchema):
    """PATCH /policies/{id} body; every field optional."""

    name = fields.String(validate=validate.Length(max=300))
    description = fields.String(validate=_description)
    enabled = fields.Boolean()
    user_ids = fields.List(fields.Integer(strict=True, validate=ID_RANGE), validate=_user_ids)
    groups = group_list()
    destinations = fields.List(
        fields.String(validate=validate.Length(max=64)), validate=_destinations
    )


class PolicyListArgsSchema(PageArgsSchema):
    """GET /policies query: filters plus pagination."""

    q = fields.String(
        validate=validate.Length(max=64), metadata={"description": "substring of the name"}
    )
    enabled = fields.Boolean()
    user_id = fields.Integer(
        validate=ID_RANGE, metadata={"description": "policies naming this user directly"}
    )
    group = fields.String(validate=validate.Length(max=64))
