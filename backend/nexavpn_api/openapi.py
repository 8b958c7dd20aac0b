"""The OpenAPI document the server serves, produced without a server or a database.

``python -m nexavpn_api.openapi [FILE]`` writes it (JSON, stable key order) for tools such as the
admin UI's type generator (scripts/gen-api-types.sh); tests compare against the same document.
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any


def openapi_document() -> dict[str, Any]:
    """The document exactly as ``GET /api/v1/openapi.json`` answers it (throwaway app, no DB)."""
    from .app import create_app

    with tempfile.TemporaryDirectory(prefix="nexavpn-openapi-") as data_dir:
        app = create_app(
            {
                "DATA_DIR": data_dir,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",  # never opened: the document needs no DB
                "SECRET_KEY": secrets.token_hex(32),
                "JWT_SECRET_KEY": secrets.token_hex(32),
            }
        )
        resp = app.test_client().get("/api/v1/openapi.json")
        if resp.status_code != 200:
            raise RuntimeError(f"the app answered {resp.status_code} for its OpenAPI document")
        return resp.get_json()


def main(argv: list[str] | None = None) -> int:
    """Write the document to the file named in ``argv`` (or to stdout)."""
    args = sys.argv[1:] if argv is None else argv
    text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    if args:
        Path(args[0]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
