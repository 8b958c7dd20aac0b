"""Wiring of the desktop app: Qt application, logging, the core, the window and the tray.

``nexavpn-desktop`` runs :func:`main`; :func:`build` assembles the same parts around a given
:class:`~nexavpn_client.app.ClientApp` (tests and the screenshot script inject one).
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from nexavpn_client.app import ClientApp, ensure_data_dir

from . import __version__
from .icons import brand_icon
from .tray import Tray
from .window import DEFAULT_SYNC_SECONDS, MainWindow

log = logging.getLogger(__name__)


def default_log_dir() -> Path:
    """The per-user log folder (shown in Settings & about)."""
    import platformdirs

    return Path(platformdirs.user_log_dir("nexavpn", "NexaVPN"))


def setup_logging(log_dir: Path | None, level: int = logging.INFO) -> Path | None:
    """Log to a rotating file in ``log_dir`` (0700) and to stderr; None if the dir fails."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    used: Path | None = None
    if log_dir is not None:
        try:
            log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            handlers.append(logging.handlers.RotatingFileHandler(
                log_dir / "nexavpn-desktop.log", maxBytes=1_000_000, backupCount=3,
                encoding="utf-8"))
            used = log_dir
        except OSError as exc:
            print(f"nexavpn-desktop: cannot write logs to {log_dir}: {exc}", file=sys.stderr)
    logging.basicConfig(
        level=level, handlers=handlers,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return used


def build(
    client: ClientApp,
    *,
    settings: QSettings | None = None,
    log_dir: Path | None = None,
    sync_interval: float | None = None,
    tray: bool = True,
) -> tuple[MainWindow, Tray | None]:
    """The window (and tray) around ``client``; call ``window.start()`` to begin."""
    window = MainWindow(client, settings=settings, log_dir=log_dir,
                        sync_interval=sync_interval)
    tray_obj = Tray(window) if tray else None
    return window, tray_obj


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options (Qt's own options are left to Qt)."""
    parser = argparse.ArgumentParser(prog="nexavpn-desktop", description="NexaVPN desktop app")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--minimized", action="store_true",
                        help="start in the tray without showing the window")
    parser.add_argument("--sync-interval", type=float, default=None,
                        help="seconds between profile checks when the server cannot hold "
                             "requests open (profile changes otherwise arrive at once; "
                             f"default {DEFAULT_SYNC_SECONDS:g} for a timer, 5 for polling)")
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="quit by itself after SECONDS and print what was shown "
                             "(smoke test of a packaged build)")
    args, _qt_args = parser.parse_known_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nexavpn-desktop``."""
    argv = list(sys.argv if argv is None else argv)
    args = parse_args(argv[1:])
    log_dir = setup_logging(default_log_dir(), logging.DEBUG if args.debug else logging.INFO)
    qapp = QApplication.instance() or QApplication(argv)
    qapp.setApplicationName("NexaVPN")
    qapp.setOrganizationName("NexaVPN")
    qapp.setApplicationVersion(__version__)
    qapp.setWindowIcon(brand_icon())
    client = ClientApp.from_environment()
    ensure_data_dir(client)
    window, tray = build(client, log_dir=log_dir, sync_interval=args.sync_interval)
    if tray is not None and tray.available:
        qapp.setQuitOnLastWindowClosed(False)
        tray.show()
    if not (args.minimized and tray is not None and tray.available):
        window.show()
    window.start()
    if args.quit_after is not None:
        _schedule_self_test(window, args.quit_after)
    code = qapp.exec()
    window.shutdown()
    if args.quit_after is not None and code == 0 and not _SELF_TEST.get("ok"):
        return 1
    return int(code)


_SELF_TEST: dict[str, bool] = {}


def _schedule_self_test(window: MainWindow, seconds: float) -> None:
    """Why: a packaged build must prove that Qt, its platform plugin and the window all load.

    After ``seconds`` it prints one line (window shown?, title, current view and state, Qt
    platform) and quits; the exit code is 1 when neither the window nor the tray was shown.
    """
    from PySide6.QtCore import QTimer

    def report() -> None:
        qapp = QApplication.instance()
        platform = qapp.platformName() if isinstance(qapp, QApplication) else "?"
        shown = window.isVisible() or (window.tray is not None and window.tray.available)
        _SELF_TEST["ok"] = bool(shown)
        view = type(window.stack.currentWidget()).__name__
        print(f"nexavpn-desktop self-test: visible={window.isVisible()} "
              f"title={window.windowTitle()!r} view={view} state={window.state} "
              f"platform={platform} version={__version__}", flush=True)
        window.quit_app()

    QTimer.singleShot(int(max(seconds, 0.0) * 1000), report)


if __name__ == "__main__":
    raise SystemExit(main())
