"""The client's process runner: the shared one (:mod:`nexavpn_shared.runner`), raising the
client's :class:`~nexavpn_client.errors.CommandFailed` so the window and the CLI can word it.

Backends never call :mod:`subprocess` themselves, so tests can record and script every
command. ``input`` may carry a private key (``wg setconf … /dev/stdin``): it is never logged,
kept in a repr, or put into an exception.
"""

from __future__ import annotations

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


class _ClientFailures:
    """The shared runner's error in the client's terms (a timeout has no exit status: -1)."""

    def failure(self, error: shared.CommandError) -> Exception:
        code = -1 if error.timed_out or error.returncode is None else error.returncode
        return CommandFailed(list(error.argv), code, error.stderr)


class SubprocessRunner(_ClientFailures, shared.SubprocessRunner):
    """The real runner: :func:`subprocess.run`, never a shell; failures → CommandFailed."""


class RecordingRunner(_ClientFailures, shared.RecordingRunner):
    """The shared recording fake, raising CommandFailed and listing argvs as lists."""

    @property
    def argvs(self) -> list[list[str]]:  # type: ignore[override]
        """Every recorded argv as a list (handy for exact comparisons)."""
        return [list(c.argv) for c in self.calls]
