#!/usr/bin/env bash
# Relay mode (end-to-end security) against real peers: an aiortc "UE" and an aiortc
# "application server" talk over a data channel through dcgw, which answers ICE-lite on
# each hop, forwards DTLS untouched, holds no key, and blocks a man in the middle by
# inspecting the DTLS 1.2 handshake. Everything runs in a private network namespace:
#
#   +------------------------------ unshare -n -p (this script) ------------------------------+
#   |  lo 127.0.0.1                                                                           |
#   |                    create (ue: UE offer; as: ROLE_OFFER) -> DIR/as.sdp                  |
#   |  relay_peer.py ue ---offer--> test ---dcgwctl--> dcgwd (1 worker) <--dcgwctl update-- |
#   |        ^                           \                      |             AS answer      |
#   |        |  dcgw's answer (AS's DTLS identity, dcgw's ICE)  | UDP 127.0.0.1:p          |
#   |        +---- ICE + DTLS + SCTP ----> [relay] <---- ICE + DTLS + SCTP ---- relay_peer.py as
#   |  stun_probe.py: a check on the "as" hop, then garbage from that validated address     |
#   |  dcgwctl watch --json -> events.jsonl (relay_connected, relay_blocked, relay_closed)  |
#   +-----------------------------------------------------------------------------------------+
#
# Asserts (docs/relay.md "Integration test"):
#   a. SDP: each peer gets dcgw's ICE (ice-lite, its ufrag/pwd, its candidate) and the other
#      peer's fingerprint and setup untouched.
#   b. the data channel works end to end (text and a 60 kB binary message echoed);
#      relay_connected names both SDP fingerprints; counters show forwarded datagrams.
#   c. dcgw never held a key: the worker's dtls_objects_created counter did not move for
#      the relay sessions (and does move for a terminated session: the counter works).
#   d. STUN stays per hop and garbage from a validated address is dropped and counted.
#   e. a man in the middle (the AS presents a certificate other than the one in the SDP
#      dcgw was given) is blocked before any application data flows: relay_blocked names
#      the "as" leg, EFINGERPRINT, mitm_suspected, the presented fingerprint; no message
#      reached either peer; relay_closed carries the counters.
#   f. what the controller may get wrong: an offerer's a=setup other than actpass (or none)
#      passes through, an answer with a=setup:actpass, a relay leg next to a terminated one;
#      RelaySettings from a session file; the human output of relay events and counters.
#   g. /metrics: relay flows, verdicts and blocks as the events and stats say (docs/metrics.md).
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

check "Debian python3 has aiortc" "$PY" -c 'import aiortc, aioice'

start_loopback_dcgwd 1 'metrics: { push_interval_ms = 200; };'
ctl watch >"$T/events.txt" 2>/dev/null & # the operator's view of the same events
sleep 0.2

# ---- helpers

# counter NAME: the total of a worker counter in `dcgwctl stats`.
counter() { ctl --json stats | "$PY" -c "import json,sys; print({c['name']: c.get('value', 0) for c in json.load(sys.stdin)['stats']['total'].get('counters', [])}.get('$1', 0))" || true; }
# leg_relay SESSION LEG EXPR: EXPR on the relay counters (c) of a leg in `dcgwctl get`.
leg_relay() {
    ctl --json get "$1" | "$PY" -c "import json,sys
s = json.load(sys.stdin)['session']
c = [l for l in s['legs'] if l['name'] == '$2'][0]['dc'].get('relay', {})
print($3)" 2>/dev/null || true
}
# leg_states SESSION: the legs' states, space-separated, in order.
leg_states() { ctl --json get "$1" | "$PY" -c 'import json,sys; print(" ".join(l["state"] for l in json.load(sys.stdin)["session"]["legs"]))' 2>/dev/null || true; }

# relay SESSION DIR [MUNGE_FP]: runs both peers through a relay session. The AS's answer
# is handed to dcgw as is, or with its fingerprint replaced by MUNGE_FP (a man in the
# middle: the certificate the AS presents is not the one of the SDP dcgw was given).
relay() {
    local id=$1 d=$2 munge=${3:-} timeout=${4:-20}
    mkdir -p "$d/dcgw"
    "$PY" "$PEERS/relay_peer.py" ue "$d/ue-offer.sdp" "$d/ue-answer.sdp" --timeout "$timeout" \
        >"$d/ue.json" 2>"$d/ue.log" &
    UE_PID=$!
    "$PY" "$PEERS/relay_peer.py" as "$d/as-answer.sdp" "$d/as-offer.sdp" --timeout "$timeout" \
        >"$d/as.json" 2>"$d/as.log" &
    AS_PID=$!
    wait_for "the UE's offer" 10 test -s "$d/ue-offer.sdp" || true
    ctl create --id "$id" --leg "name=ue,mode=relay,sdp=$d/ue-offer.sdp" \
        --leg "name=as,mode=relay,role=offer" --sdp-out "$d/dcgw" >"$d/create.out" 2>&1 || return 1
    deliver "$d/dcgw/as.sdp" "$d/as-offer.sdp"
    wait_for "the AS's answer" 10 test -s "$d/as-answer.sdp" || { tail -5 "$d/as.log" >&2; return 1; }
    if [ -n "$munge" ]; then
        sed "s/^a=fingerprint:sha-256 [0-9A-Fa-f:]*/a=fingerprint:sha-256 $munge/" \
            "$d/as-answer.sdp" >"$d/as-answer-to-dcgw.sdp"
    else
        cp "$d/as-answer.sdp" "$d/as-answer-to-dcgw.sdp"
    fi
    # options first: "update ID --leg ..." trips over dcgwctl's option parsing today
    ctl --json update --leg as --sdp "$d/as-answer-to-dcgw.sdp" "$id" >"$d/update.json" 2>&1 || return 1
    json_field "$d/update.json" '[l for l in j["session"]["legs"] if l["name"] == "ue"][0]["dc"]["local_sdp"]' \
        >"$d/ue-answer.sdp.tmp" && mv "$d/ue-answer.sdp.tmp" "$d/ue-answer.sdp"
}

dtls_objects0=$(counter dtls_objects_created)

# ---- a/b. a relayed data channel, end to end

A="$T/e2e"; mkdir -p "$A"
t0=$SECONDS
check "b. relay session created and updated (create + update through dcgwctl)" relay r1 "$A"
wait_peer $UE_PID; ue_rc=$PEER_RC
wait_peer $AS_PID; as_rc=$PEER_RC
ue=$(cat "$A/ue.json" 2>/dev/null || echo '{}')
as=$(cat "$A/as.json" 2>/dev/null || echo '{}')
ue_fp=$(sdp_attr "$A/ue-offer.sdp" fingerprint)
as_fp=$(sdp_attr "$A/as-answer.sdp" fingerprint)
dcgw_cand=$(sdp_candidate "$A/dcgw/as.sdp")

check "a. dcgw's offer to the AS is ICE-lite with dcgw's candidate ($dcgw_cand)" \
    bash -c "grep -q '^a=ice-lite' '$A/dcgw/as.sdp' && [ -n '$dcgw_cand' ]"
check "a. ... carries the UE's fingerprint untouched ($ue_fp)" same_fp "$(sdp_attr "$A/dcgw/as.sdp" fingerprint)" "$ue_fp"
check "a. ... carries the UE's a=setup ($(sdp_attr "$A/ue-offer.sdp" setup))" \
    [ "$(sdp_attr "$A/dcgw/as.sdp" setup)" = "$(sdp_attr "$A/ue-offer.sdp" setup)" ]
check "a. ... and dcgw's ICE credentials, not the UE's" \
    bash -c "[ '$(sdp_attr "$A/dcgw/as.sdp" ice-ufrag)' != '$(sdp_attr "$A/ue-offer.sdp" ice-ufrag)' ] && ! grep -q '$(sdp_attr "$A/ue-offer.sdp" ice-pwd)' '$A/dcgw/as.sdp'"
check "a. dcgw's answer to the UE carries the AS's fingerprint ($as_fp) and setup" \
    bash -c "[ '$(sdp_attr "$A/ue-answer.sdp" fingerprint)' = '$as_fp' ] && [ '$(sdp_attr "$A/ue-answer.sdp" setup)' = '$(sdp_attr "$A/as-answer.sdp" setup)' ]"
check "a. ... with dcgw's candidate and ICE-lite, not the AS's" \
    bash -c "[ '$(sdp_candidate "$A/ue-answer.sdp")' = '$dcgw_cand' ] && grep -q '^a=ice-lite' '$A/ue-answer.sdp' && [ '$(sdp_attr "$A/ue-answer.sdp" ice-ufrag)' != '$(sdp_attr "$A/as-answer.sdp" ice-ufrag)' ]"
check "b. UE: the data channel opened and every message came back (exit $ue_rc: $ue)" [ "$ue_rc" = 0 ]
check "b. AS: echoed the UE's messages over its own data channel (exit $as_rc: echoed $(field "$as" 'j.get("echoed")'))" \
    bash -c "[ '$as_rc' = 0 ] && [ '$(field "$as" 'j.get("echoed")')' = '$(field "$ue" 'j.get("sent")')' ]"
check "b. UE and AS each saw their own certificate used (fingerprints of their SDP)" \
    bash -c "[ '$(field "$ue" '(j["fingerprint"]["algorithm"]+" "+j["fingerprint"]["value"]).upper()')' = '${ue_fp^^}' ] && [ '$(field "$as" '(j["fingerprint"]["algorithm"]+" "+j["fingerprint"]["value"]).upper()')' = '${as_fp^^}' ]"
wait_for "relay_connected of r1" 5 event r1 relay_connected || true
rc=$(event r1 relay_connected || echo '{}')
check "b. controller got relay_connected, inspected ($rc)" [ "$(field "$rc" 'j.get("inspected")')" = True ]
check "b. relay_connected: the UE's certificate matched the UE's SDP fingerprint" \
    same_fp "$(field "$rc" '[p for p in j["peers"] if p["leg"]=="ue"][0]["fingerprint"]["algorithm"]+" "+[p for p in j["peers"] if p["leg"]=="ue"][0]["fingerprint"]["value"]')" "$ue_fp"
check "b. relay_connected: the AS's certificate matched the AS's SDP fingerprint" \
    same_fp "$(field "$rc" '[p for p in j["peers"] if p["leg"]=="as"][0]["fingerprint"]["algorithm"]+" "+[p for p in j["peers"] if p["leg"]=="as"][0]["fingerprint"]["value"]')" "$as_fp"
check "b. relay_connected: peer addresses are the peers' host candidates" \
    bash -c "[ '$(field "$rc" '[p for p in j["peers"] if p["leg"]=="ue"][0]["peer_addr"]')' = '$(sdp_candidate "$A/ue-offer.sdp")' ] && [ '$(field "$rc" '[p for p in j["peers"] if p["leg"]=="as"][0]["peer_addr"]')' = '$(sdp_candidate "$A/as-answer.sdp")' ]"
fwd_ue=$(leg_relay r1 ue 'c.get("forwarded_packets", 0)')
fwd_as=$(leg_relay r1 as 'c.get("forwarded_packets", 0)')
states=$(leg_states r1)
check "b. both legs forwarded datagrams (ue $fwd_ue, as $fwd_as) and are connected ($states)" \
    bash -c "[ '${fwd_ue:-0}' -gt 10 ] && [ '${fwd_as:-0}' -gt 10 ] && [ '$states' = 'LEG_CONNECTED LEG_CONNECTED' ]"
echo "# e2e relay took $((SECONDS - t0)) s"

# ---- c. no key held: no DTLS object for relay sessions

dtls_objects1=$(counter dtls_objects_created)
check "c. no DTLS object was created for the relay session (dtls_objects_created $dtls_objects0 -> $dtls_objects1)" \
    [ "$dtls_objects1" = "$dtls_objects0" ]
check "c. relay_flows counts it ($(counter relay_flows))" [ "$(counter relay_flows)" = 1 ]
ctl create --id term1 --leg "name=ue,sdp=$A/ue-offer.sdp" >/dev/null
check "c. (control) a terminated session does create one ($(counter dtls_objects_created))" \
    [ "$(counter dtls_objects_created)" = $((dtls_objects0 + 1)) ]
ctl close term1 >/dev/null

# ---- d. STUN per hop; garbage from a validated address

as_ufrag=$(sdp_attr "$A/dcgw/as.sdp" ice-ufrag)
as_pwd=$(sdp_attr "$A/dcgw/as.sdp" ice-pwd)
as_peer_ufrag=$(sdp_attr "$A/as-answer.sdp" ice-ufrag)
ue_ufrag=$(sdp_attr "$A/ue-answer.sdp" ice-ufrag)
host=${dcgw_cand%:*} port=${dcgw_cand##*:}
probe_port=$(free_port)
probe() { "$PY" "$PEERS/stun_probe.py" "$@" "$host" "$port"; }
rc=0; out=$(probe check --ufrag "$ue_ufrag" --peer-ufrag "$as_peer_ufrag" --pwd "$as_pwd" --wait 1) || rc=$?
check "d. the as hop's password does not open the ue hop: no answer ($out)" [ "$rc" = 1 ]
rc=0; out=$(probe check --ufrag "$as_ufrag" --peer-ufrag "$as_peer_ufrag" --pwd "$as_pwd" --bind "127.0.0.1:$probe_port" --wait 2) || rc=$?
check "d. a check signed for the as hop gets dcgw's verified answer ($out)" [ "$rc" = 0 ]
garbage0=$(leg_relay r1 as 'c.get("dropped_garbage", 0)')
fwd0=$(leg_relay r1 as 'c.get("forwarded_packets", 0)')
fwd_ue0=$(leg_relay r1 ue 'c.get("forwarded_packets", 0)')
probe garbage --ufrag "$as_ufrag" --seed 5 --per-class 20 --bind "127.0.0.1:$probe_port" >"$T/garbage.json"
sleep 0.3
garbage1=$(leg_relay r1 as 'c.get("dropped_garbage", 0)')
check "d. garbage from the validated address is dropped and counted (dropped_garbage $garbage0 -> $garbage1)" \
    bash -c "[ '$garbage1' -ge $((garbage0 + 40)) ]"
check "d. none of it was forwarded (as forwarded $fwd0 -> $(leg_relay r1 as 'c.get("forwarded_packets", 0)'))" \
    [ "$(leg_relay r1 as 'c.get("forwarded_packets", 0)')" = "$fwd0" ]
check "d. every datagram the as peer sent is accounted for" \
    [ "$(leg_relay r1 as 'c["rx_packets"] - sum(v for k, v in c.items() if k.startswith("dropped_") or k in ("forwarded_packets", "media_forwarded_packets", "stun", "stun_rejected"))')" = 0 ]
ctl close r1 >/dev/null
wait_for "relay_closed of r1" 5 event r1 relay_closed || true
cl=$(event r1 relay_closed || echo '{}')
check "d. relay_closed carries both legs' final counters ($(field "$cl" 'j.get("state")'))" \
    bash -c "[ '$(field "$cl" 'len(j["legs"])')' = 2 ] && [ '$(field "$cl" '[l for l in j["legs"] if l["leg"]=="as"][0]["forwarded_packets"]')' = '$fwd0' ] && [ '$(field "$cl" '[l for l in j["legs"] if l["leg"]=="ue"][0]["forwarded_packets"]')' -ge '$fwd_ue0' ]"

# ---- e. a man in the middle on the AS hop

M="$T/mitm"; mkdir -p "$M"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other \
    -keyout "$M/other.key" -out "$M/other.pem" 2>/dev/null
other=$(openssl x509 -in "$M/other.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
check "e. relay session with the AS's answer naming another certificate" relay r2 "$M" "$other" 8
wait_for "relay_blocked of r2" 10 event r2 relay_blocked || true
wait_peer $UE_PID; ue_rc=$PEER_RC
wait_peer $AS_PID; as_rc=$PEER_RC
ue=$(cat "$M/ue.json" 2>/dev/null || echo '{}')
as=$(cat "$M/as.json" 2>/dev/null || echo '{}')
real_fp=$(sdp_attr "$M/as-answer.sdp" fingerprint)
check "e. dcgw's answer to the UE names the certificate of the SDP dcgw was given" \
    [ "$(sdp_attr "$M/ue-answer.sdp" fingerprint)" = "sha-256 $other" ]
bl=$(event r2 relay_blocked || echo '{}')
check "e. controller got relay_blocked naming the as leg ($(field "$bl" 'j.get("_leg")'))" [ "$(field "$bl" 'j.get("_leg")')" = as ]
check "e. relay_blocked: EFINGERPRINT (-16), man in the middle suspected" \
    bash -c "[ '$(field "$bl" 'j.get("code")')' = -16 ] && [ '$(field "$bl" 'j.get("mitm_suspected")')' = True ]"
check "e. relay_blocked: the presented certificate is the AS's real one ($real_fp)" \
    same_fp "$(field "$bl" 'j["presented"]["algorithm"]+" "+j["presented"]["value"]')" "$real_fp"
check "e. no relay_connected for r2" not event r2 relay_connected
check "e. the UE's data channel never opened, nothing echoed (exit $ue_rc: $ue)" \
    bash -c "[ '$ue_rc' != 0 ] && [ '$(field "$ue" 'j.get("channel_open")')' = False ] && [ '$(field "$ue" 'j.get("echoed")')' = 0 ]"
check "e. the AS received no application message (exit $as_rc: received $(field "$as" 'j.get("received")'))" \
    bash -c "[ '$as_rc' != 0 ] && [ '$(field "$as" 'j.get("received")')' = 0 ]"
check "e. no application data record was even held back by the inspector" \
    bash -c "[ '$(leg_relay r2 ue 'c.get("held_app_data", 0)')' = 0 ] && [ '$(leg_relay r2 as 'c.get("held_app_data", 0)')' = 0 ]"
states=$(leg_states r2)
check "e. the as leg failed, the ue leg closed ($states); datagrams since are dropped as blocked ($(leg_relay r2 as 'c.get("dropped_blocked", 0)'))" \
    bash -c "[ '$states' = 'LEG_CLOSED LEG_FAILED' ] && [ '$(leg_relay r2 as 'c.get("dropped_blocked", 0)')' -ge 1 ]"
check "c. still no DTLS object created ($(counter dtls_objects_created))" \
    [ "$(counter dtls_objects_created)" = $((dtls_objects0 + 1)) ]
ctl get r2 >"$T/r2.txt" 2>&1 || true # the operator's view, checked in f.
ctl close r2 >/dev/null
wait_for "relay_closed of r2" 5 event r2 relay_closed || true
check "e. relay_closed of r2 says blocked" [ "$(field "$(event r2 relay_closed || echo '{}')" 'j.get("state")')" = blocked ]

# ---- f. controller mistakes and the operator's view

F="$T/shape"; mkdir -p "$F/dcgw"
sed 's/^a=setup:actpass/a=setup:passive/' "$A/ue-offer.sdp" >"$F/passive-offer.sdp"
check "f. an offer saying a=setup:passive is relayed as passive" bash -c \
    "$DCGWCTL -s '$SOCK' create --id r3 --leg 'name=ue,mode=relay,sdp=$F/passive-offer.sdp' --leg name=as,mode=relay,role=offer --sdp-out '$F/dcgw' >/dev/null && grep -q '^a=setup:passive' '$F/dcgw/as.sdp' && ! grep -q '^a=setup:actpass' '$F/dcgw/as.sdp'"
# The controller's view says what the SDP said: no a=setup is SETUP_UNSPECIFIED (the one
# setup mapping of the worker, events.c dcgw__wev_setup), not actpass.
sed '/^a=setup:/d' "$A/ue-offer.sdp" >"$F/nosetup-offer.sdp"
mkdir -p "$F/dcgw6"
ctl create --id r6 --leg "name=ue,mode=relay,sdp=$F/nosetup-offer.sdp" --leg name=as,mode=relay,role=offer --sdp-out "$F/dcgw6" >/dev/null 2>&1 || true
setup6=$(ctl --json get r6 | "$PY" -c 'import json,sys; print([l for l in json.load(sys.stdin)["session"]["legs"] if l["name"] == "as"][0]["dc"].get("setup", "absent"))' 2>/dev/null || true)
check "f. an offer without a=setup is relayed without one; the view of the as leg says $setup6" \
    bash -c "[ -s '$F/dcgw6/as.sdp' ] && ! grep -q '^a=setup' '$F/dcgw6/as.sdp' && [ '$setup6' = SETUP_UNSPECIFIED ]"
sed 's/^a=setup:.*/a=setup:actpass\r/' "$A/as-answer.sdp" >"$F/actpass-answer.sdp"
rc=0; out=$(ctl update --leg as --sdp "$F/actpass-answer.sdp" r3 2>&1) || rc=$?
check "f. an answer saying a=setup:actpass is refused (exit $rc: $out)" bash -c "[ $rc = 1 ] && [[ '$out' == *setup* ]]"
rc=0; out=$(ctl update --leg ue --sdp "$A/as-answer.sdp" r3 2>&1) || rc=$?
check "f. the leg that brought the offer takes no answer (exit $rc: $out)" [ "$rc" = 1 ]
rc=0; out=$(ctl create --id r4 --leg "name=ue,mode=relay,sdp=$A/ue-offer.sdp" --leg name=as,role=offer 2>&1) || rc=$?
check "f. a relay leg next to a terminated one is refused (exit $rc: $out)" bash -c "[ $rc = 1 ] && [[ '$out' == *MODE_RELAY* ]]"
"$PY" - "$A/ue-offer.sdp" "$F/session.json" <<'PY'
import json, sys
json.dump({"id": "r5", "relay": {"uninspectable": "UNINSPECTABLE_ALLOW_AND_REPORT",
                                 "max_packets_per_s": 500, "max_bytes_per_s": 500000},
           "legs": [{"name": "ue", "dc": {"mode": "MODE_RELAY", "remote_sdp": open(sys.argv[1]).read()}},
                    {"name": "as", "role": "ROLE_OFFER", "dc": {"mode": "MODE_RELAY"}}]},
          open(sys.argv[2], "w"))
PY
check "f. RelaySettings from a session file are taken" bash -c \
    "$DCGWCTL -s '$SOCK' --json create --from '$F/session.json' | $PY -c 'import json,sys; r=json.load(sys.stdin)[\"session\"][\"relay\"]; sys.exit(r[\"uninspectable\"] != \"UNINSPECTABLE_ALLOW_AND_REPORT\" or r[\"max_packets_per_s\"] != 500)'"
check "f. dcgwctl watch shows relay_blocked with its code and the suspicion" \
    grep -q 'relay_blocked session=r2 leg=as code=EFINGERPRINT MAN-IN-THE-MIDDLE-SUSPECTED' "$T/events.txt"
check "f. dcgwctl watch shows relay_connected and relay_closed with counters" bash -c \
    "grep -q 'relay_connected session=r1 inspected=yes dtls_client=' '$T/events.txt' && grep -q '^    as: rx [0-9]* pkt' '$T/events.txt'"
check "f. dcgwctl get shows a relay leg's counters" grep -q '^    relay rx [0-9]* pkt' "$T/r2.txt"
# /metrics (docs/metrics.md): relay flows, verdicts and blocks as the events and stats say.
sleep 0.5
ctl --json stats >"$T/mstats.json"
"$PY" "$PEERS/metrics_check.py" scrape http://127.0.0.1:9745/metrics "$T/metrics.txt" || fail "g. scrape"
PYCHECK=metrics_check.py pycheck g. relay "$T/metrics.txt" "$T/events.jsonl" "$T/mstats.json"
PYCHECK=metrics_check.py pycheck g. events "$T/metrics.txt" "$T/events.jsonl"
check "no worker_lost event" not grep -q '"worker_lost"' "$T/events.jsonl"

if [ "$FAILED" -ne 0 ]; then
    for f in "$A/ue.log" "$A/as.log" "$M/ue.log" "$M/as.log" "$A/create.out" "$A/update.json"; do
        [ -s "$f" ] && { echo "---- $f"; tail -20 "$f"; }
    done
    for f in "$A/dcgw/as.sdp" "$A/ue-answer.sdp"; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
fi
finish
