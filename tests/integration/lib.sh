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
