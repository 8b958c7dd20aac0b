"""The shared process runner (real subprocesses) and its recording fake, as agent and client
see them: the same matching rules, the client's errors in its own type."""

from __future__ import annotations

import sys

import pytest

from nexavpn_client import errors
from nexavpn_client import runner as client_runner
from nexavpn_gateway import runner as agent_runner
from nexavpn_shared.runner import CommandError, RecordingRunner, Result, SubprocessRunner

PY = sys.executable


def test_agent_names_are_the_shared_runner() -> None:
    assert agent_runner.SubprocessRunner is SubprocessRunner
    assert agent_runner.RecordingRunner is RecordingRunner
    assert client_runner.CommandResult is Result


def test_timeout_keeps_what_the_tool_said_and_says_it_timed_out() -> None:
    code = "import sys, time; sys.stderr.write('half done'); sys.stderr.flush(); time.sleep(5)"
    with pytest.raises(CommandError) as info:
        SubprocessRunner().run([PY, "-c", code], timeout=0.5)
    assert info.value.timed_out and info.value.returncode is None
    assert info.value.stderr.endswith("timed out after 0.5 s")


def test_input_never_in_a_repr() -> None:
    rec = RecordingRunner()
    rec.run(["wg", "setconf", "x", "/dev/stdin"], input="PrivateKey = SECRET")
    assert rec.inputs == ["PrivateKey = SECRET"] and rec.calls[0].had_input
    assert "SECRET" not in repr(rec.calls) and "SECRET" not in repr(rec)
    with pytest.raises(CommandError) as info:
        SubprocessRunner().run([PY, "-c", "import sys; sys.stdin.read(); sys.exit(2)"],
                               input="PrivateKey = SECRET")
    assert "SECRET" not in str(info.value) and "SECRET" not in repr(info.value)


def test_longest_prefix_wins_and_rescripting_replaces() -> None:
    rec = RecordingRunner()
    rec.on(["ip", "link", "show"], (1, "", "no such device"))
    rec.on(["ip"], "generic")
    assert rec.run(["ip", "addr"]).stdout == "generic"
    assert rec.run(["ip", "link", "show", "x"], check=False).returncode == 1
    rec.on(["ip", "link", "show"], (0, "up", ""))
    assert rec.run(["ip", "link", "show", "x"]).stdout == "up"
    assert rec.run(["true"]).ok  # unmatched: success without output


@pytest.mark.parametrize(
    "answer",
    [(2, "", "Unknown device type"), Result(("ip",), 2, "", "Unknown device type"),
     CommandError(("ip",), 2, "Unknown device type"),
     lambda argv, stdin: (2, "", "Unknown device type")],
    ids=["tuple", "result", "error", "callable"],
)
def test_every_answer_kind_fails_alike(answer: object) -> None:
    rec = RecordingRunner().on(["ip", "link", "add"], answer)
    with pytest.raises(CommandError) as info:
        rec.run(["ip", "link", "add", "x", "type", "wireguard"])
    assert info.value.stderr == "Unknown device type"


def test_client_sees_command_failed() -> None:
    rec = client_runner.RecordingRunner().on(["wg"], (1, "", "Line unrecognized: `Foo'"))
    with pytest.raises(errors.CommandFailed, match="wg failed: Line unrecognized") as info:
        rec.run(["wg", "setconf", "x", "/dev/stdin"], input="[Interface]")
    assert info.value.returncode == 1 and rec.argvs == [["wg", "setconf", "x", "/dev/stdin"]]
    with pytest.raises(errors.CommandFailed, match="timed out") as timed:
        client_runner.SubprocessRunner().run([PY, "-c", "import time; time.sleep(5)"],
                                             timeout=0.3)
    assert timed.value.returncode == -1


def test_a_subclass_that_skips_init_still_runs() -> None:
    class InNamespace(SubprocessRunner):
        def __init__(self) -> None:  # like the tests' namespace runners
            self.seen: list[str] = []

    assert InNamespace().run([PY, "-c", "print('ok')"]).stdout.strip() == "ok"
