#!/usr/bin/env bash
# Starts the machine's PostgreSQL cluster (Debian's pg_ctlcluster), creates a throw-away
# test database owned by a test role, and prints its SQLAlchemy URL on stdout.
set -euo pipefail
db=${1:-safenum_test}
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
  pg_createcluster "$ver" main >/dev/null
fi
pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
port=$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $3}')
for _ in $(seq 1 100); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "pg-test-db: PostgreSQL did not start" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$*"; else sudo -u postgres sh -c "$*"; fi; }
as_pg "psql -qtA -p $port -c \"SELECT 1 FROM pg_roles WHERE rolname='safenum_test'\"" | grep -q 1 \
  || as_pg "psql -q -p $port -c \"CREATE ROLE safenum_test LOGIN PASSWORD 'safenum_test'\""
# CREATEDB: under pytest-xdist each worker creates its own database next to this one
# (${db}_gw0, ${db}_gw1, ...: tests/conftest.py), as the tests truncate tables.
as_pg "psql -q -p $port -c 'ALTER ROLE safenum_test CREATEDB'"
as_pg "psql -q -p $port -v ON_ERROR_STOP=1 -c 'SET client_min_messages=warning' -c 'DROP DATABASE IF EXISTS $db WITH (FORCE)'"
as_pg "createdb -p $port -O safenum_test $db"
echo "postgresql+psycopg://safenum_test:safenum_test@127.0.0.1:$port/$db"
