"""Cooperative helpers: the same code runs under gunicorn's gevent worker and in threads.

Under the gevent worker the standard library is monkey-patched, so ``threading`` primitives,
sockets and psycopg's waits are already cooperative. Two things are not: CPU-heavy C code that
releases the GIL (argon2) would still stop the whole hub, so it goes to gevent's native
threadpool; and a database that accepts bytes but never answers would hold a greenlet forever,
so database work runs under a deadline (``gevent.Timeout``; SQLAlchemy invalidates a
connection interrupted by it). In plain threads (the test client, ``flask run``) both are no-ops.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def is_green() -> bool:
    """True when gevent has monkey-patched threading (gunicorn's gevent worker)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


_pools: dict[int, Any] = {}


def _cpu_pool() -> Any:
    """A native threadpool per process, as wide as the CPUs (``NEXAVPN_CPU_THREADS``): more
    hashes at once than cores only make every request, heartbeats included, wait longer."""
    pid = os.getpid()
    pool = _pools.get(pid)
    if pool is None:
        from gevent.threadpool import ThreadPool

        raw = os.environ.get("NEXAVPN_CPU_THREADS", "").strip()
        try:
            width = int(raw) if raw else len(os.sched_getaffinity(0))
        except (ValueError, AttributeError):
            width = os.cpu_count() or 1
        pool = _pools[pid] = ThreadPool(maxsize=max(1, width))
    return pool


_NICE = 10
_niced_threads: set[int] = set()


def _in_pool(func: Callable[..., T], args: tuple[Any, ...]) -> T:
    """Run in a pool thread whose CPU priority was lowered once (Linux: per-thread nice)."""
    tid = _native_thread_id()
    if tid not in _niced_threads:
        _niced_threads.add(tid)
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, tid, _NICE)
    return func(*args)


def _native_thread_id() -> int:
    import _thread

    from gevent import monkey

    native = monkey.get_original("_thread", "get_native_id")
    return int(native() if native else _thread.get_native_id())


def run_cpu(func: Callable[..., T], *args: Any) -> T:
    """Run CPU-heavy GIL-releasing work off the hub (a native threadpool) when green.

    The pool's threads run at a lower CPU priority: when hashes saturate the cores, heartbeats
    and other short requests still get the CPU first.
    """
    if not is_green():
        return func(*args)
    return _cpu_pool().apply(_in_pool, (func, args))


class DatabaseDeadline(BaseException):
    """The request's database work ran past its deadline (the database stopped answering).

    A BaseException on purpose: SQLAlchemy then invalidates the interrupted connection instead
    of returning it to the pool half-way through a protocol exchange.
    """


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise DatabaseDeadline in this greenlet after ``seconds`` (no-op outside gevent)."""
    if seconds <= 0 or not is_green():
        yield
        return
    import gevent

    timer = gevent.Timeout(seconds, DatabaseDeadline)
    timer.start()
    try:
        yield
    finally:
        timer.close()


@contextlib.contextmanager
def paused(timer_holder: dict[str, Any]) -> Iterator[None]:
    """Suspend a running request deadline while the request waits on purpose (a long-poll)."""
    timer = timer_holder.get("timer")
    if timer is None:
        yield
        return
    timer.cancel()
    try:
        yield
    finally:
        timer.start()
