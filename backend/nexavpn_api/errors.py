"""One place that turns every failure into the contract's error envelope."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from nexavpn_shared.contract import ERROR_STATUS

log = logging.getLogger(__name__)

# Status → default code for errors raised by Flask/werkzeug/flask-smorest themselves.
_DEFAULT_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An error the API answers on purpose, with a stable code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    @classmethod
    def of(
        cls,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiError:
        """An error whose status comes from the contract's table, so the two cannot disagree."""
        return cls(ERROR_STATUS[code], code, message, details, headers)


def validation_error(details: dict[str, Any], message: str = "The request is invalid.") -> ApiError:
    """400 naming the offending fields."""
    return ApiError(400, "validation_error", message, details)


def not_found(what: str = "Resource") -> ApiError:
    """404 used for missing objects and for other users' objects alike."""
    return ApiError(404, "not_found", f"{what} not found.")


def envelope(status: int, code: str, message: str, details: dict[str, Any] | None = None):
    """Build the JSON response for an error."""
    resp = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    resp.status_code = status
    return resp


def _field_messages(messages: Any) -> dict[str, Any]:
    """Flatten webargs' {location: {field: [msg]}} into {field: [msg]}."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    if set(messages) <= {"json", "query", "querystring", "headers", "form", "view_args", "path"}:
        flat: dict[str, Any] = {}
        for part in messages.values():
            if isinstance(part, dict):
                flat.update(part)
            else:
                flat.setdefault("_schema", part)
        return flat
    return messages


def register_error_handlers(app: Flask) -> None:
    """Install handlers after flask-smorest so ours win (last registration per class wins)."""

    @app.before_request
    def _cap_body():
        """Refuse an oversized body before anything reads it (werkzeug checks again on read)."""
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            return envelope(413, "payload_too_large", f"The request body exceeds {limit} bytes.")
        return None

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        resp = envelope(exc.status, exc.code, exc.message, exc.details)
        for key, value in exc.headers.items():
            resp.headers[key] = value
        return resp

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        if status in (400, 422) and "messages" in data:
            return envelope(
                400,
                "validation_error",
                "The request is invalid.",
                _field_messages(data["messages"]),
            )
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            return envelope(413, "payload_too_large", f"The request body exceeds {limit} bytes.")
        if status == 400:
            return envelope(400, "validation_error", "The request body is not valid JSON.")
        code = _DEFAULT_CODES.get(status, "error")
        resp = envelope(status, code, exc.description or exc.name)
        valid = getattr(exc, "valid_methods", None)
        if status == 405 and valid:
            resp.headers["Allow"] = ", ".join(valid)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return envelope(500, "internal_error", "An internal error occurred.")
