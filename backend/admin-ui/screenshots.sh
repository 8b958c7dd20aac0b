#!/usr/bin/env bash
# Saves a screenshot of every admin UI page into docs/screenshots/ by running the end-to-end
# browser test (real server, fresh database, headless Chromium) with NEXAVPN_SCREENSHOT_DIR set.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-$PWD/docs/screenshots}"
mkdir -p "$out"
NEXAVPN_SCREENSHOT_DIR="$out" .venv/bin/pytest -q -p no:cacheprovider tests/e2e/test_admin_ui_browser.py tests/e2e/test_admin_ui_self_signed.py
ls -1 "$out"
