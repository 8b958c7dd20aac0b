"""The one way NexaVPN starts external programs (wg, ip, nft, wireguard-go, sc, wg-quick …).

The gateway agent and the desktop client build argument lists and hand them to an injected
:class:`Runner`, so their logic is testable with :class:`RecordingRunner` and the real thing
never uses a shell. Every call has a timeout. ``input`` may carry a private key
(``wg setconf … /dev/stdin``) and ``stdout`` may too (``wg show dump``): neither ever appears in a
repr, a log line or an exception message.
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

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.returncode == 0


class CommandError(Exception):
    """A command failed, was not found (127) or timed out; carries the tool's stderr."""

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

    # Class-level defaults too, so a subclass that skips __init__ still runs.
    prefix: tuple[str, ...] = ()
    default_timeout: float = DEFAULT_TIMEOUT

    def __init__(
        self, prefix: Sequence[str] = (), default_timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.prefix = tuple(prefix)
        self.default_timeout = default_timeout

    def failure(self, error: CommandError) -> Exception:
        """The exception to raise for ``error``; a caller's subclass may use its own type."""
        return error

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        """Run ``prefix + argv``; CommandError on a non-zero exit (if ``check``) or timeout."""
        args = tuple(str(a) for a in argv)
        full = (*self.prefix, *args)
        limit = self.default_timeout if timeout is None else timeout
        log.debug("running %s", " ".join(args[:2]))
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
            said = err.rstrip() + "\n" if err.strip() else ""
            raise self.failure(CommandError(
                args, None, f"{said}{full[0]}: timed out after {limit:g} s", timed_out=True
            )) from None
        except FileNotFoundError:
            raise self.failure(CommandError(args, 127, f"{full[0]}: command not found")) from None
        result = Result(args, proc.returncode, proc.stdout or "", proc.stderr or "")
        if check and proc.returncode != 0:
            raise self.failure(CommandError(args, proc.returncode, result.stderr))
        return result


#: What a scripted answer may be: stdout text, a Result, ``(returncode, stdout, stderr)``, a
#: CommandError to raise, None (success, no output), or a callable ``(argv, input)`` giving one.
Answer = object
Handler = Callable[[tuple[str, ...], str | None], object]


@dataclass
class Call:
    """One command the recording runner saw (the input is kept for tests, never in the repr)."""

    argv: tuple[str, ...]
    input: str | None = field(repr=False)
    timeout: float | None

    @property
    def had_input(self) -> bool:
        """True when the command was given stdin."""
        return self.input is not None


@dataclass
class RecordingRunner:
    """A fake runner for tests: records every call and answers from scripted responses.

    ``responses`` maps an argv prefix to an answer (see :data:`Answer`). The longest matching
    prefix wins; scripting the same prefix again replaces its answer. Unmatched commands succeed
    with empty output. A non-zero answer raises CommandError when ``check``, like the real one.
    """

    responses: dict[tuple[str, ...], Answer] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def failure(self, error: CommandError) -> Exception:
        """The exception to raise for ``error`` (as :meth:`SubprocessRunner.failure`)."""
        return error

    def on(self, prefix: Sequence[str], response: Answer) -> RecordingRunner:
        """Script the answer for commands starting with ``prefix``."""
        self.responses[tuple(prefix)] = response
        return self

    def _answer(self, key: tuple[str, ...], input: str | None) -> Result:
        match: tuple[str, ...] | None = None
        for prefix in self.responses:
            if key[: len(prefix)] == prefix and (match is None or len(prefix) > len(match)):
                match = prefix
        answer: object = None if match is None else self.responses[match]
        if callable(answer) and not isinstance(answer, CommandError):
            answer = answer(key, input)
        if isinstance(answer, CommandError):
            raise self.failure(answer)
        if isinstance(answer, Result):
            return answer
        if isinstance(answer, tuple):
            code, out, err = answer
            return Result(key, int(code), out, err)
        return Result(key, 0, answer if isinstance(answer, str) else "", "")

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        """Record the call and answer like a real command would."""
        key = tuple(str(a) for a in argv)
        with self._lock:
            self.calls.append(Call(key, input, timeout))
        result = self._answer(key, input)
        if check and result.returncode != 0:
            raise self.failure(CommandError(key, result.returncode, result.stderr))
        return result

    @property
    def argvs(self) -> list[tuple[str, ...]]:
        """The argv of every call, in order."""
        return [c.argv for c in self.calls]

    @property
    def inputs(self) -> list[str | None]:
        """The stdin of every call, in order (tests only)."""
        return [c.input for c in self.calls]
