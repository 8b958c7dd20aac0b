#!/usr/bin/env bash
# Builds the admin web UI into backend/admin-ui/dist when it is missing or older than its sources.
set -euo pipefail
cd "$(dirname "$0")/../backend/admin-ui" 2>/dev/null || exit 0
[ -f package.json ] || exit 0
if [ "${1:-}" != "--force" ] && [ -f dist/index.html ] && \
   [ -z "$(find src index.html package.json -newer dist/index.html 2>/dev/null | head -1)" ]; then
  exit 0
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
