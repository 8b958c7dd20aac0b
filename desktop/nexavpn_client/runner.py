"""The client's process runner: the shared one (:mod:`nexavpn_shared.runner`), raising the
client's :class:`~nexavpn_client.errors.CommandFailed` so the window and the CLI can word it.

Backends never call :mod:`subprocess` themselves, so tests can record and script every
command. ``input`` may carry a private key (``wg setconf … /dev/stdin``): it is never logged,
kept in a repr, or put into an exception.
"""

from __future__ import annotations

from collections.abc import Sequence

from nexavpn_shared import runner as shared
from nexavpn_shared.runner import DEFAULT_TIMEOUT, Runner
from nexavpn_shared.runner import Call as RecordedCall
from nexavpn_shared.runner import Result as CommandResult

from .errors import CommandFailed

__all__ = [
    "DEFAULT_TIMEOUT",
    "CommandResult",
    "RecordedCall",
    "RecordingRunner",
    "Runner",
    "SubprocessRunner",
]


def _failed(exc: shared.CommandError) -> CommandFailed:
    """The shared runner's error in the client's terms (a timeout has no exit status: -1)."""
    code = -1 if exc.timed_out or exc.returncode is None else exc.returncode
    return CommandFailed(list(exc.argv), code, exc.stderr)


class SubprocessRunner(shared.SubprocessRunner):
    """The real runner: :func:`subprocess.run`, never a shell; failures → CommandFailed."""

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Run ``argv`` with a timeout; a missing tool or a timeout becomes CommandFailed."""
        try:
            return super().run(argv, input=input, timeout=timeout, check=check)
        except shared.CommandError as exc:
            raise _failed(exc) from None


class RecordingRunner(shared.RecordingRunner):
    """The shared recording fake, raising CommandFailed and listing argvs as lists."""

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> CommandResult:
        """Record and answer; raise CommandFailed like the real runner when ``check``."""
        try:
            return super().run(argv, input=input, timeout=timeout, check=check)
        except shared.CommandError as exc:
            raise _failed(exc) from None

    @property
    def argvs(self) -> list[list[str]]:  # type: ignore[override]
        """Every recorded argv as a list (handy for exact comparisons)."""
        return [list(c.argv) for c in self.calls]
