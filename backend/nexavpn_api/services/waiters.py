"""Long-poll waiters of this process: topics, capacity, one waiter per exclusive key, shutdown.

A waiter is an event registered under a topic (``g<gateway id>``, ``d<device id>``) *before*
the request reads the database, so a wake-up that arrives between that read and the wait is
never lost. Waiting holds no thread under the gevent worker (``threading`` is monkey-patched
there, so the event is a gevent event) and still works in plain threads (the test client).

An exclusive waiter (one gateway token's config poll) carries the wall-clock time it arrived: a
newer poll with the same key replaces it here at once, and in other processes when they hear
of it (:func:`supersede`, carried by the notification bus).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_CAPACITY = 10000


class AtCapacity(Exception):
    """This process already holds as many long-polls as it may."""


class _Waiter:
    __slots__ = ("arrived_ns", "event", "superseded", "topic")

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.event = threading.Event()
        self.superseded = False
        self.arrived_ns = time.time_ns()  # wall clock: compared with other processes' polls


_lock = threading.Lock()
_by_topic: dict[str, set[_Waiter]] = {}
_exclusive: dict[str, _Waiter] = {}
_count = 0
_shutting_down = threading.Event()


def waiting() -> int:
    """How many long-polls this process holds now."""
    return _count


def wake(topics: Iterable[str]) -> None:
    """Wake every waiter of these topics (they re-read the database once)."""
    with _lock:
        targets = [w for t in set(topics) for w in _by_topic.get(t, ())]
    for waiter in targets:
        waiter.event.set()


def wake_all() -> None:
    """Wake every waiter (after the notification channel was lost, nothing may be missed)."""
    with _lock:
        targets = [w for ws in _by_topic.values() for w in ws]
    for waiter in targets:
        waiter.event.set()


def supersede(exclusive_key: str, arrived_ns: int) -> bool:
    """A poll with ``exclusive_key`` that arrived at ``arrived_ns`` in another process replaces
    an older one waiting here (it answers 304 at once); True when one was replaced.

    Only an older waiter is replaced, so two polls announcing each other keep the newer one.
    """
    with _lock:
        waiter = _exclusive.get(exclusive_key)
        if waiter is None or waiter.arrived_ns >= arrived_ns:
            return False
        del _exclusive[exclusive_key]
        waiter.superseded = True
    waiter.event.set()
    return True


def begin_shutdown() -> None:
    """Release every waiting long-poll at once (they answer 304) so a worker stops quickly."""
    _shutting_down.set()
    wake_all()


def _register(topic: str, capacity: int, exclusive_key: str | None) -> _Waiter:
    global _count
    waiter = _Waiter(topic)
    with _lock:
        if _count >= capacity:
            raise AtCapacity()
        _count += 1
        _by_topic.setdefault(topic, set()).add(waiter)
        previous = _exclusive.get(exclusive_key) if exclusive_key else None
        if exclusive_key:
            _exclusive[exclusive_key] = waiter
    if previous is not None:
        previous.superseded = True
        previous.event.set()
    return waiter


def _unregister(waiter: _Waiter, exclusive_key: str | None) -> None:
    global _count
    with _lock:
        _count -= 1
        peers = _by_topic.get(waiter.topic)
        if peers is not None:
            peers.discard(waiter)
            if not peers:
                del _by_topic[waiter.topic]
        if exclusive_key and _exclusive.get(exclusive_key) is waiter:
            del _exclusive[exclusive_key]


def wait_for_change(
    topic: str,
    read: Callable[[], T],
    changed: Callable[[T], bool],
    timeout: float,
    *,
    capacity: int = DEFAULT_CAPACITY,
    exclusive_key: str | None = None,
    before_wait: Callable[[int], None] | None = None,
    around_wait: Callable[[Callable[[], bool]], bool] | None = None,
) -> T | None:
    """``read()`` until ``changed(value)``; sleep between reads until the topic is woken.

    Returns the changed value, or None when ``timeout`` passed, a newer long-poll with the same
    ``exclusive_key`` replaced this one, or the process is stopping. Raises AtCapacity at once
    when the process is full. ``read`` must leave no transaction open (it runs again after
    every wake-up); ``before_wait`` runs before the first sleep (e.g. to start listening).
    ``around_wait`` wraps each sleep (e.g. to pause the request's database deadline).
    """
    if _shutting_down.is_set():
        return None
    waiter = _register(topic, capacity, exclusive_key)
    try:
        if before_wait is not None:
            before_wait(waiter.arrived_ns)
        end = time.monotonic() + max(0.0, timeout)
        while True:
            waiter.event.clear()
            value = read()
            if changed(value):
                return value
            remaining = end - time.monotonic()
            if remaining <= 0 or waiter.superseded or _shutting_down.is_set():
                return None

            def sleep(remaining: float = remaining) -> bool:
                return waiter.event.wait(remaining)

            woken = around_wait(sleep) if around_wait is not None else sleep()
            if not woken or waiter.superseded or _shutting_down.is_set():
                return None
    finally:
        _unregister(waiter, exclusive_key)
