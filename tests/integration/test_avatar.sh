#!/usr/bin/env bash
# Signed avatars through dcgwd between two aiortc peers (Debian python3-aiortc), in a
# private network and PID namespace:
#
#   +------------------------- unshare -n -p (this script) --------------------------+
#   |  avatar_ue.py --offer--> test --dcgwctl create --from (Session.avatar)--> dcgwd |
#   |   one DCEP channel per case,     <--ue.sdp / as.sdp--    |  UDP 127.0.0.1:p     |
#   |   subprotocol "avatar"                                   |  policy: KIND_AVATAR |
#   |  avatar_bar.py <--as.sdp-- test --dcgwctl update --leg as--/  verifier per      |
#   |   answers each request token with an envelope             direction of channel |
#   |  UE ==DTLS/SCTP== dcgwd (policy, avatar verifier) ==DTLS/SCTP== BAR             |
#   |  dcgwctl watch --json -> events.jsonl (avatar_accepted / avatar_rejected)      |
#   +--------------------------------------------------------------------------------+
#
# Envelopes are made here with tools/dcgw-avatar from the keys of tests/data/avatar (the
# CA is dcgw's configured anchor, keys/ its raw keys). The UE signs each request token
# with the private key of the certificate aiortc uses for DTLS. Asserts
# (docs/avatar-envelope.md):
#   a. a valid 4 MiB avatar (ES256, x5c) and a 600 kB one (EdDSA, kid) arrive byte-exact,
#      with avatar_accepted (size, chunks, signer); the UE's request tokens reach the BAR
#      unchanged, each with avatar_accepted (request);
#   b. each tampered variant delivers nothing after its point of failure, closes the
#      channel on both legs and emits avatar_rejected with its reason: tampered header,
#      tampered claims, alg none (nothing at all), swapped chunk 5 (manifest and chunks
#      0..4), truncated after 4 chunks, an extra chunk (the whole avatar, not the extra),
#      expired, nbf in the future, wrong avatar id, wrong owner, untrusted chain;
#   c. a request token signed with a key other than the UE's DTLS key never reaches the
#      BAR: avatar_rejected (request, bad signature) and the channel closed;
#   d. dcgwd logs each refusal; no worker is lost;
#   e. a BAR that does not pace its chunks: whatever dcgw's bridge could not deliver to the
#      UE (it has no flow control across legs) fails the transfer with AVATAR_UNDELIVERED
#      instead of leaving a silent gap (or, if nothing was dropped, the avatar is whole);
#   f. grants replaced live (dcgwctl update --avatar, UpdateSession.avatar): an avatar id
#      not granted is refused (AVATAR_NOT_AUTHORIZED); after the update granting it, the
#      same envelope on a channel the UE opens then arrives byte-exact; an update naming an
#      unknown leg is refused;
#   g. (in b) a BAR that sends a manifest and 3 chunks, then nothing: after
#      avatar.transfer_timeout_ms (5 s here) AVATAR_TIMEOUT at chunk 3, the channel closed
#      on both legs;
#   h. the anchor files are read when the worker is configured: they are deleted before
#      the first avatar message, and the valid avatars (a) still pass, without a warning.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

check "Debian python3 has aiortc and cryptography" "$PY" -c 'import aiortc, aioice, cryptography'
D="$DCGW_SRC/tests/data/avatar"
TOOL="$DCGW_SRC/tools/dcgw-avatar"
# dcgwd reads copies of the anchor files, removed once it started: a worker reads them
# when it is configured, not at a session's first avatar message (h)
A="$T/anchors"
mkdir -p "$A" && cp -r "$D/ca.pem" "$D/keys" "$A/"
start_loopback_dcgwd 1 \
    'sctp: { buffered_limit = 67108864; };' 'metrics: { push_interval_ms = 200; };' \
    "avatar: { trust_anchors = \"$A/ca.pem\"; trusted_keys = \"$A/keys\"; audience = \"dcgw\"; transfer_timeout_ms = 5000; };"
rm -rf "$A"

# ---- envelopes

E="$T/env"
mkdir -p "$E"
head -c 4194304 /dev/urandom >"$E/big.bin"
head -c 600000 /dev/urandom >"$E/small.bin"
now=$(date +%s)
common="--iss https://bar.example --aud dcgw --cty model/gltf-binary --chunk-size 64000"
alice="--avatar-id avatar-1 --sub sip:alice@ims.example"
sign() { "$PY" "$TOOL" sign "$@" >/dev/null; }
sign "$E/big.bin" --key "$D/es256.key" --cert "$D/es256.pem" $alice $common --out "$E/big"
sign "$E/small.bin" --key "$D/raw-eddsa.key" --kid bar-key-1 $alice $common --out "$E/kid"
sign "$E/small.bin" --key "$D/es256.key" --cert "$D/es256.pem" $alice $common --out "$E/small"
sign "$E/small.bin" --key "$D/es256.key" --cert "$D/es256.pem" $alice $common \
    --iat $((now - 7200)) --lifetime 3600 --out "$E/expired"
sign "$E/small.bin" --key "$D/es256.key" --cert "$D/es256.pem" $alice $common \
    --nbf $((now + 3600)) --out "$E/nbf"
sign "$E/small.bin" --key "$D/es256.key" --cert "$D/es256.pem" --avatar-id avatar-3 \
    --sub sip:alice@ims.example $common --out "$E/wrong-id"
sign "$E/small.bin" --key "$D/es256.key" --cert "$D/es256.pem" --avatar-id avatar-1 \
    --sub sip:bob@ims.example $common --out "$E/wrong-owner"
sign "$E/small.bin" --key "$D/rogue.key" --cert "$D/rogue.pem" $alice $common --out "$E/untrusted"
sign "$E/small.bin" --key "$D/es256.key" --cert "$D/es256.pem" --avatar-id avatar-4 \
    --sub sip:alice@ims.example $common --out "$E/late-id"
check "tools/dcgw-avatar verifies its own valid envelope offline" \
    "$PY" "$TOOL" verify "$E/big" --ca "$D/ca.pem" --grant sip:alice@ims.example=avatar-1 --aud dcgw
check "tools/dcgw-avatar refuses the untrusted one offline" \
    not "$PY" "$TOOL" verify "$E/untrusted" --ca "$D/ca.pem"

# label: envelope, how the BAR sends it, the UE's token, what the UE waits for, the
# reason of the expected rejection ("" none), messages the UE should get (manifest
# included), the chunk index in the event.
CASES="valid-x5c:big:normal:dtls:complete::67:
valid-kid:kid:normal:dtls:complete::11:
header:small:header:dtls:closed:AVATAR_BAD_SIGNATURE:0:
claims:small:claims:dtls:closed:AVATAR_BAD_SIGNATURE:0:
none:small:none:dtls:closed:AVATAR_BAD_SIGNATURE:0:
swap:small:swap#5:dtls:closed:AVATAR_DIGEST_MISMATCH:6:5
truncate:small:truncate#4:dtls:closed:AVATAR_SIZE_MISMATCH:5:4
stall:small:stall#3:dtls:closed:AVATAR_TIMEOUT:4:3
extra:small:extra:dtls:closed:AVATAR_SIZE_MISMATCH:11:
expired:expired:normal:dtls:closed:AVATAR_EXPIRED:0:
nbf:nbf:normal:dtls:closed:AVATAR_NOT_YET_VALID:0:
wrong-id:wrong-id:normal:dtls:closed:AVATAR_NOT_AUTHORIZED:0:
wrong-owner:wrong-owner:normal:dtls:closed:AVATAR_NOT_AUTHORIZED:0:
untrusted:untrusted:normal:dtls:closed:AVATAR_UNTRUSTED_SIGNER:0:
badtoken:small:normal:other:closed:AVATAR_BAD_SIGNATURE:0:
grant-before:late-id:normal:dtls:closed:AVATAR_NOT_AUTHORIZED:0:
grant-after:late-id:normal:dtls:complete::11:
flood:big:flood:dtls:either::67:"
# (the UE opens grant-after's channel only once $T/granted exists: after the update)
"$PY" - "$E" "$CASES" "$T/ue-plan.json" "$T/bar-plan.json" "$T/granted" <<'PY'
import json, sys
env, cases, ue, bar, granted = sys.argv[1:6]
up, bp = {}, {}
for line in cases.split("\n"):
    label, d, send, token, expect, _reason, n, _k = line.split(":")
    up[label] = {"token": token, "expect": expect, "chunks": int(n) - 1}
    if label == "grant-after":
        up[label]["after"] = granted
    bp[label] = {"dir": env + "/" + d, "send": send.replace("#", ":"), "refused": token != "dtls"}
json.dump(up, open(ue, "w"))
json.dump(bp, open(bar, "w"))
PY

cat >"$T/policy.json" <<'JSON'
{"version": 1, "allow_dcep": true,
 "rules": [{"name": "avatars", "verdict": "VERDICT_ALLOW", "kind": "KIND_AVATAR"}]}
JSON

# ---- the session

ev() { # ev KIND FILTER: bodies of matching events of session av, one per line
    "$PY" - "$T/events.jsonl" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("session_id") == "av" and sys.argv[2] in e:
        b = e[sys.argv[2]]
        b["_leg"] = e.get("leg")
        if eval(sys.argv[3], {"e": b}):
            print(json.dumps(b))
PY
}

U="$T/ue" B="$T/bar"
mkdir -p "$U" "$B" "$T/dcgw"
"$PY" "$PEERS/avatar_ue.py" "$U/offer.sdp" "$U/answer.sdp" "$T/ue-plan.json" "$U/result.json" \
    --tool "$TOOL" >"$U/peer.out" 2>"$U/peer.log" &
upid=$!
"$PY" "$PEERS/avatar_bar.py" "$B/offer.sdp" "$B/answer.sdp" "$T/bar-plan.json" "$B/result.json" \
    "$T/stop" >"$B/peer.out" 2>"$B/peer.log" &
bpid=$!
wait_for "the UE's offer" 15 test -s "$U/offer.sdp" || true
"$PY" - "$U/offer.sdp" "$T/session.json" "$T/avatar-grant.json" "$T/avatar-bad.json" <<'PY'
import json, sys
def avatar(ids, leg="ue"):
    return {"grants": [{"owner": "sip:alice@ims.example", "avatar_ids": ids, "leg": leg},
                       {"owner": "sip:bob@ims.example", "avatar_ids": ["avatar-7"]}]}
json.dump({"id": "av",
           "legs": [{"name": "ue", "role": "ROLE_ANSWER",
                     "dc": {"mode": "MODE_TERMINATE", "remote_sdp": open(sys.argv[1]).read()}},
                    {"name": "as", "role": "ROLE_OFFER", "dc": {"mode": "MODE_TERMINATE"}}],
           "avatar": avatar(["avatar-1", "avatar-2"])},
          open(sys.argv[2], "w"))
json.dump(avatar(["avatar-1", "avatar-2", "avatar-4"]), open(sys.argv[3], "w"))
json.dump(avatar(["avatar-1", "avatar-2", "avatar-4"], leg="nope"), open(sys.argv[4], "w"))
PY
check "dcgw creates the session with its avatar grants (--from)" \
    ctl create --from "$T/session.json" --policy "$T/policy.json" --sdp-out "$T/dcgw" >"$T/create.out"
deliver "$T/dcgw/ue.sdp" "$U/answer.sdp"
deliver "$T/dcgw/as.sdp" "$B/offer.sdp"
wait_for "the BAR's answer" 15 test -s "$B/answer.sdp" || true
check "dcgwctl update gives the as leg its answer" ctl update av --leg as --sdp "$B/answer.sdp" >/dev/null
# f. the grant comes once avatar-4 was refused; the UE then asks again on a new channel
refused_before() {
    test -n "$(ev avatar_rejected 'e.get("label") == "grant-before" and e.get("reason") == "AVATAR_NOT_AUTHORIZED"')"
}
quiet() { "$@" >/dev/null 2>&1; }
check "f. avatar-4, not granted yet, is refused" wait_for "grant-before refused" 60 refused_before
check "f. dcgwctl update --avatar refuses a grant for an unknown leg" \
    not quiet ctl update av --avatar "$T/avatar-bad.json"
check "f. dcgwctl update --avatar replaces the session's grants" \
    quiet ctl update av --avatar "$T/avatar-grant.json"
check "f. the session shows the new grant" [ "$(ctl --json get av | json_get "'avatar-4' in j['session']['avatar']['grants'][0]['avatar_ids']")" = True ]
echo 1 >"$T/granted"
wait_peer $upid
check "the UE saw every case to its end (exit $PEER_RC)" [ "$PEER_RC" = 0 ]
echo 1 >"$T/stop"
wait_peer $bpid
sleep 0.3

R="$U/result.json" X="$B/result.json"
sha() { sha256sum "$1" | cut -d' ' -f1; }
prefix_sha() { head -c "$2" "$1" | sha256sum | cut -d' ' -f1; }
ue() { json_field "$R" "j['channels']['$1']$2"; }

# ---- a. the valid avatars

check "a. 4 MiB avatar: manifest and 66 chunks arrived" [ "$(ue valid-x5c "['messages'].__len__()")" = 67 ]
check "a. 4 MiB avatar: byte-exact" [ "$(ue valid-x5c "['chunks_sha256']")" = "$(sha "$E/big.bin")" ]
check "a. 4 MiB avatar: the manifest arrived unchanged" \
    [ "$(ue valid-x5c "['manifest']")" = "$(cat "$E/big/manifest.jws")" ]
check "a. 600 kB avatar signed under a kid: byte-exact" \
    [ "$(ue valid-kid "['chunks_sha256']")" = "$(sha "$E/small.bin")" ]
check "a. avatar_accepted for the 4 MiB avatar (leg as, size, chunks, signer)" \
    test -n "$(ev avatar_accepted 'e.get("label") == "valid-x5c" and e["_leg"] == "as" and e.get("size") == 4194304 and e.get("chunks") == 66 and e.get("signer") == "CN=avatar signer ES256" and e.get("avatar_id") == "avatar-1" and e.get("owner") == "sip:alice@ims.example"')"
check "a. avatar_accepted for the kid-signed avatar (signer kid:bar-key-1)" \
    test -n "$(ev avatar_accepted 'e.get("label") == "valid-kid" and e.get("signer") == "kid:bar-key-1"')"
check "a. the BAR got the UE's request token unchanged" \
    [ "$(json_field "$X" "j['channels']['valid-x5c']['received'][0]")" = "$(ue valid-x5c "['token']")" ]
nreq=$(ev avatar_accepted 'e.get("request") and e["_leg"] == "ue" and e.get("owner") == "sip:alice@ims.example"' | wc -l)
check "a. avatar_accepted (request) for the 17 good tokens ($nreq)" [ "$nreq" = 17 ]
check "a. the valid channels stay open" \
    [ "$(ue valid-x5c "['closed']")$(ue valid-kid "['closed']")" = FalseFalse ]

# ---- b. the tampered variants

while IFS=: read -r label _d _s token _x reason n k; do
    [ -n "$reason" ] || continue
    got=$(ue "$label" "['messages'].__len__()")
    leg=as req=False
    [ "$token" = other ] && leg=ue req=True
    if [ "$n" = 0 ]; then
        check "b. $label: nothing reached the UE ($got messages)" [ "$got" = 0 ]
    else
        check "b. $label: exactly the $n verified messages reached the UE ($got)" [ "$got" = "$n" ]
        want=$(prefix_sha "$E/small.bin" $(( (n - 1) * 64000 > 600000 ? 600000 : (n - 1) * 64000 )))
        check "b. $label: what arrived is the avatar's first $((n - 1)) chunks, byte-exact" \
            [ "$(ue "$label" "['chunks_sha256']")" = "$want" ]
    fi
    check "b. $label: the channel was closed at the UE" [ "$(ue "$label" "['closed']")" = True ]
    filter="e.get('label') == '$label' and e.get('reason') == '$reason' and e['_leg'] == '$leg' and bool(e.get('request')) == $req"
    [ -n "$k" ] && filter="$filter and e.get('chunk') == $k"
    check "b. $label: avatar_rejected $reason${k:+ at chunk $k} (leg $leg)" test -n "$(ev avatar_rejected "$filter")"
done <<<"$CASES"
check "b. the extra-chunk case was accepted whole before the extra" \
    test -n "$(ev avatar_accepted 'e.get("label") == "extra" and not e.get("request")')"
check "b. the BAR's channels of the rejected cases were closed" \
    [ "$(json_field "$X" "all(j['channels'][l]['closed'] for l in ('header', 'swap', 'truncate', 'untrusted', 'stall'))")" = True ]

# ---- e. a sender that does not pace: dcgw's bridge drops what the UE's leg cannot take
# (no flow control across legs); a transfer with such a gap is failed, not left silent

got=$(ue flood "['messages'].__len__()")
if [ "$got" = 67 ] && [ "$(ue flood "['chunks_sha256']")" = "$(sha "$E/big.bin")" ]; then
    ok "e. unpaced 4 MiB avatar: nothing was dropped this time, it arrived whole"
else
    check "e. unpaced 4 MiB avatar: $got of 67 messages arrived; avatar_rejected AVATAR_UNDELIVERED" \
        test -n "$(ev avatar_rejected 'e.get("label") == "flood" and e.get("reason") == "AVATAR_UNDELIVERED"')"
    check "e. unpaced 4 MiB avatar: the channel was closed at the UE" [ "$(ue flood "['closed']")" = True ]
    check "e. unpaced 4 MiB avatar: no avatar_accepted for it" \
        test -z "$(ev avatar_accepted 'e.get("label") == "flood" and not e.get("request")')"
fi

# ---- f. the same envelope after the update

check "f. after the update, avatar-4 arrived byte-exact (manifest and 10 chunks)" \
    [ "$(ue grant-after "['messages'].__len__()"):$(ue grant-after "['chunks_sha256']")" = "11:$(sha "$E/small.bin")" ]
check "f. after the update, the manifest arrived unchanged and the channel stays open" \
    [ "$(ue grant-after "['manifest']"):$(ue grant-after "['closed']")" = "$(cat "$E/late-id/manifest.jws"):False" ]
check "f. avatar_accepted for avatar-4 after the update" \
    test -n "$(ev avatar_accepted 'e.get("label") == "grant-after" and e.get("avatar_id") == "avatar-4" and not e.get("request")')"

# ---- c. the request token signed with another key

# (dcgw refuses the token as soon as the UE sends it, possibly before the BAR's leg is up:
# then the BAR never even sees the channel)
check "c. the BAR never received the token signed with another key" \
    [ "$(json_field "$X" "len(j['channels'].get('badtoken', {}).get('received', []))")" = 0 ]
check "c. the BAR's twin of that channel, if it was opened, was closed" \
    [ "$(json_field "$X" "j['channels'].get('badtoken', {'closed': True})['closed']")" = True ]
check "c. the refusal says the token is not signed with the DTLS certificate's key" \
    test -n "$(ev avatar_rejected 'e.get("label") == "badtoken" and "DTLS" in e.get("detail", "")')"

# ---- d. logs and workers

check "d. dcgwd logs the refusals" grep -q 'avatar rejected: digest mismatch: chunk 5' "$T/dcgwd.log"
check "h. anchors deleted after start: the workers' store still vouches (a), no warning" \
    not grep -q 'avatar.trust_anchors\|avatar.trusted_keys' "$T/dcgwd.log"
check "d. no worker lost, dcgwd answers" \
    bash -c "'$DCGWCTL' -s '$SOCK' ping >/dev/null && ! grep -q worker_lost '$T/events.jsonl'"
metrics_events "d. /metrics:" 0.5

if [ "$FAILED" -ne 0 ]; then
    for f in "$U/peer.log" "$B/peer.log"; do [ -s "$f" ] && { echo "---- $f"; tail -20 "$f"; }; done
    echo "---- BAR closed: $(json_field "$X" "{k: v['closed'] for k, v in j['channels'].items()}")"
    echo "---- UE result"; json_field "$R" "{k: (v['messages'][:3], len(v['messages']), v['closed']) for k, v in j['channels'].items()}"
fi
finish
