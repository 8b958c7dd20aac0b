"""Two greenlets of one gevent worker writing to SQLite: the second waits, the first finishes.

SQLite's busy handler sleeps inside C. Under gevent that stops the whole worker, so a greenlet
holding the write lock (waiting for its request body, say) could never finish, and writers of
every worker sat out the busy timeout together and answered 503. Run in a fresh interpreter:
gevent must patch the standard library before anything else is imported.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import sys, gevent
    from sqlalchemy import create_engine, text
    from nexavpn_api import db_setup

    db_setup.LOCK_WAIT_SECONDS = 3.0  # the old behaviour fails in 3 s instead of 30
    engine = create_engine("sqlite:///" + sys.argv[1])
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (who TEXT)"))
    order = []

    def holder():
        with engine.begin() as c:  # BEGIN IMMEDIATE: holds the write lock
            c.execute(text("INSERT INTO t VALUES ('holder')"))
            order.append("holder has the lock")
            gevent.sleep(0.5)  # yields to the hub while holding it, as a body read would
            order.append("holder commits")

    def waiter():
        gevent.sleep(0.1)
        with engine.begin() as c:
            order.append("waiter has the lock")
            c.execute(text("INSERT INTO t VALUES ('waiter')"))

    gevent.joinall([gevent.spawn(holder), gevent.spawn(waiter)], raise_error=True)
    with engine.connect() as c:
        rows = [r[0] for r in c.execute(text("SELECT who FROM t ORDER BY rowid"))]
    print(order, rows)
    assert order == ["holder has the lock", "holder commits", "waiter has the lock"], order
    assert rows == ["holder", "waiter"], rows
    """
)


def test_a_waiting_writer_lets_the_lock_holder_finish(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "db.sqlite")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
