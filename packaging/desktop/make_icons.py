"""Renders the app icon (the "connected" state badge the app draws at run time) to image files.

Why: the app draws its icons with QPainter and ships no image files, but installers need one:
``nexavpn.png`` (Linux .desktop entry), ``nexavpn.ico`` (Windows exe and installer) and
``nexavpn.icns`` (macOS .app). Qt's own image plugins write all three, so no Pillow is needed.

    QT_QPA_PLATFORM=offscreen python packaging/desktop/make_icons.py OUTDIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Write the icon files into ``argv[0]``; exit 1 if the PNG cannot be written."""
    if len(argv) != 1:
        print("usage: make_icons.py OUTDIR", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    from nexavpn_desktop.icons import brand_pixmap

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    big = brand_pixmap(256)
    if not big.save(str(out / "nexavpn.png"), "PNG"):
        print("make_icons: cannot write nexavpn.png", file=sys.stderr)
        return 1
    for name, fmt in (("nexavpn.ico", "ICO"), ("nexavpn.icns", "ICNS")):
        # Optional: an installer without its own icon still works.
        if not big.save(str(out / name), fmt):
            print(f"make_icons: Qt could not write {name} (image plugin missing)",
                  file=sys.stderr)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
