"""gunicorn server hooks, shared by ``nexavpn-server serve`` and the packaged gunicorn.conf.py."""

from __future__ import annotations

import gc
import signal
from typing import Any


def make_psycopg_cooperative() -> None:
    """psycopg picks its wait function when imported; ``serve`` imported it in the master
    (migrations) before the gevent worker patched the standard library, so choose again."""
    import sys

    waiting = sys.modules.get("psycopg.waiting")
    if waiting is None:
        return
    from .green import is_green

    if not is_green():
        return
    import selectors

    # poll, not select: a worker holding thousands of long-polls has descriptors above 1024.
    waiting.wait = waiting.wait_poll
    waiting._ready = waiting._ready_poll
    waiting.DefaultSelector = selectors.DefaultSelector  # gevent's, used while connecting


def freeze_startup_objects() -> None:
    """Move the loaded application's objects out of the garbage collector's sight.

    Flask, SQLAlchemy, marshmallow and the OpenAPI spec leave a few hundred thousand objects
    that live as long as the worker. A full collection walked all of them: 65-85 ms, stalling
    every request of the (single-threaded, gevent) worker at once, roughly every third agent
    config of 1,000 peers. Frozen, a full collection walks only what requests create.
    """
    gc.collect()
    gc.freeze()


def release_waiters_soon(release: Any) -> None:
    """Run ``release`` in a greenlet (a thread outside gevent) of its own, not in the handler.

    A signal handler runs wherever the worker happens to be: under gevent in an event-loop
    callback, which may not block, so taking the waiters' lock there failed with
    ``BlockingSwitchOutError`` whenever a greenlet held it (seen stopping a worker with 4,000
    waiting polls); in a threaded worker it could interrupt the lock's own holder and deadlock.
    """
    from .green import is_green

    if is_green():
        import gevent

        gevent.spawn(release)  # never blocks (Thread.start() waits for the start: it would)
        return
    import threading

    threading.Thread(target=release, name="nexavpn-release-waiters", daemon=True).start()


def post_worker_init(worker: Any) -> None:
    """On SIGTERM/SIGINT/SIGQUIT, release waiting long-polls before gunicorn's own handler runs.

    gunicorn's graceful stop waits for requests in flight; a long-poll would hold the worker
    for up to its ``wait``. Releasing it (a 304) lets the stop finish at once.
    """
    from .services import notify

    make_psycopg_cooperative()
    freeze_startup_objects()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        previous = signal.getsignal(sig)

        def _handler(signum: int, frame: Any, _previous: Any = previous) -> None:
            release_waiters_soon(notify.begin_shutdown)
            if callable(_previous):
                _previous(signum, frame)

        signal.signal(sig, _handler)
