"""gunicorn server hooks, shared by ``nexavpn-server serve`` and the packaged gunicorn.conf.py."""

from __future__ import annotations

import signal
from typing import Any


def post_worker_init(worker: Any) -> None:
    """On SIGTERM/SIGINT/SIGQUIT, release waiting long-polls before gunicorn's own handler runs.

    gunicorn's graceful stop waits for requests in flight; an agent's config long-poll would
    hold the worker for up to its ``wait``. Releasing it (a 304) lets the stop finish at once.
    """
    from .services import notify

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        previous = signal.getsignal(sig)

        def _handler(signum: int, frame: Any, _previous: Any = previous) -> None:
            notify.begin_shutdown()
            if callable(_previous):
                _previous(signum, frame)

        signal.signal(sig, _handler)
