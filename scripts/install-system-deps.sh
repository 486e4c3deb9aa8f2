#!/usr/bin/env bash
# Installs the Debian packages the tests (and, with --bench, the benchmarks) need.
# Idempotent: does nothing when every tool is already there. Needs root (CI runs as root).
set -euo pipefail
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v baresip >/dev/null 2>&1 || need+=(baresip)
# The web UI's browser tests drive Debian's Chromium with playwright-core (no browser download).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# rtpengine (media-server = rtpengine): the tests start their own userspace daemon.
command -v rtpengine >/dev/null 2>&1 || need+=(rtpengine-daemon)
if [[ "${1:-}" == "--bench" ]]; then
  command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
fi
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
