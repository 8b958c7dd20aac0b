"""The Blueprint and error schema every resource uses, tuned to the contract."""

from __future__ import annotations

from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import Schema, fields
from webargs.flaskparser import FlaskParser


class _Parser(FlaskParser):
    """The contract says bad input is a 400 (flask-smorest's default is 422)."""

    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(SmorestBlueprint):
    """flask-smorest blueprint answering validation errors with 400."""

    ARGUMENTS_PARSER = _Parser()


class ErrorBodySchema(Schema):
    """The inner error object."""

    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorSchema(Schema):
    """Every error the API returns: {"error": {code, message, details}}."""

    error = fields.Nested(ErrorBodySchema, required=True)


def api_prefix(resource: str) -> str:
    """URL prefix of a resource blueprint."""
    return f"/api/v1/{resource}"
