#!/usr/bin/env bash
# Issue 13's unpaced case: an aiortc UE sends messages of 1 B to 59 KiB on a reliable
# ordered DCEP channel without pacing (only its own bufferedAmount, at most 1 MiB, holds
# it back) through dcgw to an aiortc echo, with an impairment proxy (impair.py: 10% loss,
# 5 +- 2 ms delay, 10% reordering, 2% duplication, seeded) in front of dcgw on both legs:
#
#   +------------------------------ unshare -n -p (this script) ------------------------------+
#   |  aiortc UE (bulk_aiortc.py) <-> impair.py <-leg ue-> dcgwd <-leg as-> impair.py <-> echo |
#   |                                                       (dc_aiortc.py --role echo)        |
#   +------------------------------------------------------------------------------------------+
#
# dcgw answers both offers; the test points each peer at its proxy by rewriting dcgw's
# candidate in the answer. Every echo must come back exactly once and in order, and dcgw
# must count no dropped message on either leg (before back-pressure it dropped what the
# far leg could not take: 33 of 600 in the issue's run). LOSSY_COUNT (default 600),
# LOSSY_SEED, LOSSY_SPREAD (log, uniform) change the run; LOSSY_UNTIL_IDLE=S makes the UE
# count every echo after a wrong one (for figures; by default the first ends the run).
# Takes about 30-60 s.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

COUNT=${LOSSY_COUNT:-600}
SEED=${LOSSY_SEED:-1}
SPREAD=${LOSSY_SPREAD:-log}
IMPAIR=(--loss 10 --delay 5 --jitter 2 --reorder 10 --duplicate 2)
D="$T/lossy"
mkdir -p "$D/dcgw"

LIMIT=${LOSSY_BUFFERED_LIMIT:-65536}
# A small sctp.buffered_limit makes the far leg "full" often within a short run (with the
# default 1 MiB it takes minutes of this traffic); LOSSY_BUFFERED_LIMIT=1048576 for that.
start_loopback_dcgwd 1 "sctp: { buffered_limit = $LIMIT; };"

"$PY" -c 'import aiortc, aioice' || { fail "Debian python3 has aiortc"; finish; exit 1; }

"$PY" "$PEERS/dc_aiortc.py" --role echo --offer-out "$D/as-offer.sdp" --answer-in "$D/as-answer.sdp" \
    --result "$D/as.json" --stop-file "$D/stop" --timeout 170 2>"$D/as.log" &
echo_pid=$!
"$PY" "$PEERS/bulk_aiortc.py" --offer-out "$D/ue-offer.sdp" --answer-in "$D/ue-answer.sdp" \
    --result "$D/ue.json" --count "$COUNT" --seed "$SEED" --spread "$SPREAD" --until-idle "${LOSSY_UNTIL_IDLE:-0}" --stop-file "$D/stop" --timeout 150 \
    2>"$D/ue.log" &
ue_pid=$!
wait_for "both offers" 15 test -s "$D/ue-offer.sdp" -a -s "$D/as-offer.sdp" || true

check "dcgw answers both offers" ctl create --policy "$DCGW_SRC/config/examples/policy-allow-all.json" \
    --id lossy --leg "name=ue,sdp=$D/ue-offer.sdp" --leg "name=as,sdp=$D/as-offer.sdp" \
    --sdp-out "$D/dcgw" >"$D/create.out"

# proxy LEG SEED: an impairment proxy in front of dcgw for LEG; dcgw's answer to that
# leg's peer names the proxy instead of dcgw.
proxy() {
    local leg=$1 seed=$2 dc port
    dc=$(sdp_candidate "$D/dcgw/$leg.sdp")
    "$PY" "$DCGW_SRC/tests/integration/impair.py" --target "$dc" --port-out "$D/$leg.port" \
        --seed "$seed" "${IMPAIR[@]}" --stats-out "$D/$leg-impair.json" --stop-file "$D/stop" \
        --timeout 180 &
    wait_for "the $leg proxy" 5 test -s "$D/$leg.port" || return 1
    port=$(cat "$D/$leg.port")
    sed -e "s/ ${dc%:*} ${dc##*:} typ host/ 127.0.0.1 $port typ host/" \
        -e "s/^m=application ${dc##*:} /m=application $port /" "$D/dcgw/$leg.sdp" >"$D/$leg-answer.tmp"
    grep -q " 127.0.0.1 $port typ host" "$D/$leg-answer.tmp"
}
check "proxy in front of leg as" proxy as $((SEED * 10 + 1))
check "proxy in front of leg ue" proxy ue $((SEED * 10 + 2))
mv "$D/as-answer.tmp" "$D/as-answer.sdp" 2>/dev/null || true
mv "$D/ue-answer.tmp" "$D/ue-answer.sdp" 2>/dev/null || true

start=$SECONDS
wait_for "the UE's result" 150 test -s "$D/ue.json" || true
elapsed=$((SECONDS - start))
ctl --json get lossy >"$D/get.json" || true
touch "$D/stop"
wait_peer $ue_pid
ue_rc=$PEER_RC
wait_peer $echo_pid
ctl close lossy >/dev/null 2>&1 || true
sleep 0.3 # the proxies write their counters

echo "# UE: $(json_field "$D/ue.json" '"%d/%d echoes in order (%d in all), %d bytes, %.1f s, %.1f kB/s, bufferedAmount up to %d" % (j["in_order"], j["count"], j["echoes"], j["bytes"], j["seconds"] or 0, (j["goodput"] or 0) / 1000, j["max_buffered"])') (${elapsed} s)"
for leg in ue as; do
    echo "# proxy $leg: $(cat "$D/$leg-impair.json" 2>/dev/null)"
done
echo "# dcgw dropped_messages: $(json_field "$D/get.json" \
    '", ".join("%s %d" % (l["name"], sum(s.get("dropped_messages", 0) for s in l["dc"]["streams"])) for l in j["session"]["legs"])')"
check "every echo came back exactly once, in order (UE exit $ue_rc: $(json_field "$D/ue.json" 'j["problems"][:2]'))" \
    [ "$ue_rc" = 0 ]
check "the UE sent all $COUNT messages unpaced, bufferedAmount above 256 KiB at times" \
    [ "$(json_field "$D/ue.json" 'j["sent"] == j["count"] and j["max_buffered"] > 262144')" = True ]
check "the echo saw $COUNT messages" \
    [ "$(json_field "$D/as.json" 'sum(c["rx"] for c in j["channels"] if c["label"] == "bulk")')" = "$COUNT" ]
# dcgwctl get: every channel on both legs, dropped_messages 0
check "dcgw dropped no message on either leg (dropped_messages)" [ "$(json_field "$D/get.json" \
    'sorted(set(s.get("dropped_messages", 0) for l in j["session"]["legs"] for s in l["dc"]["streams"]))')" = "[0]" ]
check "dcgw forwarded all $COUNT messages each way" [ "$(json_field "$D/get.json" \
    'all(s.get("rx_messages") == '"$COUNT"' for l in j["session"]["legs"] for s in l["dc"]["streams"] if s.get("label") == "bulk")')" = True ]
for leg in ue as; do
    check "the proxy of leg $leg dropped, reordered and duplicated datagrams both ways" \
        [ "$(json_field "$D/$leg-impair.json" 'all(d["dropped"] > 0 and d["reordered"] > 0 and d["duplicated"] > 0 for d in j.values())')" = True ]
done

if [ "$FAILED" -ne 0 ]; then
    for f in "$D/ue.log" "$D/as.log"; do [ -s "$f" ] && { echo "---- $f"; tail -15 "$f"; }; done
    cat "$D/get.json" 2>/dev/null | head -80
fi
finish
