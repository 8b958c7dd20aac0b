"""Runs system tools with an argument list and a timeout, behind an injectable runner.

Backends never call :mod:`subprocess` themselves, so tests can record and script every
command. ``input`` may carry a private key (``wg setconf … /dev/stdin``): it is never logged,
kept in a repr, or put into an exception.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .errors import CommandFailed

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class CommandResult:
    """What a command returned; the repr leaves stdout out (``wg show dump`` prints a key)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str = field(default="", repr=False)
    stderr: str = ""

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.returncode == 0


class Runner(Protocol):
    """Anything that runs an argument list and returns a :class:`CommandResult`."""

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> CommandResult:
        """Run ``argv``; raise CommandFailed on a non-zero exit when ``check``."""
        ...


class SubprocessRunner:
    """The real runner: :func:`subprocess.run`, never a shell."""

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> CommandResult:
        """Run ``argv`` with a timeout; a missing tool or a timeout becomes CommandFailed."""
        args = [str(a) for a in argv]
        log.debug("running %s", args[0] if args else "?")
        try:
            proc = subprocess.run(
                args,
                input=input,
                stdin=subprocess.DEVNULL if input is None else None,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise CommandFailed(args, 127, f"{args[0]}: command not found") from None
        except subprocess.TimeoutExpired:
            raise CommandFailed(args, -1, f"{args[0]}: timed out after {timeout:g} s") from None
        result = CommandResult(tuple(args), proc.returncode, proc.stdout or "", proc.stderr or "")
        if check and not result.ok:
            raise CommandFailed(args, result.returncode, result.stderr)
        return result


Responder = Callable[[tuple[str, ...], str | None], CommandResult | tuple[int, str, str] | None]


@dataclass
class RecordedCall:
    """One recorded command: the argv, whether input was given (never the input itself)."""

    argv: tuple[str, ...]
    had_input: bool
    timeout: float


class RecordingRunner:
    """A fake runner for tests: records every argv and answers from scripted rules.

    Rules are ``(prefix, answer)`` pairs; the first rule whose prefix matches the start of the
    argv answers with ``(returncode, stdout, stderr)`` or a callable taking ``(argv, input)``.
    Unmatched commands succeed with empty output. Inputs are kept in ``inputs`` (tests only).
    """

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self.inputs: list[str | None] = []
        self._rules: list[tuple[tuple[str, ...], object]] = []

    def on(self, prefix: Sequence[str], answer: object) -> RecordingRunner:
        """Answer commands starting with ``prefix``; later rules win over earlier ones."""
        self._rules.insert(0, (tuple(prefix), answer))
        return self

    @property
    def argvs(self) -> list[list[str]]:
        """Every recorded argv as a list (handy for exact comparisons)."""
        return [list(c.argv) for c in self.calls]

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> CommandResult:
        """Record and answer; raise CommandFailed like the real runner when ``check``."""
        args = tuple(str(a) for a in argv)
        self.calls.append(RecordedCall(args, input is not None, timeout))
        self.inputs.append(input)
        result = CommandResult(args, 0)
        for prefix, answer in self._rules:
            if args[: len(prefix)] == prefix:
                got = answer(args, input) if callable(answer) else answer
                if isinstance(got, CommandResult):
                    result = got
                elif got is not None:
                    code, out, err = got  # type: ignore[misc]
                    result = CommandResult(args, code, out, err)
                break
        if check and not result.ok:
            raise CommandFailed(list(args), result.returncode, result.stderr)
        return result
