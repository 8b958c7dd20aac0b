"""macOS backend: ``wg-quick up/down`` run through a privileged helper.

First version: an authorised helper invocation, either ``sudo -n`` of the NexaVPN tunnel
helper (an admin installs a sudoers rule naming exactly ``TUNNEL_HELPER``, which only brings up
a hook-free copy of the caller's own config; a rule for ``/usr/bin/env`` or wg-quick would be
root for that user) or ``osascript … with administrator
privileges`` (macOS asks for an admin password; the command string is built by quoting every
argument with :func:`shlex.quote` and then escaping it for an AppleScript string literal).
A Network Extension backend can replace this class behind the same interface.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import CommandFailed, TunnelError
from ..runner import Runner
from .base import (
    CONNECTED,
    DISCONNECTED,
    TunnelBackend,
    TunnelConfig,
    TunnelStatus,
    remove_file,
    status_from_dump,
    validate_tunnel_name,
    write_private_file,
)

log = logging.getLogger(__name__)

WG_QUICK_CANDIDATES = ("/opt/homebrew/bin/wg-quick", "/usr/local/bin/wg-quick")
RUN_DIR = "/var/run/wireguard"
# ``do shell script`` runs with a bare PATH; wg-quick needs wg, wireguard-go and bash 4.
HELPER_PATH = "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
# Installed root-owned by the .pkg (packaging/desktop/macos/pkg-scripts/nexavpn-tunnel-helper).
TUNNEL_HELPER = "/usr/local/libexec/nexavpn-tunnel-helper"


def _check_args(argv: Sequence[str]) -> list[str]:
    args = [str(a) for a in argv]
    for arg in args:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in arg):
            raise TunnelError("refusing a command argument with control characters")
    return args


def applescript_string(text: str) -> str:
    """``text`` as an AppleScript string literal (backslash and double quote escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class PrivilegeHelper(ABC):
    """Turns an argument list into one that runs it with administrator rights."""

    #: True when it never prompts (status may then use it for ``wg show``).
    non_interactive: bool = False

    @abstractmethod
    def wrap(self, argv: Sequence[str]) -> list[str]:
        """The argument list that runs ``argv`` as root."""

    def tunnel_argv(self, wg_quick: str, verb: str, config: str) -> list[str]:
        """``wg-quick <verb> <config>`` as root."""
        return self.wrap(["/usr/bin/env", f"PATH={HELPER_PATH}", wg_quick, verb, config])

    def show_argv(self, utun: str) -> list[str]:
        """``wg show <utun> dump`` as root."""
        return self.wrap(["/usr/bin/env", f"PATH={HELPER_PATH}", "wg", "show", utun, "dump"])


class SudoHelper(PrivilegeHelper):
    """``sudo -n``: needs a sudoers rule; fails (never prompts) without one."""

    non_interactive = True

    def __init__(self, helper: str = TUNNEL_HELPER) -> None:
        self.helper = helper

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """``sudo -n -- argv…``."""
        return ["sudo", "-n", "--", *_check_args(argv)]

    def tunnel_argv(self, wg_quick: str, verb: str, config: str) -> list[str]:
        """Through the tunnel helper, the one command the sudoers rule names."""
        return self.wrap([self.helper, verb, config])

    def show_argv(self, utun: str) -> list[str]:
        """Through the tunnel helper too."""
        return self.wrap([self.helper, "show", utun])


class OsascriptHelper(PrivilegeHelper):
    """``osascript -e 'do shell script "…" with administrator privileges'`` (asks a password)."""

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """Quote each argument for the shell, then the whole for AppleScript."""
        command = shlex.join(_check_args(argv))
        script = f"do shell script {applescript_string(command)} with administrator privileges"
        return ["osascript", "-e", script]


class MacOSBackend(TunnelBackend):
    """wg-quick via a helper; the config lives user-only in the data dir while up."""

    name = "macos"

    def __init__(
        self,
        runner: Runner,
        config_dir: Path,
        *,
        helper: PrivilegeHelper | None = None,
        platform: str | None = None,
        exists: Callable[[str], bool] = os.path.exists,
        read_text: Callable[[str], str] = lambda p: Path(p).read_text(),
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        self.runner = runner
        self.config_dir = Path(config_dir)
        self.helper = helper or OsascriptHelper()
        self.platform = platform or sys.platform
        self.exists = exists
        self.read_text = read_text
        self.which = which
        found = next((c for c in WG_QUICK_CANDIDATES if exists(c)), None)
        self.wg_quick = found or which("wg-quick") or WG_QUICK_CANDIDATES[0]

    def config_path(self, name: str) -> Path:
        """The wg-quick config; its stem is the tunnel name wg-quick uses."""
        return self.config_dir / f"{validate_tunnel_name(name)}.conf"

    def wg_quick_argv(self, verb: str, name: str) -> list[str]:
        """The exact privileged command for ``wg-quick <verb> <config path>``."""
        return self.helper.tunnel_argv(self.wg_quick, verb, str(self.config_path(name)))

    def is_available(self) -> tuple[bool, str]:
        """macOS with wg-quick (Homebrew wireguard-tools) installed."""
        if self.platform != "darwin":
            return False, "the macOS backend only runs on macOS"
        if not self.exists(self.wg_quick):
            return False, "wg-quick is not installed (brew install wireguard-tools)"
        return True, f"wg-quick via {type(self.helper).__name__}"

    def _utun(self, name: str) -> str | None:
        path = f"{RUN_DIR}/{name}.name"
        if not self.exists(path):
            return None
        try:
            return self.read_text(path).strip() or None
        except OSError:
            return None

    def install(self, config: TunnelConfig) -> None:
        """Write the config; a running tunnel is taken down and up again with it."""
        running = self._utun(config.name) is not None
        if running:
            self._quick("down", config.name)
        write_private_file(self.config_path(config.name), config.text)
        if running:
            self._quick("up", config.name)

    def _quick(self, verb: str, name: str) -> None:
        try:
            self.runner.run(self.wg_quick_argv(verb, name), timeout=120)
        except CommandFailed as exc:
            raise TunnelError(f"wg-quick {verb} failed: {exc.message}", stderr=exc.stderr) from None

    def connect(self, config: TunnelConfig) -> None:
        """``wg-quick up`` (after ``down`` if it already runs)."""
        if self._utun(config.name) is not None:
            self._quick("down", config.name)
        write_private_file(self.config_path(config.name), config.text)
        self._quick("up", config.name)

    def disconnect(self, name: str) -> None:
        """``wg-quick down`` when up, then delete the config holding the key."""
        if self._utun(name) is not None and self.exists(str(self.config_path(name))):
            self._quick("down", name)
        remove_file(self.config_path(name))

    def status(self, name: str) -> TunnelStatus:
        """Up when wg-quick's ``<name>.name`` file exists; stats only via a silent helper."""
        utun = self._utun(validate_tunnel_name(name))
        if utun is None:
            return TunnelStatus(DISCONNECTED, self.name)
        if not self.helper.non_interactive:
            return TunnelStatus(CONNECTED, self.name, detail=utun, handshake_known=False)
        result = self.runner.run(
            self.helper.show_argv(utun),
            timeout=15,
            check=False,
        )
        if not result.ok:
            return TunnelStatus(CONNECTED, self.name, detail=utun, handshake_known=False)
        return status_from_dump(self.name, result.stdout)

    def remove(self, name: str) -> None:
        """Same as disconnect."""
        self.disconnect(name)
