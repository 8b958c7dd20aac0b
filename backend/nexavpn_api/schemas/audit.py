"""Audit log schemas."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from ..pagination import PageArgsSchema

ACTOR_TYPES = ("user", "gateway", "system")
TARGET_TYPES = ("user", "policy", "gateway", "device", "session")
_OFFSET_SPACE = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class AuditLogSchema(Schema):
    """One audit event."""

    id = fields.Integer()
    at = fields.DateTime()
    actor_type = fields.String(metadata={"enum": list(ACTOR_TYPES)})
    actor_id = fields.String(allow_none=True)
    action = fields.String(metadata={"example": "auth.login"})
    target_type = fields.String(allow_none=True, metadata={"enum": list(TARGET_TYPES)})
    target_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    details = fields.Dict()
    actor_name = fields.String(allow_none=True, metadata={
        "description": "the acting user's or gateway's name today (null: none, or deleted)"})
    target_name = fields.String(allow_none=True, metadata={
        "description": "the target's name today (null: none, deleted, or a session)"})


class AuditArgsSchema(PageArgsSchema):
    """GET /audit-logs query: filters (ANDed) plus pagination; since/until are inclusive."""

    actor_type = fields.String(validate=validate.OneOf(ACTOR_TYPES))
    actor_id = fields.String(validate=validate.Length(min=1, max=64))
    action = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "exact action, or a prefix ending in '.' (e.g. 'auth.')"},
    )
    target_type = fields.String(validate=validate.OneOf(TARGET_TYPES))
    target_id = fields.String(validate=validate.Length(min=1, max=64))
    actor = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "user name or gateway name of the actor (case-insensitive)"},
    )
    target = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "name of the target user, policy, gateway or device "
                                 "(case-insensitive; matches objects that exist today)"},
    )
    since = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "ISO 8601, inclusive (naive = UTC)"}
    )
    until = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "ISO 8601, inclusive (naive = UTC)"}
    )

    @pre_load
    def _unmangle_plus(self, data: Any, **_kw: Any) -> Any:
        """An unencoded '+00:00' in a query string arrives as ' 00:00'; read it as meant."""
        out = dict(data)
        for key in ("since", "until"):
            value = out.get(key)
            if isinstance(value, str):
                out[key] = _OFFSET_SPACE.sub(r"\1+\2", value)
        return out

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_kw: Any) -> None:
        since, until = data.get("since"), data.get("until")
        if since is not None and until is not None and since > until:
            raise ValidationError("must not be after until", "since")
