#!/usr/bin/env bash
# Installs the Debian packages the tests and the benchmarks need (--bench is accepted, same list).
# Idempotent: does nothing when every tool is already there. Needs root (CI runs as root).
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v baresip >/dev/null 2>&1 || need+=(baresip)
# The web UI's browser tests drive Debian's Chromium with playwright-core (no browser download).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Cluster tests share registrations and agent logins through a private Redis (test/helpers/redis.ts).
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The cluster tests and benches run Kamailio (SIP entry point, also the benches' anchor) and nginx
# (HTTP and CTI in front of the nodes) as plain processes of their own: no system service is used.
command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
# Kamailio reads the node list from the PostgreSQL store (cluster-up.sh --store): db_postgres.
compgen -G '/usr/lib/*/kamailio/modules/db_postgres.so' >/dev/null || need+=(kamailio-postgres-modules)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || need+=(nginx)
# rtpengine (media-server = rtpengine): the tests start their own userspace daemon.
command -v rtpengine >/dev/null 2>&1 || need+=(rtpengine-daemon)
# The PostgreSQL configuration store's tests run a private cluster (scripts/postgres-up.sh).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# The migration bench reads call set-up times from a loopback capture (test/helpers/sip-capture.ts).
command -v tcpdump >/dev/null 2>&1 || [[ -x /usr/sbin/tcpdump ]] || need+=(tcpdump)
[[ ${#need[@]} -eq 0 ]] && exit 0
echo "installing Debian packages: ${need[*]}"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The package's own rtpengine service is not wanted (it would hold the ng port 2223 and RTP ports).
if [[ " ${need[*]} " == *" rtpengine-daemon "* ]]; then
  $SUDO systemctl disable --now rtpengine-daemon >/dev/null 2>&1 || $SUDO service rtpengine-daemon stop >/dev/null 2>&1 || true
fi
