"""Screenshots of every connection state of the desktop window, rendered offscreen.

Why beside ``screenshots.py``: states such as revoked, pending approval, a key mismatch or a
lost handshake need an administrator, a second machine or minutes of waiting to reach for real.
This opens the real window around a real (offline) core and feeds the connected view the
status each state has, then saves ``desktop-state-<kind>.png`` (and ``-dark`` variants with a
dark palette). Run: ``QT_QPA_PLATFORM=offscreen python desktop/tools/state_gallery.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication

from nexavpn_client.app import ClientApp, Status
from nexavpn_client.secrets import MemoryStore
from nexavpn_desktop.app import build
from nexavpn_desktop.style import dark_palette
from nexavpn_desktop.window import MainWindow

SIZE = (480, 660)
NOW = datetime.now(UTC)
KEY = "hT3pV0s5qkq2yq8mXyM4i7m1Qp6Yl0f8cJ3vXb2aR1s="
FINGERPRINT = ":".join(f"{b:02X}" for b in bytes.fromhex("3a7f" * 16))


def _iso(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")


def sample(**kw: object) -> Status:
    """A status like the core reports for alice's laptop (overridden per state)."""
    base: dict[str, object] = dict(
        server="https://vpn.example.com", user="alice", logged_in=True, enrolled=True,
        device_id=7, device_name="alice-laptop", vpn_ip="10.8.0.2", profile_revision=4,
        allowed_resources=[
            {"destination": "10.20.0.0/24", "policy": "engineering-servers"},
            {"destination": "10.30.5.0/28", "policy": "office-printers"},
            {"destination": "10.40.0.10/32", "policy": "git"},
        ],
        tunnel_backend="linux", connection="disconnected", last_sync=_iso(12),
        trust="pinned", device_public_key=KEY,
        device_fingerprint="9f2c4e1ab07d5c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a",
    )
    base.update(kw)
    return Status(**base)  # type: ignore[arg-type]


STATES: dict[str, dict[str, object]] = {
    "connected": dict(connection="connected", handshake_age=7.0),
    "connecting": dict(connection="disconnected"),
    "no_handshake": dict(connection="connected", handshake_age=None),
    "disconnected": dict(),
    "offline": dict(offline_since=_iso(420), last_sync=_iso(430)),
    "pending_approval": dict(connection="pending_approval"),
    "key_mismatch": dict(connection="key_mismatch"),
    "revoked": dict(revoked=True),
}


def settle(app: QApplication, seconds: float = 0.3) -> None:
    """Let layouts, animations and repaints finish before a grab."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def render(app: QApplication, window: MainWindow, kind: str, *, details: bool = False) -> None:
    """Put ``window`` into the state ``kind``."""
    status = sample(**STATES[kind])
    window.connected.clock = lambda: NOW
    if status.revoked or kind == "key_mismatch":
        # Both end in the dead-end view: revoked, or this installation's key not the server's.
        window.status = status
        window.show_revoked()
        window.revoked.set_reason("key_mismatch" if kind == "key_mismatch" else "revoked")
    else:
        window.show_connected(status)
        window._stop_timers()  # the sample must not be replaced by the offline core's status
        if kind == "connecting":
            window.connected.set_state("connecting")
    window.connected.set_details_expanded(details)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    light = app.palette()
    with tempfile.TemporaryDirectory(prefix="nexavpn-gallery-") as tmp:
        for dark in (False, True):
            app.setPalette(dark_palette() if dark else light)
            client = ClientApp(MemoryStore(), Path(tmp) / f"client-{dark}", platform="linux")
            settings = QSettings(str(Path(tmp) / "desktop.ini"), QSettings.Format.IniFormat)
            window, _tray = build(client, settings=settings, tray=False)
            window.resize(*SIZE)
            window.show()
            kinds = list(STATES) if not dark else ["connected", "disconnected", "revoked"]
            for kind in kinds:
                render(app, window, kind, details=(kind == "connected" and not dark))
                settle(app)
                name = f"desktop-state-{kind}{'-dark' if dark else ''}.png"
                window.grab().save(str(args.out / name))
                print(f"saved {args.out / name}")
                if not dark:  # the card alone, for the README's table of states
                    dead_end = kind in ("revoked", "key_mismatch")
                    view = window.revoked if dead_end else window.connected
                    card = f"desktop-card-{kind}.png"
                    view.card.grab().save(str(args.out / card))
                    print(f"saved {args.out / card}")
            if dark:  # the light sign-in comes from screenshots.py, against a real server
                window.show_sign_in()
                window.signin.set_server("https://vpn.example.com", "alice")
                window.signin.show_trust("https://vpn.example.com", FINGERPRINT, changed=False)
                settle(app)
                name = "desktop-sign-in-dark.png"
                window.grab().save(str(args.out / name))
                print(f"saved {args.out / name}")
            window._quitting = True
            window.close()
            window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
