"""What the services may know about the HTTP caller, handed to them by the views.

Services never read Flask's ``request`` themselves: the views build one :class:`RequestMeta` at
the API edge (``api.common.request_meta``, which applies the trusted-proxy rules of
``security.client_ip``) and pass it down, so the same service code serves the CLI (no request:
:data:`NO_REQUEST`) and tests can hand in any caller they like.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    """The caller's address (as rate limits and the audit trail see it) and its User-Agent."""

    ip: str | None = None
    user_agent: str | None = None


#: No HTTP caller (ops CLI, background work): audit rows carry no address.
NO_REQUEST = RequestMeta()
