#!/usr/bin/env bash
# Regenerates the admin UI's API types (backend/admin-ui/src/api/schema.d.ts) from the OpenAPI
# document the backend serves, built by the app factory (no server, no database needed), with
# openapi-typescript. Run it after any API change and commit the result; with --check it changes
# nothing and exits 1 when the committed file is stale (the test run does that:
# tests/adminui/test_generated_types.py).
#   [PYTHON=…] scripts/gen-api-types.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# The interpreter with the server's packages: $PYTHON, else the repository's .venv, else python3.
python=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && python=.venv/bin/python
ui=backend/admin-ui
target=$ui/src/api/schema.d.ts
[ -x "$ui/node_modules/.bin/openapi-typescript" ] || {
  echo "openapi-typescript is missing: run 'npm ci' in $ui" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PYTHONPATH="$PWD/backend:$PWD/shared${PYTHONPATH:+:$PYTHONPATH}" \
  timeout 120 "$python" -m nexavpn_api.openapi "$work/openapi.json"
(cd "$ui" && timeout 120 node_modules/.bin/openapi-typescript "$work/openapi.json" \
  --output "$work/schema.d.ts" >/dev/null)

if [ $check -eq 1 ]; then
  if ! diff -u --label "$target (committed)" --label "$target (generated)" \
      "$target" "$work/schema.d.ts"; then
    echo "$target is stale: run scripts/gen-api-types.sh and commit it" >&2
    exit 1
  fi
  echo "$target is up to date"
else
  cp "$work/schema.d.ts" "$target"
  echo "wrote $target"
fi
