"""Windows backend: the official WireGuard tunnel service.

``wireguard.exe /installtunnelservice <conf>`` installs and starts service
``WireGuardTunnel$<name>`` (the name is the config file's stem);
``/uninstalltunnelservice <name>`` stops and removes it; ``sc query`` and ``wg.exe show <name>
dump`` report status. Needs an elevated process. The config (with the private key) is written
user-only into the client's data dir while the tunnel is installed and deleted when it is
removed. A WireGuardNT / local-service bridge can replace this class behind the same interface.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import CommandFailed, TunnelError
from ..runner import Runner
from .base import (
    CONNECTED,
    CONNECTING,
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

DEFAULT_DIR = r"C:\Program Files\WireGuard"
SERVICE_PREFIX = "WireGuardTunnel$"
SC_NOT_INSTALLED = 1060  # ERROR_SERVICE_DOES_NOT_EXIST
_STATE_RE = re.compile(r"STATE\s*:\s*(\d+)\s+(\w+)")


def is_admin() -> bool:  # pragma: no cover - Windows only
    """True when the process runs elevated."""
    try:
        import ctypes

        return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return False


def parse_sc_state(output: str) -> str | None:
    """``RUNNING``, ``STOPPED``, ``START_PENDING`` … from ``sc query`` output, or None."""
    match = _STATE_RE.search(output)
    return match.group(2).upper() if match else None


class WindowsBackend(TunnelBackend):
    """Drives ``wireguard.exe`` tunnel services."""

    name = "windows"

    def __init__(
        self,
        runner: Runner,
        config_dir: Path,
        *,
        wireguard_dir: str = DEFAULT_DIR,
        platform: str | None = None,
        admin: Callable[[], bool] = is_admin,
        exists: Callable[[str], bool] = os.path.exists,
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        self.runner = runner
        self.config_dir = Path(config_dir)
        self.platform = platform or sys.platform
        self.admin = admin
        self.exists = exists
        self.which = which
        self.wireguard_exe = self._find("wireguard.exe", wireguard_dir)
        self.wg_exe = self._find("wg.exe", wireguard_dir)

    def _find(self, exe: str, directory: str) -> str:
        candidate = f"{directory}\\{exe}"
        if self.exists(candidate):
            return candidate
        return self.which(exe) or candidate

    def config_path(self, name: str) -> Path:
        """Where the tunnel's config lives while installed (its stem is the service name)."""
        return self.config_dir / f"{validate_tunnel_name(name)}.conf"

    def is_available(self) -> tuple[bool, str]:
        """Windows, WireGuard for Windows installed, and an elevated process."""
        if self.platform not in ("win32", "cygwin"):
            return False, "the Windows backend only runs on Windows"
        if not self.exists(self.wireguard_exe):
            return False, "WireGuard for Windows is not installed (wireguard.exe not found)"
        if not self.admin():
            return False, "managing the WireGuard tunnel service needs administrator rights"
        return True, "WireGuard tunnel service"

    def _service_state(self, name: str) -> str | None:
        result = self.runner.run(
            ["sc", "query", f"{SERVICE_PREFIX}{name}"], timeout=15, check=False
        )
        if result.returncode == SC_NOT_INSTALLED or not result.ok:
            return None
        return parse_sc_state(result.stdout)

    def install(self, config: TunnelConfig) -> None:
        """Write the config; a running service is reinstalled so it reads the new one."""
        running = self._service_state(config.name) is not None
        write_private_file(self.config_path(config.name), config.text)
        if running:
            self._uninstall(config.name)
            self._install(config.name)

    def _install(self, name: str) -> None:
        self.runner.run(
            [self.wireguard_exe, "/installtunnelservice", str(self.config_path(name))], timeout=60
        )

    def _uninstall(self, name: str) -> None:
        self.runner.run([self.wireguard_exe, "/uninstalltunnelservice", name], timeout=60)

    def connect(self, config: TunnelConfig) -> None:
        """Install and start the tunnel service (replacing one that runs)."""
        if self._service_state(config.name) is not None:
            self._uninstall(config.name)
        write_private_file(self.config_path(config.name), config.text)
        try:
            self._install(config.name)
        except CommandFailed as exc:
            remove_file(self.config_path(config.name))
            raise TunnelError(
                "The WireGuard tunnel service could not be installed "
                f"({exc.message}). Run NexaVPN as administrator.",
                stderr=exc.stderr,
            ) from None

    def disconnect(self, name: str) -> None:
        """Stop and remove the tunnel service; delete the config holding the key."""
        if self._service_state(name) is not None:
            self._uninstall(name)
        remove_file(self.config_path(name))

    def status(self, name: str) -> TunnelStatus:
        """Service state, then handshake and bytes from ``wg.exe show <name> dump``."""
        state = self._service_state(validate_tunnel_name(name))
        if state is None or state in ("STOPPED", "STOP_PENDING"):
            return TunnelStatus(DISCONNECTED, self.name)
        if state != "RUNNING":
            return TunnelStatus(CONNECTING, self.name, detail=state.lower())
        result = self.runner.run([self.wg_exe, "show", name, "dump"], timeout=15, check=False)
        if not result.ok:
            return TunnelStatus(CONNECTED, self.name, detail="statistics unavailable",
                                handshake_known=False)
        return status_from_dump(self.name, result.stdout)

    def remove(self, name: str) -> None:
        """Same as disconnect: the service and its config are all there is."""
        self.disconnect(name)


__all__ = ["CONNECTED", "WindowsBackend", "parse_sc_state"]
