"""Serves the built admin UI at / in the embedded default (nginx does it in production)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, send_from_directory

from .errors import envelope

web = Blueprint("web", __name__)

DEFAULT_UI_DIR = Path(__file__).resolve().parents[1] / "admin-ui" / "dist"


def ui_dir() -> Path:
    """Where the built admin UI lives (``NEXAVPN_ADMIN_UI_DIR`` or backend/admin-ui/dist)."""
    configured = current_app.config.get("NEXAVPN_ADMIN_UI_DIR")
    return Path(configured) if configured else DEFAULT_UI_DIR


@web.route("/", defaults={"path": ""})
@web.route("/<path:path>")
def admin_ui(path: str):
    """A built file if it exists, else index.html so client-side routes work."""
    if path.startswith("api/"):
        return envelope(404, "not_found", "Not found.")
    root = ui_dir()
    if not (root / "index.html").is_file():
        abort(404, description="The admin UI is not built (npm run build in backend/admin-ui).")
    candidate = (root / path).resolve()
    if path and candidate.is_file() and root.resolve() in candidate.parents:
        resp = send_from_directory(root, path)
        if path.startswith("assets/"):
            resp.cache_control.max_age = 31536000
            resp.cache_control.public = True
        return resp
    resp = send_from_directory(root, "index.html")
    resp.cache_control.no_cache = True
    return resp


def register_web(app: Flask) -> None:
    """Add the admin UI routes (after the API so /api/ always wins)."""
    app.register_blueprint(web)

    @app.after_request
    def _security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        if resp.mimetype == "text/html":
            resp.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            )
        return resp
