#!/usr/bin/env bash
# Data channels through dcgw between real WebRTC stacks nobody here wrote: Debian's
# python3-aiortc and headless Chromium, on loopback, in a private network (and PID)
# namespace. dcgw terminates SCTP on both legs of a session and bridges the channels:
#
#   +----------------------- unshare -n -p (this script) ------------------------+
#   |  a. aiortc UE   <=leg ue=> dcgwd <=leg as=> aiortc echo   (dcgw answers both)|
#   |  e. aiortc UE (a=max-message-size 65536) <=> dcgwd <=> aiortc echo          |
#   |  b. Chromium UE <=leg ue=> dcgwd <=leg as=> aiortc echo   (dcgw offers to as)|
#   |  c. Chromium A  <=leg a==> dcgwd <=leg b==> aiortc B      (person to person) |
#   |  f. aiortc UE (leaves first) <=> dcgwd <=> aiortc echo                      |
#   |  dcgwctl watch --json -> events.jsonl; dcgwctl --json get / stats / close    |
#   +-----------------------------------------------------------------------------+
#
# Each UE opens a DCEP channel (label + subprotocol) and a negotiated one (id 1000, with
# the a=dcmap line added to the SDP dcgw gets on both legs) and sends text, binary and
# empty messages of 0..1000 bytes back to back, then 16384, 65536 and 262144 bytes
# (dcgw's max-message-size); every message must come back (echo) or arrive (person to
# person) byte-exact, in order, with its type. In a., b. and c. the same association
# also carries the 3GPP bootstrap ids 0, 10, 100 and 110 as negotiated channels (their
# messages up to 4096 bytes), each checked the same way. aiortc also sends one message of 262145
# bytes, which dcgw must refuse and count while the channel keeps working. dcgw's side:
# channel_opened on both legs, per-channel counters in `dcgwctl get` and in
# session_closed equal to what the peers counted. Details: docs/interop.md.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

MAX=262144 # dcgw's sctp.max_message_size (default), advertised in its SDP
NEG=1000:app:x-app
# The 3GPP bootstrap stream ids (TS 26.114 §6.2.10: 0, 10, 100, 110) as negotiated channels
# (subprotocol http, a=dcmap) on the same association as id 1000, in set-ups a, b and c
# (issue 17: sparse stream ids on one association). Bridged like any other (no bootstrap
# binding, docs/bootstrap.md); their scripts end at 4096 bytes, after 16384 and 65536.
BOOT_IDS="0 10 100 110"
CHANS=(--negotiated $NEG)
for id in $BOOT_IDS; do
    CHANS+=(--negotiated "$id:bootstrap-$id:http" --script-max-for "bootstrap-$id:4096")
done

start_loopback_dcgwd 2 "sctp: { max_message_size = $MAX; };"

# ---- helpers

# must DESCRIPTION COMMAND...: a check the rest depends on; returns the command's status.
must() {
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; return 1; fi
}
# abandon DIR PID...: a set-up cannot go on: its peers are stopped at once (they would
# wait for their timeouts) and the checks after this point are not run.
abandon() {
    local dir=$1; shift
    touch "$dir/stop"
    kill "$@" 2>/dev/null || true
    wait_peers "$@"
    fail "$(basename "$dir"). the rest of this set-up was not run"
}

# Default deny: every session gets the allow-all example policy (docs/policy.md).
create() { ctl create --policy "$DCGW_SRC/config/examples/policy-allow-all.json" "$@" >"$T/create.out"; }
aiortc() { "$PY" "$PEERS/dc_aiortc.py" "$@"; }
chromium() { "$PY" "$PEERS/dc_chromium.py" --chromium "$CHROMIUM" "$@"; }
# all_have PATTERN FILE...: every FILE has a line matching PATTERN.
all_have() { local p=$1 f; shift; for f in "$@"; do grep -q "$p" "$f" || return 1; done; }
# chan_id RESULT LABEL: the stream id of the peer's channel LABEL.
chan_id() { json_get "next(c['id'] for c in j['channels'] if c['label'] == '$2')" <"$1" 2>/dev/null || true; }
# wait_peers PID...: waits for the peers (they bound their own time).
wait_peers() { local p; for p in "$@"; do wait "$p" || true; done; }
# finish_session SESSION DIR: dcgwctl get, close, session_closed, then the peers stop.
finish_session() {
    ctl --json get "$1" >"$2/get.json" || true
    check "$1: dcgwctl close" ctl close "$1"
    wait_for "session_closed of $1" 5 event "$1" session_closed || true
    touch "$2/stop"
}
refused_in_log() { grep -c "over max-message-size" "$T/dcgwd.log" || true; }
# all_dcmaps FILE...: every FILE has the a=dcmap line of id 1000 and of each bootstrap id.
all_dcmaps() { local id; for id in 1000 $BOOT_IDS; do all_have "^a=dcmap:$id " "$@" || return 1; done; }

# ---- a. aiortc UE <-> dcgw <-> aiortc echo; dcgw answers both offers
setup_a() {
    A="$T/a"; mkdir -p "$A/dcgw"
    aiortc --role echo --offer-out "$A/as-offer.sdp" --answer-in "$A/as-answer.sdp" \
        --result "$A/as.json" "${CHANS[@]}" --max-message-size $MAX --stop-file "$A/stop" \
        --timeout 18 2>"$A/as.log" &
    a_as=$!
    aiortc --role ue --offer-out "$A/ue-offer.sdp" --answer-in "$A/ue-answer.sdp" \
        --result "$A/ue.json" --open chat:x-chat --open-lossy lossy:x-lossy "${CHANS[@]}" \
        --max-message-size $MAX --oversize chat:$((MAX + 1)) --stop-file "$A/stop" \
        --timeout 15 2>"$A/ue.log" &
    a_ue=$!
    wait_for "the aiortc offers" 10 test -s "$A/ue-offer.sdp" -a -s "$A/as-offer.sdp" || true
    check "a. both offers carry a=dcmap:1000 and a=dcmap:0/10/100/110" \
        all_dcmaps "$A/ue-offer.sdp" "$A/as-offer.sdp"
    must "a. dcgw answers both aiortc offers" create --id a --leg "name=ue,sdp=$A/ue-offer.sdp" \
        --leg "name=as,sdp=$A/as-offer.sdp" --sdp-out "$A/dcgw" ||
        { abandon "$A" $a_ue $a_as; return; }
    check "a. dcgw's answers advertise a=max-message-size:$MAX" \
        all_have "^a=max-message-size:$MAX" "$A/dcgw/ue.sdp" "$A/dcgw/as.sdp"
    check "a. dcgw's answers keep a=dcmap:1000 and a=dcmap:0/10/100/110" \
        all_dcmaps "$A/dcgw/ue.sdp" "$A/dcgw/as.sdp"
    deliver "$A/dcgw/as.sdp" "$A/as-answer.sdp"
    deliver "$A/dcgw/ue.sdp" "$A/ue-answer.sdp"
    wait_for "the aiortc UE's result" 15 test -s "$A/ue.json" || true
    finish_session a "$A"
    wait_peers $a_ue $a_as
    pycheck a. peer "$A/ue.json" "aiortc UE"
    pycheck a. received "$A/as.json" "aiortc echo" chat chat $MAX
    pycheck a. twin "$A/as.json" "aiortc echo" chat x-chat true -
    pycheck a. twin "$A/as.json" "aiortc echo" lossy x-lossy false 2
    pycheck a. opened "$T/events.jsonl" a "ue=$A/ue.json" "as=$A/as.json"
    pycheck a. counters get "$A/get.json" a "ue=$A/ue.json" "as=$A/as.json"
    pycheck a. counters closed "$T/events.jsonl" a "ue=$A/ue.json" "as=$A/as.json"
    pycheck a. kinds "$A/get.json"
    # d. the message over the max: refused, counted, and the channel kept working (the large
    # messages after it came back, checked above).
    check "d. aiortc sent a message of $((MAX + 1)) bytes on chat" \
        test "$(json_get 'next(c["oversize_sent"] for c in j["channels"] if c["label"] == "chat")' <"$A/ue.json" 2>/dev/null)" = $((MAX + 1))
    check "d. dcgwd refused it (its log says 'over max-message-size')" [ "$(refused_in_log)" -ge 1 ]
    ue_chat=$(chan_id "$A/ue.json" chat)
    pycheck d. dropped "$A/get.json" ue "$ue_chat" 1 "the refused message"
}

# ---- e. an aiortc UE with aiortc's own a=max-message-size:65536 (RFC 8841 §6: dcgw
# takes up to what it advertised, 262144, and sends at most 65536 to this UE)
setup_e() {
    E="$T/e"; mkdir -p "$E/dcgw"
    aiortc --role echo --offer-out "$E/as-offer.sdp" --answer-in "$E/as-answer.sdp" \
        --result "$E/as.json" --max-message-size $MAX --stop-file "$E/stop" --timeout 15 \
        2>"$E/as.log" &
    e_as=$!
    aiortc --role ue --offer-out "$E/ue-offer.sdp" --answer-in "$E/ue-answer.sdp" \
        --result "$E/ue.json" --open chat:x-chat --script-max 100000 --expect-max 65536 \
        --stop-file "$E/stop" --timeout 12 2>"$E/ue.log" &
    e_ue=$!
    wait_for "the aiortc offers" 10 test -s "$E/ue-offer.sdp" -a -s "$E/as-offer.sdp" || true
    check "e. the UE offers a=max-message-size:65536" [ "$(sdp_attr "$E/ue-offer.sdp" max-message-size)" = 65536 ]
    must "e. dcgw answers both" create --id e --leg "name=ue,sdp=$E/ue-offer.sdp" \
        --leg "name=as,sdp=$E/as-offer.sdp" --sdp-out "$E/dcgw" ||
        { abandon "$E" $e_ue $e_as; return; }
    check "e. dcgw's answer to the UE advertises $MAX" [ "$(sdp_attr "$E/dcgw/ue.sdp" max-message-size)" = $MAX ]
    deliver "$E/dcgw/as.sdp" "$E/as-answer.sdp"
    deliver "$E/dcgw/ue.sdp" "$E/ue-answer.sdp"
    wait_for "the aiortc UE's result" 12 test -s "$E/ue.json" || true
    # The UE is done once it has every echo it can take; the two 100000-byte echoes it
    # cannot may still be on their way to dcgw: wait for dcgw to have refused them.
    wait_for "dcgw refused both oversize echoes" 5 bash -c \
        "'$DCGWCTL' -s '$SOCK' --json get e | grep -q '\"dropped_messages\": 2'" || true
    finish_session e "$E"
    wait_peers $e_ue $e_as
    pycheck e. peer "$E/ue.json" "aiortc UE (a=max-message-size:65536, expects the echoes up to 65536 only)"
    pycheck e. received "$E/as.json" "aiortc echo (dcgw took the UE's 100000-byte messages)" chat chat 100000
    e_chat=$(chan_id "$E/ue.json" chat)
    pycheck e. dropped "$E/get.json" ue "$e_chat" 2 "the two 100000-byte echoes dcgw must not send to this UE"
    pycheck e. counters closed "$T/events.jsonl" e "ue=$E/ue.json" "as=$E/as.json"
}

# ---- b. Chromium UE <-> dcgw <-> aiortc echo; dcgw offers to the echo (role=offer)
setup_b() {
    B="$T/b"; mkdir -p "$B/dcgw"
    aiortc --role echo --offer-in "$B/as-offer.sdp" --answer-out "$B/as-answer.sdp" \
        --result "$B/as.json" "${CHANS[@]}" --max-message-size $MAX --stop-file "$B/stop" \
        --timeout 28 2>"$B/as.log" &
    b_as=$!
    chromium --role ue --offer-out "$B/ue-offer.sdp" --answer-in "$B/ue-answer.sdp" \
        --result "$B/ue.json" --open chat:x-chat --open-lossy lossy:x-lossy "${CHANS[@]}" \
        --stop-file "$B/stop" --timeout 25 --log "$B/chromium.log" 2>"$B/ue.log" &
    b_ue=$!
    wait_for "Chromium's offer" 20 test -s "$B/ue-offer.sdp" || true
    must "b. dcgw answers Chromium and offers to the echo" create --id b \
        --leg "name=ue,sdp=$B/ue-offer.sdp" --leg name=as,role=offer --sdp-out "$B/dcgw" ||
        { abandon "$B" $b_ue $b_as; return; }
    check "b. dcgw's offer to the echo carries the a=dcmap:1000 of the UE leg" \
        grep -q '^a=dcmap:1000 label="app";subprotocol="x-app"' "$B/dcgw/as.sdp"
    check "b. and its a=dcmap:0/10/100/110" all_dcmaps "$B/dcgw/as.sdp"
    deliver "$B/dcgw/as.sdp" "$B/as-offer.sdp"
    wait_for "the echo's answer" 10 test -s "$B/as-answer.sdp" || true
    # The documented form is "update ID --leg NAME --sdp FILE"; options first also works.
    rc=0; ctl update b --leg as --sdp "$B/as-answer.sdp" >"$B/update.out" 2>&1 || rc=$?
    check "b. dcgwctl update b --leg as --sdp FILE (as in its --help) takes the answer (exit $rc: $(head -c 120 "$B/update.out"))" [ "$rc" = 0 ]
    [ "$rc" = 0 ] || check "b. dcgwctl update --leg as --sdp FILE b takes the answer" \
        ctl update --leg as --sdp "$B/as-answer.sdp" b
    deliver "$B/dcgw/ue.sdp" "$B/ue-answer.sdp"
    wait_for "Chromium's result" 25 test -s "$B/ue.json" || true
    check "b. Chromium may send up to $MAX (RTCSctpTransport.maxMessageSize)" \
        [ "$(json_get 'j.get("max_message_size")' <"$B/ue.json" 2>/dev/null)" = $MAX ]
    finish_session b "$B"
    wait_peers $b_ue $b_as
    pycheck b. peer "$B/ue.json" "Chromium UE"
    pycheck b. received "$B/as.json" "aiortc echo" chat chat $MAX
    pycheck b. twin "$B/as.json" "aiortc echo" chat x-chat true -
    pycheck b. twin "$B/as.json" "aiortc echo" lossy x-lossy false 2
    pycheck b. opened "$T/events.jsonl" b "ue=$B/ue.json" "as=$B/as.json"
    pycheck b. counters get "$B/get.json" b "ue=$B/ue.json" "as=$B/as.json"
    pycheck b. counters closed "$T/events.jsonl" b "ue=$B/ue.json" "as=$B/as.json"
    pycheck b. kinds "$B/get.json"
}

# ---- c. person to person: Chromium A <-> dcgw <-> aiortc B, each opens a DCEP channel
setup_c() {
    C="$T/c"; mkdir -p "$C/dcgw"
    refused_before=$(refused_in_log)
    aiortc --role p2p --name B --peer-name A --offer-out "$C/b-offer.sdp" --answer-in "$C/b-answer.sdp" \
        --result "$C/b.json" --open b-chat:x-b "${CHANS[@]}" --expect a-chat \
        --max-message-size $MAX --oversize b-chat:$((MAX + 1)) --stop-file "$C/stop" --timeout 28 \
        2>"$C/b.log" &
    c_b=$!
    chromium --role p2p --name A --peer-name B --leader --offer-out "$C/a-offer.sdp" \
        --answer-in "$C/a-answer.sdp" --result "$C/a.json" --open a-chat:x-a "${CHANS[@]}" \
        --expect b-chat --stop-file "$C/stop" --timeout 25 --log "$C/chromium.log" 2>"$C/a.log" &
    c_a=$!
    wait_for "both offers" 20 test -s "$C/a-offer.sdp" -a -s "$C/b-offer.sdp" || true
    must "c. dcgw answers A (Chromium) and B (aiortc)" create --id c \
        --leg "name=a,sdp=$C/a-offer.sdp" --leg "name=b,sdp=$C/b-offer.sdp" --sdp-out "$C/dcgw" ||
        { abandon "$C" $c_a $c_b; return; }
    deliver "$C/dcgw/b.sdp" "$C/b-answer.sdp"
    deliver "$C/dcgw/a.sdp" "$C/a-answer.sdp"
    wait_for "both results" 25 test -s "$C/a.json" -a -s "$C/b.json" || true
    finish_session c "$C"
    wait_peers $c_a $c_b
    pycheck c. peer "$C/a.json" "Chromium A"
    pycheck c. peer "$C/b.json" "aiortc B"
    pycheck c. twin "$C/a.json" "Chromium A" b-chat x-b true -
    pycheck c. twin "$C/b.json" "aiortc B" a-chat x-a true -
    pycheck c. opened "$T/events.jsonl" c "a=$C/a.json" "b=$C/b.json"
    pycheck c. counters get "$C/get.json" c "a=$C/a.json" "b=$C/b.json"
    pycheck c. counters closed "$T/events.jsonl" c "a=$C/a.json" "b=$C/b.json"
    pycheck c. kinds "$C/get.json"
    check "d. dcgwd refused B's $((MAX + 1))-byte message (log)" [ "$(refused_in_log)" -gt "$refused_before" ]
    b_chat=$(chan_id "$C/b.json" b-chat)
    pycheck d. dropped "$C/get.json" b "$b_chat" 1 "B's refused message"
}

# ---- f. the UE leaves first: its leg closes (aiortc's close: SCTP ABORT, DTLS
# close_notify) before the controller closes the session. The session is down: the leg's
# event, get and list say SESSION_DOWN with the reason; get shows the UE leg's channels
# closed with their final counters; session_closed lists each channel of each leg once,
# with final counters (no stale snapshot of the leg that left).
setup_f() {
    F="$T/f"; mkdir -p "$F/dcgw"
    aiortc --role echo --offer-out "$F/as-offer.sdp" --answer-in "$F/as-answer.sdp" \
        --result "$F/as.json" --negotiated $NEG --stop-file "$F/stop" --timeout 20 2>"$F/as.log" &
    f_as=$!
    aiortc --role ue --offer-out "$F/ue-offer.sdp" --answer-in "$F/ue-answer.sdp" \
        --result "$F/ue.json" --open chat:x-chat --negotiated $NEG --script-max 2000 \
        --stop-file "$F/ue-stop" --timeout 15 2>"$F/ue.log" &
    f_ue=$!
    wait_for "the aiortc offers" 10 test -s "$F/ue-offer.sdp" -a -s "$F/as-offer.sdp" || true
    must "f. dcgw answers both" create --id f --leg "name=ue,sdp=$F/ue-offer.sdp" \
        --leg "name=as,sdp=$F/as-offer.sdp" --sdp-out "$F/dcgw" ||
        { abandon "$F" $f_ue $f_as; return; }
    deliver "$F/dcgw/as.sdp" "$F/as-answer.sdp"
    deliver "$F/dcgw/ue.sdp" "$F/ue-answer.sdp"
    wait_for "the aiortc UE's result" 15 test -s "$F/ue.json" || true
    touch "$F/ue-stop" # the UE closes its peer connection now; the echo stays
    wait_peers $f_ue
    left() { events leg_closed "e['_session'] == 'f' and e['_leg'] == 'ue'" | head -n1 | grep .; }
    wait_for "leg ue of f closed" 5 left || true
    ev=$(left || echo '{}')
    check "f. the UE leg's leg_closed says the session is down ($ev)" \
        [ "$(field "$ev" 'j.get("_state")')" = SESSION_DOWN ]
    ctl --json get f >"$F/down.json" || true
    check "f. get: SESSION_DOWN, the reason names the UE leg ($(json_field "$F/down.json" 'j["session"].get("reason")'))" \
        [ "$(json_field "$F/down.json" 'j["session"]["state"] + " " + j["session"].get("reason", "")[:7]')" = "SESSION_DOWN leg ue:" ]
    check "f. list agrees" [ "$(ctl --json list | json_get "next(s['state'] for s in j['sessions']['sessions'] if s['id'] == 'f')")" = SESSION_DOWN ]
    check "f. get: the UE leg's channels are closed" \
        [ "$(json_field "$F/down.json" '[x.get("open", False) for l in j["session"]["legs"] if l["name"] == "ue" for x in l["dc"].get("streams", [])]')" = "[False, False]" ]
    pycheck f. counters get "$F/down.json" f "ue=$F/ue.json" # the echo tells its own at the end
    finish_session f "$F"
    wait_peers $f_as
    pycheck f. peer "$F/ue.json" "aiortc UE"
    pycheck f. counters closed "$T/events.jsonl" f "ue=$F/ue.json" "as=$F/as.json"
}

# A missing piece is a failure; the set-ups that need it are then not run.
have_aiortc=0 have_chromium=0
must "Debian python3 has aiortc" "$PY" -c 'import aiortc, aioice' && have_aiortc=1
must "Chromium is installed ($CHROMIUM)" test -x "$CHROMIUM" && have_chromium=1
if [ $have_aiortc = 1 ]; then
    setup_a
    setup_e
    setup_f
    [ $have_chromium = 0 ] || setup_b
    [ $have_chromium = 0 ] || setup_c
fi
check "no worker_lost event" not grep -q '"worker_lost"' "$T/events.jsonl"

# Diagnostics on failure: the peers' own words.
if [ "$FAILED" -ne 0 ]; then
    for f in "$T"/?/*.log; do
        case $f in *chromium.log) continue ;; esac
        [ -s "$f" ] && { echo "---- $f"; tail -15 "$f"; }
    done
    for f in "$T/b/chromium.log" "$T/c/chromium.log"; do
        [ -f "$f" ] && { echo "---- $f (WebRTC lines)"; grep -iE 'webrtc|sctp|datachannel|dtls' "$f" | tail -10; }
    done
fi
finish
