"""Marshmallow schemas: request validation (unknown fields → 400) and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, validate

#: Largest 64-bit integer (counters, timestamps, offsets).
INT64_MAX = 2**63 - 1
#: Largest row id: id columns are ``integer`` on PostgreSQL (32-bit). An id above it cannot
#: exist, and handing it to the database fails with an overflow (a 500), so requests carrying
#: one are refused before that: ids in path, query and body are 1 .. ID_MAX.
ID_MAX = 2**31 - 1
ID_RANGE = validate.Range(min=1, max=ID_MAX)


class StrictSchema(Schema):
    """Request bodies refuse unknown fields (the contract: unknown JSON fields → 400)."""

    class Meta:
        unknown = RAISE


def error_responses(blp: Any, *statuses: int) -> Callable[[Callable[..., Any]], Any]:
    """Document error answers of a view with the envelope schema (flask-smorest's components).

    Why: the OpenAPI document must show every error a client can get, always as the envelope.
    """
    import http

    def decorator(func: Callable[..., Any]) -> Any:
        for status in statuses:
            func = blp.alt_response(status, response=http.HTTPStatus(status).name)(func)
        return func

    return decorator
