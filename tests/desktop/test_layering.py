"""The GUI package does no I/O of its own: no HTTP, keyring, sockets or subprocesses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nexavpn_desktop

pytestmark = pytest.mark.gui

FORBIDDEN = {"requests", "urllib3", "http", "urllib", "socket", "ssl", "subprocess", "keyring",
             "secretstorage", "nexavpn_api", "nexavpn_gateway", "flask"}
PKG = Path(nexavpn_desktop.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: p.name)
def test_gui_modules_only_call_the_core(path):
    assert not (_imports(path) & FORBIDDEN), path


def test_the_scan_sees_the_views():
    names = {p.name for p in PKG.rglob("*.py")}
    assert {"signin.py", "connected.py", "window.py", "workers.py", "messages.py"} <= names
