#!/usr/bin/env bash
# The README's test command: installs what is missing, starts PostgreSQL and a Secret Service
# keyring, then runs lint, import contracts, the whole pytest suite on SQLite, the backend suite
# on PostgreSQL, and the admin UI's tests. Exits non-zero if anything fails.
#   scripts/test.sh [extra pytest args]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
NEXAVPN_WITH_BROWSER=1 bash scripts/install-system-deps.sh || exit 1
bash scripts/bootstrap.sh dev || exit 1
export PATH="$PWD/.venv/bin:$PATH"

status=0
step() { echo; echo "=== $* ==="; }

step "ruff"
ruff check . || status=1

step "import contracts"
lint-imports || status=1

step "PostgreSQL"
# The URL comes back through a file, not a pipe: a daemon that inherited a pipe would keep a
# `$(…)` waiting for ever (that is how a CI run once hung until its deadline).
pg_url=""
pg_out=$(mktemp)
if timeout 300 bash scripts/start-postgres.sh >"$pg_out"; then pg_url=$(tail -n 1 "$pg_out"); fi
rm -f "$pg_out"
[ -n "$pg_url" ] || { echo "PostgreSQL did not start" >&2; status=1; }

# Each suite has a deadline well inside CI's, so a hang shows up as a failed step with output
# rather than as a run that never finishes (pytest-timeout bounds single tests as well).
deadline=(timeout --kill-after=60)

# One D-Bus session with an unlocked gnome-keyring for every test that uses the OS keyring.
run_in_keyring_session() {
  dbus-run-session -- bash -c '
    printf "\n" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
    exec "$@"' _ "$@"
}

step "admin UI dependencies"
# Before pytest: the suite regenerates the admin UI's API types with openapi-typescript.
if [ -f backend/admin-ui/package.json ]; then
  (cd backend/admin-ui && if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
     npm ci --no-audit --no-fund --loglevel=error; fi) || status=1
fi

step "pytest (SQLite, whole suite)"
run_in_keyring_session "${deadline[@]}" 2400 pytest -q "$@" || status=1

if [ -n "$pg_url" ]; then
  step "pytest (PostgreSQL, backend suite)"
  NEXAVPN_TEST_DATABASE_URL="$pg_url" "${deadline[@]}" 1500 pytest -q tests/backend "$@" || status=1
fi

if [ -f backend/admin-ui/package.json ]; then
  step "admin UI (vitest)"
  (cd backend/admin-ui && npm test --silent) || status=1
fi

echo
if [ $status -eq 0 ]; then echo "ALL CHECKS PASSED"; else echo "SOME CHECKS FAILED"; fi
exit $status
