#!/usr/bin/env bash
# Stops the PostgreSQL cluster scripts/postgres-up.sh started in DIR:
#   scripts/postgres-down.sh --data DIR
# A fast shutdown (sessions are ended, nothing committed is lost); if it does not stop within
# 20 s, the postmaster is killed. Does nothing when it is not running.
set -euo pipefail
data=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    *) echo "usage: $0 --data DIR" >&2; exit 2 ;;
  esac
done
[[ -n "$data" ]] || { echo "usage: $0 --data DIR" >&2; exit 2; }
pgdata="$data/pgdata"
[[ -f "$pgdata/postmaster.pid" ]] || exit 0
bin="${PG_BIN:-$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)")}"
as=()
[[ $(id -u) -eq 0 ]] && as=(runuser -u postgres --)
if ! "${as[@]}" "$bin/pg_ctl" -D "$pgdata" stop -m fast -w -t 20 >/dev/null 2>&1; then
  pid=$(head -n 1 "$pgdata/postmaster.pid" 2>/dev/null || true)
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
fi
