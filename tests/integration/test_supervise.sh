#!/usr/bin/env bash
# The master's supervision of its workers (one worker each, on a Unix socket):
#
#   dcgwctl ──> master ──socketpair──> worker 0   (killed, failing, hanging at start)
#
# a. restarts back off: 200, 400, 800 ms for deaths in a row; a worker that ran for
#    watchdog.stable_after_ms is healthy again and its next restart comes after 200 ms.
# b. dtls.cert or dtls.key unreadable: --check-config says so; a worker that cannot start
#    says why (log, worker_lost); after watchdog.max_start_failures failed starts in a row
#    dcgwd gives up with a fatal message and exits 1.
# c. a worker that hangs during its start-up (fault injected by a preloaded shim) is
#    killed by the watchdog after hang_timeout_ms, and counts as a failed start.
source "$(dirname "$0")/lib.sh"

# log_ms LINE: the time of a dcgwd log line, in ms.
log_ms() { /usr/bin/python3 -c 'import sys,datetime; t=sys.argv[1].split()[0].rstrip("Z"); print(int(datetime.datetime.fromisoformat(t).timestamp()*1000))' "$1"; }
# worker_pid: the pid of the worker that was ready last (from the log).
worker_pid() { sed -n 's/.*worker 0 ready (pid \([0-9]*\),.*/\1/p' "$T/dcgwd.log" | tail -n1; }
# kill_worker: SIGKILLs worker 0 and waits until its successor is ready; prints the restart
# delay the master chose ("restarting in N ms") and the time it took (N ms), one line.
kill_worker() {
    local pid n
    pid=$(worker_pid)
    n=$(grep -c 'worker 0 ready (pid' "$T/dcgwd.log")
    kill -9 "$pid"
    wait_for "worker 0 after $pid" 10 bash -c "[ \$(grep -c 'worker 0 ready (pid' '$T/dcgwd.log') -gt $n ]" || true
    local died started
    died=$(grep "worker 0 (pid $pid) died" "$T/dcgwd.log" | tail -n1)
    started=$(grep "worker 0 started" "$T/dcgwd.log" | tail -n1)
    echo "$(sed -n 's/.*restarting in \([0-9]*\) ms.*/\1/p' <<<"$died") $(( $(log_ms "$started") - $(log_ms "$died") ))"
}

# ---- a. backoff grows for deaths in a row and starts over after a stable run

cat >"$T/a.conf" <<CONF
workers = 1; control: { socket = "$SOCK"; }; metrics: { listen = "127.0.0.1:0"; };
watchdog: { hang_timeout_ms = 4000; stable_after_ms = 2500; };
CONF
start_dcgwd "$T/a.conf"
r1=$(kill_worker); r2=$(kill_worker); r3=$(kill_worker)
check "a. deaths in a row back off: 200, 400, 800 ms ($r1 / $r2 / $r3: chosen / taken)" \
    bash -c "[ '${r1%% *}' = 200 ] && [ '${r2%% *}' = 400 ] && [ '${r3%% *}' = 800 ] && [ ${r3##* } -ge 700 ]"
sleep 2.7 # the worker is up for longer than stable_after_ms
r4=$(kill_worker)
check "a. after a stable run the next restart comes after 200 ms again ($r4)" \
    bash -c "[ '${r4%% *}' = 200 ] && [ ${r4##* } -lt 700 ]"
check "a. stats count every restart" [ "$(ctl --json stats | json_get 'j["stats"]["workers"][0]["restarts"]')" = 4 ]
kill -TERM "$DCGWD_PID"; wait "$DCGWD_PID" || true; DCGWD_PID=""

# ---- b. a worker that cannot read its certificate

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=dcgw \
    -keyout "$T/dtls.key" -out "$T/dtls.crt" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other \
    -keyout "$T/other.key" -out "$T/other.crt" 2>/dev/null
cat >"$T/b.conf" <<CONF
workers = 1; control: { socket = "$SOCK"; }; metrics: { listen = "127.0.0.1:0"; };
dtls: { cert = "$T/dtls.crt"; key = "$T/dtls.key"; };
watchdog: { max_start_failures = 3; };
CONF
sed "s|$T/dtls.crt|$T/missing.crt|" "$T/b.conf" >"$T/missing.conf"
sed "s|$T/dtls.key|$T/other.key|" "$T/b.conf" >"$T/mismatch.conf"
out=$("$DCGWD" --check-config "$T/missing.conf" 2>&1) && rc=0 || rc=$?
check "b. --check-config: a missing dtls.cert is an error naming it (exit $rc: $out)" \
    bash -c "[ $rc = 1 ] && [[ '$out' == *'dtls.cert: cannot read $T/missing.crt: No such file'* ]]"
out=$("$DCGWD" --check-config "$T/mismatch.conf" 2>&1) && rc=0 || rc=$?
check "b. --check-config: a key of another certificate is an error (exit $rc: $out)" \
    bash -c "[ $rc = 1 ] && [[ '$out' == *'is not the private key of the certificate'* ]]"
rc=0; timeout 10 "$DCGWD" -c "$T/missing.conf" >"$T/missing.log" 2>&1 || rc=$?
check "b. dcgwd does not start with it (exit $rc)" [ "$rc" = 1 ]

start_dcgwd "$T/b.conf"
ctl watch --json >"$T/events.jsonl" 2>/dev/null &
sleep 0.3
mv "$T/dtls.crt" "$T/dtls.crt.gone" # from now on a new worker cannot read it
pid=$(worker_pid)
kill -9 "$pid"
rc=0; timeout 15 tail --pid="$DCGWD_PID" -f /dev/null || rc=$?
wait "$DCGWD_PID" && drc=0 || drc=$?
DCGWD_PID=""
check "b. dcgwd gave up in time (exit $drc)" bash -c "[ $rc = 0 ] && [ $drc = 1 ]"
check "b. the worker said why it cannot start" \
    grep -q "worker 0 (pid [0-9]*) cannot start: configuration: .*dtls.cert: cannot read $T/dtls.crt: No such file" "$T/dcgwd.log"
check "b. restarts backed off (failed to start ... restarting in 400 ms, then 800 ms)" \
    bash -c "grep 'failed to start (status 78' '$T/dcgwd.log' | grep -q 'restarting in 400 ms' &&
             grep 'failed to start (status 78' '$T/dcgwd.log' | grep -q 'restarting in 800 ms'"
check "b. no worker was killed for it (no signal 9 after the first)" \
    [ "$(grep -c 'signal 9' "$T/dcgwd.log")" = 1 ]
check "b. the fatal message names the cause" \
    grep -q "fatal: worker 0 failed to start 3 times in a row (last: configuration: .*dtls.cert.*); giving up" "$T/dcgwd.log"
wait_for "the watcher ends" 5 bash -c "! kill -0 $! 2>/dev/null" || true
n=$(events worker_lost "e.get('exit_status') == 78 and 'dtls.cert' in e.get('reason', '')" | wc -l)
check "b. worker_lost tells the controller why, for each failed start ($n)" [ "$n" = 3 ]
mv "$T/dtls.crt.gone" "$T/dtls.crt"

# ---- c. a worker that hangs while it starts

cat >"$T/c.conf" <<CONF
workers = 1; control: { socket = "$SOCK"; }; metrics: { listen = "127.0.0.1:0"; };
watchdog: { hang_timeout_ms = 1000; max_start_failures = 2; };
CONF
SHIM="$DCGW_BUILD/dcgw_test_hang_start.so"
check "c. the start-up hang shim is built" test -f "$SHIM"
rm -f "$SOCK"
rc=0
DCGW_TEST_HANG_START=1 LD_PRELOAD="$SHIM" timeout 15 "$DCGWD" -c "$T/c.conf" >"$T/c.log" 2>&1 || rc=$?
check "c. dcgwd killed the hung workers and gave up (exit $rc; 124: it waited forever)" [ "$rc" = 1 ]
check "c. the watchdog named the worker that was not ready" \
    grep -q "worker 0 (pid [0-9]*) not ready [0-9]* ms after its start; killing it" "$T/c.log"
check "c. the fatal message says why" \
    grep -q "failed to start 2 times in a row (last: not ready within watchdog.hang_timeout_ms" "$T/c.log"
check "c. no worker process left behind" bash -c "! pgrep -f -- '--worker' -P $$ >/dev/null"
[ "$FAILED" = 0 ] || { echo "---- c.log"; tail -20 "$T/c.log"; }
finish
