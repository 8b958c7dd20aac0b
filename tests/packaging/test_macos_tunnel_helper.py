"""The macOS tunnel helper (the one command the sudoers rule names) refuses everything but
bringing up a hook-free copy of the caller's own config. Run with /bin/sh here: the refusals
happen before wg-quick, so they are testable on Linux too."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

HELPER = (
    Path(__file__).resolve().parents[2]
    / "packaging"
    / "desktop"
    / "macos"
    / "pkg-scripts"
    / "nexavpn-tunnel-helper"
)
POSTINSTALL = HELPER.with_name("postinstall")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="checks file owners as root would")

CONFIG = "[Interface]\nPrivateKey = x\nAddress = 10.8.0.2/32\n\n[Peer]\nPublicKey = y\n"


def _run(*args: str, uid: str | None = "0") -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin"}
    if uid is not None:
        env["SUDO_UID"] = uid
    return subprocess.run(
        ["/bin/sh", str(HELPER), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / f"hd{secrets.token_hex(4)}.conf"
    path.write_text(CONFIG)
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("run", "/bin/sh"),
        ("up",),
        ("show", "utun7; id"),
        ("show", "../../etc"),
        ("up", "relative.conf"),
        ("up", "/tmp/x.txt"),
        ("up", "/tmp/bad name!.conf"),
        ("up", "/tmp/much-too-long-tunnel-name.conf"),
    ],
)
def test_anything_but_the_three_verbs_is_refused(args: tuple[str, ...]) -> None:
    res = _run(*args)
    assert res.returncode == 64, res.stderr
    assert "nexavpn-tunnel-helper" in res.stderr


def test_config_with_hooks_is_refused(conf: Path) -> None:
    conf.write_text(CONFIG.replace("[Peer]", "PostUp = /bin/sh -c 'id > /tmp/pwned'\n[Peer]"))
    res = _run("up", str(conf))
    assert res.returncode == 65 and "hook" in res.stderr
    assert not Path(f"/var/run/nexavpn/{conf.stem}.conf").exists()
    assert not list(Path("/var/run/nexavpn").glob(f".{conf.stem}.*"))


def test_only_the_callers_own_regular_file(conf: Path, tmp_path: Path) -> None:
    assert _run("up", str(conf), uid="4242").returncode == 65  # not the caller's file
    link = tmp_path / "hdlink.conf"
    link.symlink_to(conf)
    assert _run("up", str(link)).returncode == 65  # a link could point at any root file
    assert _run("up", str(conf), uid=None).returncode == 64  # not through sudo


def test_down_only_for_a_tunnel_it_brought_up(conf: Path) -> None:
    res = _run("down", str(conf))
    assert res.returncode == 66 and "no tunnel" in res.stderr


def test_package_installs_the_helper_root_owned() -> None:
    text = POSTINSTALL.read_text()
    assert "install -m 0755 -o root -g wheel" in text
    assert (
        '"$libexec/nexavpn-tunnel-helper"' in text and 'libexec="$target/usr/local/libexec"' in text
    )
    assert os.access(HELPER, os.X_OK)
