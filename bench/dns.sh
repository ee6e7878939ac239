#!/bin/bash
# bench/dns.sh — serve one synthetic ENUM zone with enumd, NSD and Knot in turn and
# compare them with dnsperf on this machine (127.0.0.1 only).
#
# Usage: bench/dns.sh [-n N] [-l SECONDS] [-r RUNS] [-s LIST] [-m udp|tcp] [-h]
#   -n N        numbers (owner names) in the zone (default 100000)
#   -l SECONDS  length of each measured dnsperf run (default 10)
#   -r RUNS     measured runs per server; the median qps is reported (default 3)
#   -s LIST     servers to run, comma-separated, from enumd,nsd,knot (default all three)
#   -m MODE     udp (default) or tcp; tcp runs dnsperf with 16 clients (-m tcp -c 16)
#   -h          this help
# Environment:
#   ENUMD_BIN=/path   use this enumd binary instead of building one
#   PORT_BASE=P       first port used (default 15353: enumd P, NSD P+1, Knot P+2)
#
# What it does:
#   1. builds enumd in release mode (swift build -c release --scratch-path .build-release
#      --product enumd, from the repo root) unless ENUMD_BIN is set;
#   2. generates bench/out/e164-N.zone, a 500,000-line dnsperf query file and the expected
#      answers with bench/gen_enum_zone.py (seed 1; kept and reused while still up to date);
#   3. for each server: starts it pinned to CPU 0, waits (120 s at most) for the first SOA
#      answer, checks 200 sampled queries against the expected rcode and answer count
#      (any mismatch marks the result INVALID), runs bench/dnsbench.sh (dnsperf pinned to
#      CPU 1), reads the server's memory after the load, and stops it;
#   4. prints one table, then enumd's qps ratio to the best of NSD and Knot and its RSS
#      ratio to Knot.
# Progress goes to stderr, the table to stdout. Every wait is bounded and every process
# the script starts is stopped on exit. With the defaults (and enumd already built) a run
# takes about 3 minutes. The machine has 2 cores: figures are noisy if anything else runs,
# so compare servers within one run, as ratios.
# RSS MB is VmRSS from /proc/PID/status, summed over the server's processes (NSD runs three:
# xfrd, main and one server child, which share the zone copy-on-write or in shared memory);
# PSS MB is the proportional set size summed over those processes (shared pages counted once).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$here/out

n=100000 len=10 runs=3 servers="enumd,nsd,knot" mode=udp
port_base=${PORT_BASE:-15353}
usage() { sed -n '2,13p' "$0"; }
while getopts "n:l:r:s:m:h" o; do
  case $o in
    n) n=$OPTARG;; l) len=$OPTARG;; r) runs=$OPTARG;; s) servers=$OPTARG;; m) mode=$OPTARG;;
    h) usage; exit 0;;
    *) usage; exit 1;;
  esac
done
shift $((OPTIND-1))
[ $# -eq 0 ] || { usage; exit 1; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
is_uint "$n" && is_uint "$len" && is_uint "$runs" || { echo "-n, -l and -r take positive integers" >&2; exit 1; }
case $mode in udp|tcp) ;; *) echo "-m takes udp or tcp" >&2; exit 1;; esac
IFS=, read -r -a server_list <<<"$servers"
[ ${#server_list[@]} -gt 0 ] || { echo "-s takes a list such as enumd,nsd" >&2; exit 1; }
for s in "${server_list[@]}"; do
  case $s in enumd|nsd|knot) ;; *) echo "unknown server '$s' (enumd, nsd, knot)" >&2; exit 1;; esac
done
want() { [[ ",$servers," == *",$1,"* ]]; }

log() { echo "== $*" >&2; }
now_ns() { date +%s%N; }

# ---------------------------------------------------------------- prerequisites
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 ($2)"); }
need python3 python3; need dnsperf dnsperf; need dig dnsutils; need taskset util-linux; need timeout coreutils
want nsd && need nsd nsd
want knot && need knotd knot
if want enumd && [ -z "${ENUMD_BIN:-}" ]; then need swift "the Swift toolchain"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}" >&2
  echo "install with: apt-get install -y nsd knot dnsperf dnsutils" >&2
  exit 1
fi
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs; server and dnsperf will share CPU 0"

mkdir -p "$out"

# ---------------------------------------------------------------- cleanup
started=()   # pids of servers this script started
bench_pid="" # pid of the dnsbench.sh running, if any
tree_pids() {  # $1 = pid; prints it and all its descendants
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}
stop_server() {  # $1 = pid: TERM the process tree, wait up to 10 s, then KILL what is left
  local pid=$1 pids i
  pids=$(tree_pids "$pid")
  kill -TERM $pids 2>/dev/null
  for i in $(seq 1 100); do
    kill -0 $pids 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL $pids 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}
cleanup() {
  local p
  [ -n "$bench_pid" ] && stop_server "$bench_pid"
  for p in "${started[@]}"; do kill -0 "$p" 2>/dev/null && stop_server "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- 1. build enumd
if want enumd; then
  if [ -n "${ENUMD_BIN:-}" ]; then
    [ -x "$ENUMD_BIN" ] || { echo "ENUMD_BIN=$ENUMD_BIN is not an executable" >&2; exit 1; }
    enumd_bin=$ENUMD_BIN
  else
    log "building enumd (release, .build-release)"
    (cd "$root" && swift build -c release --scratch-path .build-release --product enumd) >"$out/build.log" 2>&1 || {
      tail -30 "$out/build.log" >&2
      echo "release build failed; full log in $out/build.log" >&2
      exit 1
    }
    enumd_bin=$(cd "$root" && swift build -c release --scratch-path .build-release --show-bin-path)/enumd
  fi
fi

# ---------------------------------------------------------------- 2. zone and queries
zone=$out/e164-$n.zone queries=$out/queries-$n.txt answers=$out/answers-$n.txt
if [ "$zone" -nt "$here/gen_enum_zone.py" ] && [ -s "$queries" ] && [ -s "$answers" ]; then
  log "reusing $zone and its query file"
else
  log "generating a zone of $n numbers and 500000 queries"
  python3 "$here/gen_enum_zone.py" --count "$n" --seed 1 --zone "$zone.tmp" \
      --queries "$queries" --nqueries 500000 --answers "$answers" || exit 1
  mv "$zone.tmp" "$zone"   # last, so a half-written set is never reused
fi

# ---------------------------------------------------------------- server configs
write_nsd_conf() {  # $1 = port
  cat >"$out/nsd.conf" <<EOF
server:
    server-count: 1
    ip-address: 127.0.0.1@$1
    username: ""
    chroot: ""
    database: ""
    zonelistfile: "$out/nsd.zonelist"
    xfrdfile: "$out/nsd.xfrd.state"
    pidfile: "$out/nsd.pid"
    logfile: "$out/nsd.log"
    verbosity: 0
    # NSD rate-limits each source by default (200 qps): off, or it measures RRL, not serving.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "e164.arpa."
    zonefile: "$zone"
EOF
}
write_knot_conf() {  # $1 = port
  rm -rf "$out/knotdb"; mkdir -p "$out/knotdb" "$out/knotrun"
  cat >"$out/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$1
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: "$out/knotrun"
    user: root:root
log:
  - target: "$out/knot.log"
    any: info
database:
    storage: "$out/knotdb"
template:
  - id: default
    storage: "$out"
    semantic-checks: off
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: e164.arpa.
    file: "$zone"
EOF
}

# ---------------------------------------------------------------- helpers
port_busy() { ss -Hlnu "sport = :$1" 2>/dev/null | grep -q . || ss -Hlnt "sport = :$1" 2>/dev/null | grep -q .; }

dig_opts=(+norec +time=2 +tries=1)
[ "$mode" = tcp ] && dig_opts+=(+tcp)

wait_ready() {  # $1 = pid, $2 = port; waits up to 120 s for an SOA answer
  local deadline=$(( $(date +%s) + 120 )) i
  for i in $(seq 1 2400); do
    kill -0 "$1" 2>/dev/null || return 2
    # dig +short prints errors (";; communications error ...") on stdout too: want the SOA's 7 fields
    dig @127.0.0.1 -p "$2" e164.arpa SOA +short +time=1 +tries=1 2>/dev/null |
      awk '!/^;/ && NF == 7 { ok = 1 } END { exit !ok }' && return 0
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.05
  done
  return 1
}

check_answers() {  # $1 = port; prints mismatches on stderr, the mismatch count on stdout
  local total step bad=0 name type rc cnt got got_rc got_n
  total=$(wc -l <"$answers")
  step=$(( total / 200 )); [ "$step" -ge 1 ] || step=1
  while read -r name type rc cnt; do
    got=$(dig @127.0.0.1 -p "$1" "${dig_opts[@]}" "$name" "$type" 2>&1)
    got_rc=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$got" | head -1)
    got_n=$(sed -n 's/.* ANSWER: \([0-9]*\),.*/\1/p' <<<"$got" | head -1)
    if [ "$got_rc" != "$rc" ] || [ "$got_n" != "$cnt" ]; then
      bad=$((bad + 1))
      echo "   mismatch: $name $type: expected $rc/$cnt, got ${got_rc:-no answer}/${got_n:--}" >&2
    fi
  done < <(awk -v s="$step" '(NR - 1) % s == 0 && n < 200 { print; n++ }' "$answers")
  echo "$bad"
}

mem_mb() {  # $1 = pid; prints "RSS_MB PSS_MB" summed over the process tree
  local p rss=0 pss=0 v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null); rss=$((rss + ${v:-0}))
    v=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null); pss=$((pss + ${v:-0}))
  done
  awk -v r="$rss" -v p="$pss" 'BEGIN{ printf "%.1f %.1f\n", r/1024, p/1024 }'
}

bench_args=(-C 1 -r "$runs" -l "$len")
[ "$mode" = tcp ] && bench_args+=(-m tcp -c 16)

declare -A R_QPS R_LAT R_LOST R_RSS R_PSS R_START R_CHECK

# ---------------------------------------------------------------- 3-4. run each server
run_server() {  # $1 = name, $2 = port
  local name=$1 port=$2 pid t0 t1 rc bad res mem
  R_QPS[$name]=- R_LAT[$name]=- R_LOST[$name]=- R_RSS[$name]=- R_PSS[$name]=- R_START[$name]=- R_CHECK[$name]=FAILED
  if port_busy "$port"; then log "$name: port $port is already in use; skipped"; return; fi
  log "$name: starting on 127.0.0.1:$port (CPU 0)"
  t0=$(now_ns)
  case $name in
    enumd)
      taskset -c 0 "$enumd_bin" serve --no-chain --http off --zone "$zone" --dns "127.0.0.1:$port" \
          --udp-threads 1 --rrl-rate 0 >"$out/enumd.log" 2>&1 &;;  # RRL off, as for NSD and Knot below
    nsd)
      write_nsd_conf "$port"; rm -f "$out/nsd.pid" "$out/nsd.zonelist" "$out/nsd.xfrd.state"
      taskset -c 0 nsd -c "$out/nsd.conf" -d >"$out/nsd.out" 2>&1 &;;
    knot)
      write_knot_conf "$port"
      taskset -c 0 knotd -c "$out/knot.conf" >"$out/knot.out" 2>&1 &;;
  esac
  pid=$!
  started+=("$pid")
  wait_ready "$pid" "$port"; rc=$?
  t1=$(now_ns)
  if [ $rc -ne 0 ]; then
    [ $rc -eq 2 ] && log "$name: exited before answering (see $out/$name.*)" || log "$name: no answer within 120 s"
    stop_server "$pid"; return
  fi
  R_START[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{ printf "%.2f", (b - a) / 1e9 }')
  log "$name: first answer after ${R_START[$name]} s; checking 200 sampled answers"
  bad=$(check_answers "$port")
  if [ "$bad" -eq 0 ]; then R_CHECK[$name]=ok; else R_CHECK[$name]="INVALID($bad/200)"; fi
  log "$name: $bad mismatches; dnsperf ($mode, $runs x $len s, CPU 1)"
  # In the background and waited for, so that a signal to this script stops the load at once.
  "$here/dnsbench.sh" "${bench_args[@]}" 127.0.0.1 "$port" "$queries" >"$out/$name.bench" &
  bench_pid=$!
  wait "$bench_pid"
  bench_pid=""
  res=$(grep '^qps=' "$out/$name.bench")
  if [ -n "$res" ]; then
    R_QPS[$name]=$(sed -n 's/.*qps=\([0-9.]*\).*/\1/p' <<<"$res")
    R_LAT[$name]=$(sed -n 's/.*lat_ms=\([0-9.]*\).*/\1/p' <<<"$res")
    R_LOST[$name]=$(sed -n 's/.*lost=\([0-9]*\).*/\1/p' <<<"$res")
  else
    log "$name: dnsbench produced no figures"; R_CHECK[$name]="${R_CHECK[$name]},NO-FIGURES"
  fi
  if kill -0 "$pid" 2>/dev/null; then
    read -r R_RSS[$name] R_PSS[$name] < <(mem_mb "$pid")
  else
    log "$name: died during the load"; R_CHECK[$name]="${R_CHECK[$name]},DIED"
  fi
  log "$name: $res rss_mb=${R_RSS[$name]}; stopping"
  stop_server "$pid"
}

offset=0
for s in enumd nsd knot; do
  want "$s" && run_server "$s" $((port_base + offset))
  offset=$((offset + 1))
done

# ---------------------------------------------------------------- 5. report
echo
echo "zone: $n numbers, $mode, dnsperf $( [ "$mode" = tcp ] && echo "-c 16" || echo "-c 4" ), $runs x $len s (median qps), server on CPU 0, dnsperf on CPU 1"
printf '%-6s %10s %8s %8s %8s %8s %9s  %s\n' server qps lat_ms lost rss_MB pss_MB start_s check
for s in enumd nsd knot; do
  want "$s" || continue
  printf '%-6s %10s %8s %8s %8s %8s %9s  %s\n' "$s" "${R_QPS[$s]}" "${R_LAT[$s]}" "${R_LOST[$s]}" \
      "${R_RSS[$s]}" "${R_PSS[$s]}" "${R_START[$s]}" "${R_CHECK[$s]}"
done

num() { [[ ${1:-} =~ ^[0-9.]+$ ]] && awk -v x="$1" 'BEGIN{ exit !(x > 0) }'; }
if want enumd; then
  best=0 best_name=""
  for s in nsd knot; do
    want "$s" && num "${R_QPS[$s]}" && awk -v a="${R_QPS[$s]}" -v b="$best" 'BEGIN{ exit !(a > b) }' &&
      { best=${R_QPS[$s]}; best_name=$s; }
  done
  line="enumd:"
  if num "${R_QPS[enumd]}" && [ -n "$best_name" ]; then
    line+=$(awk -v a="${R_QPS[enumd]}" -v b="$best" -v n="$best_name" 'BEGIN{ printf " qps %.2fx the best of NSD/Knot (%s)", a/b, n }')
  else
    line+=" qps ratio n/a"
  fi
  if want knot && num "${R_RSS[enumd]}" && num "${R_RSS[knot]}"; then
    line+=$(awk -v a="${R_RSS[enumd]}" -v b="${R_RSS[knot]}" 'BEGIN{ printf ", RSS %.2fx Knot'"'"'s", a/b }')
  else
    line+=", RSS ratio n/a"
  fi
  for s in enumd nsd knot; do
    want "$s" && [ "${R_CHECK[$s]}" != ok ] && line+=" (note: $s ${R_CHECK[$s]})"
  done
  echo "$line"
fi
