"""Serves the built admin UI at / in the embedded default (nginx does it in production)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, request, send_from_directory
from werkzeug.routing import Map

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
        allowed = _api_methods(request.path)
        if allowed:  # an API path that exists, asked with a method it does not serve
            resp = envelope(405, "method_not_allowed", "This method is not allowed here.")
            resp.headers["Allow"] = ", ".join(allowed)
            return resp
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


def _api_methods(path: str) -> list[str]:
    """The methods the API serves at ``path`` (empty when no API route matches it); the
    admin UI's catch-all must not turn "wrong method" into "not found"."""
    api_map = current_app.extensions.get("nexavpn_api_map")
    if api_map is None:
        rules = current_app.url_map.iter_rules()
        api_map = Map([r.empty() for r in rules if not r.endpoint.startswith("web.")])
        current_app.extensions["nexavpn_api_map"] = api_map
    return sorted(api_map.bind("localhost").allowed_methods(path))


def register_web(app: Flask) -> None:
    """Add the admin UI routes (after the API so /api/ always wins)."""
    app.register_blueprint(web)

    @app.after_request
    def _security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.is_secure:  # embedded TLS (behind nginx, nginx sends its own)
            resp.headers.setdefault("Strict-Transport-Security", "max-age=63072000")
        if resp.mimetype == "text/html":
            resp.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            )
        return resp
