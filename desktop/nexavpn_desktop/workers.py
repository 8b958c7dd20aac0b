"""Thread adapters: run a core call on a QThreadPool, report back on the GUI thread.

Widgets never call the network, the keyring or a subprocess themselves; they hand a callable
to :class:`Tasks`, which runs it on its own pool and delivers ``succeeded(result)`` or
``failed(exception, sentence)`` through queued signals, so no widget is ever touched from a
worker thread. The core's plain ``progress(step, fraction)`` callback is bridged to a signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from .messages import message_for

log = logging.getLogger(__name__)


class WorkerSignals(QObject):
    """Signals of one job (a QRunnable cannot have signals of its own); each carries its key."""

    succeeded = Signal(int, object)
    failed = Signal(int, object, str)
    finished = Signal(int)


class Worker(QRunnable):
    """One call of ``fn(*args)`` off the GUI thread."""

    def __init__(self, key: int, name: str, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__()
        self.key = key
        self.name = name
        self.fn = fn
        self.args = args
        self.signals = WorkerSignals()
        self.background = False
        self.setAutoDelete(False)  # Tasks keeps the reference until ``finished``

    def run(self) -> None:
        """Called on a pool thread: every outcome becomes a signal, nothing escapes."""
        try:
            result = self.fn(*self.args)
        except Exception as exc:
            log.info("%s failed: %s", self.name, type(exc).__name__)
            self.signals.failed.emit(self.key, exc, message_for(exc))
        else:
            self.signals.succeeded.emit(self.key, result)
        finally:
            self.signals.finished.emit(self.key)


class Tasks(QObject):
    """The window's job runner: a private pool, a busy count and the progress bridge."""

    busy_changed = Signal(bool)
    #: Emitted after every job, with its name (the window tidies up when all are done).
    job_finished = Signal(str)
    #: (step text, fraction 0..1 or None) from the core's progress callback, any thread.
    progress = Signal(str, object)

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._active: dict[int, Worker] = {}
        self._callbacks: dict[int, tuple[Callable[[Any], None] | None,
                                         Callable[[BaseException, str], None] | None]] = {}
        self._next_key = 0

    # -- progress bridge (called by the core, on a worker thread) --------------------------

    def report_progress(self, step: str, fraction: float | None = None) -> None:
        """The core's ``progress`` callable: hand the step to the GUI thread."""
        self.progress.emit(step, fraction)

    # -- jobs -------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while a foreground job (one the user asked for) runs."""
        return any(not w.background for w in self._active.values())

    @property
    def idle(self) -> bool:
        """True when no job at all runs (tests wait for this)."""
        return not self._active

    def running(self, name: str) -> bool:
        """True while a job called ``name`` runs (to avoid piling up periodic jobs)."""
        return any(w.name == name for w in self._active.values())

    def run(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException, str], None] | None = None,
        background: bool = False,
    ) -> Worker:
        """Start ``fn(*args)`` on the pool; callbacks run on the GUI thread.

        The worker's signals are connected to bound methods of this object (which lives on
        the GUI thread), so delivery is queued to the GUI thread whatever the callbacks are.
        ``background`` jobs (periodic sync, status refresh) do not light the busy indicator.
        """
        self._next_key += 1
        key = self._next_key
        worker = Worker(key, name, fn, *args)
        worker.background = background
        worker.signals.succeeded.connect(self._on_succeeded)
        worker.signals.failed.connect(self._on_failed)
        worker.signals.finished.connect(self._on_finished)
        was_busy = self.busy
        self._active[key] = worker
        self._callbacks[key] = (on_success, on_failure)
        if not was_busy and self.busy:
            self.busy_changed.emit(True)
        self.pool.start(worker)
        return worker

    def _on_succeeded(self, key: int, result: object) -> None:
        callback = self._callbacks.get(key, (None, None))[0]
        if callback is not None:
            callback(result)

    def _on_failed(self, key: int, exc: object, sentence: str) -> None:
        callback = self._callbacks.get(key, (None, None))[1]
        if callback is not None and isinstance(exc, BaseException):
            callback(exc, sentence)

    def _on_finished(self, key: int) -> None:
        was_busy = self.busy
        worker = self._active.pop(key, None)
        self._callbacks.pop(key, None)
        if was_busy and not self.busy:
            self.busy_changed.emit(False)
        self.job_finished.emit(worker.name if worker is not None else "")

    def wait(self, msecs: int = 10000) -> bool:
        """Block until every job ended (shutdown and tests); True if they all did."""
        return self.pool.waitForDone(msecs)
