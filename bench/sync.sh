#!/bin/bash
# bench/sync.sh — how long enumd takes to read N names from the (fake) Emercoin node and serve
# them, and how much memory each served number costs. Loopback only.
#
# Usage: bench/sync.sh [-n N] [-h]
#   -n N   names on the fake node (default 100000; half seed, half ENUMER convention)
# Environment: ENUMD_BIN=/path to skip the release build.
#
# It starts Tests/Fakes/fake_emercoind.py, registers N names with its bulk control call, starts
# `enumd serve` (release build) against it with no state directory, and measures:
#   sync_s     enumd's own figure for the full sync (name_filter pages, parse, build, render, swap)
#   served_s   from enumd's start until a sampled chain number answers over DNS
#   rss_MB     enumd's resident memory with the N numbers served, and the same with zone files only
#   per_number (rss with chain - rss zone-only) / numbers served, in bytes
# Every wait is bounded; every process it starts is stopped on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$here/out
n=100000
while getopts "n:h" o; do
  case $o in n) n=$OPTARG;; *) sed -n '2,16p' "$0"; exit 0;; esac
done
mkdir -p "$out"
. "$root/scripts/lib.sh"
if [ -z "${ENUMD_BIN:-}" ]; then
  echo "== building enumd (release, .build-release)" >&2
  (cd "$root" && swift build -c release --scratch-path .build-release --product enumd >&2) || exit 1
  ENUMD_BIN=$root/.build-release/release/enumd
fi
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

ports=$out/fake-ports.json
rm -f "$ports"
python3 "$root/Tests/Fakes/fake_emercoind.py" --state-file "$ports" --rpc-user bench --rpc-password bench >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$ports" ] && break; sleep 0.1; done
rpc=$(python3 -c "import json;print(json.load(open('$ports'))['rpc_port'])")
ctl=$(python3 -c "import json;print(json.load(open('$ports'))['control_port'])")
echo "== registering $n names on the fake node" >&2
t0=$(date +%s.%N)
sample=$(python3 - "$ctl" "$n" <<'PY'
import json, sys, urllib.request
def control(op):
    req = urllib.request.Request("http://127.0.0.1:%s/" % sys.argv[1], data=json.dumps(op).encode())
    return json.load(urllib.request.urlopen(req, timeout=600))
r = control({"op": "bulk", "count": int(sys.argv[2]), "seed": 1, "convention": "mixed", "days": 365, "return_numbers": True})
control({"op": "mine", "n": 1})
num = r["numbers"][len(r["numbers"]) // 2].lstrip("+")
print(".".join(reversed(num)) + ".e164.arpa")
PY
) || exit 1
echo "   took $(elapsed "$t0") s; sample $sample" >&2

rss_of() { awk '/VmRSS/{print $2/1024}' /proc/"$1"/status; }
port=$((25353 + RANDOM % 1000))
log=$out/sync-enumd.log
start=$(date +%s.%N)
"$ENUMD_BIN" serve --http off --dns 127.0.0.1:$port --rpc-url "http://127.0.0.1:$rpc/" --rpc-user bench --rpc-password bench \
  --poll-interval 30 --udp-threads 1 >"$log" 2>&1 &
epid=$!; pids+=($epid)
served=""
for _ in $(seq 1200); do
  if dig @127.0.0.1 -p $port +short +time=1 +tries=1 "$sample" NAPTR 2>/dev/null | grep -q E2U; then
    served=$(elapsed "$start"); break
  fi
  sleep 0.05
done
[ -n "$served" ] || { echo "enumd never served $sample; log:" >&2; tail -20 "$log" >&2; exit 2; }
sleep 1
rss_chain=$(rss_of $epid)
sync_s=$(grep -o 'numbers served, in [0-9.]* s' "$log" | head -1 | awk '{print $4}')
numbers=$(grep -o '[0-9]* numbers served' "$log" | head -1 | awk '{print $1}')
kill $epid; wait $epid 2>/dev/null

"$ENUMD_BIN" serve --http off --dns 127.0.0.1:$port --no-chain --udp-threads 1 >/dev/null 2>&1 &
zpid=$!; pids+=($zpid)
for _ in $(seq 100); do dig @127.0.0.1 -p $port +short +time=1 +tries=1 e164.arpa SOA >/dev/null 2>&1 && break; sleep 0.05; done
sleep 1
rss_zone=$(rss_of $zpid)
kill $zpid; wait $zpid 2>/dev/null

per=$(awk -v c="$rss_chain" -v z="$rss_zone" -v n="$numbers" 'BEGIN{printf "%d", (c-z)*1048576/n}')
printf '%-8s %9s %9s %9s %12s %12s %11s\n' names numbers sync_s served_s rss_chain_MB rss_zone_MB per_number
printf '%-8s %9s %9s %9s %12.1f %12.1f %9s B\n' "$n" "$numbers" "$sync_s" "$served" "$rss_chain" "$rss_zone" "$per"
