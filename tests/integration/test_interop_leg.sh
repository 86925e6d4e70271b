#!/usr/bin/env bash
# Terminated legs against real peers nobody here wrote: Debian's python3-aiortc and
# headless Chromium complete ICE + DTLS with dcgw, on loopback, in a private network
# (and PID) namespace, so nothing can leak to or from the outside world:
#
#   +----------------------- unshare -n -p (this script) -----------------------+
#   |  lo 127.0.0.1                                                              |
#   |                                                                            |
#   |  aiortc_peer.py ---offer--> test --dcgwctl create--> dcgwd (2 workers)     |
#   |  chromium_peer.py <--answer-- test <--DIR/ue.sdp---/   |  UDP 127.0.0.1:p  |
#   |        \___________ ICE (full, controlling) + DTLS ____/                   |
#   |  stun_probe.py: hand-signed STUN checks and garbage ---> the same ports    |
#   |  dcgwctl watch --json -> events.jsonl (leg_connected, dtls_failed, ...)    |
#   +----------------------------------------------------------------------------+
#
# Asserts (docs/interop.md):
#   a. aiortc: DTLS connected; leg_connected carries the fingerprint of aiortc's offer
#      and aiortc's host candidate as the peer address.
#   b. Chromium (no candidates in its offer: peer-reflexive): its RTCDtlsTransport is
#      "connected", it saw the certificate of dcgw's a=fingerprint; leg_connected
#      carries the fingerprint of Chromium's offer.
#   c. a real aiortc offer whose a=fingerprint is another certificate's: aiortc's DTLS
#      fails on a fatal alert from dcgw; the controller gets dtls_failed EFINGERPRINT.
#   d. a STUN check signed with a wrong key gets no answer; one signed with the pwd of
#      dcgw's answer gets a verified success response.
#   e. garbage (random, first byte 0..3, 20..63, 128..191, tiny, STUN junk naming the
#      leg) changes nothing: checks still answered, stats work, no worker restarted.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

check "Debian python3 has aiortc" "$PY" -c 'import aiortc, aioice'
check "Chromium is installed ($CHROMIUM)" test -x "$CHROMIUM"

start_loopback_dcgwd 2 'metrics: { push_interval_ms = 200; };'

# ---- helpers

# answer SESSION DIR: dcgw answers DIR/offer.sdp; the answer lands in DIR/answer.sdp
# (renamed into place, so the peer never reads half a file).
answer() {
    mkdir -p "$2/dcgw"
    ctl create --id "$1" --leg "name=ue,sdp=$2/offer.sdp" --sdp-out "$2/dcgw" >"$2/create.out" &&
        deliver "$2/dcgw/ue.sdp" "$2/answer.sdp" && [ -s "$2/answer.sdp" ]
}
on_loopback() { [[ $1 == 127.0.0.1:* ]]; }

# ---- a. aiortc completes ICE + DTLS; leg_connected names the fingerprint of its offer

A="$T/aiortc"; mkdir -p "$A"
"$PY" "$PEERS/aiortc_peer.py" "$A/offer.sdp" "$A/answer.sdp" --timeout 20 >"$A/result.json" 2>"$A/peer.log" &
apid=$!
wait_for "aiortc's offer" 10 test -s "$A/offer.sdp" || true
check "a. aiortc wrote an offer with a 127.0.0.1 host candidate" \
    bash -c "grep -q '^a=candidate:.* 127.0.0.1 .* typ host' '$A/offer.sdp'"
check "a. dcgw answers aiortc's offer" answer aiortc "$A"
wait_peer $apid; arc=$PEER_RC
check "a. aiortc's DTLS transport is connected (exit $arc: $(cat "$A/result.json"))" [ "$arc" = 0 ]
wait_for "leg_connected of aiortc" 5 event aiortc leg_connected || true
lc=$(event aiortc leg_connected || echo '{}')
offer_fp=$(sdp_attr "$A/offer.sdp" fingerprint)
check "a. controller saw leg_connected" [ "$lc" != '{}' ]
check "a. leg_connected fingerprint = aiortc's offer ($offer_fp)" \
    same_fp "$(field "$lc" 'j["fingerprint"]["algorithm"]+" "+j["fingerprint"]["value"]')" "$offer_fp"
check "a. aiortc used that certificate (its DTLS parameters say so)" \
    same_fp "$(json_field "$A/result.json" 'j["fingerprint"]["algorithm"]+" "+j["fingerprint"]["value"]')" "$offer_fp"
check "a. leg_connected peer address = aiortc's host candidate" \
    [ "$(field "$lc" 'j.get("peer_addr")')" = "$(sdp_candidate "$A/offer.sdp")" ]
check "a. aiortc's nominated pair is dcgw's candidate" \
    [ "$(json_field "$A/result.json" '"%s:%d" % tuple(j["remote_addr"])')" = "$(sdp_candidate "$A/answer.sdp")" ]

# ---- b. Chromium: no candidates in its offer, connects peer-reflexive

C="$T/chromium"; mkdir -p "$C"
"$PY" "$PEERS/chromium_peer.py" "$C/offer.sdp" "$C/answer.sdp" --timeout 30 \
    --chromium "$CHROMIUM" --log "$C/chromium.log" >"$C/result.json" 2>"$C/peer.log" &
cpid=$!
wait_for "Chromium's offer" 20 test -s "$C/offer.sdp" || true
check "b. Chromium wrote an offer" grep -q '^m=application .*webrtc-datachannel' "$C/offer.sdp"
check "b. dcgw answers Chromium's offer" answer chromium "$C"
wait_peer $cpid; crc=$PEER_RC
cres=$(cat "$C/result.json" 2>/dev/null || echo '{}')
check "b. Chromium's RTCDtlsTransport is connected (exit $crc: dtls=$(field "$cres" 'j.get("dtls")'), error=$(field "$cres" 'j.get("error")'))" \
    [ "$crc" = 0 ]
check "b. Chromium saw the certificate of dcgw's a=fingerprint" \
    same_fp "sha-256 $(field "$cres" 'j.get("remote_cert_sha256")')" "$(sdp_attr "$C/answer.sdp" fingerprint)"
wait_for "leg_connected of chromium" 5 event chromium leg_connected || true
lc=$(event chromium leg_connected || echo '{}')
check "b. controller saw leg_connected" [ "$lc" != '{}' ]
check "b. leg_connected fingerprint = Chromium's offer" \
    same_fp "$(field "$lc" 'j["fingerprint"]["algorithm"]+" "+j["fingerprint"]["value"]')" \
    "$(sdp_attr "$C/offer.sdp" fingerprint)"
check "b. leg_connected peer address is on loopback (peer-reflexive)" \
    on_loopback "$(field "$lc" 'j.get("peer_addr")')"

# ---- c. a real aiortc offer with another certificate's fingerprint: DTLS fails

N="$T/badfp"; mkdir -p "$N"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other \
    -keyout "$N/other.key" -out "$N/other.pem" 2>/dev/null
other=$(openssl x509 -in "$N/other.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
"$PY" "$PEERS/aiortc_peer.py" "$N/real-offer.sdp" "$N/answer.sdp" --timeout 20 >"$N/result.json" 2>"$N/peer.log" &
npid=$!
wait_for "aiortc's offer" 10 test -s "$N/real-offer.sdp" || true
sed "s/^a=fingerprint:sha-256 [0-9A-Fa-f:]*/a=fingerprint:sha-256 $other/" "$N/real-offer.sdp" >"$N/offer.sdp"
check "c. the offer now names the other certificate" bash -c \
    "grep -q '^a=fingerprint:sha-256 $other' '$N/offer.sdp' && ! cmp -s '$N/offer.sdp' '$N/real-offer.sdp'"
check "c. dcgw answers the tampered offer" answer badfp "$N"
wait_peer $npid; nrc=$PEER_RC
ndtls=$(json_field "$N/result.json" 'j["dtls"]')
nerr=$(json_field "$N/result.json" 'j["dtls_error"]')
check "c. aiortc's DTLS transport failed (exit $nrc, state $ndtls: $nerr)" test "$nrc" = 1 -a "$ndtls" = failed
fatal=$(json_field "$N/result.json" '" ".join(str(d) for l, d in j["alerts_received"] if l == 2)')
check "c. aiortc received a fatal alert from dcgw (description: ${fatal:-none})" test -n "$fatal"
wait_for "dtls_failed of badfp" 5 event badfp dtls_failed || true
df=$(event badfp dtls_failed || echo '{}')
check "c. controller got dtls_failed with code EFINGERPRINT (-16)" [ "$(field "$df" 'j.get("code")')" = -16 ]
reason=$(field "$df" 'j.get("reason") or ""')
check "c. dtls_failed has a reason ($reason)" test -n "$reason"
check "c. no leg_connected for the tampered offer" not event badfp leg_connected

# ---- d. STUN: a wrong key gets no answer, the right one a verified success response

P="$T/probe"; mkdir -p "$P"
cp "$A/offer.sdp" "$P/offer.sdp" # a real aiortc offer; nobody answers on its address now
check "d. dcgw answers a probe session" answer probe "$P"
ufrag=$(sdp_attr "$P/answer.sdp" ice-ufrag)
pwd=$(sdp_attr "$P/answer.sdp" ice-pwd)
peer_ufrag=$(sdp_attr "$P/offer.sdp" ice-ufrag)
dst=$(sdp_candidate "$P/answer.sdp")
host=${dst%:*} port=${dst##*:}
probe() { "$PY" "$PEERS/stun_probe.py" "$@" "$host" "$port" --ufrag "$ufrag" --peer-ufrag "$peer_ufrag"; }
rc=0; out=$(probe check --pwd "not-$pwd" --wait 1) || rc=$?
check "d. check signed with a wrong key: no answer within 1 s ($out)" [ "$rc" = 1 ]
learnt=$(free_port)
rc=0; out=$(probe check --pwd "$pwd" --bind "127.0.0.1:$learnt" --wait 2) || rc=$?
check "d. check signed with dcgw's pwd: verified success response ($out)" [ "$rc" = 0 ]

# ---- e. garbage changes nothing

stats_sig() { # pid:alive:restarts per worker
    ctl --json stats | "$PY" -c 'import json,sys; print(" ".join("%s:%s:%s" % (w["pid"], w["alive"], w["restarts"]) for w in json.load(sys.stdin)["stats"]["workers"]))'
}
state_of() { ctl --json get "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["session"]["legs"][0]["state"])'; }
before=$(stats_sig)
leg_before=$(state_of probe)
rc=0; probe garbage --seed 7 --per-class 40 >"$T/garbage1.json" || rc=$?
check "e. garbage sent from an unknown address ($(cat "$T/garbage1.json"))" [ "$rc" = 0 ]
rc=0; probe garbage --seed 8 --per-class 40 --bind "127.0.0.1:$learnt" >"$T/garbage2.json" || rc=$?
check "e. garbage sent from the address the probe leg learnt" [ "$rc" = 0 ]
# Garbage toward the other worker's socket too (no session there).
for w in $(ctl --json stats | "$PY" -c 'import json,sys; print(" ".join(w["udp_address"] for w in json.load(sys.stdin)["stats"]["workers"]))'); do
    "$PY" "$PEERS/stun_probe.py" garbage "${w%:*}" "${w##*:}" --ufrag "$ufrag" --seed 9 --per-class 20 >/dev/null
done
sleep 0.3
rc=0; out=$(probe check --pwd "$pwd" --bind "127.0.0.1:$learnt" --wait 2) || rc=$?
check "e. dcgw still answers a valid check from the learnt address ($out)" [ "$rc" = 0 ]
rc=0; out=$(probe check --pwd "$pwd" --wait 2) || rc=$?
check "e. dcgw still answers a valid check from a new address ($out)" [ "$rc" = 0 ]
rc=0; out=$(probe check --pwd "not-$pwd" --wait 1) || rc=$?
check "e. and still ignores a wrongly signed one" [ "$rc" = 1 ]
check "e. dcgwctl stats still works" ctl stats
after=$(stats_sig)
check "e. no worker restarted or died (pid:alive:restarts $before -> $after)" [ "$before" = "$after" ]
check "e. the probe leg kept its state ($leg_before -> $(state_of probe))" [ "$(state_of probe)" = "$leg_before" ]
metrics_events "e. /metrics:" 0.5
check "e. no worker_lost event" not grep -q '"worker_lost"' "$T/events.jsonl"

# Diagnostics on failure: the peers' own words.
if [ "$FAILED" -ne 0 ]; then
    for f in "$A/peer.log" "$C/peer.log" "$N/peer.log"; do
        [ -s "$f" ] && { echo "---- $f"; tail -20 "$f"; }
    done
    [ -f "$C/chromium.log" ] && { echo "---- chromium.log (WebRTC lines)"; grep -iE 'webrtc|sdp|dtls|ice' "$C/chromium.log" | tail -20; }
    for f in "$A/answer.sdp" "$C/answer.sdp"; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
fi
finish
