"""Say in words when the build interpreter has no shared Python library (PyInstaller needs it).

Debian's python3 ships it in a separate package (``libpython3.11``) and Pythons built from
source (pyenv, asdf) only have it with ``--enable-shared``; without it PyInstaller stops with a
message that names a file but not the package or the fix.
"""

from __future__ import annotations

import sys
import sysconfig


def find_library() -> str | None:
    """The shared library PyInstaller would bundle, or None when there is none."""
    try:
        from PyInstaller.depend.bindepend import get_python_library_path
    except ImportError:
        return None
    try:
        return get_python_library_path()
    except Exception:  # PyInstaller raises its own error type when not found
        return None


def problem(found: str | None) -> str | None:
    """The message for a missing library, or None when the build can go ahead."""
    if found:
        return None
    ver = f"{sys.version_info[0]}.{sys.version_info[1]}"
    name = sysconfig.get_config_var("INSTSONAME") or f"libpython{ver}.so.1.0"
    return (
        f"the Python shared library {name} of {sys.executable} is not installed, and PyInstaller "
        f"needs it to bundle the desktop app. On Debian/Ubuntu: apt-get install libpython{ver} "
        f"(scripts/install-system-deps.sh installs it). A Python built from source (pyenv, asdf) "
        f"needs --enable-shared: PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install {ver}."
    )


def main() -> int:
    """Exit 1 with the message when the library is missing."""
    text = problem(find_library())
    if text:
        print(f"build-linux: {text}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
