"""Long-poll waiters and the bus payloads that carry wake-ups and exclusive-poll claims
between server processes (the cross-process behaviour itself is in test_control_plane.py)."""

from __future__ import annotations

import threading
import time

from nexavpn_api.services import notify_bus, waiters


def _wait_in_thread(topic: str, key: str | None, timeout: float = 10):
    out: dict = {}
    registered = threading.Event()

    def before(arrived_ns: int) -> None:
        out["arrived_ns"] = arrived_ns
        registered.set()

    def run() -> None:
        started = time.monotonic()
        out["result"] = waiters.wait_for_change(
            topic, lambda: 0, lambda v: v != 0, timeout, exclusive_key=key, before_wait=before
        )
        out["took"] = time.monotonic() - started

    th = threading.Thread(target=run, daemon=True)
    th.start()
    assert registered.wait(5)
    return th, out


def test_a_claim_from_another_process_replaces_an_older_exclusive_poll() -> None:
    th, out = _wait_in_thread("g901", "agent:901")
    payload = f"other.1 {notify_bus.claim_topic('agent:901', out['arrived_ns'] + 1)}"
    notify_bus._deliver("me.1", payload)
    th.join(5)
    assert not th.is_alive() and out["result"] is None and out["took"] < 2


def test_an_older_claim_leaves_the_newer_poll_waiting() -> None:
    th, out = _wait_in_thread("g902", "agent:902", timeout=1.5)
    notify_bus._deliver("me.1", f"other.1 {notify_bus.claim_topic('agent:902', 1)}")
    th.join(5)
    assert out["result"] is None and out["took"] >= 1.4  # ran to its own timeout


def test_own_messages_and_other_keys_are_ignored_and_topics_still_wake() -> None:
    th, out = _wait_in_thread("g903", "agent:903", timeout=1.5)
    later = out["arrived_ns"] + 10**9
    notify_bus._deliver("me.1", f"me.1 {notify_bus.claim_topic('agent:903', later)}")
    notify_bus._deliver("me.1", f"other.1 {notify_bus.claim_topic('agent:9030', later)} !bad@x")
    th.join(5)
    assert out["took"] >= 1.4
    assert waiters.supersede("agent:903", later) is False  # already gone: nothing to replace

    changed = {"v": 0}
    result: dict = {}

    def run() -> None:
        result["v"] = waiters.wait_for_change(
            "g904", lambda: changed["v"], lambda v: v != 0, 10
        )

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(0.2)
    changed["v"] = 7
    notify_bus._deliver("me.1", f"other.1 g904 {notify_bus.claim_topic('agent:904', later)}")
    t.join(5)
    assert result["v"] == 7


def test_payloads_split_under_the_limit_and_keep_every_topic() -> None:
    topics = [f"d{i}" for i in range(3000)]
    messages = notify_bus.payloads("s.1", topics, limit=200)
    assert all(len(m) <= 200 and m.startswith("s.1 ") for m in messages)
    assert sorted(t for m in messages for t in m.split()[1:]) == sorted(topics)
