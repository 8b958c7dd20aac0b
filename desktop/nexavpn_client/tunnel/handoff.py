"""Import handoff: a TEMPORARY FALLBACK used when no embedded backend is usable.

The complete config (with the private key) is written to a user-only (0600) file and handed
to the system's WireGuard app, which then runs the tunnel itself:

* macOS: ``open -a WireGuard <file>`` (the app offers to import it);
* Linux: ``nmcli connection import type wireguard file <file>`` (NetworkManager);
* Windows: WireGuard for Windows has no command-line import, so its manager is started
  (``wireguard.exe``) and Explorer shows the file (``explorer.exe /select,<file>``) for
  "Import tunnel(s) from file".

A QR code of the same text (segno) lets a phone's WireGuard app scan it. This client cannot
see or stop a handed-off tunnel; ``status`` says so.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import CommandFailed, TunnelError
from ..runner import Runner
from .base import (
    DISCONNECTED,
    HANDED_OFF,
    TunnelBackend,
    TunnelConfig,
    TunnelStatus,
    remove_file,
    validate_tunnel_name,
    write_private_file,
)

log = logging.getLogger(__name__)

WINDOWS_WIREGUARD = r"C:\Program Files\WireGuard\wireguard.exe"


def qr_text(config_text: str) -> str:
    """The config as a QR code drawn with characters, for a terminal."""
    import segno

    buf = io.StringIO()
    segno.make(config_text, error="l", micro=False).terminal(out=buf, compact=True, border=2)
    return buf.getvalue()


def qr_png(config_text: str, scale: int = 6) -> bytes:
    """The config as a PNG QR code (for the GUI to show)."""
    import segno

    buf = io.BytesIO()
    segno.make(config_text, error="l", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


class HandoffBackend(TunnelBackend):
    """Writes the config to a 0600 file and opens it with the system WireGuard app."""

    name = "handoff"
    is_handoff = True

    def __init__(
        self,
        runner: Runner,
        export_dir: Path,
        *,
        platform: str | None = None,
        which: Callable[[str], str | None] = shutil.which,
        exists: Callable[[str], bool] = os.path.exists,
    ) -> None:
        self.runner = runner
        self.export_dir = Path(export_dir)
        self.platform = platform or sys.platform
        self.which = which
        self.exists = exists

    def config_path(self, name: str) -> Path:
        """The handed-off file (its stem becomes the tunnel's name in the WireGuard app)."""
        return self.export_dir / f"{validate_tunnel_name(name)}.conf"

    def open_argvs(self, path: Path) -> list[list[str]]:
        """The commands that hand ``path`` to this platform's WireGuard app."""
        if self.platform == "darwin":
            return [["open", "-a", "WireGuard", str(path)]]
        if self.platform in ("win32", "cygwin"):
            exe = WINDOWS_WIREGUARD if self.exists(WINDOWS_WIREGUARD) else "wireguard.exe"
            return [[exe], ["explorer.exe", f"/select,{path}"]]
        return [["nmcli", "connection", "import", "type", "wireguard", "file", str(path)]]

    def is_available(self) -> tuple[bool, str]:
        """Always usable for export; says whether an app to open the file was found."""
        if self.platform.startswith("linux") and not self.which("nmcli"):
            return True, "export only (NetworkManager's nmcli not found)"
        return True, "hands the profile to the system WireGuard app"

    def install(self, config: TunnelConfig) -> None:
        """Write (or refresh) the handoff file; the app must import it again for changes."""
        write_private_file(self.config_path(config.name), config.text)

    def export(self, config: TunnelConfig) -> Path:
        """Write the file and return its path (``export-config``)."""
        return write_private_file(self.config_path(config.name), config.text)

    def connect(self, config: TunnelConfig) -> None:
        """Write the file and open it with the system WireGuard app."""
        path = self.export(config)
        if self.platform.startswith("linux") and not self.which("nmcli"):
            raise TunnelError(
                f"No WireGuard app was found to open the profile. It was saved to {path}; "
                "import it into your WireGuard app (this is a temporary fallback)."
            )
        if self.platform.startswith("linux"):
            # A previous import under the same name would be duplicated; drop it first.
            self.runner.run(["nmcli", "connection", "delete", config.name], timeout=30, check=False)
        for argv in self.open_argvs(path):
            try:
                self.runner.run(argv, timeout=60)
            except CommandFailed as exc:
                raise TunnelError(
                    f"The WireGuard app could not be opened ({exc.message}). The profile was "
                    f"saved to {path}; import it by hand.",
                    stderr=exc.stderr,
                ) from None

    def disconnect(self, name: str) -> None:
        """On Linux, ``nmcli connection down``; elsewhere the user stops it in the app."""
        if self.platform.startswith("linux") and self.which("nmcli"):
            self.runner.run(["nmcli", "connection", "down", name], timeout=30, check=False)

    def status(self, name: str) -> TunnelStatus:
        """Handed off (state unknown to us) while the file exists."""
        if self.config_path(name).exists():
            return TunnelStatus(
                HANDED_OFF,
                self.name,
                detail="the system WireGuard app runs this tunnel; check it there",
            )
        return TunnelStatus(DISCONNECTED, self.name)

    def remove(self, name: str) -> None:
        """Delete the handoff file (and NetworkManager's imported copy on Linux)."""
        if self.platform.startswith("linux") and self.which("nmcli"):
            self.runner.run(["nmcli", "connection", "delete", name], timeout=30, check=False)
        remove_file(self.config_path(name))
