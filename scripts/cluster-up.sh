#!/usr/bin/env bash
# Starts (or reuses) a sipserver cluster on this machine (docs/cluster.md, "Running a cluster"):
# N nodes on free ports of their own, Kamailio on the file's server.sip.listen addresses (SIP entry
# point, deploy/kamailio/kamailio.cfg) and nginx on its server.http.listen address (HTTP and CTI,
# deploy/nginx/nginx.conf). Prints one line per node,
#   node K sip udp:127.0.0.1:P http http://127.0.0.1:Q pid X
# and returns once every node answers GET /api/status and Kamailio answers OPTIONS.
#
#   scripts/cluster-up.sh --nodes N --config FILE --data DIR [--store URL|pg] [--redis URL|local]
#
# Kamailio's node list (dispatcher set 1): without --store, the file DIR/kamailio/dispatcher.list
# written here from the nodes started; with --store (pg or postgres://…), the table
# sipserver_dispatcher of that database, where each node writes its own row when it starts and
# deletes it when it stops cleanly, so a node started by hand with the same --store is routed to
# without touching Kamailio (deploy/kamailio/kamailio.cfg, store mode).
#
# Everything lives under DIR: node-K/ (each node's data directory, log, pid and ports), kamailio/,
# nginx/, admin-token (the admin token every node shares, unless the file or SIPSERVER_TOKEN sets
# one). Run it again with the same DIR to reuse what still runs (a dead node is started again, on
# its previous ports when they are free); scripts/cluster-down.sh --data DIR stops everything.
# Needs the build (npm run build), kamailio and nginx (scripts/install-system-deps.sh).
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tool="$root/scripts/cluster/cluster-tool.mjs"
main="$root/dist/cli/main.js"
node_flags=()
ready_ms="${CLUSTER_READY_MS:-30000}"

usage() {
  echo "usage: $0 --nodes N --config FILE --data DIR [--store URL|pg] [--redis URL|local]" >&2
  exit 2
}
die() {
  echo "cluster-up: $*" >&2
  [[ "$started" -eq 0 ]] || echo "cluster-up: what did start keeps running: scripts/cluster-down.sh --data $data stops it" >&2
  exit 1
}

nodes="" config="" data="" store="" redis="" started=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) nodes="${2:-}"; shift 2 ;;
    --config) config="${2:-}"; shift 2 ;;
    --data) data="${2:-}"; shift 2 ;;
    --store) store="${2:-}"; shift 2 ;;
    --redis) redis="${2:-}"; shift 2 ;;
    -h | --help) usage ;;
    *) echo "cluster-up: unknown argument $1" >&2; usage ;;
  esac
done
[[ -n "$nodes" && -n "$config" && -n "$data" ]] || usage
[[ "$nodes" =~ ^[1-9][0-9]*$ ]] || die "--nodes must be a positive number, got '$nodes'"
[[ -f "$config" ]] || die "configuration file $config not found"
[[ -f "$main" ]] || die "$main is missing: run npm run build first"
# the Node flags the server runs with (src/cli/node-flags.ts)
read -r -a node_flags < <(node --input-type=module -e \
  "const m = await import('$root/dist/cli/node-flags.js'); console.log(m.SERVER_NODE_FLAGS.join(' '))")
command -v kamailio >/dev/null || die "kamailio is not installed (scripts/install-system-deps.sh)"
command -v nginx >/dev/null || die "nginx is not installed (scripts/install-system-deps.sh)"
config="$(cd "$(dirname "$config")" && pwd)/$(basename "$config")"
mkdir -p "$data"
data="$(cd "$data" && pwd)"

# alive PID PATTERN: the process runs and its command line names PATTERN (guards against PID reuse)
alive() {
  [[ -n "$1" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}
pid_of() { [[ -f "$1" ]] && cat "$1" || true; }

# The file's listen addresses: Kamailio takes server.sip.listen, nginx server.http.listen.
mapfile -t listen_lines < <(node "$tool" listen "$config")
sip_hostports=()
http_listen=""
for l in "${listen_lines[@]}"; do
  read -r kind a b c <<<"$l"
  if [[ "$kind" == sip ]]; then
    if [[ "$a" == udp || "$a" == tcp ]]; then
      hp="$b:$c"
      [[ " ${sip_hostports[*]-} " == *" $hp "* ]] || sip_hostports+=("$hp")
    else
      echo "cluster-up: note: server.sip.listen $a:$b:$c is not served by Kamailio (udp and tcp only)" >&2
    fi
  else
    http_listen="$a:$b"
  fi
done
[[ ${#sip_hostports[@]} -gt 0 ]] || die "server.sip.listen of $config has no udp or tcp address"
node_host="127.0.0.1"
[[ "${sip_hostports[0]}" == \[* ]] && node_host="::1"

# One admin token for every node, so the API answers the same through nginx whichever node serves.
token="$(node "$tool" admin-token "$config")"
if [[ -z "$token" ]]; then
  token="${SIPSERVER_TOKEN:-}"
  if [[ -z "$token" ]]; then
    [[ -s "$data/admin-token" ]] || (umask 077 && node -e "process.stdout.write(require('crypto').randomBytes(24).toString('base64url')+'\n')" >"$data/admin-token")
    token="$(cat "$data/admin-token")"
  fi
fi
export SIPSERVER_TOKEN="$token"

# Hooks for the shared store and state (docs/cluster.md): passed to the nodes only when asked for.
start_help=""
[[ -z "$store" && -z "$redis" ]] || start_help="$(node "$main" start --help)"
node_extra=()
if [[ -n "$store" ]]; then
  [[ "$start_help" == *--store* ]] || die "--store asked for, but this build's 'sipserver start' has no --store flag"
  if [[ "$store" == pg ]]; then
    [[ -x "$root/scripts/postgres-up.sh" || -f "$root/scripts/postgres-up.sh" ]] ||
      die "--store pg needs scripts/postgres-up.sh (missing): pass --store postgres://… instead"
    started=1
    # A port of its own, kept in DIR/postgres/port so that a second run finds the same server.
    mkdir -p "$data/postgres"
    [[ -s "$data/postgres/port" ]] || node "$tool" free-port 127.0.0.1 >"$data/postgres/port"
    store="$(bash "$root/scripts/postgres-up.sh" --data "$data/postgres" --port "$(cat "$data/postgres/port")" |
      grep -E '^postgres(ql)?://' | tail -n 1)"
    [[ -n "$store" ]] || die "scripts/postgres-up.sh printed no postgres:// URL"
    echo "postgres $store"
  fi
  node_extra+=(--store "$store")
fi
if [[ -n "$redis" ]]; then
  if [[ "$start_help" != *--redis* ]]; then
    echo "cluster-up: note: --redis skipped: this build's 'sipserver start' has no --redis flag yet" >&2
  else
    if [[ "$redis" == local ]]; then
      mkdir -p "$data/redis"
      rpid="$(pid_of "$data/redis/redis.pid")"
      if ! alive "$rpid" redis-server; then
        started=1
        rport="$(node "$tool" free-port "$node_host")"
        redis-server --bind "$node_host" --port "$rport" --dir "$data/redis" --save '' --appendonly no \
          --daemonize yes --pidfile "$data/redis/redis.pid" --logfile "$data/redis/redis.log"
        echo "$rport" >"$data/redis/port"
      fi
      redis="redis://$node_host:$(cat "$data/redis/port")"
      echo "redis $redis"
    fi
    node_extra+=(--redis "$redis")
  fi
fi

# port_free PORT: nothing holds PORT for TCP or UDP on the node address
port_free() {
  node -e "
    const net=require('net'),dgram=require('dgram');
    const s=net.createServer().once('error',()=>process.exit(1)).listen({host:'$node_host',port:$1,exclusive:true},()=>s.close(()=>{
      const u=dgram.createSocket('$node_host'.includes(':')?'udp6':'udp4');
      u.once('error',()=>process.exit(1)).bind($1,'$node_host',()=>u.close(()=>process.exit(0)));
    }));"
}

# same_hooks PID: the node runs with this run's --store and --redis (or without, as this run)
same_hooks() {
  local cmd f want i
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline") "
  for f in --store --redis; do
    want=""
    for ((i = 0; i + 1 < ${#node_extra[@]}; i++)); do
      [[ "${node_extra[i]}" == "$f" ]] && want="${node_extra[i + 1]}"
    done
    if [[ -n "$want" ]]; then
      [[ "$cmd" == *" $f $want "* ]] || return 1
    else
      [[ "$cmd" != *" $f "* ]] || return 1
    fi
  done
}

# Nodes: started (or kept) one by one, then awaited together. A node running with another
# --store or --redis than this run's is stopped (SIGTERM) and started again with them.
started=1
for ((k = 1; k <= nodes; k++)); do
  dir="$data/node-$k"
  mkdir -p "$dir"
  pid="$(pid_of "$dir/node.pid")"
  if alive "$pid" "--data $dir "; then
    same_hooks "$pid" && continue
    echo "cluster-up: node $k (pid $pid) runs with another --store or --redis: restarting it" >&2
    kill -TERM "$pid"
    for _ in $(seq 100); do
      alive "$pid" "--data $dir " || break
      sleep 0.1
    done
    alive "$pid" "--data $dir " && die "node $k (pid $pid) did not stop within 10 s"
  fi
  sip_port="" http_port=""
  # With Redis the nodes are named node-K: a restarted node is the same member of the cluster.
  node_name=()
  [[ " ${node_extra[*]} " == *" --redis "* ]] && node_name=(--node "node-$k")
  if [[ -f "$dir/ports" ]]; then
    read -r sip_port http_port <"$dir/ports"
    port_free "$sip_port" && port_free "$http_port" || sip_port=""
  fi
  if [[ -z "$sip_port" ]]; then
    sip_port="$(node "$tool" free-port "$node_host")"
    http_port="$(node "$tool" free-port "$node_host")"
    [[ "$http_port" != "$sip_port" ]] || http_port="$(node "$tool" free-port "$node_host")"
  fi
  echo "$sip_port $http_port" >"$dir/ports"
  hp="$node_host:$sip_port"
  [[ "$node_host" == *:* ]] && hp="[$node_host]:$sip_port"
  setsid node "${node_flags[@]}" "$main" start --config "$config" --data "$dir" \
    --sip-listen "udp:$hp,tcp:$hp" --http-listen "$(
      [[ "$node_host" == *:* ]] && echo "[$node_host]:$http_port" || echo "$node_host:$http_port"
    )" "${node_extra[@]}" "${node_name[@]}" </dev/null >>"$dir/node.log" 2>&1 &
  echo $! >"$dir/node.pid"
done

# Nodes beyond N (a smaller --nodes than the last run): stopped, and out of the lists below.
for dir in "$data"/node-*; do
  k="${dir##*/node-}"
  [[ "$k" =~ ^[0-9]+$ && "$k" -gt "$nodes" ]] || continue
  pid="$(pid_of "$dir/node.pid")"
  if alive "$pid" "--data $dir "; then
    kill -TERM "$pid"
    for _ in $(seq 100); do
      alive "$pid" "--data $dir " || break
      sleep 0.1
    done
    echo "cluster-up: stopped node $k (pid $pid): --nodes is $nodes" >&2
  fi
done

http_base() {
  local port="$1"
  [[ "$node_host" == *:* ]] && echo "http://[$node_host]:$port" || echo "http://$node_host:$port"
}

ds_list="$data/kamailio/dispatcher.list.new"
mkdir -p "$data/kamailio" "$data/nginx/tmp"
: >"$ds_list"
: >"$data/nginx/upstream.conf.new"
for ((k = 1; k <= nodes; k++)); do
  dir="$data/node-$k"
  read -r sip_port http_port <"$dir/ports"
  pid="$(cat "$dir/node.pid")"
  if ! node "$tool" http-ready "$(http_base "$http_port")/api/status" "$token" "$ready_ms" "$pid"; then
    tail -n 20 "$dir/node.log" >&2 || true
    die "node $k (pid $pid) is not ready; above: the last lines of $dir/node.log"
  fi
  alive "$pid" "--data $dir " || die "node $k (pid $pid) exited; see $dir/node.log"
  hp="$node_host:$sip_port"
  [[ "$node_host" == *:* ]] && hp="[$node_host]:$sip_port"
  echo "1 sip:$hp 0 0 node-$k" >>"$ds_list"
  hh="${hp%:*}:$http_port"
  echo "server $hh max_fails=1 fail_timeout=5s;" >>"$data/nginx/upstream.conf.new"
done

# Kamailio: started when it is not running (or runs with the other node-list mode); in list mode,
# told to reload the file when it changed (restarted when the reload fails). In store mode it
# reloads the table by itself.
kdir="$data/kamailio"
kctl="unix:$kdir/kamailio.ctl"
kpid="$(pid_of "$kdir/kamailio.pid")"
kmode=list
[[ -z "$store" ]] || kmode="store $store"
stop_kamailio() {
  kill "$kpid"
  for _ in $(seq 50); do
    alive "$kpid" "$kdir/" || break
    sleep 0.1
  done
}
if alive "$kpid" "$kdir/" && [[ "$(cat "$kdir/mode" 2>/dev/null || echo list)" != "$kmode" ]]; then
  echo "cluster-up: Kamailio runs with another node list: restarting it" >&2
  stop_kamailio
fi
if [[ "$kmode" != list ]]; then
  rm -f "$ds_list" "$kdir/dispatcher.list"
elif alive "$kpid" "$kdir/" && ! cmp -s "$ds_list" "$kdir/dispatcher.list"; then
  cp "$ds_list" "$kdir/dispatcher.list"
  if kamcmd -s "$kctl" dispatcher.reload >/dev/null; then
    rm -f "$ds_list"
  else
    echo "cluster-up: Kamailio did not reload $kdir/dispatcher.list: restarting it" >&2
    stop_kamailio
  fi
fi
if ! alive "$kpid" "$kdir/"; then
  rm -f "$kdir/kamailio.pid"
  kargs=()
  for hp in "${sip_hostports[@]}"; do kargs+=(-l "udp:$hp" -l "tcp:$hp"); done
  if [[ "$kmode" == list ]]; then
    mv "$ds_list" "$kdir/dispatcher.list"
    kargs+=(-A "DS_LIST=\"$kdir/dispatcher.list\"")
  else
    [[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/db_postgres.so ]] ||
      die "Kamailio's db_postgres module is missing: install kamailio-postgres-modules (scripts/install-system-deps.sh)"
    # The URL reaches the configuration as a substitution: delimited by a character it does not hold.
    delim=""
    for c in '!' '#' '%' '|' '~' '^'; do
      [[ "$store" == *"$c"* ]] || { delim="$c"; break; }
    done
    [[ -n "$delim" ]] || die "--store URL holds every delimiter Kamailio's --substdef could use (! # % | ~ ^)"
    kargs+=(--substdef "${delim}DS_DB_URL${delim}${store}${delim}")
  fi
  echo "$kmode" >"$kdir/mode"
  setsid kamailio -DD -E -f "$root/deploy/kamailio/kamailio.cfg" -P "$kdir/kamailio.pid" -Y "$kdir/" \
    -m 256 -M 8 "${kargs[@]}" \
    -A "DS_PING_FROM=\"sip:cluster@${sip_hostports[0]}\"" -A "CTL_SOCKET=\"$kctl\"" </dev/null >>"$kdir/kamailio.log" 2>&1 &
  kpid=$!
  # Kamailio writes its PID file itself (-P) once it has bound its sockets
else
  rm -f "$ds_list"
fi
[[ -n "$kpid" ]] || kpid="$(pid_of "$kdir/kamailio.pid")"

# nginx: started, or reloaded when the node list changed.
ndir="$data/nginx"
cp "$root/deploy/nginx/nginx.conf" "$ndir/nginx.conf"
if [[ $(id -u) -eq 0 ]]; then
  echo "user nobody $(id -gn nobody);" >"$ndir/main.conf"
else
  : >"$ndir/main.conf"
fi
echo "listen $http_listen;" >"$ndir/listen.conf"
npid="$(pid_of "$ndir/nginx.pid")"
if alive "$npid" "$ndir/"; then
  if ! cmp -s "$ndir/upstream.conf.new" "$ndir/upstream.conf"; then
    mv "$ndir/upstream.conf.new" "$ndir/upstream.conf"
    nginx -p "$ndir/" -c "$ndir/nginx.conf" -e "$ndir/error.log" -s reload
  else
    rm -f "$ndir/upstream.conf.new"
  fi
else
  mv "$ndir/upstream.conf.new" "$ndir/upstream.conf"
  nginx -p "$ndir/" -c "$ndir/nginx.conf" -e "$ndir/error.log" -t -q || die "nginx refused $ndir/nginx.conf"
  setsid nginx -p "$ndir/" -c "$ndir/nginx.conf" -e "$ndir/error.log" -g 'daemon off;' \
    </dev/null >>"$ndir/nginx.out" 2>&1 &
  echo $! >"$ndir/nginx.pid"
fi

# Ready: Kamailio answers OPTIONS on each SIP address, nginx serves /api/status.
for hp in "${sip_hostports[@]}"; do
  node "$tool" sip-ready "${hp%:*}" "${hp##*:}" "$ready_ms" "$kpid" || {
    tail -n 20 "$kdir/kamailio.log" >&2 || true
    die "Kamailio does not answer on $hp; above: the last lines of $kdir/kamailio.log"
  }
done
# Store mode: every node started here is in Kamailio's list (its row loaded), so that the first
# request through Kamailio may go to any of them.
if [[ "$kmode" != list ]]; then
  deadline=$(($(date +%s%N) / 1000000 + ready_ms))
  for ((k = 1; k <= nodes; k++)); do
    read -r sip_port http_port <"$data/node-$k/ports"
    hp="$node_host:$sip_port"
    [[ "$node_host" == *:* ]] && hp="[$node_host]:$sip_port"
    until kamcmd -s "$kctl" dispatcher.list 2>/dev/null | grep -qF "URI: sip:$hp"; do
      if (($(date +%s%N) / 1000000 > deadline)); then
        tail -n 20 "$kdir/kamailio.log" >&2 || true
        die "Kamailio does not list node $k (sip:$hp) from the store; above: the last lines of $kdir/kamailio.log"
      fi
      sleep 0.1
    done
  done
fi
nginx_host="${http_listen%:*}"
[[ "$nginx_host" == 0.0.0.0 ]] && nginx_host=127.0.0.1
[[ "$nginx_host" == "[::]" ]] && nginx_host="[::1]"
node "$tool" http-ready "http://$nginx_host:${http_listen##*:}/api/status" "$token" "$ready_ms" "$(pid_of "$ndir/nginx.pid")" || {
  tail -n 20 "$ndir/error.log" >&2 || true
  die "nginx does not serve $http_listen; above: the last lines of $ndir/error.log"
}

for ((k = 1; k <= nodes; k++)); do
  dir="$data/node-$k"
  read -r sip_port http_port <"$dir/ports"
  hp="$node_host:$sip_port"
  [[ "$node_host" == *:* ]] && hp="[$node_host]:$sip_port"
  echo "node $k sip udp:$hp http $(http_base "$http_port") pid $(cat "$dir/node.pid")"
done
