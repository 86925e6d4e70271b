#!/usr/bin/env bash
# Prometheus /metrics (docs/metrics.md) scraped during real traffic and parsed with
# Debian's python3-prometheus-client, in a private network (and PID) namespace:
#
#   +----------------------- unshare -n -p (this script) ---------------------------+
#   |  policy_ue.py (aiortc) ==DTLS/SCTP== dcgwd ==DTLS/SCTP== policy_echo.py        |
#   |   chat, bulk (flooded past its rate limit), secret (denied)    (1 worker)      |
#   |  metrics_check.py --GET http://127.0.0.1:9745/metrics--> master (libmicrohttpd) |
#   |  dcgwctl --json get / stats, watch -> events.jsonl                             |
#   +--------------------------------------------------------------------------------+
#
# a. configuration: a listen address that is not numeric host:port is a configuration
#    error naming metrics.listen (--check-config, file:line); a port already taken or an
#    address not of this host stops dcgwd at start with the reason; enabled = false
#    means no listener at all.
# b. HTTP: /metrics answers 200 in the text format 0.0.4; another path 404, POST 405,
#    HEAD 200 without a body; garbage and oversized headers are refused, the next GET works.
# c. format: every family dcgw_-prefixed, once, typed, with HELP; counters end in
#    _total; labels from a small fixed set, no session id; histograms consistent.
# d. during the traffic (the policy scenario of test_policy.sh, scraped every 0.25 s):
#    counters never go back, messages are counted as they flow, legs and channels show.
# e. values agree with dcgwctl: per leg role and direction, messages and bytes = the
#    channels' counters in `get`; policy violations by reason = the rules' counters
#    (all of them, while the violation events are rate-limited); refused drops = the
#    channels' policy_dropped; UDP, drops, CPU time between two `stats`; sessions,
#    restarts, rejected frames = stats; sessions by state = `list`.
# f. control requests by type: three pings add three to the counter and the histogram.
# g. after the close: the session's final counters (session_closed) stay in the counters,
#    sessions, legs and channels go to zero.
# About 20 s.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

URL=http://127.0.0.1:9745/metrics
mc() { "$PY" "$PEERS/metrics_check.py" "$@"; }
PYCHECK=metrics_check.py # pycheck runs it (lib.sh)
listening() { [ -n "$(ss -Hltn 2>/dev/null)" ]; }
# start_fails NAME CONF_LINE: dcgwd with CONF_LINE must exit non-zero at once; its log
# goes to $T/NAME.log.
start_fails() {
    printf 'workers = 1;\ncontrol: { socket = "%s"; };\n%s\n' "$T/$1.sock" "$2" >"$T/$1.conf"
    local rc=0
    timeout 10 "$DCGWD" -c "$T/$1.conf" >"$T/$1.log" 2>&1 || rc=$?
    [ "$rc" != 0 ] && [ "$rc" != 124 ]
}

check "Debian python3 has prometheus_client and aiortc" "$PY" -c 'import prometheus_client, aiortc'

# ---- a. configuration and the off switch

printf 'workers = 1;\nmetrics: { listen = "localhost:9745"; };\n' >"$T/bad.conf"
out=$("$DCGWD" --check-config "$T/bad.conf" 2>&1) && rc=0 || rc=$?
check "a. --check-config refuses listen = \"localhost:9745\" ($out)" \
    bash -c "[ $rc -ne 0 ] && [[ '$out' == *'bad.conf:2: metrics.listen: expected a numeric host:port'* ]]"
printf 'metrics: { push_interval_ms = 10; };\n' >"$T/bad2.conf"
out=$("$DCGWD" --check-config "$T/bad2.conf" 2>&1) && rc=0 || rc=$?
check "a. --check-config refuses push_interval_ms = 10 ($out)" \
    bash -c "[ $rc -ne 0 ] && [[ '$out' == *'metrics.push_interval_ms'* ]]"
check "a. dcgwd does not start with the bad address either" start_fails badaddr 'metrics: { listen = "localhost:9745"; };'
check "a. ... and says why" grep -q 'metrics.listen' "$T/badaddr.log"

check "a. a listen address of no interface here stops dcgwd at start" \
    start_fails foreign 'metrics: { listen = "192.0.2.1:9745"; };'
check "a. ... with the address and the reason in the log" \
    grep -q 'metrics.listen 192.0.2.1:9745: Cannot assign requested address' "$T/foreign.log"
check "a. ... before the control socket was made" test ! -e "$T/foreign.sock"
"$PY" -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 9745)); s.listen(); time.sleep(15)' &
holder=$!
wait_for "the port holder" 5 listening || true
check "a. the default port already taken stops dcgwd at start" start_fails taken ''
check "a. ... and the log says so" grep -q 'metrics.listen 127.0.0.1:9745: Address already in use' "$T/taken.log"
kill $holder 2>/dev/null || true
wait $holder 2>/dev/null || true

printf 'workers = 1;\ncontrol: { socket = "%s"; };\nmetrics: { enabled = false; };\n' "$SOCK" >"$T/off.conf"
start_dcgwd "$T/off.conf"
check "a. enabled = false: no TCP listener in this namespace ($(ss -Hltn | tr '\n' ' '))" not listening
check "a. enabled = false: nothing answers on the default port" \
    not "$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 9745), 2)'
check "a. the log says metrics are off" grep -q 'metrics off' "$T/dcgwd.log"
kill -TERM "$DCGWD_PID"; wait "$DCGWD_PID" 2>/dev/null || true
DCGWD_PID=""

# ---- b, c. the endpoint on its default address, idle

start_loopback_dcgwd 1 'metrics: { push_interval_ms = 200; };'
check "b. the log names the address served" grep -q 'serving http://127.0.0.1:9745/metrics' "$T/dcgwd.log"
wait_for "a first worker snapshot" 5 bash -c "'$PY' '$PEERS/metrics_check.py' scrape $URL '$T/idle.txt' && grep -q '^dcgw_worker_cpu_seconds_total' '$T/idle.txt'" || true
pycheck b. http "$URL"
pycheck c. format "$T/idle.txt" pol

# ---- d. the policy scenario, scraped while it runs

M="$T/markers" S="$T/scrapes"
mkdir -p "$M"
mc scrape-loop "$URL" "$S" "$M/flooded" &
spid=$!
policy_scenario d. --flood-secs 3
wait_for "the flood to end" 60 test -e "$M/flooded" || true
wait $spid || true
pycheck d. during "$S"

# ---- e. the values against dcgwctl, traffic stopped (the UE waits for the update)

sleep 0.3
t1a=$(date +%s.%N)
ctl --json stats >"$T/stats1.json"
t1b=$(date +%s.%N)
ctl --json get pol >"$T/get.json"
ctl --json list >"$T/list.json"
sleep 0.6 # > 2 push intervals: the snapshot scraped next was taken after stats1 and get
mc scrape "$URL" "$T/live.txt" || fail "e. scrape"
ctl --json stats >"$T/stats2.json"
pycheck e. live "$T/live.txt" "$T/get.json" "$T/stats1.json" "$T/stats2.json" "$t1a" "$t1b"
pycheck e. format "$T/live.txt" pol
pycheck e. sessions "$T/live.txt" "$T/list.json" active

# ---- f. control requests

mc scrape "$URL" "$T/req1.txt" || true
for i in 1 2 3; do ctl ping >/dev/null; done
mc scrape "$URL" "$T/req2.txt" || true
pycheck f. requests "$T/req1.txt" "$T/req2.txt" ping 3

# ---- g. the update, the rest of the scenario, the close

check "g. the policy patch is accepted" ctl policy pol --patch "$T/patch.json"
echo 1 >"$M/updated"
wait_for "the UE's result" 30 test -s "$U/result.json" || true
check "g. dcgwctl close pol" ctl close pol
wait_for "session_closed of pol" 5 event pol session_closed || true
echo 1 >"$M/stop"
wait $upid || true
wait $epid || true
sleep 0.6
mc scrape "$URL" "$T/final.txt" || fail "g. scrape"
ctl --json stats >"$T/stats3.json"
pycheck g. final "$T/final.txt" "$T/events.jsonl" pol "$T/stats3.json"
nev=$(events policy_violation | wc -l)
nmet=$("$PY" -c "
import sys; sys.path.insert(0, '$PEERS'); import metrics_check as m
print(int(m.total(m.parse('$T/final.txt')[2], 'dcgw_policy_violations_total')))")
check "g. metrics count every violation ($nmet), events only some ($nev, rate-limited)" \
    [ "${nmet:-0}" -gt "$nev" -a "$nev" -ge 1 ]
check "no worker_lost event" not grep -q '"worker_lost"' "$T/events.jsonl"
finish
