#!/usr/bin/env bash
# Makes sure a PostgreSQL server is running for the test suite and prints a DATABASE_URL for it.
# Uses $DATABASE_URL when set; otherwise the local server (started if it is installed but down),
# with a role and a database "test" for the current user created when missing.
set -euo pipefail

ok() { psql "$1" -qtAc 'SELECT 1' >/dev/null 2>&1; }

if [ -n "${DATABASE_URL:-}" ]; then
  echo "$DATABASE_URL"
  exit 0
fi
tcp="postgresql://127.0.0.1:5432/test"
sock="postgresql:///test"
for url in "$tcp" "$sock"; do
  if ok "$url"; then echo "$url"; exit 0; fi
done

if command -v pg_ctlcluster >/dev/null 2>&1; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$version" ] && ! pg_lsclusters -h 2>/dev/null | grep -q " online"; then
    echo "test-services: starting PostgreSQL $version" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || pg_ctlcluster "$version" main start >&2
  fi
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && break
  sleep 0.5
done
for url in "$tcp" "$sock"; do
  if ok "$url"; then echo "$url"; exit 0; fi
done

# A fresh Debian install: peer authentication on the socket, no role for us yet.
me=$(id -un)
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}
echo "test-services: creating PostgreSQL role '$me' and database 'test'" >&2
as_postgres psql -qtAc "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$me') THEN CREATE ROLE \"$me\" LOGIN SUPERUSER; END IF; END\$\$" >&2
as_postgres psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
  || as_postgres createdb -O "$me" test >&2
for url in "$sock" "$tcp"; do
  if ok "$url"; then echo "$url"; exit 0; fi
done
echo "test-services: cannot reach PostgreSQL; set DATABASE_URL" >&2
exit 1
