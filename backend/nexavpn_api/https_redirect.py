"""Plain ``http://`` sent to the HTTPS port gets a redirect to ``https://`` instead of silence.

A browser or script pointed at ``http://host:8443`` would otherwise see the connection drop
(the TLS handshake fails on "GET / HTTP/1.1"). gunicorn lets a hook supply the server's
SSLContext; the context returned here looks at the first bytes of each connection (peeked, not
read) before TLS starts: a TLS handshake record goes on unchanged, an HTTP request line is
answered with ``308`` to the same host and path over https and the connection is closed. Works
with every gunicorn worker that wraps sockets with ``ssl_context().wrap_socket`` (gthread, sync,
gevent).
"""

from __future__ import annotations

import json
import os
import re
import select
import socket
import ssl
from typing import Any

PEEK_BYTES = 4096
PEEK_SECONDS = 5.0  # a client that sends nothing is left to the TLS handshake's own timeout
_REQUEST_LINE = re.compile(rb"([A-Z]{3,10}) ([\x21-\x7e]{1,2000}) HTTP/1\.[01]\r?\n")
_HOST = re.compile(rb"^host:[ \t]*([A-Za-z0-9.-]{1,253}(?::\d{1,5})?|\[[0-9A-Fa-f:.]{2,45}\]"
                   rb"(?::\d{1,5})?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_TLS_HANDSHAKE = 0x16


def redirect_for(head: bytes) -> bytes | None:
    """The whole HTTP response for a plain request in ``head`` (None: not plain HTTP)."""
    m = _REQUEST_LINE.match(head)
    if not m:
        return None
    path = m.group(2).decode("ascii")
    if not path.startswith("/"):
        path = "/"
    host = _HOST.search(head)
    if host:
        base = "https://" + host.group(1).decode("ascii")
    else:
        base = os.environ.get("NEXAVPN_PUBLIC_URL", "").rstrip("/")
        if not base.startswith("https://"):
            return _response(400, "Bad Request", None, path)
    return _response(308, "Permanent Redirect", base + path, path)


def _response(status: int, reason: str, location: str | None, path: str) -> bytes:
    if location:
        message = f"This port speaks HTTPS only: use {location}"
    else:
        message = "This port speaks HTTPS only: use https:// with this host and port."
    if path.startswith("/api/"):
        body = json.dumps({"error": {"code": "https_required", "message": message,
                                     "details": {"location": location} if location else {}}})
        ctype = "application/json"
    else:
        body, ctype = message + "\n", "text/plain; charset=utf-8"
    data = body.encode()
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {ctype}",
             f"Content-Length: {len(data)}", "Connection: close", "Cache-Control: no-store"]
    if location:
        lines.insert(1, f"Location: {location}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + data


def answer_plain_http(sock: socket.socket, wait: float = PEEK_SECONDS) -> bool:
    """If the client spoke plain HTTP, answer with the redirect and shut the socket down."""
    try:
        ready, _, _ = select.select([sock], [], [], wait)
        if not ready:
            return False
        head = sock.recv(PEEK_BYTES, socket.MSG_PEEK)
    except (OSError, ValueError):
        return False
    if not head or head[0] == _TLS_HANDSHAKE:
        return False
    answer = redirect_for(head)
    if answer is None:
        return False  # neither TLS nor HTTP: the handshake refuses it as before
    try:
        sock.recv(len(head))  # consume what was peeked, so closing does not reset the reply
        sock.sendall(answer)
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return True


class _RedirectingMixin:
    """``wrap_socket`` that answers plain HTTP first (then TLS fails quietly on the closed
    socket, which every worker treats as a client that went away)."""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        answer_plain_http(sock)
        return super().wrap_socket(sock, *args, **kwargs)  # type: ignore[misc]


_CLASSES: dict[type, type] = {}


def redirecting(ctx: ssl.SSLContext) -> ssl.SSLContext:
    """The same context (same certificate and settings), answering plain HTTP with a redirect.

    The class is derived from the context's own (gevent's SSLContext under the gevent worker).
    """
    base = type(ctx)
    cls = _CLASSES.get(base)
    if cls is None:
        cls = _CLASSES[base] = type(f"Redirecting{base.__name__}", (_RedirectingMixin, base), {})
    ctx.__class__ = cls
    return ctx


def gunicorn_ssl_context(_conf: Any, default_ssl_context_factory: Any) -> ssl.SSLContext:
    """gunicorn's ``ssl_context`` hook: its default context, made to redirect plain HTTP."""
    return redirecting(default_ssl_context_factory())
