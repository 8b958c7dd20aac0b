"""Pick the tunnel backend: the platform's embedded one if usable, else the import handoff."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from ..errors import BackendUnavailable
from ..runner import Runner, SubprocessRunner
from .base import TunnelBackend
from .handoff import HandoffBackend
from .linux import LinuxBackend
from .macos import MacOSBackend, OsascriptHelper, SudoHelper
from .windows import WindowsBackend

log = logging.getLogger(__name__)

BACKEND_ENV = "NEXAVPN_CLIENT_TUNNEL_BACKEND"
MAC_HELPER_ENV = "NEXAVPN_CLIENT_MACOS_HELPER"
BACKEND_NAMES = ("linux", "windows", "macos", "handoff")


def candidates(
    data_dir: Path, runner: Runner | None = None, platform: str | None = None
) -> list[TunnelBackend]:
    """Every backend for this platform, best first; the handoff is always last."""
    run = runner or SubprocessRunner()
    plat = platform or sys.platform
    tunnels = Path(data_dir) / "tunnels"
    helper = SudoHelper() if os.environ.get(MAC_HELPER_ENV) == "sudo" else OsascriptHelper()
    backends: list[TunnelBackend] = []
    if plat.startswith("linux"):
        backends.append(LinuxBackend(run, platform=plat))
    elif plat == "darwin":
        backends.append(MacOSBackend(run, tunnels, helper=helper, platform=plat))
    elif plat in ("win32", "cygwin"):
        backends.append(WindowsBackend(run, tunnels, platform=plat))
    backends.append(HandoffBackend(run, Path(data_dir) / "export", platform=plat))
    return backends


def choose_backend(
    data_dir: Path,
    runner: Runner | None = None,
    platform: str | None = None,
    preferred: str | None = None,
) -> TunnelBackend:
    """The first usable backend (or ``preferred``/``$NEXAVPN_CLIENT_TUNNEL_BACKEND``)."""
    wanted = preferred or os.environ.get(BACKEND_ENV) or None
    options = candidates(data_dir, runner, platform)
    if wanted:
        if wanted not in BACKEND_NAMES:
            raise BackendUnavailable(f"Unknown tunnel backend '{wanted}'.")
        for backend in options:
            if backend.name == wanted:
                ok, reason = backend.is_available()
                if not ok:
                    raise BackendUnavailable(f"The {wanted} backend cannot be used: {reason}.")
                return backend
        raise BackendUnavailable(f"The {wanted} backend does not exist on this platform.")
    reasons = []
    for backend in options:
        ok, reason = backend.is_available()
        if ok:
            if reasons:
                log.info("tunnel backend %s chosen; skipped: %s", backend.name, "; ".join(reasons))
            return backend
        reasons.append(f"{backend.name}: {reason}")
    raise BackendUnavailable("No tunnel backend is usable: " + "; ".join(reasons))
