#!/usr/bin/env bash
# RFC 7675 consent expiry on an idle, quiet worker (src/worker/datapath.c: leg deadlines
# more than a second away are rounded up to the whole second and kept in a wheel run once a
# second, so that thousands of idle legs wake the worker once a second, not once each):
# when the peers' consent checks stop, each
# leg still loses consent ice.consent_timeout_ms after its last check, at most a second
# (the rounding) and a little scheduling later. Real peers: Debian's python3-aiortc
# (consent checks every 4-6 s) on loopback, in a private network and PID namespace.
#
#   aiortc UE <=leg ue=> dcgwd (1 worker, consent_timeout_ms 8000) <=leg as=> aiortc echo
#
#   a. the pair connects; the worker goes quiet (nothing but consent checks and heartbeats);
#   b. both peers are stopped (SIGSTOP): no datagram reaches dcgw from then on. The test
#      samples the worker's rx_packets every 0.2 s: the last time it moved bounds every
#      leg's last consent check from above (LAST);
#   c. consent_lost comes for both legs, each no later than LAST + 8000 + 1000 (rounding)
#      + 700 ms (sampling, the quiet worker's 10 ms reads, the event's way out), and no
#      earlier than STOP + 8000 - 6000 (a leg's last check came at most 6 s before the
#      stop), and no datagram arrived between the last check and the expiry.
# It takes about 25 s.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

TIMEOUT_MS=8000

snap() {
    ctl --json stats | json_get \
        'json.dumps({c["name"]: c["value"] for c in j["stats"]["workers"][0]["counters"]})' >"$1"
}
sv() { json_field "$1" "j['$2']"; }
quiet_now() { snap "$T/q.json" && [ "$(sv "$T/q.json" quiet_entered)" -gt "$(sv "$T/q.json" quiet_left)" ]; }
opened() {
    [ "$(events channel_opened "e['_session'] == '$1' and e['channel'].get('label') == 'chat'" | wc -l)" -ge 2 ]
}
lost_both() { [ "$(events consent_lost "e['_session'] == 'c1'" | wc -l)" -ge 2 ]; }
now_ms() { date +%s%3N; }

run() {
    local D="$T/c1"
    mkdir -p "$D/dcgw"
    start_loopback_dcgwd 1 "ice: { consent_timeout_ms = $TIMEOUT_MS; };"
    "$PY" "$PEERS/dc_aiortc.py" --role echo --offer-out "$D/as-offer.sdp" --answer-in "$D/as-answer.sdp" \
        --result "$D/as.json" --stop-file "$D/stop" --timeout 60 2>"$D/as.log" &
    local as=$!
    "$PY" "$PEERS/dc_aiortc.py" --role ue --offer-out "$D/ue-offer.sdp" --answer-in "$D/ue-answer.sdp" \
        --result "$D/ue.json" --open chat:x-chat --script-max 64 --start-file "$D/go" \
        --stop-file "$D/stop" --timeout 60 2>"$D/ue.log" &
    local ue=$!
    wait_for "the aiortc offers" 10 test -s "$D/ue-offer.sdp" -a -s "$D/as-offer.sdp" || true
    ctl create --policy "$DCGW_SRC/config/examples/policy-allow-all.json" --id c1 \
        --leg "name=ue,sdp=$D/ue-offer.sdp" --leg "name=as,sdp=$D/as-offer.sdp" \
        --sdp-out "$D/dcgw" >"$T/create.out"
    deliver "$D/dcgw/as.sdp" "$D/as-answer.sdp"
    deliver "$D/dcgw/ue.sdp" "$D/ue-answer.sdp"
    check "a. chat opened on both legs" wait_for "channels" 15 opened c1
    check "a. the worker is quiet (only consent checks and heartbeats)" wait_for "quiet" 10 quiet_now

    # ---- b. the peers stop: no check from either from now on
    kill -STOP "$ue" "$as"
    local stop last p prev=-1
    stop=$(now_ms) last=$stop
    local end=$((stop + TIMEOUT_MS + 6000))
    while [ "$(now_ms)" -lt "$end" ] && ! lost_both; do
        snap "$T/s.json"
        p=$(sv "$T/s.json" rx_packets)
        if [ "$p" != "$prev" ]; then
            prev=$p
            last=$(now_ms)
        fi
        sleep 0.2
    done
    # rx_packets when the first sample was taken may have counted datagrams in flight at the
    # stop: LAST is the time of the last change seen, never earlier than the stop
    check "c. consent lost on both legs" lost_both
    local lo=$((stop + TIMEOUT_MS - 6000)) hi=$((last + TIMEOUT_MS + 1000 + 700))
    local t
    for t in $("$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if "consent_lost" in ev and ev.get("session_id") == "c1":
        print(ev["time_unix_ms"])' "$T/events.jsonl"); do
        check "c. consent lost at stop+$((t - stop)) ms, last datagram at stop+$((last - stop)) ms: within [$((lo - stop)), $((hi - stop))] ms of the stop" \
            [ "$t" -ge "$lo" -a "$t" -le "$hi" ]
    done
    kill -CONT "$ue" "$as" 2>/dev/null || true
    touch "$D/stop"
    kill "$ue" "$as" 2>/dev/null || true
    wait "$ue" 2>/dev/null || true
    wait "$as" 2>/dev/null || true
    check "no error in dcgwd's log" not grep -qE '\] error ' "$T/dcgwd.log"
}

run
finish
