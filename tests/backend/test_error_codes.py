"""Every error code the API raises is in the contract's table, with the status it is raised
with, and documented in the served OpenAPI document.

The raise sites are found by reading the source (``ApiError(status, code, …)``,
``ApiError.of(code, …)``, and literal envelopes), so a new code or a code sent with another
status fails here before a client meets it.
"""

from __future__ import annotations

import ast
import http
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import nexavpn_api
from nexavpn_api.errors import _DEFAULT_CODES, ApiError
from nexavpn_api.openapi import openapi_document
from nexavpn_shared import contract
from nexavpn_shared.contract import ERROR_STATUS

API_DIR = Path(nexavpn_api.__file__).resolve().parent

# Callable name → (index of the status argument, index of the code argument, default status).
# ``_err`` is security.py's JWT-callback helper (status 401 unless given).
CALLS: dict[str, tuple[int, int, int | None]] = {
    "ApiError": (0, 1, None),
    "envelope": (0, 1, None),
    "_err": (2, 0, 401),
}
KEYWORDS = {"status": "status", "code": "code"}


@dataclass(frozen=True)
class Site:
    where: str
    status: int | None  # None: taken from the table (ApiError.of)
    code: str


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        if func.attr == "of" and _call_name(func.value) == "ApiError":
            return "ApiError.of"
        return func.attr
    return None


def _arg(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[index] if len(call.args) > index else None


def _code_value(node: ast.expr | None) -> str | None:
    """A literal code, or a constant of nexavpn_shared.contract (``contract.X`` or ``X``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
    value = getattr(contract, name, None) if name else None
    return value if isinstance(value, str) else None


def scan(root: Path = API_DIR) -> tuple[list[Site], list[str]]:
    """(raise sites, places whose code or status cannot be read from the source)."""
    sites: list[Site] = []
    unreadable: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node.func)
            where = f"{path.relative_to(root.parent)}:{node.lineno}"
            if name == "ApiError.of":
                code = _code_value(_arg(node, 0, "code"))
                if code is None:
                    unreadable.append(where)
                else:
                    sites.append(Site(where, None, code))
                continue
            if name not in CALLS:
                continue
            status_i, code_i, default = CALLS[name]
            code_node = _arg(node, code_i, "code")
            status_node = _arg(node, status_i, "status")
            code = _code_value(code_node)
            if name != "ApiError" and code is None:
                continue  # an envelope passing on another error's code (handlers)
            if status_node is None:
                status = default
            elif isinstance(status_node, ast.Constant) and isinstance(status_node.value, int):
                status = status_node.value
            else:
                status = None
            if code is None or status is None:
                unreadable.append(where)
            else:
                sites.append(Site(where, status, code))
    return sites, unreadable


@pytest.fixture(scope="module")
def sites() -> list[Site]:
    found, unreadable = scan()
    assert not unreadable, (
        "write the status and code of these errors literally (or use ApiError.of with a "
        f"nexavpn_shared.contract constant) so they can be checked: {unreadable}"
    )
    assert len(found) >= 30, f"the scan found only {len(found)} raise sites: is it broken?"
    return found


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi_document()


def test_every_raised_code_is_in_the_table_with_its_status(sites: list[Site]) -> None:
    unknown = sorted({f"{s.code} ({s.where})" for s in sites if s.code not in ERROR_STATUS})
    assert not unknown, f"add these codes to nexavpn_shared.contract.ERROR_STATUS: {unknown}"
    wrong = [
        f"{s.where}: {s.code} sent with {s.status}, the table says {ERROR_STATUS[s.code]}"
        for s in sites if s.status is not None and s.status != ERROR_STATUS[s.code]
    ]
    assert not wrong, "\n".join(wrong)


def test_framework_errors_use_table_codes() -> None:
    """The codes given to werkzeug/flask-smorest errors agree with the table too."""
    for status, code in _DEFAULT_CODES.items():
        if status == 422:  # flask-smorest's validation status, answered as 400 (test_openapi)
            continue
        assert ERROR_STATUS.get(code) == status, (status, code)


def test_every_code_is_documented_in_the_openapi_document(doc: dict[str, Any]) -> None:
    enum = set(doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"])
    assert enum == set(ERROR_STATUS)
    responses = doc["components"]["responses"]
    every = responses["DEFAULT_ERROR"]["description"]
    for code in sorted(ERROR_STATUS):  # raised codes missing from the table fail above
        status = ERROR_STATUS[code]
        assert f"`{code}` ({status})" in every, f"{code}: not in the default error response"
        by_status = responses.get(http.HTTPStatus(status).name)
        if by_status is not None:  # operations document this status: it names the code too
            assert f"`{code}`" in by_status["description"], f"{code}: not named for {status}"


def test_apierror_of_takes_the_status_from_the_table() -> None:
    err = ApiError.of(contract.PUBLIC_KEY_IN_USE, "In use.", {"public_key": ["taken"]})
    assert (err.status, err.code) == (409, "public_key_in_use")
    assert err.details == {"public_key": ["taken"]}
    with pytest.raises(KeyError):
        ApiError.of("no_such_code", "x")


def test_the_scan_sees_every_kind_of_site(tmp_path: Path) -> None:
    """The scanner itself: literal, contract constant, .of, keyword arguments, dynamic."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mod.py").write_text(
        "from nexavpn_shared import contract\n"
        "ApiError(409, 'conflict', 'm')\n"
        "ApiError(status=403, code=contract.DEVICE_LIMIT_REACHED, message='m')\n"
        "ApiError.of(contract.GONE, 'm')\n"
        "envelope(413, 'payload_too_large', 'm')\n"
        "envelope(exc.status, exc.code, 'm')\n"
        "_err('token_expired', 'm')\n"
        "ApiError(status, code, 'm')\n"
    )
    found, unreadable = scan(pkg)
    assert [(s.status, s.code) for s in found] == [
        (409, "conflict"), (403, "device_limit_reached"), (None, "gone"),
        (413, "payload_too_large"), (401, "token_expired"),
    ]
    assert unreadable == ["pkg/mod.py:8"]
