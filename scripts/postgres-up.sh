#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for the configuration store of record (docs/cluster.md):
#   scripts/postgres-up.sh --data DIR [--port P] [--db NAME] [--fast]
# Creates the cluster in DIR/pgdata at the first run (initdb; a generated password in
# DIR/password, password authentication over TCP, 127.0.0.1 only), starts it (log in
# DIR/postgres.log, socket in DIR/sock), creates the database (default sipserver) and prints its
# URL for `sipserver start --store URL`. Run again on the same DIR: starts the same cluster.
# --fast turns fsync off (tests only: a machine crash may lose committed data).
# As root, PostgreSQL runs as the `postgres` user (initdb refuses root); DIR is given to it.
set -euo pipefail
data="" port=5432 db=sipserver fast=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --db) db="$2"; shift 2 ;;
    --fast) fast=1; shift ;;
    *) echo "usage: $0 --data DIR [--port P] [--db NAME] [--fast]" >&2; exit 2 ;;
  esac
done
[[ -n "$data" ]] || { echo "usage: $0 --data DIR [--port P] [--db NAME] [--fast]" >&2; exit 2; }
[[ "$port" =~ ^[0-9]+$ ]] || { echo "--port must be a number" >&2; exit 2; }
[[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "--db must be a plain lower-case name" >&2; exit 2; }
bin="${PG_BIN:-}"
if [[ -z "$bin" ]]; then
  initdb_path=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n "$initdb_path" ]] || { echo "PostgreSQL not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/install-system-deps.sh" >&2; exit 1; }
  bin=$(dirname "$initdb_path")
fi
mkdir -p "$data"
data=$(cd "$data" && pwd)
as=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || { echo "no postgres user (install the postgresql package)" >&2; exit 1; }
  chown postgres "$data"
  as=(runuser -u postgres --)
  runuser -u postgres -- test -w "$data" ||
    { echo "PostgreSQL runs as the postgres user, which cannot reach $data (a parent directory is private): use a directory it can traverse, e.g. under /var/tmp" >&2; exit 1; }
fi
run() { "${as[@]}" "$@"; }
pgdata="$data/pgdata"
if [[ ! -f "$pgdata/PG_VERSION" ]]; then
  run mkdir -p "$data/sock"
  run sh -c "umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' > '$data/password'"
  run "$bin/initdb" -D "$pgdata" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$data/password" -E UTF8 --locale=C --no-sync >"$data/initdb.log" 2>&1 ||
    { cat "$data/initdb.log" >&2; exit 1; }
fi
opts="-p $port -k $data/sock -h 127.0.0.1"
[[ $fast -eq 1 ]] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if ! run "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
  run "$bin/pg_ctl" -D "$pgdata" -l "$data/postgres.log" -o "$opts" -w -t 30 start >/dev/null ||
    { echo "PostgreSQL did not start; its log:" >&2; tail -n 20 "$data/postgres.log" >&2; exit 1; }
fi
psql=("$bin/psql" -h "$data/sock" -p "$port" -U postgres -d postgres -qtA)
if [[ -z $(run "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
  run "${psql[@]}" -c "CREATE DATABASE $db" >/dev/null
fi
echo "postgres://postgres:$(cat "$data/password")@127.0.0.1:$port/$db"
