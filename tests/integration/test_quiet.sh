#!/usr/bin/env bash
# Quiet mode of a dcgwd worker (docs/sctp.md "Idle workers", src/worker/datapath.c) with real
# peers: Debian's python3-aiortc on loopback, in a private network (and PID) namespace.
#
#   +--------------------------- unshare -n -p (this script) ---------------------------+
#   |  s1: aiortc UE (--start-file go) <=leg ue=> dcgwd (1 worker) <=leg as=> aiortc echo|
#   |  s2: aiortc UE                   <=leg ue=>   same worker    <=leg as=> aiortc echo|
#   |  dcgwctl --json stats (worker 0: quiet_entered, quiet_left, rx_timed_reads)        |
#   +------------------------------------------------------------------------------------+
#
# A worker goes quiet after DCGW_SCTP_IDLE_AFTER_MS (2 s) of nothing but consent checks
# and heartbeats; a worker with no session at all is quiet from the start, so every
# check below is relative to the counters sampled just before. The worker is quiet now
# when quiet_entered > quiet_left (each leave follows an enter).
#   a. s1 connected (channels open on both legs) and idle: the worker goes quiet again
#      within ~10 s; then consent checks arrive (rx_packets grows) and are read by the
#      poll timer (rx_timed_reads grows) while quiet_left stays where it was;
#   b. the UE's start file appears: its whole script (a burst of 0..1000 bytes, then
#      16384, 65536 and 8192 bytes, text and binary) comes back byte-exact, in order,
#      typed, and so does what the echo peer got;
#      the data ended quiet mode (quiet_left grew);
#   c. the worker goes quiet again; s2 is created and its peers connect (ICE, DTLS, SCTP)
#      while the worker is quiet: the new leg's first check ends quiet mode and s2's
#      script is echoed too;
#   d. quiet_left <= quiet_entered, no error in dcgwd's log, no worker lost.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

SMAX=8192 # --script-max: the script is over in a second or so

# must DESCRIPTION COMMAND...: a check the rest depends on; returns the command's status.
must() {
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; return 1; fi
}
# snap FILE: worker 0's counters now, as {name: value} JSON in FILE.
snap() {
    ctl --json stats | json_get \
        'json.dumps({c["name"]: c["value"] for c in j["stats"]["workers"][0]["counters"]})' >"$1"
}
# sv FILE NAME: counter NAME of a snapshot (empty if the snapshot is missing).
sv() { json_field "$1" "j['$2']"; }
# quiet_now: the worker is in quiet mode right now.
quiet_now() { snap "$T/q.json" && [ "$(sv "$T/q.json" quiet_entered)" -gt "$(sv "$T/q.json" quiet_left)" ]; }
# quiet_again N: the worker is quiet now, and was quiet more than N times in all.
quiet_again() { quiet_now && [ "$(sv "$T/q.json" quiet_entered)" -gt "$1" ]; }
# grew FILE NAME: counter NAME is now above its value in snapshot FILE.
grew() { snap "$T/g.json" && [ "$(sv "$T/g.json" "$2")" -gt "$(sv "$1" "$2")" ]; }
# opened SESSION: channel_opened on both legs of SESSION for chat.
opened() {
    [ "$(events channel_opened "e['_session'] == '$1' and e['channel'].get('label') == 'chat'" | wc -l)" -ge 2 ]
}
create() { ctl create --policy "$DCGW_SRC/config/examples/policy-allow-all.json" "$@" >"$T/create.out"; }
aiortc() { "$PY" "$PEERS/dc_aiortc.py" "$@"; }
# start_pair DIR TIMEOUT [UE OPTION...]: an echo and a UE (channel chat) offering to dcgw.
start_pair() {
    local d=$1 to=$2
    shift 2
    mkdir -p "$d/dcgw"
    aiortc --role echo --offer-out "$d/as-offer.sdp" --answer-in "$d/as-answer.sdp" \
        --result "$d/as.json" --stop-file "$d/stop" --timeout $((to + 3)) 2>"$d/as.log" &
    PAIR_AS=$!
    aiortc --role ue --offer-out "$d/ue-offer.sdp" --answer-in "$d/ue-answer.sdp" \
        --result "$d/ue.json" --open chat:x-chat --script-max $SMAX --stop-file "$d/stop" \
        --timeout "$to" "$@" 2>"$d/ue.log" &
    PAIR_UE=$!
    wait_for "the aiortc offers in $d" 10 test -s "$d/ue-offer.sdp" -a -s "$d/as-offer.sdp" || true
}
# answer SESSION DIR: dcgw answers both offers (only the SDP, nothing sent yet).
answer() {
    create --id "$1" --leg "name=ue,sdp=$2/ue-offer.sdp" --leg "name=as,sdp=$2/as-offer.sdp" \
        --sdp-out "$2/dcgw"
}
deliver_answers() {
    deliver "$1/dcgw/as.sdp" "$1/as-answer.sdp"
    deliver "$1/dcgw/ue.sdp" "$1/ue-answer.sdp"
}
# end_pair SESSION DIR UE_PID AS_PID [kill]: close the session, stop the peers (kill: at
# once, a set-up that cannot go on), wait for them.
end_pair() {
    ctl close "$1" >/dev/null 2>&1 || true
    touch "$2/stop"
    [ "${5:-}" != kill ] || kill "$3" "$4" 2>/dev/null || true
    wait "$3" 2>/dev/null || true
    wait "$4" 2>/dev/null || true
}

run() {
    local S1="$T/s1" S2="$T/s2"
    start_loopback_dcgwd 1
    snap "$T/start.json"

    # ---- a. s1 connected, idle: quiet mode, consent checks read by the timer
    start_pair "$S1" 32 --start-file "$S1/go"
    s1_ue=$PAIR_UE s1_as=$PAIR_AS
    must "s1: dcgw answers both aiortc offers" answer s1 "$S1" || { end_pair s1 "$S1" $s1_ue $s1_as kill; return; }
    deliver_answers "$S1"
    must "s1: chat opened on both legs" wait_for "s1 channels" 10 opened s1 ||
        { end_pair s1 "$S1" $s1_ue $s1_as kill; return; }
    snap "$T/connected.json"
    local e0; e0=$(sv "$T/connected.json" quiet_entered)
    check "a. the new session ended the quiet mode dcgwd started in (quiet_left $(sv "$T/start.json" quiet_left) -> $(sv "$T/connected.json" quiet_left))" \
        [ "$(sv "$T/connected.json" quiet_left)" -gt "$(sv "$T/start.json" quiet_left)" ]
    must "a. s1 idle: the worker is quiet again within 10 s" wait_for "quiet" 10 quiet_again "$e0" ||
        { end_pair s1 "$S1" $s1_ue $s1_as kill; return; }
    snap "$T/quiet1.json"
    wait_for "a consent check while quiet" 8 grew "$T/quiet1.json" rx_packets || true
    snap "$T/quiet2.json"
    local p1 p2 r1 r2
    p1=$(sv "$T/quiet1.json" rx_packets) p2=$(sv "$T/quiet2.json" rx_packets)
    r1=$(sv "$T/quiet1.json" rx_timed_reads) r2=$(sv "$T/quiet2.json" rx_timed_reads)
    check "a. datagrams (consent checks) arrived while quiet (rx_packets $p1 -> $p2)" [ "$p2" -gt "$p1" ]
    check "a. the socket is read by the poll timer (rx_timed_reads $r1 -> $r2)" [ "$r2" -gt "$r1" ]
    check "a. and the worker stayed quiet (quiet_entered/left $(sv "$T/quiet1.json" quiet_entered)/$(sv "$T/quiet1.json" quiet_left) -> $(sv "$T/quiet2.json" quiet_entered)/$(sv "$T/quiet2.json" quiet_left))" \
        [ "$(sv "$T/quiet2.json" quiet_left)" = "$(sv "$T/quiet1.json" quiet_left)" -a \
            "$(sv "$T/quiet2.json" quiet_entered)" = "$(sv "$T/quiet1.json" quiet_entered)" ]
    check "a. the UE has sent nothing yet (no result)" not test -e "$S1/ue.json"

    # ---- b. the script while quiet: every message back, quiet mode left
    touch "$S1/go"
    wait_for "s1 UE's result" 15 test -s "$S1/ue.json" || true
    snap "$T/after1.json"
    pycheck "b. s1:" peer "$S1/ue.json" "aiortc UE (script sent while the worker was quiet)"
    check "b. the data ended quiet mode (quiet_left $(sv "$T/quiet2.json" quiet_left) -> $(sv "$T/after1.json" quiet_left))" \
        [ "$(sv "$T/after1.json" quiet_left)" -gt "$(sv "$T/quiet2.json" quiet_left)" ]

    # ---- c. quiet again, then a second session connects through the quiet worker
    local e1; e1=$(sv "$T/after1.json" quiet_entered)
    start_pair "$S2" 20
    s2_ue=$PAIR_UE s2_as=$PAIR_AS
    must "s2: dcgw answers both aiortc offers" answer s2 "$S2" || { end_pair s2 "$S2" $s2_ue $s2_as kill; return; }
    check "c. s1 idle again: the worker is quiet within 10 s" wait_for "quiet again" 10 quiet_again "$e1"
    snap "$T/before2.json"
    check "c. the worker is quiet when s2's peers start ICE (entered $(sv "$T/before2.json" quiet_entered), left $(sv "$T/before2.json" quiet_left))" \
        [ "$(sv "$T/before2.json" quiet_entered)" -gt "$(sv "$T/before2.json" quiet_left)" ]
    deliver_answers "$S2"
    check "c. s2: chat opened on both legs" wait_for "s2 channels" 12 opened s2
    wait_for "s2 UE's result" 15 test -s "$S2/ue.json" || true
    snap "$T/after2.json"
    pycheck "c. s2:" peer "$S2/ue.json" "aiortc UE of the session created while quiet"
    check "c. s2 ended quiet mode (quiet_left $(sv "$T/before2.json" quiet_left) -> $(sv "$T/after2.json" quiet_left))" \
        [ "$(sv "$T/after2.json" quiet_left)" -gt "$(sv "$T/before2.json" quiet_left)" ]

    end_pair s1 "$S1" $s1_ue $s1_as
    end_pair s2 "$S2" $s2_ue $s2_as
    pycheck "b. s1:" received "$S1/as.json" "aiortc echo of s1" chat chat $SMAX
    pycheck "c. s2:" received "$S2/as.json" "aiortc echo of s2" chat chat $SMAX
}

if must "Debian python3 has aiortc" "$PY" -c 'import aiortc, aioice'; then
    run
fi

# ---- d. consistency
snap "$T/end.json"
qe=$(sv "$T/end.json" quiet_entered) ql=$(sv "$T/end.json" quiet_left)
echo "# worker 0 at the end: $(cat "$T/end.json" 2>/dev/null)"
check "d. quiet_left <= quiet_entered ($ql <= $qe)" test "${ql:-1}" -le "${qe:--1}"
check "d. no error in dcgwd's log" not grep -qE '\] error ' "$T/dcgwd.log"
check "d. no worker_lost event" not grep -q '"worker_lost"' "$T/events.jsonl"
grep -E '\] warn ' "$T/dcgwd.log" | tail -5 | sed 's/^/# warn: /' || true

if [ "$FAILED" -ne 0 ]; then
    for f in "$T"/s?/*.log; do [ -s "$f" ] && { echo "---- $f"; tail -15 "$f"; }; done
fi
finish
