"""PyInstaller hook for PySide6.QtGui that leaves out Qt plugins the app has no use for.

Why here and not in the spec: PyInstaller follows each collected plugin's shared-library
dependencies, so filtering plugins after analysis would still ship what they pulled in (the
GTK 3 platform theme alone drags GTK, cairo and friends, ~20 MB). This hook replaces the
stock one (``add_qt6_dependencies``) and drops those plugins before that happens.

Kept: the platform plugins a desktop needs (xcb, wayland, offscreen, minimal, windows,
cocoa), the xdg-desktop-portal theme, input contexts, the Wayland client plugins and the
xcb GL integrations.
"""

from __future__ import annotations

import os
import re

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)

# Whole plugin folders: embedded Linux (eglfs, evdev), icon/image formats (the app draws
# its icons with QPainter; PNG/ICO/BMP are built into QtGui), accessibility bridges are kept.
_DROP_DIRS = {"egldeviceintegrations", "generic", "iconengines", "imageformats"}
# Single plugins: framebuffer/VNC/EGL-only platforms and the GTK 3 theme.
_DROP_FILES = re.compile(
    r"(qeglfs|qlinuxfb|qminimalegl|qvkkhrdisplay|qvnc|qgtk3|qdirect2d)", re.IGNORECASE)


def _keep(entry: tuple[str, str]) -> bool:
    src, dest = entry
    parts = dest.replace("\\", "/").split("/")
    if "plugins" not in parts:
        return True
    folder = parts[parts.index("plugins") + 1] if parts.index("plugins") + 1 < len(parts) else ""
    if folder in _DROP_DIRS:
        return False
    return not _DROP_FILES.search(os.path.basename(src))


binaries = [b for b in binaries if _keep(b)]
