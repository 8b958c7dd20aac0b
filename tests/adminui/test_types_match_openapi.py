"""The admin UI's TypeScript API types (backend/admin-ui/src/api/types.ts) against the OpenAPI
document the backend serves.

Most names there are derived from the generated src/api/schema.d.ts (kept fresh by
tests/adminui/test_generated_types.py; `tsc` checks the derivations): each must name a schema the
document has. The few interfaces still written by hand (the generic page, the filter forms) must
have every field in the matching schema or query. A path, operation, schema or body missing from
the document is a failure, never a skip.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TYPES_TS = ROOT / "backend" / "admin-ui" / "src" / "api" / "types.ts"

# TS interface → where its fields live in the OpenAPI document:
#   (method, path, "request") the request body; (method, path, status) a response body;
#   ("param", method, path) the query parameters; ("nested", Interface, property) a property
#   (or the items of an array property) of another checked interface.
Where = tuple[str, ...]
CHECKS: dict[str, list[Where]] = {
    "Page": [
        ("get", "/users", "200"),
        ("get", "/devices", "200"),
        ("get", "/policies", "200"),
        ("get", "/gateways", "200"),
        ("get", "/audit-logs", "200"),
    ],
    "DeviceFilters": [("param", "get", "/devices")],
    "AuditFilters": [("param", "get", "/audit-logs")],
}

# Query parameters the UI sends that are not in a TS interface.
QUERY_PARAMS: dict[tuple[str, str], set[str]] = {
    ("get", "/users"): {"page", "per_page", "q"},
    ("get", "/devices"): {"page", "per_page"},
    ("get", "/policies"): {"page", "per_page"},
    ("get", "/gateways"): {"page", "per_page"},
    ("get", "/audit-logs"): {"page", "per_page"},
}

_IFACE_RE = re.compile(
    r"export interface (\w+)(?:<[^>]*>)?(?:\s+extends\s+(\w+))?\s*\{(.*?)\n\}", re.DOTALL
)
_FIELD_RE = re.compile(r"^\s{2}(\w+)\??:", re.MULTILINE)
_DERIVED_RE = re.compile(r"Body<'(\w+)'>|Schemas\['(\w+)'\]")


def ts_interfaces() -> dict[str, set[str]]:
    """Field names of every exported interface (with inherited fields)."""
    raw: dict[str, tuple[str | None, set[str]]] = {}
    for name, parent, body in _IFACE_RE.findall(TYPES_TS.read_text()):
        raw[name] = (parent or None, set(_FIELD_RE.findall(body)))
    out: dict[str, set[str]] = {}
    for name, (parent, fields) in raw.items():
        merged = set(fields)
        while parent:
            grand, more = raw[parent]
            merged |= more
            parent = grand
        out[name] = merged
    return out


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    from nexavpn_api.openapi import openapi_document

    return openapi_document()


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    for p, ops in doc["paths"].items():
        if _norm(p) == "/api/v1" + path and method in ops:
            return ops[method]
    return None


def _resolve(doc: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """Follow $ref and merge allOf so `properties` holds every field."""
    if not schema:
        return {}
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _resolve(doc, doc["components"]["schemas"][name])
    if "allOf" in schema:
        merged: dict[str, Any] = {"properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(_resolve(doc, part).get("properties", {}))
        return merged
    if schema.get("type") == "array" and "items" in schema:
        return _resolve(doc, schema["items"])
    return schema


def _body_schema(doc: dict[str, Any], container: dict[str, Any] | None) -> dict[str, Any] | None:
    if not container:
        return None
    if "$ref" in container:  # a shared response object (components/responses)
        name = container["$ref"].rsplit("/", 1)[-1]
        container = doc["components"]["responses"][name]
    return container.get("content", {}).get("application/json", {}).get("schema")


def _schema_for(doc: dict[str, Any], where: Where, cache: dict[str, dict[str, Any]]) -> Any:
    """The resolved schema at `where`, or a string saying why there is none."""
    kind = where[0]
    if kind == "nested":
        _, parent, prop = where
        parent_schema = cache.get(parent)
        if parent_schema is None:
            return f"{parent} not resolved"
        sub = parent_schema.get("properties", {}).get(prop)
        return _resolve(doc, sub) if sub else f"{parent} has no property {prop!r}"
    if kind == "param":
        _, method, path = where
        op = _operation(doc, method, path)
        if op is None:
            return f"{method.upper()} {path} is not in the OpenAPI document"
        params = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
        return {"properties": {name: {} for name in params}}
    method, path, part = where
    op = _operation(doc, method, path)
    if op is None:
        return f"{method.upper()} {path} is not in the OpenAPI document"
    if part == "request":
        schema = _body_schema(doc, op.get("requestBody"))
    else:
        responses = op.get("responses", {})
        schema = _body_schema(doc, responses.get(part)) or (
            _body_schema(doc, responses.get("default")) if part >= "400" else None
        )
    if schema is None:
        return f"{method.upper()} {path} documents no JSON body for {part}"
    return _resolve(doc, schema)


def test_derived_types_name_served_schemas(openapi: dict[str, Any]) -> None:
    """Every schema types.ts derives a name from is in the served document."""
    used = {a or b for a, b in _DERIVED_RE.findall(TYPES_TS.read_text())}
    assert len(used) >= 15, f"types.ts derives from only {sorted(used)}: is the pattern stale?"
    missing = sorted(used - set(openapi["components"]["schemas"]))
    assert not missing, f"types.ts derives from schemas the API no longer has: {missing}"


def _all_checks() -> list[tuple[str, Where]]:
    return [(iface, where) for iface, places in CHECKS.items() for where in places]


def test_every_interface_is_checked() -> None:
    """A new interface in types.ts must be mapped here (or it escapes the check)."""
    declared = set(ts_interfaces())
    assert declared <= set(CHECKS), f"map these in CHECKS: {sorted(declared - set(CHECKS))}"


@pytest.fixture(scope="module")
def resolved(openapi: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Interface name → the first schema found for it (parents of the "nested" checks)."""
    cache: dict[str, dict[str, Any]] = {}
    for _ in range(3):  # nested checks may depend on each other; a few passes settle them
        for name, places in CHECKS.items():
            for place in places:
                found = _schema_for(openapi, place, cache)
                if not isinstance(found, dict):
                    continue
                cache.setdefault(name, found)
                if name == "Page":
                    cache.setdefault(f"Page@{place[1]}", found)
    return cache


@pytest.mark.parametrize(("iface", "where"), _all_checks(), ids=lambda v: str(v))
def test_ts_fields_exist_in_openapi(
    openapi: dict[str, Any], resolved: dict[str, dict[str, Any]], iface: str, where: Where
) -> None:
    fields = ts_interfaces()[iface]
    schema = _schema_for(openapi, where, resolved)
    assert not isinstance(schema, str), f"{iface}: {schema} (the admin UI drifted from the API)"
    props = set(schema.get("properties", {}))
    missing = fields - props
    assert not missing, f"{iface} fields missing from OpenAPI at {where}: {sorted(missing)}"


@pytest.mark.parametrize("op", sorted(QUERY_PARAMS), ids=lambda v: " ".join(v))
def test_query_parameters_exist(openapi: dict[str, Any], op: tuple[str, str]) -> None:
    found = _operation(openapi, *op)
    assert found is not None, f"{op[0].upper()} {op[1]} is not in the OpenAPI document"
    params = {p["name"] for p in found.get("parameters", []) if p.get("in") == "query"}
    assert QUERY_PARAMS[op] <= params, sorted(QUERY_PARAMS[op] - params)
