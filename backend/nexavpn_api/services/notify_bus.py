"""Carry "this changed" between server processes, so a waiter anywhere wakes without polling.

* PostgreSQL: the committing transaction issues ``pg_notify`` (delivered at commit, dropped on
  rollback) and each process holds ONE ``LISTEN`` connection in its own thread (a greenlet
  under gevent). After the connection was lost and re-established, every local waiter is woken
  once: a notification sent meanwhile is never silently missed.
* SQLite (one host): each process that waits binds a unix datagram socket in a directory next
  to the database file; a commit sends its topics to every other socket there. Sockets of dead
  processes are removed by whoever finds them.

Payload: ``<sender> <topic> <topic> …``; a process ignores its own messages (it already woke
its waiters in-process). A topic ``!<key>@<ns>`` is not a change but a claim: an exclusive
long-poll (one gateway token's) that arrived at ``<ns>`` replaces older ones with that key in
every process.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import waiters

log = logging.getLogger(__name__)

CHANNEL = "nexavpn_changes"
CLAIM = "!"
MAX_PAYLOAD = 7000  # PostgreSQL allows 8000 bytes per notification
PING_SECONDS = 10.0
MAX_BACKOFF = 5.0
_SOCKET_PATH_MAX = 100


_senders: dict[int, str] = {}


def sender_id() -> str:
    """This process's name in payloads (new after a fork)."""
    pid = os.getpid()
    sender = _senders.get(pid)
    if sender is None:
        sender = _senders[pid] = f"{pid}.{secrets.token_hex(4)}"
    return sender


def payloads(sender: str, topics: Iterable[str], limit: int = MAX_PAYLOAD) -> list[str]:
    """Split topics into messages of at most ``limit`` bytes, each starting with the sender."""
    out: list[str] = []
    current = sender
    for topic in sorted(set(topics)):
        if len(current) + 1 + len(topic) > limit:
            out.append(current)
            current = sender
        current += " " + topic
    if current != sender:
        out.append(current)
    return out


def claim_topic(exclusive_key: str, arrived_ns: int) -> str:
    """The bus topic announcing that a poll with ``exclusive_key`` arrived at ``arrived_ns``."""
    return f"{CLAIM}{exclusive_key}@{int(arrived_ns)}"


def _deliver(own: str, payload: str) -> None:
    sender, _, rest = payload.partition(" ")
    if sender == own or not rest:
        return
    topics = []
    for topic in rest.split():
        if topic.startswith(CLAIM):
            key, _, arrived = topic[len(CLAIM):].rpartition("@")
            if key and arrived.isdigit():
                waiters.supersede(key, int(arrived))
        else:
            topics.append(topic)
    if topics:
        waiters.wake(topics)


class PostgresBus:
    """One LISTEN connection per process; NOTIFY is sent by the committing transaction."""

    kind = "postgresql"

    def __init__(self, conninfo: str, connect_kwargs: dict[str, Any]) -> None:
        self.sender = sender_id()
        self._conninfo = conninfo
        self._kwargs = connect_kwargs
        self._ready = threading.Event()
        self._started = False
        self._start_lock = threading.Lock()
        self.reconnects = 0

    def ensure_listening(self, timeout: float = 2.0) -> bool:
        """Start the listener once; wait (bounded) until LISTEN is in place."""
        with self._start_lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="nexavpn-listen", daemon=True).start()
        return self._ready.wait(timeout)

    def publish_local_commit(self, topics: Iterable[str]) -> None:
        """Nothing to do: the transaction's NOTIFY reaches the other processes."""

    def _run(self) -> None:
        import psycopg

        from ..green import DatabaseDeadline, deadline

        backoff = 0.1
        while True:
            try:
                with psycopg.connect(self._conninfo, autocommit=True, **self._kwargs) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    backoff = 0.1
                    waiters.wake_all()  # whatever was sent while we were not listening
                    while True:
                        for note in conn.notifies(timeout=PING_SECONDS):
                            _deliver(self.sender, note.payload)
                        with deadline(PING_SECONDS):
                            conn.execute("SELECT 1")
            except (psycopg.Error, OSError, DatabaseDeadline) as exc:
                self._ready.clear()
                self.reconnects += 1
                log.warning(
                    "notification listener lost the database (%s); retrying", type(exc).__name__
                )
            except Exception:  # pragma: no cover - never let the listener die silently
                self._ready.clear()
                log.exception("notification listener failed; retrying")
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)


def socket_dir_for(database_file: Path) -> Path:
    """Where the processes sharing ``database_file`` keep their sockets (short enough to bind)."""
    near = database_file.parent / f".{database_file.name}.notify"
    if len(str(near / "4194304.sock")) <= _SOCKET_PATH_MAX:
        return near
    digest = hashlib.sha256(str(database_file.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"nexavpn-notify-{os.getuid()}-{digest}"


class SocketBus:
    """Unix datagram sockets in a directory shared by the processes of one SQLite database."""

    kind = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.sender = sender_id()
        self.directory = directory
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def _own_name(self) -> str:
        return f"{os.getpid()}.sock"

    def ensure_listening(self, timeout: float = 2.0) -> bool:
        """Bind this process's socket (once) and start reading it."""
        with self._lock:
            if self._sock is not None:
                return True
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._clean_stale()
            path = self.directory / self._own_name
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a dead process with our pid left it
            sock.bind(str(path))
            os.chmod(path, 0o600)
            self._sock = sock
            atexit.register(_unlink_quietly, path)  # a killed process's is cleaned by others
        threading.Thread(target=self._run, args=(sock,), name="nexavpn-notify", daemon=True).start()
        return True

    def _run(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(65536)
            except OSError:  # pragma: no cover - the socket was closed at exit
                return
            _deliver(self.sender, data.decode("utf-8", "replace"))

    def _clean_stale(self) -> None:
        for entry in self.directory.glob("*.sock"):
            pid = entry.stem
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()

    def publish_local_commit(self, topics: Iterable[str]) -> None:
        """Send the topics to every other process waiting on this database."""
        try:
            entries = [e for e in os.scandir(self.directory) if e.name.endswith(".sock")]
        except FileNotFoundError:
            return  # nobody has waited yet
        others = [e.path for e in entries if e.name != self._own_name]
        if not others:
            return
        messages = [p.encode() for p in payloads(self.sender, topics, 60000)]
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
            out.settimeout(1.0)
            for path in others:
                for message in messages:
                    try:
                        out.sendto(message, path)
                    except (ConnectionRefusedError, FileNotFoundError):
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(path)  # its process is gone
                        break
                    except OSError as exc:
                        if exc.errno not in (errno.EAGAIN, errno.ENOBUFS) and not isinstance(
                            exc, TimeoutError
                        ):
                            raise
                        log.warning(
                            "a worker's notification queue is full; its long-polls learn of "
                            "this change when they next wake or time out"
                        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
