#!/usr/bin/env bash
# Soak (issue 17): dcgwd's memory does not grow over 10,000 session set-ups and closes.
#
#   dcgw-bench -s soak  (its own private network namespace when root)
#     +-- dcgwd (2 workers, 127.0.0.1)  <-- A endpoints (bench) / Z endpoints (far end)
#         20 rounds of 500 bridged sessions, 32 set-ups in flight: ICE, two DTLS
#         handshakes and two SCTP associations each, ready once a hello crossed; each
#         round closed before the next; dcgwd's RSS sampled when it holds no session
#
# Asserts, from the bench's JSON (bench/scen_soak.c explains the bounds):
#   - the sessions came up (at most 5% failed: ICE or DTLS timeouts on a loaded machine;
#     they went through dcgw's set-up and close all the same);
#   - the workers' and the master's RSS grew by at most 6 MiB from the sample after the
#     first 1,000 sessions to the end, and by at most 2 MiB over the late half (5,500 to
#     10,000): twice the allocator's growth measured; a deliberate leak of 128 bytes per
#     session grew the workers 21 MiB (8 MiB in the late half: docs/memory.md).
# 76-131 s on the shared 2-core machine under load average 9-15 (the set-ups'
# handshakes, on both sides: about 40 s of CPU); it runs alone (RUN_SERIAL in
# tests/CMakeLists.txt) so that its load slows no other test.
# DCGW_SOAK_SESSIONS overrides the count (a quicker local run).
source "$(dirname "$0")/lib.sh"

BENCH="$DCGW_BUILD/bench/dcgw-bench"
N=${DCGW_SOAK_SESSIONS:-10000}
if [ ! -x "$BENCH" ]; then
    fail "dcgw-bench not built ($BENCH): configure with -DDCGW_BENCH=ON"
    finish
    exit 1
fi

# One line per round (stderr, as it comes), then the bench's table.
start=$SECONDS
rc=0
timeout 400 "$BENCH" -q -s soak --janus none --soak-sessions "$N" --setup-concurrency 32 \
    -j "$T/soak.json" 2> >(tee "$T/soak.err" >&2) || rc=$?
wait # for tee
echo "wall time: $((SECONDS - start)) s"
# The bench keeps its work directory when it failed: show dcgwd's log, then remove it.
kept=$(sed -n 's/^dcgw-bench: work directory kept: \(\/tmp\/dcgw-bench\.[A-Za-z0-9]*\) .*/\1/p' "$T/soak.err" | head -n1)
if [ -n "$kept" ] && [ -d "$kept" ]; then
    echo "---- $kept/dcgwd.log (last 20 lines)"; tail -20 "$kept/dcgwd.log" 2>/dev/null || true
    rm -rf "$kept"
fi
check "dcgw-bench -s soak ran and judged the growth within its bounds (exit $rc)" [ "$rc" = 0 ]

/usr/bin/python3 - "$T/soak.json" "$N" <<'PY' || FAILED=$((FAILED + 1))
import json, sys

fails = 0
def check(cond, what):
    global fails
    print(("ok - " if cond else "not ok - ") + what)
    fails += 0 if cond else 1

n = int(sys.argv[2])
try:
    s = json.load(open(sys.argv[1]))["scenarios"]["soak"]
    r = s["result"]
except Exception as e:  # noqa: BLE001 - reported as a failure
    print("not ok - the soak result in the JSON: %s" % e)
    sys.exit(1)
kib = lambda x: x / 1024.0
pts = s["points"]
check(pts and pts[-1]["sessions"] == n, "%d sessions set up and closed in %d rounds" % (
    pts[-1]["sessions"] if pts else 0, len(pts)))
check(r["ready"] + r["failed"] == n and r["failed"] <= n // 20,
      "%d came up, %d failed (at most 5%%)" % (r["ready"], r["failed"]))
for who, whose in (("workers", "workers'"), ("master", "master's")):
    w, m, e = s["warm"]["rss_" + who], s["mid"]["rss_" + who], s["end"]["rss_" + who]
    g, lg = r["growth_" + who], r["late_growth_" + who]
    check(g <= r["bound"], "%s RSS: %.0f KiB after %d sessions, %.0f KiB after %d: grew "
          "%.0f KiB (bound %.0f)" % (whose, kib(w), s["warm"]["sessions"], kib(e),
                                     s["end"]["sessions"], kib(g), kib(r["bound"])))
    check(lg <= r["late_bound"], "%s RSS over the late half: %.0f KiB after %d sessions, "
          "%.0f KiB at the end: grew %.0f KiB (bound %.0f)" % (
              whose, kib(m), s["mid"]["sessions"], kib(e), kib(lg), kib(r["late_bound"])))
print("wall time of the scenario: %.0f s" % s.get("wall_s", 0))
sys.exit(1 if fails else 0)
PY
finish
