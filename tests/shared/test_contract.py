"""Contract constants and the purity of the shared package."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nexavpn_shared
from nexavpn_shared import contract

SHARED_DIR = Path(nexavpn_shared.__file__).resolve().parent


def test_constants_match_the_api_contract() -> None:
    assert contract.API_PREFIX == "/api/v1"
    assert contract.INVALID_PUBLIC_KEY == "invalid_public_key"
    assert contract.IP_POOL_EXHAUSTED == "ip_pool_exhausted"
    assert contract.USER_DISABLED == "user_disabled"
    assert contract.PLATFORMS == ("windows", "macos", "linux")
    assert contract.DEVICE_STATUSES == ("active", "pending", "revoked")
    assert contract.PUBLIC_KEY_REVOKED == "public_key_revoked"
    assert contract.SESSION_BOUND_TO_DEVICE == "session_bound_to_device"
    assert contract.ROLES == ("admin", "user")
    assert contract.PERSISTENT_KEEPALIVE == 25
    assert contract.DEFAULT_MTU == 1420


def test_every_error_code_constant_is_listed_with_a_status() -> None:
    codes = {
        value
        for name, value in vars(contract).items()
        if name.isupper() and isinstance(value, str) and name not in {
            "API_PREFIX", "API_VERSION", "DEVICE_STATUS_ACTIVE", "DEVICE_STATUS_PENDING",
            "DEVICE_STATUS_REVOKED",
            "ROLE_ADMIN", "ROLE_USER",
        }
    }
    assert codes == set(contract.ERROR_CODES)
    assert set(contract.ERROR_STATUS) == set(contract.ERROR_CODES)
    for code in codes:
        assert code == code.lower() and " " not in code
    assert contract.ERROR_STATUS[contract.DEVICE_REVOKED] == 410
    assert contract.ERROR_STATUS[contract.NO_ACTIVE_GATEWAY] == 503
    assert contract.ERROR_STATUS[contract.DEVICE_LIMIT_REACHED] == 403
    assert contract.ERROR_STATUS[contract.PUBLIC_KEY_REVOKED] == 409
    assert contract.ERROR_STATUS[contract.SESSION_BOUND_TO_DEVICE] == 403


def test_shared_package_imports_only_stdlib_and_cryptography() -> None:
    allowed = set(sys.stdlib_module_names) | {"cryptography", "nexavpn_shared"}
    for path in SHARED_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
