#!/usr/bin/env bash
# Profiles dcgwd's workers while dcgw-bench runs a scenario:
#   bench/profile.sh BUILD_DIR DELAY_S RECORD_S OUT.perf -- dcgw-bench options...
# Starts the bench, waits DELAY_S (set-up), records the workers of the dcgwd the bench
# started (its grandchildren, so other daemons on the machine are left alone) with
# perf -g for RECORD_S, then prints the top symbols. Root or perf_event_paranoid <= 1.
set -euo pipefail
build=$1 delay=$2 secs=$3 out=$4
shift 5
"$build/bench/dcgw-bench" "$@" >"$out.bench.txt" 2>&1 &
bench=$!
sleep "$delay"
master=$(pgrep -P "$bench" -x dcgwd | head -1 || true)
[ -n "$master" ] || { echo "no dcgwd under the bench (pid $bench)"; wait "$bench"; exit 1; }
workers=$(pgrep -P "$master" | paste -sd, -)
echo "recording dcgwd workers $workers for $secs s"
perf record -F 999 -g -o "$out" -p "$workers" -- sleep "$secs" 2>/dev/null
wait "$bench" || true
perf report -i "$out" --stdio --no-children --sort symbol 2>/dev/null |
    grep -E '^ +[0-9.]+%' | head -30
