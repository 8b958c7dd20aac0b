"""The contract's pagination: ?page=&per_page= → {items, page, per_page, total}."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from .extensions import db
from .schemas import INT64_MAX

MAX_PER_PAGE = 200
#: The offset (page - 1) * per_page must fit a 64-bit integer, or the database refuses it.
MAX_PAGE = INT64_MAX // MAX_PER_PAGE


class PageArgsSchema(Schema):
    """Query arguments every list accepts."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A response schema for one page of ``item_schema`` (named for the OpenAPI document)."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
        },
        name=name,
    )


def paginate(stmt: Select, page: int, per_page: int) -> dict[str, Any]:
    """Run ``stmt`` for one page and count the whole result."""
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return {"items": items, "page": page, "per_page": per_page, "total": total.scalar_one()}
