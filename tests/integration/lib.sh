# Shared helpers for integration tests (sourced). Each test gets its own temp dir and
# daemon on a Unix socket inside it; everything is cleaned up on exit.
set -euo pipefail

: "${DCGW_BUILD:?set DCGW_BUILD to the build directory}"
: "${DCGW_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
DCGWD="$DCGW_BUILD/dcgwd"
DCGWCTL="$DCGW_BUILD/dcgwctl"
T=$(mktemp -d /tmp/dcgw-it.XXXXXX)
SOCK="$T/ctl.sock"
DCGWD_PID=""
FAILED=0
PASSED=0

cleanup() {
    [ -n "$DCGWD_PID" ] && kill -9 "$DCGWD_PID" 2>/dev/null || true
    pkill -9 -P "$$" 2>/dev/null || true
    if [ "$FAILED" -ne 0 ] && [ -f "$T/dcgwd.log" ]; then
        echo "---- dcgwd.log (last 40 lines)"; tail -40 "$T/dcgwd.log"
    fi
    rm -rf "$T"
}
trap cleanup EXIT

ctl() { "$DCGWCTL" -s "$SOCK" "$@"; }

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
check() { # check "description" command...
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
    [ "$FAILED" -eq 0 ] || { echo "---- events"; cat "$T/events.jsonl" 2>/dev/null | tail -20; }
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# wait_for "description" seconds command...: polls until the command succeeds.
wait_for() {
    local what=$1 secs=$2; shift 2
    local end=$((SECONDS + secs))
    while [ $SECONDS -lt $end ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for: $what" >&2
    return 1
}

# start_dcgwd CONFIG_FILE: starts the daemon and waits until every worker is ready.
start_dcgwd() {
    "$DCGWD" -c "$1" >"$T/dcgwd.log" 2>&1 &
    DCGWD_PID=$!
    wait_for "control socket" 10 ctl ping
    local n; n=$(ctl --json version | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"]["workers"])')
    wait_for "$n workers ready" 10 bash -c "[ \$(grep -c 'ready (pid' '$T/dcgwd.log') -ge $n ]"
}

# json_get 'expression on j': reads JSON on stdin, prints the expression's value.
json_get() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# netns_reexec "$@": the first thing a test that starts real peers (aiortc, Chromium)
# does after sourcing this file. Re-runs the script in a private network namespace (only
# loopback: nothing leaks to or from the outside world) and PID namespace (when the test
# ends, every helper a peer left, such as Chromium's, ends with it), then brings lo up
# there. Needs root; without it the test fails at once.
netns_reexec() {
    if [ "${DCGW_IT_NETNS:-}" = 1 ]; then
        ip link set lo up
        return
    fi
    if ! unshare -n -p -f --kill-child --mount-proc true 2>/dev/null; then
        echo "not ok - cannot create network and PID namespaces (needs root): unshare -n -p" >&2
        exit 1
    fi
    trap - EXIT
    rm -rf "$T" # the re-run makes its own
    exec unshare -n -p -f --kill-child --mount-proc env DCGW_IT_NETNS=1 bash "$0" "$@"
}

# ---- for the tests with real peers (run netns_reexec first)

PY=/usr/bin/python3 # Debian's, with python3-aiortc (not the pyenv one first on PATH)
PEERS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peers"

# pycheck PREFIX ARGS...: runs the peer script $PYCHECK (dc_check.py unless the test sets
# another) with ARGS; each line it prints is one check.
PYCHECK=dc_check.py
pycheck() {
    local pre=$1 line
    shift
    while IFS= read -r line; do
        case $line in
        "ok "*) ok "$pre ${line#ok }" ;;
        "not ok "*) fail "$pre ${line#not ok }" ;;
        *) fail "$pre $PYCHECK $1: $line" ;;
        esac
    done < <("$PY" "$PEERS/$PYCHECK" "$@" 2>&1)
}
# tap FILE: each line "ok - TEXT" or "not ok - TEXT" of FILE (written by a check script of
# the test) is one check; other lines are printed as they are.
tap() {
    local line
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }" ;;
        "not ok - "*) fail "${line#not ok - }" ;;
        *) printf '%s\n' "$line" ;;
        esac
    done <"$1"
}
CHROMIUM=${DCGW_CHROMIUM:-/usr/bin/chromium}

# start_loopback_dcgwd WORKERS [CONF_LINE...]: dcgwd with WORKERS workers, the data plane
# on 127.0.0.1 (and the lines given), and `dcgwctl watch --json` writing $T/events.jsonl.
start_loopback_dcgwd() {
    local workers=$1
    shift
    {
        echo "workers = $workers;"
        echo "control: { socket = \"$SOCK\"; };"
        echo 'data_plane: { address = "127.0.0.1"; };'
        printf '%s\n' "$@"
    } >"$T/dcgw.conf"
    start_dcgwd "$T/dcgw.conf"
    ctl watch --json >"$T/events.jsonl" 2>"$T/watch.err" &
    sleep 0.2
}

# These print nothing rather than fail, so a missing file fails a check, not the script.
# sdp_attr FILE NAME: the value of the first a=NAME: line.
sdp_attr() { sed -n "s/^a=$2:\([^\r]*\)\r\?\$/\1/p" "$1" 2>/dev/null | head -n1 || true; }
# sdp_candidate FILE: "ADDR:PORT" of the first host candidate.
sdp_candidate() { sed -n 's/^a=candidate:[^ ]* 1 udp [0-9]* \([^ ]*\) \([0-9]*\) typ host.*/\1:\2/p' "$1" 2>/dev/null | head -n1 || true; }
# json_field FILE EXPR: EXPR evaluated on the JSON in FILE (j), printed.
json_field() { "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null || true; }
# field JSON EXPR: EXPR on the JSON text given (j), printed.
field() { "$PY" -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1" 2>/dev/null || true; }
# events KIND [FILTER]: the body of every KIND event in $T/events.jsonl for which FILTER
# (Python on the body, e, to which the event's session and leg are added as "_session"
# and "_leg") is true, as JSON, one a line.
events() { _events "$1" "${2:-True}" all; }
# event SESSION KIND: the first KIND event of SESSION, as events prints it; status 1 if
# there is none.
event() { _events "$2" "e['_session'] == s" first "$1"; }
_events() { # KIND FILTER all|first [SESSION, as s in FILTER]
    "$PY" - "$T/events.jsonl" "$@" <<'PY'
import json, sys
path, kind, cond, which = sys.argv[1:5]
s = sys.argv[5] if len(sys.argv) > 5 else None
for line in open(path):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if kind in ev:
        e = dict(ev[kind], _session=ev.get("session_id"), _leg=ev.get("leg"),
                 _state=ev.get("session_state"))
        if eval(cond, {"e": e, "s": s}):
            print(json.dumps(e))
            if which == "first":
                sys.exit(0)
sys.exit(1 if which == "first" else 0)
PY
}
# deliver FROM TO: a copy of FROM renamed into TO, so a peer polling for TO never reads
# half a file; a missing FROM (dcgw refused the session) leaves TO missing.
deliver() { if cp "$1" "$2.tmp" 2>/dev/null; then mv "$2.tmp" "$2"; fi; }
# wait_peer PID: sets PEER_RC to the peer's exit status (the peers bound their own time).
wait_peer() { PEER_RC=0; wait "$1" || PEER_RC=$?; }
# free_port: a UDP port on 127.0.0.1 nobody uses right now.
free_port() { "$PY" -c 'import socket; s=socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# same_fp FP1 FP2: two "ALGORITHM VALUE" fingerprints are the same (case aside), not empty.
same_fp() { [ -n "$1" ] && [ "${1^^}" = "${2^^}" ]; }
not() { ! "$@"; }

# metrics_events PREFIX [WAIT_S]: after WAIT_S (default 1.2: a worker's push interval) GETs
# the default /metrics (docs/metrics.md) and checks that every family counted from events
# (DTLS handshakes and failures by reason, consent, relay verdicts, avatars) equals the
# events in $T/events.jsonl. Call it when the test's sessions have settled.
metrics_events() {
    local pre=$1
    sleep "${2:-1.2}"
    if ! "$PY" "$PEERS/metrics_check.py" scrape http://127.0.0.1:9745/metrics "$T/metrics-ev.txt"; then
        fail "$pre GET /metrics"
        return
    fi
    PYCHECK=metrics_check.py pycheck "$pre" events "$T/metrics-ev.txt" "$T/events.jsonl"
}

# policy_scenario PREFIX [UE_OPTION...]: the policy scenario (test_policy.sh, docs/policy.md)
# up to the UE's flood: writes the policy $T/policy.json and its patch $T/patch.json, starts
# the UE policy_ue.py (files in $U, with the UE_OPTIONs) and the echo peer policy_echo.py
# (files in $E; markers in $M; their pids in upid and epid) and creates session pol with the
# policy between them, dcgw answering the UE and offering to the echo peer. PREFIX starts
# the names of its checks.
policy_scenario() {
    local pre=${1:+$1 }
    shift
    cat >"$T/policy.json" <<'JSON'
{
  "version": 1,
  "allow_dcep": true,
  "max_channels": 8,
  "rules": [
    {"name": "no-secret", "verdict": "VERDICT_DENY", "label": "secret*"},
    {"name": "chat", "verdict": "VERDICT_ALLOW", "label": "chat", "max_message_size": 1024},
    {"name": "bulk", "verdict": "VERDICT_ALLOW", "label": "bulk",
     "messages_per_sec": 50, "messages_burst": 10}
  ]
}
JSON
    echo '{"version": 2, "rules": [{"name": "bulk", "verdict": "VERDICT_DENY"}]}' >"$T/patch.json"
    U="$T/ue" E="$T/echo" M="$T/markers"
    mkdir -p "$U" "$E" "$M" "$T/dcgw"
    "$PY" "$PEERS/policy_ue.py" "$U/offer.sdp" "$U/answer.sdp" "$U/result.json" "$M" "$@" \
        >"$U/peer.out" 2>"$U/peer.log" &
    upid=$!
    "$PY" "$PEERS/policy_echo.py" "$E/offer.sdp" "$E/answer.sdp" "$E/result.json" "$M/stop" \
        >"$E/peer.out" 2>"$E/peer.log" &
    epid=$!
    wait_for "the UE's offer" 15 test -s "$U/offer.sdp" || true
    check "${pre}dcgw creates session pol with --policy FILE" ctl create --id pol \
        --leg "name=ue,sdp=$U/offer.sdp" --leg name=as,role=offer --policy "$T/policy.json" \
        --sdp-out "$T/dcgw"
    deliver "$T/dcgw/ue.sdp" "$U/answer.sdp"
    deliver "$T/dcgw/as.sdp" "$E/offer.sdp"
    wait_for "the echo peer's answer" 15 test -s "$E/answer.sdp" || true
    check "${pre}dcgwctl update gives the as leg its answer" ctl update pol --leg as --sdp "$E/answer.sdp"
}
