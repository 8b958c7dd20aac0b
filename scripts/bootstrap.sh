#!/usr/bin/env bash
# Creates what the run and test commands need on a fresh machine: system packages (via
# install-system-deps.sh), the virtualenv at .venv, and the project installed into it.
# Usage: scripts/bootstrap.sh [EXTRAS]   (default extras: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"

bash scripts/install-system-deps.sh

py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "NexaVPN needs Python 3.11 or newer (found: $("$py" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
# Reinstall only when pyproject.toml changed since these extras were installed (one stamp per
# set of extras: run-server.sh and run-desktop.sh do not undo each other's installs).
stamp=".venv/.nexavpn-installed-${extras//,/-}"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing NexaVPN into .venv ($extras)…" >&2
  .venv/bin/python -m pip install -q -e ".[$extras]"
  echo "$want" > "$stamp"
fi
