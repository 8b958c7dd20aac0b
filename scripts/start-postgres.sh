#!/usr/bin/env bash
# Starts the Debian PostgreSQL cluster (creating it if needed) and a test role + database.
# Prints the database URL on stdout. Used by scripts/test.sh; safe to run twice.
set -euo pipefail
# Everything but the final URL goes to stderr: pg_ctlcluster prints notices such as
# "Removed stale pid file." on stdout, and callers read the URL from stdout. The URL goes out on
# fd 3, which every command that can leave a daemon behind gets closed (`3>&-`): a postmaster
# holding the caller's pipe open would make `$(… | tail)` wait for ever.
exec 3>&1 1>&2
ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
[ -n "$ver" ] || { echo "PostgreSQL is not installed" >&2; exit 1; }
if ! pg_lsclusters -h 2>/dev/null | awk '{print $2}' | grep -qx main; then
  pg_createcluster "$ver" main >/dev/null 3>&-
fi
state=$(pg_lsclusters -h | awk '$2=="main"{print $4}')
if [ "$state" != "online" ]; then
  pg_ctlcluster "$ver" main start 3>&- </dev/null
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='nexavpn'\"" | grep -q 1 || \
  su postgres -c "psql -qc \"create role nexavpn login password 'nexavpn' createdb\"" >/dev/null
for db in nexavpn_test nexavpn_bench; do
  su postgres -c "psql -qAtc \"select 1 from pg_database where datname='$db'\"" | grep -q 1 || \
    su postgres -c "createdb -O nexavpn $db"
done
echo "postgresql://nexavpn:nexavpn@127.0.0.1:5432/nexavpn_test" >&3
