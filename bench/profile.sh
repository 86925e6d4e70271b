#!/usr/bin/env bash
# Profiles dcgwd's workers while dcgw-bench runs a scenario:
#   bench/profile.sh BUILD_DIR DELAY_S RECORD_S OUT.perf -- dcgw-bench options...
# Starts the bench, waits DELAY_S (set-up), records the workers of the dcgwd the bench
# started (its grandchildren, so other daemons on the machine are left alone) with
# perf -g for RECORD_S, then prints the top symbols. Root or perf_event_paranoid <= 1.
# Environment:
#   PROFILE_MASTER=1         record the master process too
#   PROFILE_CALLGRAPH=dwarf  unwind with DWARF (perf --call-graph dwarf, 499 Hz): frame
#                            pointers stop inside libcrypto and libc, so with the default
#                            (fp) OpenSSL's work is not attributed to its callers
#   PROFILE_BREAKDOWN=setup  also print set-up CPU by kind of work (bench/profile_setup.awk;
#                            needs PROFILE_CALLGRAPH=dwarf; record inside the set-up only)
set -euo pipefail
build=$1 delay=$2 secs=$3 out=$4
shift 5
here=$(cd "$(dirname "$0")" && pwd)
# A session of its own: the bench ends its process group when it exits, which would
# otherwise take perf and this script with it.
setsid "$build/bench/dcgw-bench" "$@" >"$out.bench.txt" 2>&1 &
bench=$!
sleep "$delay"
master=$(pgrep -P "$bench" -x dcgwd | head -1 || true)
[ -n "$master" ] || { echo "no dcgwd under the bench (pid $bench)"; wait "$bench"; exit 1; }
workers=$(pgrep -P "$master" | paste -sd, -)
pids=$workers
[ "${PROFILE_MASTER:-0}" = 1 ] && pids="$master,$workers"
cg=(-F 999 -g)
[ "${PROFILE_CALLGRAPH:-fp}" = dwarf ] && cg=(-F 499 --call-graph dwarf,16384)
echo "recording dcgwd processes $pids for $secs s"
perf record "${cg[@]}" -o "$out" -p "$pids" -- sleep "$secs" 2>/dev/null
wait "$bench" || true
perf report -i "$out" --stdio --no-children --sort symbol 2>/dev/null |
    grep -E '^ +[0-9.]+%' | head -30 || true # head ends the pipe early
if [ "${PROFILE_BREAKDOWN:-}" = setup ]; then
    perf script -i "$out" -F comm,tid,time,ip,sym 2>/dev/null |
        awk -v MASTER="$master" -f "$here/profile_setup.awk"
fi
