#!/bin/bash
# bench/compare.sh — enumd beside NSD and Knot on the same ENUM data, every figure in one run.
#
# Usage: bench/compare.sh [-n N] [-N BIG] [-l SECONDS] [-Q RATE] [-h]
#   -n N        numbers for the speed runs, HTTP and the first memory/start/sync column (default 100000)
#   -N BIG      the large size for memory, start and sync (default 1000000; 0 skips it)
#   -l SECONDS  length of each measured dnsperf run (default 10)
#   -Q RATE     offered rate for the CPU-per-query run (default 50000 queries/s)
# Environment: ENUMD_BIN=/path skips the release build; PORT_BASE=P (default 15353) is the first
# of the loopback ports used (enumd P, NSD P+1, Knot P+2, enumd HTTP P+3).
#
# For each size it generates, from one seed (bench/gen_enum_zone.py, cached in bench/out):
# a zone file for NSD and Knot, the same numbers as Emercoin names for the fake node
# (Tests/Fakes/fake_emercoind.py, half in each chain convention), a dnsperf query file (80%
# existing numbers, 15% absent ones, 5% other types at existing names) and the expected answers.
# Then:
#   1. enumd syncs the names from the fake node into a fresh state directory (full-sync time, as
#      enumd logs it); the node is then stopped, so enumd next starts from its snapshot alone.
#   2. Each server in turn, alone, on 127.0.0.1: started pinned to CPU 0 and timed to its first
#      answer for a sampled number; 200 sampled queries checked against the expected rcode and
#      answer count, and the answer sections (dig, TTL included) compared between the servers;
#      at size N only: dnsperf pinned to CPU 1 at full speed (UDP, pinned), then at a fixed rate
#      -Q with the server's CPU time read from /proc/PID/stat (CPU per query), then the server
#      unpinned and dnsperf unpinned (UDP, unpinned) and TCP (16 connections, unpinned);
#      resident memory (RSS and PSS over the server's processes) after the load.
#   3. HTTP: enumd from the size-N snapshot with wrk on /enum/lookup over 1,000 numbers, with
#      1 thread and 16 connections, then 2 threads and 32 connections.
# It prints one table, each figure for each server and enumd's ratio to the better of NSD and
# Knot. "gen%" is dnsperf's CPU use during a full-speed run: at 90% or more the figure is bound by
# the load generator, not the server. Every wait is bounded; every process it starts is stopped;
# with the defaults it takes about 8 minutes (the first run also generates the data, ~1 minute).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$here/out
n=100000 big=1000000 len=10 rate=50000
port_base=${PORT_BASE:-15353}
while getopts "n:N:l:Q:h" o; do
  case $o in
    n) n=$OPTARG;; N) big=$OPTARG;; l) len=$OPTARG;; Q) rate=$OPTARG;;
    h) sed -n '2,33p' "$0"; exit 0;;
    *) sed -n '2,33p' "$0"; exit 1;;
  esac
done
[[ $n =~ ^[0-9]+$ && $n -gt 0 && $big =~ ^[0-9]+$ && $len =~ ^[0-9]+$ && $len -gt 0 && $rate =~ ^[0-9]+$ && $rate -gt 0 ]] ||
  { echo "-n, -l and -Q take positive integers, -N a whole number" >&2; exit 1; }
sizes=("$n"); [ "$big" -gt 0 ] && [ "$big" != "$n" ] && sizes+=("$big")
servers=(enumd nsd knot)
log() { echo "== $(date +%H:%M:%S) $*" >&2; }
t_start=$(date +%s)

missing=()
for c in python3:python3 dnsperf:dnsperf dig:dnsutils taskset:util-linux nsd:nsd knotd:knot wrk:wrk curl:curl; do
  command -v "${c%%:*}" >/dev/null 2>&1 || missing+=("${c#*:}")
done
[ -n "${ENUMD_BIN:-}" ] || command -v swift >/dev/null || missing+=("the Swift toolchain")
[ ${#missing[@]} -eq 0 ] || { echo "missing: ${missing[*]} (apt-get install -y ${missing[*]})" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs: pinned runs share CPU 0"
mkdir -p "$out"
printf 'rrl-rate = 0\nhttp-rate = 0\nhttp-list-rate = 0\n' >"$out/cmp-enumd.conf"
clk=$(getconf CLK_TCK)

# ---------------------------------------------------------------- processes and cleanup
started=()
tree_pids() { local c; echo "$1"; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$c"; done; }
stop_tree() {  # TERM the tree, up to 10 s, then KILL
  local pids i; pids=$(tree_pids "$1")
  kill -TERM $pids 2>/dev/null
  for i in $(seq 100); do kill -0 $pids 2>/dev/null || break; sleep 0.1; done
  kill -KILL $pids 2>/dev/null; wait "$1" 2>/dev/null; return 0
}
cleanup() { local p; for p in "${started[@]}"; do kill -0 "$p" 2>/dev/null && stop_tree "$p"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
if [ -n "${ENUMD_BIN:-}" ]; then
  enumd_bin=$ENUMD_BIN
else
  # The Swift runtime linked in, as deploy/install.sh installs it: ~5 MB less resident memory
  # than loading the toolchain's shared libraries (the first build takes several minutes).
  log "building enumd (release, --static-swift-stdlib, .build-static)"
  (cd "$root" && swift build -c release --static-swift-stdlib --scratch-path .build-static --product enumd) >"$out/build.log" 2>&1 ||
    { tail -30 "$out/build.log" >&2; exit 1; }
  enumd_bin=$root/.build-static/release/enumd
fi
[ -x "$enumd_bin" ] || { echo "no enumd binary at $enumd_bin" >&2; exit 1; }

# ---------------------------------------------------------------- data
data() {  # $1 = size: zone, fixture, queries, answers and an apex-only zone for enumd
  local s=$1 b=$out/cmp-$1
  if [ -s "$b.answers" ] && [ "$b.answers" -nt "$here/gen_enum_zone.py" ]; then return; fi
  log "generating $s numbers (zone, fixture, queries, answers)"
  python3 "$here/gen_enum_zone.py" --count "$s" --seed 1 --zone "$b.zone" --fixture "$b.fixture" \
    --queries "$b.queries" --nqueries 500000 --answers "$b.answers.tmp" || exit 1
  mv "$b.answers.tmp" "$b.answers"
}
apex_zone() { awk '/NAPTR/ { exit } { print }' "$1" >"$2"; }
# One client drives each server, so the per-client limits are off for enumd as NSD's RRL is for
# NSD (Knot has none by default): rate limiting is bench/rrl.sh's subject, not this one's.
enumd_conf=$out/cmp-enumd.conf

# ---------------------------------------------------------------- measuring helpers
port_of() { case $1 in enumd) echo "$port_base";; nsd) echo $((port_base + 1));; knot) echo $((port_base + 2));; esac; }
sample_name() { awk '$3 == "NOERROR" && $4 > 0 { print $1; exit }' "$1"; }
wait_answer() {  # $1 pid, $2 port, $3 name, $4 seconds: 0 when a NAPTR answer came
  local deadline=$(( $(date +%s) + $4 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    kill -0 "$1" 2>/dev/null || return 2
    dig @127.0.0.1 -p "$2" +norec +time=1 +tries=1 +short "$3" NAPTR 2>/dev/null | grep -q E2U && return 0
    sleep 0.02
  done
  return 1
}
cpu_ticks() {  # utime+stime of a process tree, in clock ticks
  local p t=0 v
  for p in $(tree_pids "$1"); do
    v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null); t=$((t + ${v:-0}))
  done
  echo "$t"
}
mem_mb() {  # RSS and PSS (MB) summed over the tree
  local p rss=0 pss=0 v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null); rss=$((rss + ${v:-0}))
    v=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null); pss=$((pss + ${v:-0}))
  done
  awk -v r="$rss" -v p="$pss" 'BEGIN { printf "%.0f %.0f\n", r / 1024, p / 1024 }'
}
perf_run() {  # $1 port, $2 queries, $3 seconds, then dnsperf options
  # prints "qps completed lost gen%": gen% is dnsperf's own CPU time (bash's `times` for the
  # children it waited for) over the run's length, so other work on the machine does not count.
  local port=$1 q=$2 s=$3 res cpu; shift 3
  res=$(timeout -k 2 $((s + 15)) dnsperf -s 127.0.0.1 -p "$port" -d "$q" -l "$s" -t 2 "$@" 2>&1 |
    awk '/Queries per second:/{q=$4} /Queries completed:/{c=$3} /Queries lost:/{l=$3} /Run time \(s\):/{t=$4}
         END { if (q == "") exit 1; printf "%.0f %d %d %s\n", q, c, l, t }') || return 1
  echo "$res"
  times   # in this shell, not a pipeline's subshell: its second line is the waited children's CPU
}
perf_parse() {  # the output of perf_run -> "qps completed lost gen%"
  awk 'NR == 1 { split($0, f, " ") }
       NR == 3 { u = $1; s = $2; sub(/m/, " ", u); sub(/s/, "", u); sub(/m/, " ", s); sub(/s/, "", s)
                 split(u, a, " "); split(s, b, " "); c = a[1] * 60 + a[2] + b[1] * 60 + b[2] }
       END { if (f[1] == "") exit 1; printf "%s %s %s %.0f\n", f[1], f[2], f[3], 100 * c / f[4] }'
}
check_sample() {  # $1 server, $2 port, $3 answers file: mismatches vs the expected file; answer dump kept
  local name type rc cnt got got_rc got_n bad=0 dump=$out/cmp-sample-$1.txt
  : >"$dump"
  while read -r name type rc cnt; do
    got=$(dig @127.0.0.1 -p "$2" +norec +time=2 +tries=2 "$name" "$type" 2>&1)
    got_rc=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$got" | head -1)
    got_n=$(sed -n 's/.* ANSWER: \([0-9]*\),.*/\1/p' <<<"$got" | head -1)
    [ "$got_rc" = "$rc" ] && [ "$got_n" = "$cnt" ] || { bad=$((bad + 1)); log "  $1: $name $type: expected $rc/$cnt, got ${got_rc:-nothing}/${got_n:--}"; }
    dig @127.0.0.1 -p "$2" +norec +time=2 +tries=2 +noall +answer "$name" "$type" 2>&1 | sort >>"$dump"
  done < <(awk -v s="$(( $(wc -l <"$3") / 200 + 1 ))" '(NR - 1) % s == 0' "$3" | head -200)
  echo "$bad"
}

declare -A R   # R[figure,server] = value

start_server() {  # $1 server, $2 size: starts it pinned to CPU 0, prints its pid
  local s=$1 size=$2 port; port=$(port_of "$1")
  local b=$out/cmp-$size
  case $s in
    enumd)
      taskset -c 0 "$enumd_bin" serve --config "$enumd_conf" --zone "$b.apex.zone" --dns "127.0.0.1:$port" --http off --udp-threads 1 \
        --state-dir "$out/cmp-state-$size" --rpc-url "http://127.0.0.1:9/" --rpc-user bench --rpc-password bench \
        >"$out/cmp-enumd.log" 2>&1 &;;
    nsd)
      mkdir -p "$out/nsd"; rm -f "$out/nsd/"*
      cat >"$out/nsd/nsd.conf" <<EOF
server:
    server-count: 1
    ip-address: 127.0.0.1@$port
    username: ""
    chroot: ""
    database: ""
    zonelistfile: "$out/nsd/zonelist"
    xfrdfile: "$out/nsd/xfrd.state"
    pidfile: "$out/nsd/nsd.pid"
    logfile: "$out/nsd/nsd.log"
    verbosity: 0
    # NSD limits each source to 200 qps by default: off, or it measures RRL, not serving.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "e164.arpa."
    zonefile: "$b.zone"
EOF
      taskset -c 0 nsd -d -c "$out/nsd/nsd.conf" >"$out/cmp-nsd.log" 2>&1 &;;
    knot)
      rm -rf "$out/knot"; mkdir -p "$out/knot/db" "$out/knot/run"
      cat >"$out/knot/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: "$out/knot/run"
    user: root:root
log:
  - target: "$out/knot/knot.log"
    any: info
database:
    storage: "$out/knot/db"
template:
  - id: default
    storage: "$out/knot"
    semantic-checks: off
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: e164.arpa.
    file: "$b.zone"
EOF
      taskset -c 0 knotd -c "$out/knot/knot.conf" >"$out/cmp-knot.log" 2>&1 &;;
  esac
  echo $!
}

run_servers() {  # $1 size, $2 "speed" to run the dnsperf setups
  local size=$1 speed=$2 s pid port t0 t1 rc bad r ticks0 ticks1 b0 b1 a0 a1 sample
  local b=$out/cmp-$size
  sample=$(sample_name "$b.answers")
  for s in "${servers[@]}"; do
    port=$(port_of "$s")
    if ss -Hlnu "sport = :$port" | grep -q .; then log "$s: port $port busy; skipped"; continue; fi
    log "$s ($size numbers): starting on 127.0.0.1:$port, CPU 0"
    t0=$(date +%s%N)
    pid=$(start_server "$s" "$size"); started+=("$pid")
    wait_answer "$pid" "$port" "$sample" 180; rc=$?
    t1=$(date +%s%N)
    if [ $rc -ne 0 ]; then log "$s: no answer (rc $rc); see $out/cmp-$s.log"; stop_tree "$pid"; continue; fi
    R[start_$size,$s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    log "$s: first answer after ${R[start_$size,$s]} s; checking 200 sampled answers"
    bad=$(check_sample "$s" "$port" "$b.answers")
    R[check_$size,$s]=$([ "$bad" = 0 ] && echo ok || echo "BAD:$bad")
    if [ "$speed" = speed ]; then
      perf_run "$port" "$b.queries" 2 -c 4 -q 200 >/dev/null   # warm-up
      r=$(taskset -c 1 bash -c "$(declare -f perf_run); perf_run $port $b.queries $len -c 4 -q 200" | perf_parse) || r="- - - -"
      R[udp_pin,$s]=${r%% *}; R[gen_pin,$s]=${r##* }
      log "$s: UDP pinned ${R[udp_pin,$s]} qps (dnsperf CPU ${R[gen_pin,$s]}%)"
      ticks0=$(cpu_ticks "$pid")
      r=$(taskset -c 1 bash -c "$(declare -f perf_run); perf_run $port $b.queries $len -c 4 -q 500 -Q $rate" | perf_parse) || r="- - - -"
      ticks1=$(cpu_ticks "$pid")
      read -r _ done_q _ <<<"$r"
      R[cpu_us,$s]=$(awk -v t=$((ticks1 - ticks0)) -v k="$clk" -v q="${done_q:-0}" 'BEGIN { if (q > 0) printf "%.2f", t / k / q * 1e6; else print "-" }')
      R[cpu_qps,$s]=${r%% *}
      log "$s: at -Q $rate: ${R[cpu_qps,$s]} qps answered, ${R[cpu_us,$s]} µs of server CPU per query"
      taskset -a -cp 0-1 "$pid" >/dev/null 2>&1
      for c in $(ps -o pid= --ppid "$pid"); do taskset -a -cp 0-1 "$c" >/dev/null 2>&1; done
      r=$(perf_run "$port" "$b.queries" "$len" -c 4 -q 200 | perf_parse) || r="- - - -"
      R[udp_free,$s]=${r%% *}; R[gen_free,$s]=${r##* }
      log "$s: UDP unpinned ${R[udp_free,$s]} qps (dnsperf CPU ${R[gen_free,$s]}%)"
      r=$(perf_run "$port" "$b.queries" "$len" -m tcp -c 16 -q 200 | perf_parse) || r="- - - -"
      R[tcp,$s]=${r%% *}
      log "$s: TCP ${R[tcp,$s]} qps"
    else
      perf_run "$port" "$b.queries" 5 -c 4 -q 200 >/dev/null   # load, so that memory is touched
    fi
    if kill -0 "$pid" 2>/dev/null; then
      read -r R[rss_$size,$s] R[pss_$size,$s] < <(mem_mb "$pid")
      log "$s: RSS ${R[rss_$size,$s]} MB, PSS ${R[pss_$size,$s]} MB"
    else
      R[check_$size,$s]="DIED"
    fi
    stop_tree "$pid"
  done
  # The answer sections must agree between the servers, not only the counts.
  for s in nsd knot; do
    [ -s "$out/cmp-sample-$s.txt" ] && [ -s "$out/cmp-sample-enumd.txt" ] || continue
    cmp -s "$out/cmp-sample-enumd.txt" "$out/cmp-sample-$s.txt" ||
      { R[check_$size,enumd]="DIFFERS-from-$s"; log "enumd's answers differ from $s's: diff $out/cmp-sample-enumd.txt $out/cmp-sample-$s.txt"; }
  done
}

sync_enumd() {  # $1 size: full sync from the fake node into a fresh state dir
  local size=$1 b=$out/cmp-$1 ports=$out/cmp-fake-ports.json fpid rpc ctl epid i
  rm -rf "$out/cmp-state-$size"; mkdir -p "$out/cmp-state-$size"; rm -f "$ports"
  apex_zone "$b.zone" "$b.apex.zone"
  python3 "$root/Tests/Fakes/fake_emercoind.py" --state-file "$ports" --rpc-user bench --rpc-password bench \
    >"$out/cmp-fake.log" 2>&1 &
  fpid=$!; started+=("$fpid")
  for i in $(seq 100); do [ -s "$ports" ] && break; sleep 0.1; done
  rpc=$(python3 -c "import json; print(json.load(open('$ports'))['rpc_port'])")
  ctl=$(python3 -c "import json; print(json.load(open('$ports'))['control_port'])")
  log "fake node: loading $size names"
  python3 - "$ctl" "$b.fixture" <<'PY' || { log "the fake node did not load the fixture"; stop_tree "$fpid"; return; }
import json, sys, urllib.request
def control(op):
    req = urllib.request.Request("http://127.0.0.1:%s/" % sys.argv[1], data=json.dumps(op).encode())
    return json.load(urllib.request.urlopen(req, timeout=600))
print(control({"op": "load", "path": sys.argv[2], "days": 365}), file=sys.stderr)
control({"op": "mine", "n": 1})
PY
  log "enumd: full sync of $size names"
  rm -f "$out/cmp-enumd-sync.log"   # before the start: the waits below read it
  "$enumd_bin" serve --config "$enumd_conf" --zone "$b.apex.zone" --dns "127.0.0.1:$(port_of enumd)" --http off --udp-threads 1 \
    --state-dir "$out/cmp-state-$size" --rpc-url "http://127.0.0.1:$rpc/" --rpc-user bench --rpc-password bench \
    >>"$out/cmp-enumd-sync.log" 2>&1 &
  epid=$!; started+=("$epid")
  for i in $(seq 3000); do grep -q "numbers served" "$out/cmp-enumd-sync.log" && break; kill -0 "$epid" 2>/dev/null || break; sleep 0.1; done
  R[sync_$size,enumd]=$(sed -n 's/.*numbers served, in \([0-9.]*\) s.*/\1/p' "$out/cmp-enumd-sync.log" | head -1)
  [ -n "${R[sync_$size,enumd]}" ] || { R[sync_$size,enumd]=-; log "enumd did not finish the sync; see $out/cmp-enumd-sync.log"; }
  log "enumd: synced $size names in ${R[sync_$size,enumd]} s"
  for i in $(seq 100); do [ -s "$out/cmp-state-$size/chain.state" ] && break; sleep 0.1; done
  stop_tree "$epid"; stop_tree "$fpid"
}

http_bench() {  # $1 size: wrk against enumd started from the snapshot
  local size=$1 b=$out/cmp-$1 hport=$((port_base + 3)) pid
  python3 - "$b.fixture" "$out/cmp-http.lua" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
nums = []
for l in lines[:: max(1, len(lines) // 1000)][:1000]:
    name = json.loads(l)["name"][5:]
    nums.append(name.split(":")[0] if ":" in name else "".join(reversed(name[:-len(".e164.arpa")].split("."))))
with open(sys.argv[2], "w") as f:
    f.write("local numbers = {%s}\n" % ",".join('"%s"' % x for x in nums))
    f.write("local i = 0\nrequest = function()\n  i = i % #numbers + 1\n"
            "  return wrk.format(\"GET\", \"/enum/lookup?number=%2B\" .. numbers[i])\nend\n")
PY
  "$enumd_bin" serve --config "$enumd_conf" --zone "$b.apex.zone" --dns "127.0.0.1:$(port_of enumd)" --http "127.0.0.1:$hport" \
    --state-dir "$out/cmp-state-$size" --rpc-url "http://127.0.0.1:9/" --rpc-user bench --rpc-password bench \
    >"$out/cmp-enumd-http.log" 2>&1 &
  pid=$!; started+=("$pid")
  for i in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$hport/health" && break; sleep 0.1; done
  local first; first=$(sed -n 's/local numbers = {"\([0-9]*\)".*/\1/p' "$out/cmp-http.lua")
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/enum/lookup?number=%2B$first")
  if [ "$code" = 200 ]; then
    timeout 30 wrk -t1 -c16 -d2s -s "$out/cmp-http.lua" "http://127.0.0.1:$hport" >/dev/null 2>&1   # warm-up
    # Two loads: wrk's threads share the 2 CPUs with enumd's two event loops, so with 2 threads
    # and 32 connections the tail is mostly the scheduler's; with 1 thread and 16, the server's.
    local w
    for w in "1 16" "2 32"; do
      set -- $w
      timeout $((len + 30)) wrk -t"$1" -c"$2" -d"${len}s" --latency -s "$out/cmp-http.lua" "http://127.0.0.1:$hport" >"$out/cmp-wrk-$1-$2.txt" 2>&1
      R[http_$1_$2,enumd]=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$out/cmp-wrk-$1-$2.txt")
      R[http_p99_$1_$2,enumd]=$(awk '$1 == "99%" { print $2 }' "$out/cmp-wrk-$1-$2.txt")
      grep -q "Non-2xx" "$out/cmp-wrk-$1-$2.txt" && R[http_$1_$2,enumd]="${R[http_$1_$2,enumd]}(non-2xx!)"
      log "HTTP (wrk -t$1 -c$2): ${R[http_$1_$2,enumd]} lookups/s, p99 ${R[http_p99_$1_$2,enumd]}"
    done
  else
    log "HTTP: a sample lookup gave $code; see $out/cmp-enumd-http.log"
  fi
  stop_tree "$pid"
}

# ---------------------------------------------------------------- the run
for size in "${sizes[@]}"; do data "$size"; done
for size in "${sizes[@]}"; do
  sync_enumd "$size"
  if [ "$size" = "$n" ]; then run_servers "$size" speed; http_bench "$size"; else run_servers "$size" memory; fi
done

# ---------------------------------------------------------------- the table
best_peer() {  # $1 figure, $2 "low" when smaller is better: prints "value server" of the better peer
  local a=${R[$1,nsd]:--} b=${R[$1,knot]:--}
  awk -v a="$a" -v b="$b" -v low="${2:-}" 'BEGIN {
    na = (a ~ /^[0-9.]+$/); nb = (b ~ /^[0-9.]+$/)
    if (!na && !nb) { print "- -"; exit }
    if (!nb || (na && ((low && a + 0 <= b + 0) || (!low && a + 0 >= b + 0)))) print a, "nsd"; else print b, "knot" }'
}
row() {  # $1 label, $2 figure, $3 "low" when smaller is better, "none" for no ratio
  local e=${R[$2,enumd]:--} bp bv bn ratio
  read -r bv bn < <(best_peer "$2" "${3:-}")
  [ "${3:-}" = none ] && bv=-
  ratio=$(awk -v e="$e" -v b="$bv" 'BEGIN { if (e ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2fx %s", e / b, "'"$bn"'"; else print "-" }')
  printf '%-34s %12s %12s %12s   %s\n' "$1" "$e" "${R[$2,nsd]:--}" "${R[$2,knot]:--}" "$ratio"
}
echo
echo "enumd vs NSD $(nsd -v 2>&1 | awk 'NR == 1 { print $3 }') and Knot $(knotd -V 2>&1 | awk '{ print $NF; exit }'), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(date -u +%Y-%m-%d)"
printf '%-34s %12s %12s %12s   %s\n' figure enumd nsd knot "enumd / best peer"
row "UDP qps, pinned (server CPU0)" udp_pin
row "  dnsperf CPU % (>=90: gen-bound)" gen_pin none
row "UDP qps, unpinned" udp_free
row "  dnsperf CPU % (>=90: gen-bound)" gen_free none
row "TCP qps, 16 connections" tcp
row "CPU us/query at -Q $rate (pinned)" cpu_us low
row "  qps answered at -Q $rate" cpu_qps none
for size in "${sizes[@]}"; do
  row "RSS MB, $size numbers" "rss_$size" low
  row "PSS MB, $size numbers" "pss_$size" low
  row "start to first answer s, $size" "start_$size" low
  row "answers checked, $size" "check_$size"
done
for size in "${sizes[@]}"; do row "enumd full sync s, $size names" "sync_$size" low; done
row "HTTP lookups/s (wrk -t1 -c16)" http_1_16
row "  p99 latency" http_p99_1_16
row "HTTP lookups/s (wrk -t2 -c32)" http_2_32
row "  p99 latency" http_p99_2_32
echo "(enumd starts from its state-dir snapshot; NSD and Knot from the zone file. Log and raw output in $out.)"
echo "total time: $(( $(date +%s) - t_start )) s"
