#!/usr/bin/env bash
# Runs the desktop app (nexavpn-desktop) from this checkout: installs the desktop extra (PySide6)
# into .venv first, then starts the window. Arguments go to nexavpn-desktop (--help lists them).
#   scripts/run-desktop.sh                 in your desktop session
#   sudo -E scripts/run-desktop.sh         so "Connect" can make the WireGuard interface itself
#                                          (Linux needs root or CAP_NET_ADMIN for that; without
#                                          it the app hands the tunnel to NetworkManager)
# The packaged builds (.deb, Windows installer, macOS .pkg) are in docs/desktop-packaging.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh desktop
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] \
    && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "run-desktop: no display (DISPLAY and WAYLAND_DISPLAY are unset). Start it from your" \
       "desktop session, or without one: xvfb-run scripts/run-desktop.sh" >&2
  exit 1
fi
exec .venv/bin/nexavpn-desktop "$@"
