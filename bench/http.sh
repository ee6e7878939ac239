#!/bin/bash
# bench/http.sh — HTTP lookups per second against a snapshot of N numbers, with wrk (loopback).
#
# Usage: bench/http.sh [-n N] [-d SECONDS] [-c CONNECTIONS] [-h]
#   -n N   numbers on the fake node (default 100000)     -d  wrk duration (default 10)
#   -c C   wrk connections (default 32, 2 threads)
# Environment: ENUMD_BIN=/path to skip the release build. Needs the Debian package wrk.
# It fills the fake emercoind (Tests/Fakes) with N numbers, starts enumd against it, waits for the
# sync, then runs wrk on /enum/lookup for numbers taken across the snapshot (a Lua script cycles
# through 1,000 of them) and prints wrk's requests/s and latency percentiles.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$here/out
n=100000 dur=10 conns=32
while getopts "n:d:c:h" o; do
  case $o in n) n=$OPTARG;; d) dur=$OPTARG;; c) conns=$OPTARG;; *) sed -n '2,11p' "$0"; exit 0;; esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
mkdir -p "$out"
. "$root/scripts/lib.sh"
if [ -z "${ENUMD_BIN:-}" ]; then
  (cd "$root" && swift build -c release --scratch-path .build-release --product enumd >&2) || exit 1
  ENUMD_BIN=$root/.build-release/release/enumd
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
ports=$out/http-fake-ports.json; rm -f "$ports"
python3 "$root/Tests/Fakes/fake_emercoind.py" --state-file "$ports" --rpc-user bench --rpc-password bench >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$ports" ] && break; sleep 0.1; done
rpc=$(python3 -c "import json;print(json.load(open('$ports'))['rpc_port'])")
ctl=$(python3 -c "import json;print(json.load(open('$ports'))['control_port'])")
python3 - "$ctl" "$n" "$out/http-numbers.lua" <<'PY'
import json, sys, urllib.request
def control(op):
    req = urllib.request.Request("http://127.0.0.1:%s/" % sys.argv[1], data=json.dumps(op).encode())
    return json.load(urllib.request.urlopen(req, timeout=600))
r = control({"op": "bulk", "count": int(sys.argv[2]), "seed": 1, "convention": "mixed", "days": 365, "return_numbers": True})
control({"op": "mine", "n": 1})
nums = r["numbers"][:: max(1, len(r["numbers"]) // 1000)][:1000]
with open(sys.argv[3], "w") as f:
    f.write("local numbers = {%s}\n" % ",".join('"%s"' % x.lstrip("+") for x in nums))
    f.write("local i = 0\nrequest = function()\n  i = i % #numbers + 1\n"
            "  return wrk.format(\"GET\", \"/enum/lookup?number=%2B\" .. numbers[i])\nend\n")
PY
dport=$((26353 + RANDOM % 1000)); hport=$((dport + 1000))
# wrk is one client: the per-client HTTP rate limit is off for the benchmark.
printf 'http-rate = 0\nhttp-list-rate = 0\n' >"$out/http-bench.conf"
"$ENUMD_BIN" serve --config "$out/http-bench.conf" --dns 127.0.0.1:$dport --http 127.0.0.1:$hport --rpc-url "http://127.0.0.1:$rpc/" \
  --rpc-user bench --rpc-password bench --poll-interval 30 >"$out/http-enumd.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "numbers served" "$out/http-enumd.log" && break; sleep 0.1; done
grep -q "numbers served" "$out/http-enumd.log" || { echo "enumd did not sync" >&2; tail "$out/http-enumd.log" >&2; exit 2; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/enum/lookup?number=%2B$(sed -n 's/local numbers = {"\([0-9]*\)".*/\1/p' "$out/http-numbers.lua")")
[ "$code" = 200 ] || { echo "a sample lookup gave HTTP $code" >&2; exit 2; }
timeout $((dur + 30)) wrk -t2 -c"$conns" -d"${dur}s" --latency -s "$out/http-numbers.lua" "http://127.0.0.1:$hport" |
  grep -E "Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx"
