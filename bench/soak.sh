#!/bin/bash
# bench/soak.sh — a long run under load while the chain changes: enumd must answer every query,
# send no SERVFAIL, and keep its memory and file descriptors flat. Loopback only.
#
# Usage: bench/soak.sh [-d SECONDS] [-r QPS] [-n NAMES] [-h]
#   -d SECONDS  length of the soak (default 600)
#   -r QPS      total query rate; default: half the maximum dnsperf measures over 5 s first
#   -n NAMES    names on the fake node (default 5000, half seed, half ENUMER convention)
# Environment: ENUMD_BIN=/path to skip the release build.
#
# It starts Tests/Fakes/fake_emercoind.py with NAMES names and `enumd serve` against it
# (--poll-interval 1, a state directory, RRL off: the load is one source by design), measures
# the maximum rate, then for SECONDS runs dnsperf over UDP (80% of the rate) and over TCP (20%,
# 4 connections) with NAPTR queries for chain numbers, zone numbers and absent numbers, while a
# mutator updates a name, registers a new one and mines a block every 3 s. It reports:
#   answer errors   queries lost + answers with an rcode other than NOERROR/NXDOMAIN (must be 0)
#   SERVFAIL        (must be 0: a snapshot always exists)
#   rss start/end   enumd's resident memory, the median of 15 one-second samples at the start
#                   (after a 30 s warm-up at the same mix) and at the end (growth must be < 5%)
#   fds start/end   enumd's open file descriptors
#   blocks, changes what the mutator did, and the height enumd served at the end
# Exit status 0 when every check holds. Every process it starts is stopped on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$here/out
duration=600 rate="" n=5000
while getopts "d:r:n:h" o; do
  case $o in d) duration=$OPTARG;; r) rate=$OPTARG;; n) n=$OPTARG;; *) sed -n '2,21p' "$0"; exit 0;; esac
done
mkdir -p "$out"
. "$root/scripts/lib.sh"
command -v dnsperf >/dev/null || { echo "soak: dnsperf is needed (apt-get install dnsperf)" >&2; exit 2; }
if [ -z "${ENUMD_BIN:-}" ]; then
  echo "== building enumd (release, .build-release)" >&2
  (cd "$root" && swift build -c release --scratch-path .build-release --product enumd >&2) || exit 1
  ENUMD_BIN=$root/.build-release/release/enumd
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
log() { echo "== $*" >&2; }

# The fake node, with NAMES names.
ports=$out/soak-ports.json
rm -f "$ports"
python3 "$root/Tests/Fakes/fake_emercoind.py" --state-file "$ports" --rpc-user soak --rpc-password soak >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$ports" ] && break; sleep 0.1; done
rpc=$(python3 -c "import json;print(json.load(open('$ports'))['rpc_port'])")
ctl=$(python3 -c "import json;print(json.load(open('$ports'))['control_port'])")
control() { curl -s -X POST -H 'Content-Type: application/json' --data "$1" "http://127.0.0.1:$ctl/"; }
control "{\"op\":\"bulk\",\"count\":$n,\"seed\":11,\"convention\":\"mixed\",\"days\":365,\"return_numbers\":true}" >"$out/soak-bulk.json"
control '{"op":"mine","n":1}' >/dev/null

# Queries: chain numbers (NAPTR), the demo zone's numbers, and absent numbers (NXDOMAIN).
python3 - "$out/soak-bulk.json" "$out/soak-queries.txt" <<'PY'
import json, sys, random
nums = json.load(open(sys.argv[1]))["numbers"]
r = random.Random(1)
with open(sys.argv[2], "w") as f:
    for i in range(200000):
        k = r.random()
        if k < 0.8: n = r.choice(nums)
        elif k < 0.9: n = r.choice(["1234567890", "442079460958"])
        else: n = "9" + "".join(r.choice("0123456789") for _ in range(10))
        f.write(".".join(reversed(n)) + ".e164.arpa NAPTR\n")
PY

state=$(mktemp -d)
dport=$((27353 + RANDOM % 1000)); hport=$((dport + 1000))
"$ENUMD_BIN" serve --dns 127.0.0.1:$dport --http 127.0.0.1:$hport --rpc-url "http://127.0.0.1:$rpc/" \
  --rpc-user soak --rpc-password soak --poll-interval 1 --state-dir "$state" --rrl-rate 0 \
  --zone "$root/zones/e164.arpa.zone" >"$out/soak-enumd.log" 2>&1 &
epid=$!
pids+=($epid)
for _ in $(seq 600); do grep -q "synced height" "$out/soak-enumd.log" && break; sleep 0.1; done
grep -q "synced height" "$out/soak-enumd.log" || { echo "enumd did not sync" >&2; tail "$out/soak-enumd.log" >&2; exit 2; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$epid/status"; }
fds() { ls "/proc/$epid/fd" | wc -l; }
# dnsperf's summary: "name value" pairs for the figures we use.
summary() {
  awk '/Queries sent:/ {s=$3} /Queries completed:/ {c=$3} /Queries lost:/ {l=$3}
       /Queries per second:/ {q=$4}
       /Response codes:/ { sub(/.*Response codes: /, ""); n=split($0, a, ", ");
         for (i = 1; i <= n; i++) { split(a[i], b, " "); rc[b[1]] = b[2] } }
       END { printf "sent=%d completed=%d lost=%d qps=%.0f noerror=%d nxdomain=%d servfail=%d other=%d\n",
             s, c, l, q, rc["NOERROR"], rc["NXDOMAIN"], rc["SERVFAIL"], c - rc["NOERROR"] - rc["NXDOMAIN"] - rc["SERVFAIL"] }' "$1"
}

if [ -z "$rate" ]; then
  log "measuring the maximum rate (5 s, UDP)"
  dnsperf -s 127.0.0.1 -p "$dport" -d "$out/soak-queries.txt" -l 5 -c 4 -q 200 >"$out/soak-max.txt" 2>&1
  max=$(summary "$out/soak-max.txt" | sed 's/.*qps=\([0-9]*\).*/\1/')
  rate=$((max / 2))
  log "maximum $max q/s; soaking at $rate q/s"
fi
udp_rate=$((rate * 8 / 10)); tcp_rate=$((rate - udp_rate))
# Warm-up at the soak's own mix, so that the start figures include what TCP and the first
# snapshot swaps allocate once, and the growth measured is the growth over time.
# The warm-up also lets the first round of name_show details (owner, txid: fetched for every
# name at start) finish; that memory is data, not growth.
log "warming up for 30 s at the soak's mix"
dnsperf -s 127.0.0.1 -p "$dport" -d "$out/soak-queries.txt" -l 30 -c 4 -Q "$udp_rate" >/dev/null 2>&1 &
w1=$!
dnsperf -m tcp -s 127.0.0.1 -p "$dport" -d "$out/soak-queries.txt" -l 30 -c 4 -Q "$tcp_rate" >/dev/null 2>&1 &
w2=$!
for _ in $(seq 10); do control '{"op":"mine","n":1}' >/dev/null; sleep 3; done
wait $w1 $w2
# RSS is sampled every second: each sync briefly holds two snapshots, so one sample can land on
# a peak. Start and end are the medians of the first and the last 15 samples of the soak.
# Each line: VmRSS, RssAnon, RssFile (kB). smaps at the start and the end show which mappings grew.
( while kill -0 "$epid" 2>/dev/null; do
    awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {print r, a, f}' "/proc/$epid/status"; sleep 1
  done ) >"$out/soak-rss.txt" 2>/dev/null &
pids+=($!)
# The malloc heap (enum_process_heap_bytes) every 10 s: in use and free-in-arenas, in kB. In use
# growing is live data growing; free growing with RSS is fragmentation.
( while kill -0 "$epid" 2>/dev/null; do
    curl -s "http://127.0.0.1:$hport/metrics" |
      awk '/^enum_process_heap_bytes\{state="in_use"\}/ {u=$2} /^enum_process_heap_bytes\{state="free"\}/ {f=$2}
           END {printf "%d %d\n", u / 1024, f / 1024}'
    sleep 10
  done ) >"$out/soak-heap.txt" 2>/dev/null &
pids+=($!)
cp "/proc/$epid/smaps" "$out/soak-smaps-start.txt" 2>/dev/null
fds0=$(fds); height0=$(curl -s "http://127.0.0.1:$hport/health" | python3 -c "import json,sys;print(json.load(sys.stdin)['chain_height'])")

# The chain changes every 3 s: one name updated, one registered, one block mined.
python3 - "$ctl" "$duration" "$out/soak-bulk.json" >"$out/soak-mutator.txt" 2>&1 <<'PY' &
import json, sys, time, urllib.request, random
ctl, duration = int(sys.argv[1]), float(sys.argv[2])
nums = json.load(open(sys.argv[3]))["numbers"]
r = random.Random(2)
def op(o):
    req = urllib.request.Request("http://127.0.0.1:%d/" % ctl, data=json.dumps(o).encode(), headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=30))
end = time.time() + duration
blocks = changes = failures = 0
i = 0
while time.time() < end:
    i += 1
    n = r.choice(nums)
    for o in ({"op": "update", "name": "enum:%s:0" % n, "value": "E2U+sip=100|10|!^.*$!sip:changed%d@example.net!" % i},
              {"op": "update", "name": "enum:" + ".".join(reversed(n)) + ".e164.arpa", "value": '"!^.*$!sip:changed%d@example.net!"' % i}):
        try:
            if op(o).get("ok"): changes += 1; break
        except Exception: pass
    try:
        op({"op": "register", "name": "enum:4930%07d:0" % i, "value": "E2U+sip=100|10|!^.*$!sip:new%d@example.net!" % i, "days": 30})
        changes += 1
        op({"op": "mine", "n": 1}); blocks += 1
    except Exception as e:
        failures += 1
        if failures <= 3: print("mutator: %r" % e, file=sys.stderr)
    time.sleep(3)
print("blocks=%d changes=%d failures=%d" % (blocks, changes, failures))
PY
mpid=$!
pids+=($mpid)

log "soaking for $duration s: UDP $udp_rate q/s, TCP $tcp_rate q/s (4 connections)"
dnsperf -s 127.0.0.1 -p "$dport" -d "$out/soak-queries.txt" -l "$duration" -c 4 -Q "$udp_rate" >"$out/soak-udp.txt" 2>&1 &
u=$!
dnsperf -m tcp -s 127.0.0.1 -p "$dport" -d "$out/soak-queries.txt" -l "$duration" -c 4 -Q "$tcp_rate" >"$out/soak-tcp.txt" 2>&1 &
t=$!
wait $u $t
cp "/proc/$epid/smaps" "$out/soak-smaps-end.txt" 2>/dev/null
median() { cut -d' ' -f1 | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
rss0=$(head -15 "$out/soak-rss.txt" | median)
rss1=$(tail -15 "$out/soak-rss.txt" | median)
anon0=$(head -15 "$out/soak-rss.txt" | cut -d' ' -f2 | median); anon1=$(tail -15 "$out/soak-rss.txt" | cut -d' ' -f2 | median)
file0=$(head -15 "$out/soak-rss.txt" | cut -d' ' -f3 | median); file1=$(tail -15 "$out/soak-rss.txt" | cut -d' ' -f3 | median)
wait $mpid
sleep 3
fds1=$(fds)
height1=$(curl -s "http://127.0.0.1:$hport/health" | python3 -c "import json,sys;print(json.load(sys.stdin)['chain_height'])")

ures=$(summary "$out/soak-udp.txt"); tres=$(summary "$out/soak-tcp.txt")
get() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
lost=$(( $(get "$ures" lost) + $(get "$tres" lost) ))
servfail=$(( $(get "$ures" servfail) + $(get "$tres" servfail) ))
other=$(( $(get "$ures" other) + $(get "$tres" other) ))
errors=$((lost + servfail + other))
growth=$(awk -v a="$rss0" -v b="$rss1" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
echo "soak: ${duration}s at $rate q/s (UDP $udp_rate, TCP $tcp_rate), $n chain names, enumd $ENUMD_BIN"
echo "  udp: $ures"
echo "  tcp: $tres"
echo "  chain: $(cat "$out/soak-mutator.txt"); height served $height0 -> $height1"
echo "  answer errors: $errors (lost $lost, SERVFAIL $servfail, other rcodes $other)"
echo "  rss: ${rss0} kB -> ${rss1} kB (${growth}%)"
echo "    of which anonymous ${anon0} kB -> ${anon1} kB, file-backed ${file0} kB -> ${file1} kB"
heap() { $1 -5 "$out/soak-heap.txt" | cut -d' ' -f"$2" | median; }  # medians: a sample can land on a sync
echo "  heap in use: $(heap head 1) kB -> $(heap tail 1) kB, free in the arenas $(heap head 2) kB -> $(heap tail 2) kB (every 10 s: $out/soak-heap.txt)"
echo "  fds: $fds0 -> $fds1"
ok=1
[ "$errors" -eq 0 ] || ok=0
awk -v g="$growth" 'BEGIN {exit !(g < 5)}' || ok=0
[ "$height1" -gt "$height0" ] 2>/dev/null || ok=0
rm -rf "$state"
if [ $ok -eq 1 ]; then echo "soak: PASS"; else echo "soak: FAIL"; exit 1; fi
