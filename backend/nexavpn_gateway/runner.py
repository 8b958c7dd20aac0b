"""The one place the agent starts external programs (wg, ip, nft, sysctl, wireguard-go).

Every other module builds argument lists and hands them to an injected :class:`Runner`, so the
core is testable with :class:`RecordingRunner` and the real thing never uses a shell.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Result:
    """What a finished command produced (like ``subprocess.CompletedProcess``)."""

    argv: tuple[str, ...]
    returncode: int
    # Hidden from repr: ``wg show dump`` prints the interface's private key on its first line.
    stdout: str = field(default="", repr=False)
    stderr: str = field(default="", repr=False)


class CommandError(Exception):
    """A command failed or timed out; carries the tool's stderr so the log says why."""

    def __init__(
        self, argv: Sequence[str], returncode: int | None, stderr: str, *, timed_out: bool = False
    ) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        self.timed_out = timed_out
        what = "timed out" if timed_out else f"exited with {returncode}"
        # Only the program and its verb: argv may carry peer keys, input may carry much more.
        super().__init__(f"{' '.join(self.argv[:3])} {what}: {stderr.strip()[:500]}")


class Runner(Protocol):
    """Runs an argument list (never a shell string) with a timeout."""

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result: ...


def netns_prefix(netns: str | None) -> tuple[str, ...]:
    """The prefix that runs a command inside network namespace ``netns`` (none if empty)."""
    return ("ip", "netns", "exec", netns) if netns else ()


class SubprocessRunner:
    """Runs commands for real; ``prefix`` (e.g. ``ip netns exec NS``) is put before every argv."""

    def __init__(
        self, prefix: Sequence[str] = (), default_timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.prefix = tuple(prefix)
        self.default_timeout = default_timeout

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        """Run ``prefix + argv``; CommandError on a non-zero exit (if ``check``) or timeout."""
        full = (*self.prefix, *argv)
        limit = self.default_timeout if timeout is None else timeout
        try:
            proc = subprocess.run(
                full,
                input=input,
                capture_output=True,
                text=True,
                timeout=limit,
                check=False,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
            raise CommandError(argv, None, err or f"no answer within {limit:g} s",
                               timed_out=True) from None
        except FileNotFoundError:
            raise CommandError(argv, 127, f"{full[0]}: command not found") from None
        result = Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise CommandError(argv, proc.returncode, proc.stderr)
        return result


Handler = Callable[[tuple[str, ...], str | None], Result | str | None]


@dataclass
class Call:
    """One command the recording runner saw."""

    argv: tuple[str, ...]
    input: str | None
    timeout: float | None


@dataclass
class RecordingRunner:
    """A fake runner for tests: records every call and answers from scripted responses.

    ``responses`` maps an argv prefix (tuple) to a Result, a stdout string, a CommandError to
    raise, or a callable ``(argv, input) -> Result | str | None``. The longest matching prefix
    wins; unmatched commands succeed with empty output.
    """

    responses: dict[tuple[str, ...], object] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on(self, prefix: Sequence[str], response: object) -> RecordingRunner:
        """Script the answer for commands starting with ``prefix``."""
        self.responses[tuple(prefix)] = response
        return self

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        """Record the call and answer like a real command would."""
        key = tuple(argv)
        with self._lock:
            self.calls.append(Call(key, input, timeout))
        match: tuple[str, ...] | None = None
        for prefix in self.responses:
            if key[: len(prefix)] == prefix and (match is None or len(prefix) > len(match)):
                match = prefix
        answer: object = None if match is None else self.responses[match]
        if callable(answer) and not isinstance(answer, CommandError):
            answer = answer(key, input)
        if isinstance(answer, CommandError):
            raise answer
        if isinstance(answer, Result):
            if check and answer.returncode != 0:
                raise CommandError(key, answer.returncode, answer.stderr)
            return answer
        return Result(key, 0, answer if isinstance(answer, str) else "", "")

    @property
    def argvs(self) -> list[tuple[str, ...]]:
        """The argv of every call, in order."""
        return [c.argv for c in self.calls]
