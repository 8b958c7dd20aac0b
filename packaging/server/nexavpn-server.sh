#!/bin/sh
# /usr/bin/nexavpn-server: the packaged ops console with the service's settings
# (/etc/nexavpn/server.env), run as the nexavpn user so every file it makes belongs to the service.
#   nexavpn-server create-admin --username admin
#   nexavpn-server backup --output /var/backups/nexavpn/nexavpn-$(date +%F).db
set -eu
APP=/opt/nexavpn/server
export NEXAVPN_DATA_DIR=/var/lib/nexavpn/server
export NEXAVPN_ADMIN_UI_DIR=/usr/share/nexavpn/admin-ui
export NEXAVPN_GUNICORN_CONFIG="$APP/gunicorn.conf.py"
set -a  # every KEY=value of server.env is exported, as systemd's EnvironmentFile= does
# shellcheck disable=SC1091
if [ -r /etc/nexavpn/server.env ]; then . /etc/nexavpn/server.env; fi
set +a
if [ "$(id -u)" = 0 ]; then
  cd /  # the nexavpn user may not enter the caller's directory
  exec runuser -u nexavpn -- "$APP/bin/nexavpn-server" "$@"
fi
exec "$APP/bin/nexavpn-server" "$@"
