"""One installation, one tunnel: its interface name and the lock of its live watcher.

Two installations on one machine (two users, or two state dirs) get different interface names,
so neither tears down the other's tunnel. Within one installation the CLI and the desktop share
the state dir, hence the same tunnel and state; only one of them keeps the live watcher, the
other is told who holds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path
from typing import IO

from . import errors

TUNNEL_NAME_ENV = "NEXAVPN_CLIENT_TUNNEL_NAME"
LOCK_FILE = "watch.lock"


def install_tunnel_name(data_dir: Path) -> str:
    """``nxv-`` + 8 hex digits of this installation's state dir (fits IFNAMSIZ)."""
    override = os.environ.get(TUNNEL_NAME_ENV)
    if override:
        return override
    try:
        key = str(Path(data_dir).resolve())
    except OSError:
        key = str(data_dir)
    return "nxv-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


class WatchLock:
    """An exclusive, process-held lock on ``<state dir>/watch.lock`` (released on exit/crash)."""

    def __init__(self, data_dir: Path, holder: str) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self.holder = holder
        self._fh: IO[str] | None = None
        self._guard = threading.Lock()

    def acquire(self) -> None:
        """Take the lock or raise :class:`TunnelInUse` naming who holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            _lock(fh)
        except OSError:
            fh.seek(0)
            who = fh.read().strip() or "another NexaVPN program"
            fh.close()
            raise errors.TunnelInUse(
                f"{who} already keeps this computer's NexaVPN tunnel up to date. Use that "
                "one (or quit it first); both share the same tunnel and state."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{self.holder} (process {os.getpid()})\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Give the lock back (idempotent, from any thread)."""
        with self._guard:
            if self._fh is not None:
                with contextlib.suppress(OSError):
                    self._fh.seek(0)
                    self._fh.truncate()
                    _unlock(self._fh)
                self._fh.close()
                self._fh = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fh is not None


def _lock(fh: IO[str]) -> None:
    try:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # Windows
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]


def _unlock(fh: IO[str]) -> None:
    try:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except ImportError:  # Windows
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
