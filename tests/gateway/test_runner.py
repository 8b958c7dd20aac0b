"""The command runner: real subprocesses (argv lists, timeouts, stderr) and the recording fake."""

from __future__ import annotations

import sys

import pytest

from nexavpn_gateway.runner import (
    CommandError,
    RecordingRunner,
    Result,
    SubprocessRunner,
    netns_prefix,
)

PY = sys.executable


def test_runs_argv_and_captures_output() -> None:
    res = SubprocessRunner().run([PY, "-c", "import sys; print(sys.stdin.read().upper())"],
                                 input="hello; rm -rf /")
    assert res.returncode == 0
    assert res.stdout.strip() == "HELLO; RM -RF /"  # no shell: the text is data


def test_failure_carries_stderr() -> None:
    with pytest.raises(CommandError) as info:
        SubprocessRunner().run([PY, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])
    assert info.value.returncode == 3
    assert info.value.stderr == "boom"
    assert "boom" in str(info.value)


def test_check_false_returns_result() -> None:
    res = SubprocessRunner().run([PY, "-c", "raise SystemExit(4)"], check=False)
    assert res.returncode == 4


def test_timeout_is_enforced() -> None:
    with pytest.raises(CommandError) as info:
        SubprocessRunner().run([PY, "-c", "import time; time.sleep(5)"], timeout=0.3)
    assert info.value.timed_out


def test_missing_program() -> None:
    with pytest.raises(CommandError) as info:
        SubprocessRunner().run(["nexavpn-no-such-tool-xyz"])
    assert info.value.returncode == 127


def test_prefix_is_prepended() -> None:
    runner = SubprocessRunner(prefix=[PY, "-c", "import sys; print(sys.argv[1:])"])
    assert runner.run(["a", "b"]).stdout.strip() == "['a', 'b']"
    assert netns_prefix("nxab12") == ("ip", "netns", "exec", "nxab12")
    assert netns_prefix(None) == ()


def test_result_repr_hides_output() -> None:
    r = Result(("wg", "show", "wg0", "dump"), 0, "PRIVATEKEYMATERIAL\t...", "")
    assert "PRIVATEKEYMATERIAL" not in repr(r)


def test_recording_runner_scripts_and_records() -> None:
    rec = RecordingRunner()
    rec.on(["wg", "show"], "dump text")
    rec.on(["ip", "link", "add"], Result((), 2, "", "Unknown device type"))
    assert rec.run(["wg", "show", "x", "dump"]).stdout == "dump text"
    with pytest.raises(CommandError) as info:
        rec.run(["ip", "link", "add", "dev", "x"], timeout=5)
    assert info.value.stderr == "Unknown device type"
    assert rec.run(["true"], input="in").returncode == 0
    assert rec.argvs == [("wg", "show", "x", "dump"), ("ip", "link", "add", "dev", "x"),
                         ("true",)]
    assert rec.calls[1].timeout == 5
    assert rec.calls[2].input == "in"
