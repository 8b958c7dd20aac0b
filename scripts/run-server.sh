#!/usr/bin/env bash
# The README's run command: sets everything up, then serves NexaVPN on the embedded SQLite default.
#   scripts/run-server.sh            HTTPS on https://127.0.0.1:8443 with a self-signed certificate
#                                    (desktop clients pin the printed fingerprint)
#   NEXAVPN_PUBLIC_HOST=vpn.example.com scripts/run-server.sh
#                                    for gateways/clients on other machines: listens on all
#                                    addresses, the certificate and the URL carry that name/IP
#                                    (NEXAVPN_HOST=<address> binds one address instead)
#   NEXAVPN_PLAIN_HTTP=1 scripts/run-server.sh   plain HTTP on http://127.0.0.1:8000 (loopback only)
# Data (database, generated secrets, certificate) lives in ./var unless NEXAVPN_DATA_DIR is set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh server,gateway,client
bash scripts/build-admin-ui.sh || echo "warning: the admin UI could not be built; the API still runs." >&2

export NEXAVPN_DATA_DIR="${NEXAVPN_DATA_DIR:-$PWD/var}"
server=.venv/bin/nexavpn-server
$server migrate
# First start: create the first admin and print its one-time password.
$server create-admin --username "${NEXAVPN_ADMIN_USERNAME:-admin}" --if-no-admin

if [ "${NEXAVPN_PLAIN_HTTP:-0}" = "1" ]; then
  exec $server serve --host 127.0.0.1 --port "${NEXAVPN_PORT:-8000}"
fi
# Host, public host (NEXAVPN_HOST / NEXAVPN_PUBLIC_HOST) come from the environment: serve reads them.
exec $server serve --port "${NEXAVPN_PORT:-8443}" --self-signed
