#!/usr/bin/env bash
# Installs the Debian packages the tests (and, with --bench, the benchmarks) need.
# Idempotent: does nothing when every tool is already there. Needs root (CI runs as root).
set -euo pipefail
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v baresip >/dev/null 2>&1 || need+=(baresip)
# The web UI's browser tests drive Debian's Chromium with playwright-core (no browser download).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The PostgreSQL configuration store's tests run a private cluster (scripts/postgres-up.sh).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
if [[ "${1:-}" == "--bench" ]]; then
  command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
fi
[[ ${#need[@]} -eq 0 ]] && exit 0
echo "installing Debian packages: ${need[*]}"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
