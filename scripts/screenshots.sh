#!/usr/bin/env bash
# Screenshots of the desktop app (docs/screenshots/desktop-*.png) under Xvfb, against a local server.
#
# As root with `ip netns`, everything runs inside a throwaway network namespace so the app can
# bring up a real WireGuard tunnel (wireguard-go) to a stand-in gateway without touching this
# machine's network; otherwise only the sign-in and import-handoff views are taken.
#   scripts/screenshots.sh [OUT_DIR]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
OUT=${1:-$ROOT/docs/screenshots}
NUM=${SCREENSHOT_DISPLAY:-$((90 + RANDOM % 400))}
NS=""
XPID=""

cleanup() {
  if [[ -n "$XPID" ]]; then kill "$XPID" 2>/dev/null || true; wait "$XPID" 2>/dev/null || true; fi
  if [[ -n "$NS" ]]; then ip netns del "$NS" 2>/dev/null || true; fi
}
trap cleanup EXIT

Xvfb ":$NUM" -screen 0 1280x1024x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
for _ in $(seq 1 100); do
  [[ -S "/tmp/.X11-unix/X$NUM" ]] && break
  sleep 0.1
done
[[ -S "/tmp/.X11-unix/X$NUM" ]] || { echo "Xvfb did not start on :$NUM" >&2; exit 1; }

export DISPLAY=":$NUM" QT_QPA_PLATFORM=xcb
mkdir -p "$OUT"
if [[ $(id -u) -eq 0 ]] && command -v ip >/dev/null && command -v wireguard-go >/dev/null; then
  NS="${NEXAVPN_SHOT_PREFIX:-nx}$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  ip netns add "$NS"
  ip netns exec "$NS" ip link set lo up
  ip netns exec "$NS" env PATH="$ROOT/.venv/bin:$PATH" \
    "$PY" "$ROOT/desktop/tools/screenshots.py" --out "$OUT" --tunnel linux
else
  PATH="$ROOT/.venv/bin:$PATH" "$PY" "$ROOT/desktop/tools/screenshots.py" --out "$OUT" \
    --tunnel handoff
fi
# Every state of the status card (and dark-palette variants), rendered offscreen from sample
# statuses: revoked, pending approval, a key mismatch or a lost handshake need an admin or minutes.
QT_QPA_PLATFORM=offscreen "$PY" "$ROOT/desktop/tools/state_gallery.py" --out "$OUT"
ls -l "$OUT"/desktop-*.png
