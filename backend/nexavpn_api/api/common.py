"""The Blueprint and error schema every resource uses, tuned to the contract."""

from __future__ import annotations

import http
from typing import Any

from apispec import APISpec
from flask import request
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields, missing
from webargs.flaskparser import FlaskParser, abort
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, Map

from nexavpn_shared.contract import ERROR_STATUS

from ..request_meta import RequestMeta
from ..schemas import ID_MAX
from ..security import client_ip


class IdConverter(IntegerConverter):
    """``<int:…>`` path ids, bounded to what an id column holds (see ``schemas.ID_MAX``).

    Unbounded, a larger id would reach the database and fail there with an overflow (a 500).
    Out of range, the route simply does not match: 404, as for any id that does not exist.
    """

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(url_map, *args, **kwargs)


def _bad_string(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _holds_bad_string(value: Any) -> bool:
    """Whether any string in ``value`` (keys included) holds a NUL or a lone surrogate; an
    explicit stack, since the value may be nested deeply."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _bad_string(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _unstorable_field(data: Any) -> str | None:
    """The top-level field holding a string with a NUL or a lone surrogate, if any.

    Both parse as JSON ("\\u0000", "\\ud800") but neither can be stored (PostgreSQL text has no
    NUL; a lone surrogate is not encodable as UTF-8), so they are refused at the door rather
    than failing deep in a service. ``_schema`` when the culprit is not inside a named field
    (or is a field name itself).
    """
    if not isinstance(data, dict):
        return "_schema" if _holds_bad_string(data) else None
    for key, value in data.items():
        if _bad_string(key):
            return "_schema"
        if _holds_bad_string(value):
            return key
    return None


class _Parser(FlaskParser):
    """The contract says bad input is a 400 (flask-smorest's default is 422)."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_querystring(self, req: Any, schema: Any) -> Any:
        """An empty query value means "not given", as when an HTML form or a URL template
        (``?actor_id=&action=…``) leaves a filter blank, rather than a 400 for the blank."""
        given = MultiDict((k, v) for k, v in req.args.items(multi=True) if v != "")
        return self._makeproxy(given, schema)

    def load_json(self, req: Any, schema: Any) -> Any:
        """webargs turns only JSONDecodeError into a 400; a body nested too deeply for the
        parser (RecursionError) or an integer literal longer than Python converts (ValueError)
        would otherwise be a 500. Strings that cannot be stored are a 400 as well."""
        try:
            data = super().load_json(req, schema)
        except (RecursionError, ValueError) as exc:
            self._handle_invalid_json_error(exc, req)
        field = None if data is missing else _unstorable_field(data)
        if field is not None:
            abort(
                400,
                exc=ValueError("unstorable string"),
                messages={"json": {field: ["Must be valid Unicode without NUL characters."]}},
            )
        return data


class Blueprint(SmorestBlueprint):
    """flask-smorest blueprint answering validation errors with 400."""

    ARGUMENTS_PARSER = _Parser()


class ErrorBodySchema(Schema):
    """The inner error object."""

    code = fields.String(
        required=True, metadata={"enum": sorted(ERROR_STATUS), "example": "validation_error"}
    )
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorSchema(Schema):
    """Every error the API returns: {"error": {code, message, details}}."""

    error = fields.Nested(ErrorBodySchema, required=True)


def error_codes_of(status: int) -> list[str]:
    """The error codes the API sends with ``status`` (the contract's table)."""
    return sorted(code for code, st in ERROR_STATUS.items() if st == status)


def register_error_responses(spec: APISpec, schema: Any, content_type: str) -> None:
    """flask-smorest's shared per-status responses, each naming the error codes of its status.

    Views document their errors by status (``error_responses``); this way the OpenAPI document
    also says which ``error.code`` values a client can meet under each status.
    """
    for status in http.HTTPStatus:
        codes = error_codes_of(status)
        response: dict[str, Any] = {"description": status.phrase}
        if codes:
            response["description"] += ". Error codes: " + ", ".join(f"`{c}`" for c in codes)
        if not (100 <= status < 200) and status not in (204, 304):
            response["schema"] = schema
        prepare_response(response, spec, content_type)
        spec.components.response(status.name, response, lazy=True)
    every = ", ".join(f"`{code}` ({status})" for code, status in sorted(ERROR_STATUS.items()))
    default = {
        "description": f"Any error, always this envelope. Error codes (HTTP status): {every}",
        "schema": schema,
    }
    prepare_response(default, spec, content_type)
    spec.components.response("DEFAULT_ERROR", default, lazy=True)


def api_prefix(resource: str) -> str:
    """URL prefix of a resource blueprint."""
    return f"/api/v1/{resource}"


def request_meta() -> RequestMeta:
    """The caller as services may know it, built here once so no service reads the request:
    the address by the trusted-proxy rules of ``security.client_ip``, the raw User-Agent (the
    service that stores it truncates it to its column)."""
    return RequestMeta(ip=client_ip(), user_agent=request.headers.get("User-Agent"))


def request_origin() -> str:
    """This request's origin (``scheme://host[:port]``), the public URL's fallback when
    NEXAVPN_PUBLIC_URL is not set."""
    return request.host_url.rstrip("/")
