#!/bin/bash
# bench/rrl.sh — response rate limiting under a one-source flood, measured with dnsperf.
#
# Usage: bench/rrl.sh [-q QPS] [-l SECONDS] [-r RATE] [-h]
#   -q QPS      the flood's rate, one source (127.0.0.1), one name (default 5000)
#   -l SECONDS  length (default 10)
#   -r RATE     enumd's --rrl-rate (default 200, the default)
# Environment: ENUMD_BIN=/path to skip the release build.
#
# Starts `enumd serve` on the demo zone with --rrl-rate RATE --rrl-slip 2, floods one NAPTR name
# from 127.0.0.1 while a second client in another /24 (127.0.1.1) asks at 50 q/s, and reports
# what the flooder got (answers, truncated slips, drops, from enumd's /metrics) and whether the
# other client lost anything.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$here/out
qps=5000 seconds=10 rate=200
while getopts "q:l:r:h" o; do
  case $o in q) qps=$OPTARG;; l) seconds=$OPTARG;; r) rate=$OPTARG;; *) sed -n '2,13p' "$0"; exit 0;; esac
done
mkdir -p "$out"
. "$root/scripts/lib.sh"
if [ -z "${ENUMD_BIN:-}" ]; then
  (cd "$root" && swift build -c release --scratch-path .build-release --product enumd >&2) || exit 1
  ENUMD_BIN=$root/.build-release/release/enumd
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
dport=$((28353 + RANDOM % 1000)); hport=$((dport + 1000))
"$ENUMD_BIN" serve --no-chain --dns 127.0.0.1:$dport --http 127.0.0.1:$hport --rrl-rate "$rate" --rrl-slip 2 \
  --zone "$root/zones/e164.arpa.zone" >"$out/rrl-enumd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "HTTP listening" "$out/rrl-enumd.log" && break; sleep 0.1; done
echo "0.9.8.7.6.5.4.3.2.1.e164.arpa NAPTR" >"$out/rrl-flood.txt"
echo "8.5.9.0.6.4.9.7.0.2.4.4.e164.arpa NAPTR" >"$out/rrl-other.txt"
dnsperf -s 127.0.0.1 -p "$dport" -a 127.0.0.1 -d "$out/rrl-flood.txt" -l "$seconds" -Q "$qps" -q 20000 -t 1 >"$out/rrl-flood.out" 2>&1 &
f=$!
dnsperf -s 127.0.0.1 -p "$dport" -a 127.0.1.1 -d "$out/rrl-other.txt" -l "$seconds" -Q 50 >"$out/rrl-other.out" 2>&1 &
o=$!
wait $f $o
metric() { curl -s "http://127.0.0.1:$hport/metrics" | awk -v k="$1" 'index($0, k) == 1 {print $2}'; }
dropped=$(metric 'enum_dns_rrl_responses_total{action="dropped"}'); slipped=$(metric 'enum_dns_rrl_responses_total{action="slipped"}')
sent=$(awk '/Queries sent:/ {print $3}' "$out/rrl-flood.out")
answered=$((sent - ${dropped%.*} - ${slipped%.*}))
echo "rrl: --rrl-rate $rate --rrl-slip 2; flood of $qps q/s for ${seconds}s from one address, one name"
echo "  flooder: sent $sent, full answers $answered ($((answered / seconds))/s), truncated (slipped) ${slipped%.*}, dropped ${dropped%.*}"
echo "  other /24 at 50 q/s: $(awk '/Queries sent:/ {s=$3} /Queries lost:/ {l=$3} END {printf "sent %d, lost %d", s, l}' "$out/rrl-other.out")"
