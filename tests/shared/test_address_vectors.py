"""The server's address, endpoint and name rules against the vectors the admin UI's forms are
tested with (backend/admin-ui/src/validation.vectors.json): one file, so the two cannot drift."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nexavpn_shared import netaddr
from nexavpn_shared.netaddr import InvalidValue

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "backend" / "admin-ui" / "src"
     / "validation.vectors.json").read_text()
)


def _error(check: Callable[[str], object], value: str) -> str | None:
    try:
        check(value)
    except InvalidValue as exc:
        return exc.message
    return None


@pytest.mark.parametrize(("value", "expected"), VECTORS["cidr"])
def test_cidr(value: str, expected: str | None) -> None:
    assert _error(netaddr.normalize_network, value) == expected


@pytest.mark.parametrize(("value", "expected"), VECTORS["ip"])
def test_ip(value: str, expected: str | None) -> None:
    assert _error(netaddr.normalize_address, value) == expected


@pytest.mark.parametrize(("value", "valid"), VECTORS["endpoint"])
def test_endpoint(value: str, valid: bool) -> None:
    assert (_error(netaddr.validate_endpoint, value) is None) is valid


@pytest.mark.parametrize(("value", "valid"), VECTORS["name"])
def test_name(value: str, valid: bool) -> None:
    assert (_error(netaddr.validate_name, value) is None) is valid


def test_vectors_cover_both_answers() -> None:
    for kind in ("cidr", "ip"):
        answers = {expected is None for _, expected in VECTORS[kind]}
        assert answers == {True, False}, kind
    for kind in ("endpoint", "name"):
        assert {valid for _, valid in VECTORS[kind]} == {True, False}, kind
