#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds dcgw, and shows it carrying real WebRTC data
# channels: inside a private network namespace (loopback only: nothing leaves this
# machine) it starts dcgwd with two workers, connects an aiortc UE and an aiortc echo
# server through it (a DCEP channel and an SDP-negotiated one, a=dcmap), prints the
# messages going through and the per-channel counters dcgwctl reports, does the same
# with headless Chromium as the UE when Chromium is installed, then closes the sessions
# and stops dcgwd with SIGTERM. About 20 s once built.
# Usage: tools/demo.sh            (as root, or with sudo available)
# Environment: BUILD (build directory, default build), JOBS (default nproc),
# DCGW_CHROMIUM (default /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
# Data channels pass only what a policy allows (default deny): the demo allows everything.
POLICY=$PWD/config/examples/policy-allow-all.json
BUILD=${BUILD:-build}

if [ "${DCGW_DEMO_NETNS:-}" != 1 ]; then
    JOBS=${JOBS:-$(nproc)}
    echo "==== packages"
    bash tools/install-deps.sh test
    echo "==== build"
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j"$JOBS" >/dev/null
    echo "built $BUILD/dcgwd and $BUILD/dcgwctl"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "==== a private network namespace (only 127.0.0.1) and PID namespace for the demo"
    exec $SUDO unshare -n -p -f --kill-child --mount-proc env DCGW_DEMO_NETNS=1 BUILD="$BUILD" \
        bash "$0" "$@"
fi

ip link set lo up
PY=/usr/bin/python3 # Debian's, with python3-aiortc
PEERS=tests/integration/peers
CHROMIUM=${DCGW_CHROMIUM:-/usr/bin/chromium}
D=$(mktemp -d /tmp/dcgw-demo.XXXXXX)
SOCK=$D/control.sock
cat >"$D/dcgw.conf" <<CONF
workers = 2;
control: { socket = "$SOCK"; };
data_plane: { address = "127.0.0.1"; };
CONF
dcgwctl() { "$BUILD"/dcgwctl -s "$SOCK" "$@"; }
ctl() { echo "\$ dcgwctl $*"; dcgwctl "$@"; echo; }
# get ID: the session without its SDP (dcgwctl get prints that too).
get() { echo "\$ dcgwctl get $1"; dcgwctl get "$1" | grep -v -e '^      ' -e 'local SDP:'; echo; }
wait_file() { # wait_file SECONDS FILE...: until every FILE is non-empty
    local end=$((SECONDS + $1)) f ok
    shift
    while [ $SECONDS -lt $end ]; do
        ok=1
        for f in "$@"; do [ -s "$f" ] || ok=0; done
        [ $ok = 1 ] && return 0
        sleep 0.1
    done
    echo "(timed out waiting for $*)"
    return 1
}
deliver() { cp "$1" "$2.tmp" && mv "$2.tmp" "$2"; }

"$BUILD"/dcgwd -c "$D/dcgw.conf" 2>"$D/dcgwd.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$D"' EXIT
for _ in $(seq 50); do dcgwctl ping >/dev/null 2>&1 && break; sleep 0.1; done
sleep 0.3
dcgwctl watch >"$D/events.log" 2>&1 &
sleep 0.2
echo "==== dcgwd is running (pid $PID); talking to it with dcgwctl"
ctl version

echo "==== data channels: aiortc UE <-> dcgw <-> aiortc echo server"
echo "(both peers offer; dcgw answers each and bridges the channels of the two legs)"
echo
S=$D/s1
mkdir -p "$S/dcgw"
"$PY" $PEERS/dc_aiortc.py --role echo --offer-out "$S/as-offer.sdp" --answer-in "$S/as-answer.sdp" \
    --result "$S/as.json" --negotiated 1000:app:demo-app --max-message-size 262144 \
    --stop-file "$S/stop" --timeout 30 2>"$S/as.log" &
AS=$!
"$PY" $PEERS/dc_demo.py --offer-out "$S/ue-offer.sdp" --answer-in "$S/ue-answer.sdp" \
    --negotiated 1000:app:demo-app --result "$S/ue.done" --stop-file "$S/stop" --timeout 25 \
    >"$S/ue.out" 2>"$S/ue.log" &
UE=$!
wait_file 10 "$S/ue-offer.sdp" "$S/as-offer.sdp" || true
echo "\$ dcgwctl create --id demo-1 --tag 'UE to application server' --policy policy-allow-all.json --leg name=ue,sdp=ue-offer.sdp --leg name=as,sdp=as-offer.sdp --sdp-out DIR"
dcgwctl create --id demo-1 --tag "UE to application server" --policy "$POLICY" --leg "name=ue,sdp=$S/ue-offer.sdp" \
    --leg "name=as,sdp=$S/as-offer.sdp" --sdp-out "$S/dcgw" | grep -v -e '^      ' -e 'local SDP:' || true
echo "(the answers: $(grep -h -e '^a=max-message-size' -e '^a=dcmap' "$S/dcgw/ue.sdp" | tr -d '\r' | paste -sd' '))"
echo
deliver "$S/dcgw/as.sdp" "$S/as-answer.sdp"
deliver "$S/dcgw/ue.sdp" "$S/ue-answer.sdp"
wait_file 20 "$S/ue.done" || true
cat "$S/ue.out"
echo
get demo-1

if [ -x "$CHROMIUM" ]; then
    echo "==== headless Chromium as the UE, the same aiortc echo server behind dcgw"
    echo "(dcgw offers to the echo server this time: --leg name=as,role=offer, then update)"
    echo
    C=$D/s2
    mkdir -p "$C/dcgw"
    "$PY" $PEERS/dc_aiortc.py --role echo --offer-in "$C/as-offer.sdp" --answer-out "$C/as-answer.sdp" \
        --result "$C/as.json" --negotiated 1000:app:demo-app --max-message-size 262144 \
        --stop-file "$C/stop" --timeout 40 2>"$C/as.log" &
    "$PY" $PEERS/dc_chromium.py --role ue --offer-out "$C/ue-offer.sdp" --answer-in "$C/ue-answer.sdp" \
        --result "$C/ue.json" --open chat:demo-chat --negotiated 1000:app:demo-app \
        --stop-file "$C/stop" --timeout 35 --chromium "$CHROMIUM" 2>"$C/ue.log" &
    CH=$!
    if wait_file 20 "$C/ue-offer.sdp"; then
        echo "\$ dcgwctl create --id demo-2 --policy policy-allow-all.json --leg name=ue,sdp=chromium-offer.sdp --leg name=as,role=offer --sdp-out DIR"
        dcgwctl create --id demo-2 --policy "$POLICY" --leg "name=ue,sdp=$C/ue-offer.sdp" --leg name=as,role=offer \
            --sdp-out "$C/dcgw" | grep -v -e '^      ' -e 'local SDP:' || true
        deliver "$C/dcgw/as.sdp" "$C/as-offer.sdp"
        wait_file 10 "$C/as-answer.sdp" || true
        echo "\$ dcgwctl update --leg as --sdp as-answer.sdp demo-2"
        dcgwctl update --leg as --sdp "$C/as-answer.sdp" demo-2 | head -3 || true
        deliver "$C/dcgw/ue.sdp" "$C/ue-answer.sdp"
        wait_file 30 "$C/ue.json" || true
        echo
        "$PY" - "$C/ue.json" <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))
print("Chromium UE (it may send up to %s bytes per message):" % r.get("max_message_size"))
for c in r["channels"]:
    print("  channel %-5s %-10s stream %-4s sent %2s messages (%s B), %s/%s echoes back: %s" % (
        c["label"], "negotiated" if c.get("negotiated") else "DCEP", c.get("id"), c.get("tx"),
        c.get("tx_bytes"), c.get("rx"), c.get("expected"),
        "byte-exact, in order, typed" if not c.get("problem") else c["problem"]))
PY
        echo
        get demo-2
        ctl close demo-2
    fi
    touch "$C/stop"
    wait $CH 2>/dev/null || true
else
    echo "==== (no Chromium at $CHROMIUM: the Chromium part is skipped)"
fi

ctl list
ctl stats
echo "\$ curl -s http://127.0.0.1:9745/metrics | grep ...   # Prometheus (docs/metrics.md)"
sleep 1.2 # a push interval: the workers' latest values are in
curl -s http://127.0.0.1:9745/metrics |
    grep -E '^dcgw_(sessions\{.*"active"|dc_messages_total|dtls_handshakes_total|channels_open\{.*"application")' || true
echo
ctl close demo-1
touch "$S/stop"
wait $UE $AS 2>/dev/null || true

echo "==== SIGTERM: dcgwd closes its sessions and exits"
kill -TERM $PID
wait $PID && echo "dcgwd exited with status 0"
sleep 0.2
echo
echo "==== events seen by 'dcgwctl watch' during the demo"
cat "$D/events.log"
echo
echo "==== dcgwd log (warnings and up)"
grep -v -e ' info ' -e ' debug ' "$D/dcgwd.log" || echo "(none)"
