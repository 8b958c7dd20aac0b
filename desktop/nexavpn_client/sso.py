"""Single sign-on for a native app (RFC 8252): PKCE S256, state, a loopback redirect listener.

The system browser does the sign-in at the identity provider; the server then redirects it to
``http://127.0.0.1:<ephemeral port>/callback?code=…&state=…``, which :class:`LoopbackReceiver`
answers. The one-time code only works together with the PKCE verifier that never left this
process.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair: the verifier stays here, the S256 challenge goes to the server."""

    verifier: str
    challenge: str

    def __repr__(self) -> str:
        return "Pkce(<hidden>)"


def new_pkce() -> Pkce:
    """A fresh 43+ character verifier and its base64url SHA-256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return Pkce(verifier, challenge)


def new_state() -> str:
    """An unguessable ``state`` tying the redirect to this sign-in attempt."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Redirect:
    """What arrived on the loopback: a code, or an error code, and the state."""

    code: str | None
    state: str | None
    error: str | None

    def __repr__(self) -> str:
        return f"Redirect(error={self.error!r})"


_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>NexaVPN</title></head>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{text}</p>"
    "</body></html>"
)


class LoopbackReceiver:
    """A one-shot HTTP listener on 127.0.0.1:<ephemeral> that waits for the browser's redirect."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._result: Redirect | None = None
        self._done = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH:
                    self.send_error(404)
                    return
                query = parse_qs(parts.query)

                def one(name: str) -> str | None:
                    values = query.get(name)
                    return values[0] if values else None

                got = Redirect(one("code"), one("state"), one("error"))
                ok = receiver._accept(got)
                title = "Signed in" if ok and not got.error else "Sign-in did not finish"
                text = (
                    "You can close this window and go back to NexaVPN."
                    if ok and not got.error
                    else "Go back to NexaVPN to see why and try again."
                )
                body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # the URL holds the code
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="nexavpn-sso-loopback", daemon=True
        )
        self._thread.start()

    def _accept(self, got: Redirect) -> bool:
        if self._done.is_set():
            return False
        if got.code is None and got.error is None:
            return False
        self._result = got
        self._done.set()
        return True

    @property
    def redirect_uri(self) -> str:
        """The loopback redirect URI to register with the server for this attempt."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{CALLBACK_PATH}"

    def wait(self, timeout: float, cancelled: threading.Event | None = None) -> Redirect | None:
        """The redirect, or None after ``timeout`` seconds (or when ``cancelled`` is set)."""
        step = 0.1
        waited = 0.0
        while waited < timeout:
            if self._done.wait(step):
                return self._result
            if cancelled is not None and cancelled.is_set():
                return None
            waited += step
        return self._result

    def close(self) -> None:
        """Stop listening (the port is released)."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
