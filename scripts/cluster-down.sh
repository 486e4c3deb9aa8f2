#!/usr/bin/env bash
# Stops everything scripts/cluster-up.sh started for DIR (docs/cluster.md, "Running a cluster"):
# nginx, Kamailio, the nodes (SIGTERM: each stops cleanly), Redis, and PostgreSQL through
# scripts/postgres-down.sh when cluster-up started it. A process that has not exited after 10 s
# gets SIGKILL. Only processes whose command line names DIR are signalled (a PID file left by a
# process long gone is not trusted). Prints one `stopped NAME pid X` line per process.
#
#   scripts/cluster-down.sh --data DIR
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
data=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) data="${2:-}"; shift 2 ;;
    *) echo "usage: $0 --data DIR" >&2; exit 2 ;;
  esac
done
[[ -n "$data" ]] || { echo "usage: $0 --data DIR" >&2; exit 2; }
[[ -d "$data" ]] || { echo "cluster-down: $data does not exist: nothing to stop" >&2; exit 0; }
data="$(cd "$data" && pwd)"

alive() {
  [[ -n "$1" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

# stop NAME PIDFILE PATTERN: SIGTERM, wait up to 10 s, then SIGKILL
stop() {
  local name="$1" file="$2" pattern="$3" pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if alive "$pid" "$pattern"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      alive "$pid" "$pattern" || break
      sleep 0.1
    done
    if alive "$pid" "$pattern"; then
      echo "cluster-down: $name (pid $pid) did not stop within 10 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 50); do
        alive "$pid" "$pattern" || break
        sleep 0.1
      done
    fi
    echo "stopped $name pid $pid"
  fi
  rm -f "$file"
}

stop nginx "$data/nginx/nginx.pid" "$data/nginx/"
stop kamailio "$data/kamailio/kamailio.pid" "$data/kamailio/"
for dir in "$data"/node-*; do
  [[ -d "$dir" ]] || continue
  stop "$(basename "$dir")" "$dir/node.pid" "--data $dir "
done
stop redis "$data/redis/redis.pid" "redis-server"
if [[ -d "$data/postgres" && -f "$root/scripts/postgres-down.sh" ]]; then
  bash "$root/scripts/postgres-down.sh" --data "$data/postgres"
fi
