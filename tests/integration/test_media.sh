#!/usr/bin/env bash
# Audio and video beside the data channels (docs/media.md), between real WebRTC stacks:
# headless Chromium with its fake camera and microphone, and Debian's python3-aiortc,
# which decodes what arrives. Everything in a private network (and PID) namespace:
#
#   +--------------------------- unshare -n -p (this script) ---------------------------+
#   | a. Chromium UE (audio+video+DC) <=ue=> dcgwd terminate <=as=> aiortc (audio+video+DC)|
#   |    both offer, dcgw answers both: opus 111 <-> 96, VP8 96 <-> 97, mid ids 4 <-> 1;    |
#   |    aiortc decodes >= 100 video and >= 400 audio frames in 10 s, Chromium receives    |
#   |    aiortc's, the channel echoes byte-exact; then tampered and replayed SRTP from     |
#   |    aiortc's validated address: dropped and counted, none forwarded; dcgw answers    |
#   |    setup:passive, so Chromium agrees SRTP_AEAD_AES_128_GCM (its getStats says so)   |
#   | u. the same, Chromium unbundled (bundlePolicy max-compat, no a=group:BUNDLE): dcgw   |
#   |    answers each of its m-lines with a transport of its own (ICE-lite + DTLS-SRTP     |
#   |    each, AES-GCM each), aiortc stays bundled; 6 s at the rates of a (>= 60 video,   |
#   |    >= 240 audio frames), media both ways, the echo on the data channel's transport  |
#   | b. Chromium UE <=ue=> dcgwd relay <=as=> aiortc (answers dcgw's offer): SRTP         |
#   |    end to end, no SRTP session in dcgw (srtp_sessions_created unchanged)            |
#   | c. aiortc UE <=> dcgwd terminate <=> aiortc AS without use_srtp: the channel works,  |
#   |    media_failed on leg as, none of its media flows; the UE's channel, on an odd id  |
#   |    as the DTLS client (aiortc 1.4), is taken and counted (dcep_wrong_parity)        |
#   | d. two offers with no common audio codec: m=audio 0 and the reason in both answers;  |
#   |    a leg's setup=active overrides media.answer_setup (passive)                      |
#   | e. /metrics (docs/metrics.md) agrees with stats and the events of a-d                |
#   +------------------------------------------------------------------------------------+
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

# DCGW_IT_DEBUG=1: dcgwd logs at debug level; DCGW_IT_KEEP=DIR: peers' files, dcgwd.log and
# the events are copied there
debug_log='log: { level = "debug"; };'
start_loopback_dcgwd 1 'metrics: { push_interval_ms = 100; };' "${DCGW_IT_DEBUG:+$debug_log}"

POLICY="$DCGW_SRC/config/examples/policy-allow-all.json"
create() { ctl create --policy "$POLICY" "$@" >"$T/create.out"; }
aiortc() { "$PY" "$PEERS/media_aiortc.py" "$@"; }
chromium() { "$PY" "$PEERS/media_chromium.py" --chromium "$CHROMIUM" "$@"; }
counter() { ctl --json stats | json_get "sum(c['value'] for w in j['stats']['workers'] for c in w.get('counters', []) if c['name'] == '$1')"; }
# media LEG EXPR [FILE]: EXPR on leg LEG's media status (m) in a `dcgwctl --json get` output.
media() { json_field "${3:-$T/get.json}" "(lambda m: $2)(next(l for l in j['session']['legs'] if l['name'] == '$1').get('media', {}))"; }
# line LEG MID EXPR: EXPR on the m-line MID of leg LEG (x), its counters as c.
line() { media "$1" "(lambda x: (lambda c: $3)(x.get('counters', {})))(next(x for x in m['lines'] if x['mid'] == '$2'))" "${4:-$T/get.json}"; }
ge() { [ -n "$1" ] && [ "$1" -ge "$2" ] 2>/dev/null; }
# metric FAMILY [label=value,...]: the sum of FAMILY's samples with those labels in /metrics.
metric() {
    "$PY" -c '
import re, sys, urllib.request
fam, want = sys.argv[1], dict(kv.split("=", 1) for kv in sys.argv[2].split(",") if kv)
op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
tot = 0
for ln in op.open("http://127.0.0.1:9745/metrics", timeout=5).read().decode().splitlines():
    m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)$", ln)
    if m and m.group(1) == fam:
        labels = dict(re.findall(r"(\w+)=\"([^\"]*)\"", m.group(2) or ""))
        if all(labels.get(k) == v for k, v in want.items()):
            tot += float(m.group(3))
print(int(tot))' "$1" "${2:-}" 2>/dev/null || true
}

# ---- a. terminate: Chromium <-> dcgw <-> aiortc, both offering
A="$T/a"; mkdir -p "$A/dcgw"
srtp0=$(counter srtp_sessions_created)
aiortc --role offer --sdp-out "$A/as-offer.sdp" --sdp-in "$A/as-answer.sdp" --result "$A/as.json" \
    --echo --tamper 5 --replay 5 --seconds 10 --stop-file "$A/stop" --timeout 40 ${DCGW_IT_DEBUG:+--debug} 2>"$A/as.log" &
a_as=$!
chromium --offer-out "$A/ue-offer.sdp" --answer-in "$A/ue-answer.sdp" --result "$A/ue.json" \
    --seconds 11 --messages 100 --stop-file "$A/stop" --timeout 45 --log "$A/chromium.log" &
a_ue=$!
wait_for "both offers" 20 test -s "$A/ue-offer.sdp" -a -s "$A/as-offer.sdp" || true
if create --id a --leg "name=ue,sdp=$A/ue-offer.sdp" --leg "name=as,sdp=$A/as-offer.sdp" \
    --sdp-out "$A/dcgw"; then
    ok "a. dcgw answers Chromium's and aiortc's audio+video+DC offers"
else
    fail "a. dcgw answers Chromium's and aiortc's audio+video+DC offers: $(cat "$T/create.out")"
fi
check "a. the answer to Chromium keeps audio and video bundled with the data channel" \
    grep -q '^a=group:BUNDLE 0 1 2' "$A/dcgw/ue.sdp"
check "a. Chromium's opus stays 111 toward it, aiortc's 96 toward aiortc" \
    bash -c "grep -q '^a=rtpmap:111 opus/48000/2' '$A/dcgw/ue.sdp' && grep -q '^a=rtpmap:96 opus/48000/2' '$A/dcgw/as.sdp'"
check "a. a=msid and a=ssrc of each leg's streams go to the other" \
    bash -c "grep -q \"^a=ssrc:$(sdp_attr "$A/as-offer.sdp" ssrc | cut -d' ' -f1) \" '$A/dcgw/ue.sdp'"
deliver "$A/dcgw/as.sdp" "$A/as-answer.sdp"
deliver "$A/dcgw/ue.sdp" "$A/ue-answer.sdp"
wait_for "aiortc's result" 40 test -s "$A/as.json" || true
wait_for "Chromium's result" 20 test -s "$A/ue.json" || true
ctl --json get a >"$T/get.json" || true
cp "$T/get.json" "$A/get.json"
touch "$A/stop"
wait_peer $a_as
wait_peer $a_ue
vf=$(json_field "$A/as.json" 'j["frames"]["video"]')
af=$(json_field "$A/as.json" 'j["frames"]["audio"]')
check "a. aiortc decoded $vf video frames from Chromium through dcgw in 10 s (>= 100)" ge "$vf" 100
check "a. aiortc decoded $af audio frames from Chromium through dcgw in 10 s (>= 400)" ge "$af" 400
check "a. the data channel echoed byte-exact ($(json_field "$A/ue.json" 'j["echo"]'))" \
    [ "$(json_field "$A/ue.json" 'j["echo"]["ok"] == j["echo"]["sent"] > 0 and j["echo"]["bad"] == 0')" = True ]
for kind in audio video; do
    n=$(json_field "$A/ue.json" "j['stats']['inbound']['$kind']['packets']")
    check "a. Chromium received $n $kind packets from aiortc through dcgw" ge "$n" 50
done
check "a. Chromium decoded aiortc's video ($(json_field "$A/ue.json" "j['stats']['inbound']['video']['frames_decoded']") frames)" \
    ge "$(json_field "$A/ue.json" "j['stats']['inbound']['video']['frames_decoded']")" 30
# dcgw answers a=setup:passive on legs with audio/video (media.answer_setup): it is the DTLS
# server and picks by its own order, SRTP_AEAD_AES_128_GCM first; aiortc offers only AES-CM.
check "a. the answers say a=setup:passive" \
    bash -c "grep -q '^a=setup:passive' '$A/dcgw/ue.sdp' && ! grep -q '^a=setup:active' '$A/dcgw/ue.sdp' && grep -q '^a=setup:passive' '$A/dcgw/as.sdp'"
check "a. leg ue (Chromium) agreed SRTP_AEAD_AES_128_GCM ($(media ue 'm.get("srtp_profile")'))" \
    [ "$(media ue 'm.get("srtp_profile")')" = SRTP_AEAD_AES_128_GCM ]
tr=$(json_field "$A/ue.json" "[(t['dtls_role'], t['srtp_cipher']) for t in j['stats']['transports'] if t['dtls_state'] == 'connected']")
check "a. Chromium's getStats: its DTLS client transport's srtpCipher is SRTP_AEAD_AES_128_GCM ($tr)" \
    [ "$(json_field "$A/ue.json" "[(t['dtls_role'], t['srtp_cipher']) for t in j['stats']['transports'] if t['dtls_state'] == 'connected'] == [('client', 'SRTP_AEAD_AES_128_GCM')]")" = True ]
check "a. leg as (aiortc) agreed SRTP_AES128_CM_SHA1_80" [ "$(media as 'm.get("srtp_profile")')" = SRTP_AES128_CM_SHA1_80 ]
for leg in ue as; do
    for mid in 0 1; do
        check "a. leg $leg mid $mid: media forwarded ($(line $leg $mid 'c.get("forwarded_packets", 0)') packets)" \
            ge "$(line $leg $mid 'c.get("forwarded_packets", 0)')" 100
    done
    check "a. media_started for leg $leg on both m-lines" \
        [ "$(events media_started "e['_session'] == 'a' and e['_leg'] == '$leg'" | wc -l)" -ge 2 ]
done
check "a. four SRTP sessions created (two per leg)" [ "$(counter srtp_sessions_created)" = $((srtp0 + 4)) ]
# the injected packets: from the validated address, authenticated by nobody
auth=$(media as 'sum(x.get("counters", {}).get("dropped_auth", 0) for x in m["lines"]) + m.get("unattributed", {}).get("dropped_auth", 0)')
replay=$(media as 'sum(x.get("counters", {}).get("dropped_replay", 0) for x in m["lines"]) + m.get("unattributed", {}).get("dropped_replay", 0)')
check "a. the 5 tampered SRTP packets from aiortc's address were dropped and counted (dropped_auth $auth)" ge "$auth" 5
check "a. the 5 replayed SRTP packets were dropped and counted (dropped_replay $replay)" ge "$replay" 5
check "a. srtp_failures in the counters and stats ($(counter media_srtp_failures))" ge "$(counter media_srtp_failures)" 10
ctl close a >/dev/null || true
[ -n "${DCGW_IT_KEEP:-}" ] && cp -r "$A" "$DCGW_IT_KEEP"

# ---- u. unbundled: Chromium gives audio, video and the data channel a transport each
U="$T/u"; mkdir -p "$U/dcgw"
srtp0=$(counter srtp_sessions_created)
aiortc --role offer --sdp-out "$U/as-offer.sdp" --sdp-in "$U/as-answer.sdp" --result "$U/as.json" \
    --echo --seconds 6 --stop-file "$U/stop" --timeout 40 2>"$U/as.log" &
u_as=$!
chromium --unbundle --offer-out "$U/ue-offer.sdp" --answer-in "$U/ue-answer.sdp" --result "$U/ue.json" \
    --seconds 7 --messages 50 --stop-file "$U/stop" --timeout 45 --log "$U/chromium.log" &
u_ue=$!
wait_for "both offers" 20 test -s "$U/ue-offer.sdp" -a -s "$U/as-offer.sdp" || true
check "u. Chromium (max-compat) offered no BUNDLE group and a candidate per m-line" \
    bash -c "! grep -q '^a=group:BUNDLE' '$U/ue-offer.sdp' && [ \$(grep -c '^a=candidate:.* udp ' '$U/ue-offer.sdp') -ge 3 ]"
create --id u --leg "name=ue,sdp=$U/ue-offer.sdp" --leg "name=as,sdp=$U/as-offer.sdp" --sdp-out "$U/dcgw" ||
    fail "u. create: $(cat "$T/create.out")"
check "u. the answer to Chromium bundles nothing and gives each m-line its own ICE credentials" \
    bash -c "! grep -q '^a=group:BUNDLE' '$U/dcgw/ue.sdp' && [ \$(sed -n 's/^a=ice-ufrag://p' '$U/dcgw/ue.sdp' | sort -u | wc -l) = 3 ]"
check "u. the answer to aiortc stays bundled" grep -q '^a=group:BUNDLE 0 1 2' "$U/dcgw/as.sdp"
deliver "$U/dcgw/as.sdp" "$U/as-answer.sdp"
deliver "$U/dcgw/ue.sdp" "$U/ue-answer.sdp"
wait_for "aiortc's result" 40 test -s "$U/as.json" || true
wait_for "Chromium's result" 20 test -s "$U/ue.json" || true
ctl --json get u >"$U/get.json" || true
touch "$U/stop"
wait_peer $u_as
wait_peer $u_ue
vf=$(json_field "$U/as.json" 'j["frames"]["video"]')
af=$(json_field "$U/as.json" 'j["frames"]["audio"]')
check "u. aiortc decoded $vf video frames from unbundled Chromium through dcgw in 6 s (>= 60)" ge "$vf" 60
check "u. aiortc decoded $af audio frames from unbundled Chromium through dcgw in 6 s (>= 240)" ge "$af" 240
for kind in audio video; do
    n=$(json_field "$U/ue.json" "j['stats']['inbound']['$kind']['packets']")
    check "u. Chromium received $n $kind packets from aiortc, on its $kind transport" ge "$n" 30
done
check "u. the data channel echoed byte-exact on its own transport ($(json_field "$U/ue.json" 'j["echo"]'))" \
    [ "$(json_field "$U/ue.json" 'j["echo"]["ok"] == j["echo"]["sent"] > 0 and j["echo"]["bad"] == 0')" = True ]
tr=$(json_field "$U/ue.json" "sorted((t['dtls_role'], t['srtp_cipher']) for t in j['stats']['transports'] if t['dtls_state'] == 'connected')")
check "u. Chromium's getStats: three DTLS transports, the two media ones SRTP_AEAD_AES_128_GCM ($tr)" \
    [ "$(json_field "$U/ue.json" "sorted(t['srtp_cipher'] or '' for t in j['stats']['transports'] if t['dtls_state'] == 'connected') == ['', 'SRTP_AEAD_AES_128_GCM', 'SRTP_AEAD_AES_128_GCM']")" = True ]
for mid in 0 1; do
    check "u. leg ue mid $mid: its own transport ($(line ue $mid 'x.get("transport")' "$U/get.json")), $(line ue $mid 'x.get("srtp_profile")' "$U/get.json"), from $(line ue $mid 'x.get("peer_addr")' "$U/get.json"), $(line ue $mid 'c.get("forwarded_packets", 0)' "$U/get.json") packets forwarded" \
        bash -c "[ '$(line ue $mid 'x.get("transport", 0) > 0 and x.get("srtp_profile") == "SRTP_AEAD_AES_128_GCM"' "$U/get.json")' = True ] && [ '$(line ue $mid 'c.get("forwarded_packets", 0)' "$U/get.json")' -ge 60 ]"
    check "u. leg as mid $mid: on aiortc's one transport, forwarded to Chromium's ($(line as $mid 'c.get("forwarded_packets", 0)' "$U/get.json"))" \
        bash -c "[ '$(line as $mid 'x.get("transport", 0)' "$U/get.json")' = 0 ] && [ '$(line as $mid 'c.get("forwarded_packets", 0)' "$U/get.json")' -ge 60 ]"
done
check "u. the two media transports of leg ue have distinct peer addresses" \
    [ "$(media ue 'len(set(x.get("peer_addr") for x in m["lines"])) == 2 and None not in set(x.get("peer_addr") for x in m["lines"])' "$U/get.json")" = True ]
check "u. six SRTP sessions: two per media transport of ue, two for as, none on ue's data-channel transport ($srtp0 -> $(counter srtp_sessions_created))" \
    [ "$(counter srtp_sessions_created)" = $((srtp0 + 6)) ]
ctl close u >/dev/null || true
[ -n "${DCGW_IT_KEEP:-}" ] && cp -r "$U" "$DCGW_IT_KEEP"

# ---- b. relay: SRTP end to end, dcgw holds no key
B="$T/b"; mkdir -p "$B/dcgw"
srtp0=$(counter srtp_sessions_created)
aiortc --role answer --sdp-in "$B/as-offer.sdp" --sdp-out "$B/as-answer.sdp" --result "$B/as.json" \
    --echo --sctp-server --seconds 10 --stop-file "$B/stop" --timeout 40 2>"$B/as.log" &
b_as=$!
chromium --offer-out "$B/ue-offer.sdp" --answer-in "$B/ue-answer.sdp" --result "$B/ue.json" \
    --seconds 11 --messages 50 --stop-file "$B/stop" --timeout 45 --log "$B/chromium.log" &
b_ue=$!
wait_for "Chromium's offer" 20 test -s "$B/ue-offer.sdp" || true
if create --id b --leg "name=ue,mode=relay,sdp=$B/ue-offer.sdp" --leg "name=as,mode=relay,role=offer" \
    --sdp-out "$B/dcgw"; then
    ok "b. dcgw relays Chromium's audio+video+DC offer"
else
    fail "b. dcgw relays Chromium's audio+video+DC offer: $(cat "$T/create.out")"
fi
check "b. the offer to aiortc carries Chromium's codecs and streams untouched" \
    bash -c "grep -q '^a=rtpmap:111 opus/48000/2' '$B/dcgw/as.sdp' && grep -q \"^a=ssrc:$(sdp_attr "$B/ue-offer.sdp" ssrc | cut -d' ' -f1) \" '$B/dcgw/as.sdp'"
deliver "$B/dcgw/as.sdp" "$B/as-offer.sdp"
wait_for "aiortc's answer" 15 test -s "$B/as-answer.sdp" || true
ctl --json update --leg as --sdp "$B/as-answer.sdp" b >"$B/update.json" 2>&1 || fail "b. update: $(cat "$B/update.json")"
# (written as is: Chromium refuses the empty line a trailing newline would add)
"$PY" -c 'import json, sys; sys.stdout.write(next(l for l in json.load(open(sys.argv[1]))["session"]["legs"] if l["name"] == "ue")["dc"]["local_sdp"])' \
    "$B/update.json" >"$B/ue-answer.sdp.tmp" 2>/dev/null && mv "$B/ue-answer.sdp.tmp" "$B/ue-answer.sdp"
check "b. the answer to Chromium carries aiortc's audio and video (bundled)" \
    bash -c "grep -q '^m=video [1-9]' '$B/ue-answer.sdp' && grep -q '^a=group:BUNDLE 0 1 2' '$B/ue-answer.sdp'"
wait_for "aiortc's result" 40 test -s "$B/as.json" || true
wait_for "Chromium's result" 20 test -s "$B/ue.json" || true
ctl --json get b >"$B/get.json" || true
touch "$B/stop"
wait_peer $b_as
wait_peer $b_ue
vf=$(json_field "$B/as.json" 'j["frames"]["video"]')
af=$(json_field "$B/as.json" 'j["frames"]["audio"]')
check "b. relay: aiortc decoded $vf video frames from Chromium in 10 s (>= 100)" ge "$vf" 100
check "b. relay: aiortc decoded $af audio frames from Chromium in 10 s (>= 400)" ge "$af" 400
check "b. relay: the data channel echoed byte-exact ($(json_field "$B/ue.json" 'j["echo"]'))" \
    [ "$(json_field "$B/ue.json" 'j["echo"]["ok"] == j["echo"]["sent"] > 0 and j["echo"]["bad"] == 0')" = True ]
n=$(json_field "$B/ue.json" "j['stats']['inbound']['video']['packets']")
check "b. relay: Chromium received $n video packets from aiortc" ge "$n" 50
for leg in ue as; do
    n=$(json_field "$B/get.json" "next(l for l in j['session']['legs'] if l['name'] == '$leg')['dc']['relay'].get('media_forwarded_packets', 0)")
    check "b. relay: media from leg $leg forwarded untouched ($n packets)" ge "$n" 200
done
check "b. relay: no SRTP session created in dcgw (srtp_sessions_created $srtp0 -> $(counter srtp_sessions_created))" \
    [ "$(counter srtp_sessions_created)" = "$srtp0" ]
check "b. relay: relay_connected, the handshake verified" \
    [ "$(event b relay_connected | json_get 'j.get("inspected")')" = True ]
ctl close b >/dev/null || true

# ---- c. a leg whose DTLS agreed no use_srtp carries no media, and says why
C="$T/c"; mkdir -p "$C/dcgw"
wp0=$(counter dcep_wrong_parity)
aiortc --role offer --sdp-out "$C/as-offer.sdp" --sdp-in "$C/as-answer.sdp" --result "$C/as.json" \
    --echo --no-srtp --seconds 4 --stop-file "$C/stop" --timeout 25 2>"$C/as.log" &
c_as=$!
aiortc --role offer --sdp-out "$C/ue-offer.sdp" --sdp-in "$C/ue-answer.sdp" --result "$C/ue.json" \
    --dc-messages 20 --seconds 4 --stop-file "$C/stop" --timeout 25 2>"$C/ue.log" &
c_ue=$!
wait_for "both offers" 15 test -s "$C/ue-offer.sdp" -a -s "$C/as-offer.sdp" || true
create --id c --leg "name=ue,sdp=$C/ue-offer.sdp" --leg "name=as,sdp=$C/as-offer.sdp" --sdp-out "$C/dcgw" ||
    fail "c. create: $(cat "$T/create.out")"
deliver "$C/dcgw/as.sdp" "$C/as-answer.sdp"
deliver "$C/dcgw/ue.sdp" "$C/ue-answer.sdp"
wait_for "the UE's result" 30 test -s "$C/ue.json" || true
ctl --json get c >"$C/get.json" || true
touch "$C/stop"
wait_peer $c_as
wait_peer $c_ue
check "c. the data channel works on the leg without SRTP ($(json_field "$C/ue.json" 'j["dc"]'))" \
    [ "$(json_field "$C/ue.json" 'j["dc"]["ok"] == j["dc"]["sent"] == 20')" = True ]
# answered passive (a media leg), aiortc is the DTLS client but opens "echo" on an odd stream
# (it picks by its ICE role): taken, and counted (sctp.dcep_tolerate_parity)
check "c. aiortc's channel of the DTLS server's parity was taken and counted (dcep_wrong_parity $wp0 -> $(counter dcep_wrong_parity))" \
    bash -c "grep -q '^a=setup:passive' '$C/dcgw/ue.sdp' && [ $(counter dcep_wrong_parity) -ge $((wp0 + 1)) ]"
mf=$(event c media_failed || echo '{}')
check "c. media_failed on leg as: $(field "$mf" 'j.get("reason")')" \
    bash -c "[ '$(field "$mf" 'j.get("_leg")')' = as ] && echo '$(field "$mf" 'j.get("reason")')' | grep -q use_srtp"
check "c. get says why leg as carries no media" \
    bash -c "echo '$(media as 'm.get("failure", "")' "$C/get.json")' | grep -q use_srtp"
check "c. no frame reached either side ($(json_field "$C/ue.json" 'j["frames_total"]') / $(json_field "$C/as.json" 'j["frames_total"]'))" \
    [ "$(json_field "$C/ue.json" 'sum(j["frames_total"].values())')/$(json_field "$C/as.json" 'sum(j["frames_total"].values())')" = 0/0 ]
nr=$(media ue 'sum(x.get("counters", {}).get("dropped_not_ready", 0) for x in m["lines"])' "$C/get.json")
check "c. the UE's media was dropped, not forwarded to the leg without keys (not_ready $nr)" ge "$nr" 20
check "c. and nothing of the UE's was forwarded" \
    [ "$(media ue 'sum(x.get("counters", {}).get("forwarded_packets", 0) for x in m["lines"])' "$C/get.json")" = 0 ]
ctl close c >/dev/null || true

# ---- d. no common codec: the m-line is rejected in both answers, with the reason
D="$T/d"; mkdir -p "$D/dcgw"
sed 's/^m=audio \([0-9]*\) UDP\/TLS\/RTP\/SAVPF .*/m=audio \1 UDP\/TLS\/RTP\/SAVPF 96\r/' "$C/ue-offer.sdp" >"$D/ue-offer.sdp"
sed 's/^m=audio \([0-9]*\) UDP\/TLS\/RTP\/SAVPF .*/m=audio \1 UDP\/TLS\/RTP\/SAVPF 0\r/' "$C/as-offer.sdp" >"$D/as-offer.sdp"
create --id d --leg "name=ue,setup=active,sdp=$D/ue-offer.sdp" --leg "name=as,sdp=$D/as-offer.sdp" --sdp-out "$D/dcgw" ||
    fail "d. create: $(cat "$T/create.out")"
check "d. a leg's setup=active overrides media.answer_setup (the other leg: passive)" \
    bash -c "grep -q '^a=setup:active' '$D/dcgw/ue.sdp' && ! grep -q '^a=setup:passive' '$D/dcgw/ue.sdp' && grep -q '^a=setup:passive' '$D/dcgw/as.sdp'"
for leg in ue as; do
    check "d. the answer to $leg rejects audio (port 0) and says why" \
        bash -c "grep -q '^m=audio 0 ' '$D/dcgw/$leg.sdp' && grep -q '^i=no common codec with the other leg' '$D/dcgw/$leg.sdp'"
    check "d. ... and keeps video and the data channel" \
        bash -c "grep -q '^m=video [1-9]' '$D/dcgw/$leg.sdp' && grep -q '^m=application [1-9]' '$D/dcgw/$leg.sdp'"
done
ctl --json get d >"$D/get.json" || true
check "d. get shows the rejected m-line with its reason" \
    [ "$(media ue 'next(x for x in m["lines"] if x["mid"] == "0").get("reason")' "$D/get.json")" = "no common codec with the other leg" ]
ctl close d >/dev/null || true
[ -n "${DCGW_IT_KEEP:-}" ] && cp -r "$B" "$C" "$D" "$T/dcgwd.log" "$T/events.jsonl" "$DCGW_IT_KEEP"

# ---- e. /metrics: every session closed, so the worker's totals are final
sleep 0.5 # a push interval or more
for kind in audio video; do
    for dir in in out; do
        n=$(metric dcgw_media_packets_total "kind=$kind,direction=$dir")
        check "e. dcgw_media_packets_total{kind=$kind,direction=$dir} $n (>= 200)" ge "$n" 200
    done
done
out=$(metric dcgw_media_packets_total direction=out)
check "e. ... out equals stats media_forwarded_packets ($out)" [ "$out" = "$(counter media_forwarded_packets)" ]
srtpf=$(($(metric dcgw_drops_total reason=media_auth) + $(metric dcgw_drops_total reason=media_replay)))
check "e. dcgw_drops_total media_auth + media_replay = stats media_srtp_failures ($srtpf)" \
    [ "$srtpf" = "$(counter media_srtp_failures)" ]
check "e. dcgw_drops_total{reason=media_not_ready} counts c.'s drops ($(metric dcgw_drops_total reason=media_not_ready))" \
    ge "$(metric dcgw_drops_total reason=media_not_ready)" 20
check "e. dcgw_srtp_sessions_created_total = stats srtp_sessions_created ($(counter srtp_sessions_created))" \
    [ "$(metric dcgw_srtp_sessions_created_total)" = "$(counter srtp_sessions_created)" ]
check "e. dcgw_media_started_total = media_started events ($(events media_started | wc -l))" \
    [ "$(metric dcgw_media_started_total)" = "$(events media_started | wc -l)" ]
check "e. dcgw_media_failures_total{role=answer} = media_failed events ($(events media_failed | wc -l))" \
    [ "$(metric dcgw_media_failures_total role=answer)" = "$(events media_failed | wc -l)" ]
for role in answer offer; do
    n=$(metric dcgw_relay_media_forwarded_datagrams_total "role=$role")
    check "e. dcgw_relay_media_forwarded_datagrams_total{role=$role} $n (b.: >= 200)" ge "$n" 200
done

finish
