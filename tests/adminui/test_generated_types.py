"""The admin UI's generated API types (backend/admin-ui/src/api/schema.d.ts) match the OpenAPI
document the backend serves today: scripts/gen-api-types.sh --check regenerates them and fails on
any difference, so an API change without regenerated types fails the test run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen-api-types.sh"


def test_generated_types_are_current() -> None:
    env = {**os.environ, "PYTHON": sys.executable}  # the interpreter running this suite
    done = subprocess.run(["bash", str(SCRIPT), "--check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, (
        "backend/admin-ui/src/api/schema.d.ts differs from the served OpenAPI document; run "
        f"scripts/gen-api-types.sh and commit the result.\n{done.stdout[-4000:]}{done.stderr}"
    )
    assert "is up to date" in done.stdout
