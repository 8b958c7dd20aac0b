"""Walk an exception's causes: requests and urllib3 bury the ssl error several levels deep.

One walk for the client, the gateway agent and the pinning code, so all three classify the
same failure alike.
"""

from __future__ import annotations

from collections.abc import Iterator


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then every exception reachable through ``reason`` (urllib3), ``__cause__``,
    ``__context__`` and exception arguments, each once."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        for nxt in (getattr(cur, "reason", None), cur.__cause__, cur.__context__,
                    *getattr(cur, "args", ())):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
