#!/usr/bin/env bash
# Nmf_MRM (TS 29.176) end to end: Debian's curl, speaking HTTP/2, is the IMS AS's HTTP
# client; nmf_as.py is the rest of the AS (SDP <-> MediaContext); two aiortc peers are the
# UE and the far end; dcgw terminates both legs. Every body sent and received is checked
# by python3-jsonschema against tests/data/nmf/nmf-mrm.schema.json, not by dcgw's code.
#
#   +------------------------- unshare -n -p (this script) ---------------------------+
#   |  curl --http2-prior-knowledge --POST/PATCH/DELETE--> dcgwd :nmf (h2c)             |
#   |  aiortc UE <=termination ue=> dcgwd <=termination as=> aiortc echo                |
#   |  dcgwctl watch --json -> events.jsonl; dcgwctl --json get (the same session)      |
#   |  curl --http2 (TLS, ALPN h2, OAuth2 bearer) --> a second dcgwd with nmf.tls       |
#   |  aiortc UE ==stream 0 "http"==> dcgwd --MDC1 from 127.0.0.2--> dcsf-a / dcsf-b     |
#   |                                  (python3 http.server, as dcsf.test:PORT)         |
#   +-----------------------------------------------------------------------------------+
#
# 1. POST a context built from both offers: 201, Location, dcgw's endpoints; the answers
#    made from them connect both peers; the UE's messages come back byte-exact (DCEP
#    channel chat and the negotiated stream 1000); the control socket sees the session.
# 2. PATCH removes stream 1002 from both terminations: 200, channel_closed on both legs.
# 3. DELETE: 204, session_closed; a second DELETE: 404.
# 4. Refused, with their ProblemDetails, and nothing created: malformed JSON, missing
#    required attributes, a bad enum, a bad fingerprint, AUDIO media, an oversized body,
#    a PATCH on a path that does not exist, an unknown context, GET, a wrong content type.
# 5. TLS with ALPN h2 on a second daemon that checks OAuth2 bearer tokens (RS256, signed
#    by openssl as the NRF would): no token 401 with WWW-Authenticate, a token without
#    scope nmf-mrm 403, a valid one: POST and DELETE; HTTP/1.1 is refused.
# 6. The bootstrap proxy: a context whose UE termination has mediaProxyConfig HTTP,
#    replaceHttpUrl for stream 0 (a host name that does not resolve), remoteMdc1Endpoint
#    (where dcgw connects) and localMdc1Endpoint 127.0.0.2 (its source address); the aiortc
#    UE's GET on stream 0 gets dcsf-a's answer, the 201 reports the members back; a PATCH
#    points stream 0 at dcsf-b (URL and MDC1 port), the UE's next GET gets dcsf-b's answer;
#    bad members are refused (400 naming them), nothing created.
# Costs about 15 s.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

PORT=18080
API=http://127.0.0.1:$PORT/nmf-mrm/v1/contexts
NEG=1000:app:x-app
NEG2=1002:extra:x-extra
start_loopback_dcgwd 1 "nmf: { enabled = true; listen = \"127.0.0.1:$PORT\";
    policy = \"$DCGW_SRC/config/examples/policy-allow-all.json\"; max_body = 8192; };"

nmfas() { "$PY" "$PEERS/nmf_as.py" "$@"; }
# h2 NAME CURL_ARGS...: one request; NAME.body and NAME.head are the response; prints
# "<status> <http version>".
h2() {
    local name=$1; shift
    curl -sS --http2-prior-knowledge -o "$T/$name.body" -D "$T/$name.head" \
        -w '%{http_code} %{http_version}' "$@" 2>"$T/$name.err" || true
}
# valid DEF FILE WHAT: the body validates against the schema's DEF (each error fails).
valid() {
    local out
    if out=$(nmfas validate "$1" "$2" 2>&1); then ok "$3: valid $1"; else fail "$3: not a valid $1: $out"; fi
}
header() { sed -n "s/^$2: \(.*\)\r\$/\1/Ip" "$T/$1.head" | head -n1; }
sessions() { ctl --json list | json_get 'len(j.get("sessions", []))'; }

check "curl speaks HTTP/2 (nghttp2)" grep -q HTTP2 <(curl -V)
check "python3-jsonschema is there" "$PY" -c 'import jsonschema'

# ---- 1. create
U="$T/u"; mkdir -p "$U"
"$PY" "$PEERS/dc_aiortc.py" --role echo --offer-out "$U/as-offer.sdp" --answer-in "$U/as-answer.sdp" \
    --result "$U/as.json" --negotiated $NEG --negotiated $NEG2 --stop-file "$U/stop" --timeout 25 2>"$U/as.log" &
p_as=$!
"$PY" "$PEERS/dc_aiortc.py" --role ue --offer-out "$U/ue-offer.sdp" --answer-in "$U/ue-answer.sdp" \
    --result "$U/ue.json" --open chat:x-chat --negotiated $NEG --negotiated $NEG2 --script-max 65536 \
    --stop-file "$U/stop" --timeout 22 2>"$U/ue.log" &
p_ue=$!
wait_for "the aiortc offers" 10 test -s "$U/ue-offer.sdp" -a -s "$U/as-offer.sdp" || true
nmfas context "$U/ctx.json" ue="$U/ue-offer.sdp" as="$U/as-offer.sdp"
valid MediaContext "$U/ctx.json" "1. the AS's POST body"
r=$(h2 post --data-binary @"$U/ctx.json" -H 'content-type: application/json' "$API")
check "1. POST /contexts: 201 over HTTP/2 (got $r: $(head -c 300 "$T/post.body"))" [ "$r" = "201 2" ]
valid MediaContext "$T/post.body" "1. the 201 body"
ID=$(json_field "$T/post.body" 'j["contextId"]')
check "1. Location is {apiRoot}/nmf-mrm/v1/contexts/{contextId} ($(header post location))" \
    [ "$(header post location)" = "$API/$ID" ]
check "1. dcgw's local endpoints: Mb address, sctp port, fingerprint, tls-id, ICE (lite)" \
    [ "$(json_field "$T/post.body" '[all(k in m["dcMedia"]["localDcEndpoint"] for k in ("sctpPort","fingerprint","tlsId")) and m["localMbEndpoint"]["transport"]=="UDP" and m["vendorSpecific-032473"]["localIce"]["lite"] for t in j["terminations"] for m in t["medias"]]')" = "[True, True]" ]
nmfas answer "$T/post.body" ue "$U/ue-offer.sdp" "$U/ue-answer.sdp"
nmfas answer "$T/post.body" as "$U/as-offer.sdp" "$U/as-answer.sdp"
ctl --json get "$ID" >"$U/get.json" 2>&1 || true
check "1. the control socket has session $ID (tag nmf-mrm, legs ue and as)" \
    [ "$(json_field "$U/get.json" '(j["session"]["tag"], [l["name"] for l in j["session"]["legs"]])')" = "('nmf-mrm', ['ue', 'as'])" ]
wait_for "the UE's result" 15 test -s "$U/ue.json" || true
pycheck "1." peer "$U/ue.json" "aiortc UE through an Nmf_MRM context"
check "1. channel_opened on both legs for stream 1000" \
    [ "$(events channel_opened "e['_session']=='$ID' and e['channel']['stream_id']==1000" | wc -l)" -ge 2 ]
check "1. leg_connected on both legs" [ "$(events leg_connected "e['_session']=='$ID'" | wc -l)" = 2 ]

# ---- 2. PATCH: stream 1002 leaves both terminations
cat >"$U/patch.json" <<'EOF'
[{"op": "test", "path": "/terminations/0/terminationId", "value": "ue"},
 {"op": "remove", "path": "/terminations/0/medias/0/dcMedia/streams/1002"},
 {"op": "remove", "path": "/terminations/1/medias/0/dcMedia/streams/1002"}]
EOF
valid PatchDocument "$U/patch.json" "2. the PATCH body"
r=$(h2 patch -X PATCH --data-binary @"$U/patch.json" -H 'content-type: application/json-patch+json' "$API/$ID")
check "2. PATCH: 200 (got $r: $(head -c 300 "$T/patch.body"))" [ "$r" = "200 2" ]
valid MediaContext "$T/patch.body" "2. the 200 body"
check "2. the context keeps stream 1000 and has no 1002 left" \
    [ "$(json_field "$T/patch.body" '[sorted(t["medias"][0]["dcMedia"]["streams"]) for t in j["terminations"]]')" = "[['1000'], ['1000']]" ]
closed_1002() { events channel_closed "e['_session']=='$ID' and e['channel']['stream_id']==1002" | "$PY" -c 'import json,sys; print(sorted(json.loads(l)["_leg"] for l in sys.stdin))'; }
closed_both() { [ "$(closed_1002)" = "['as', 'ue']" ]; }
wait_for "channel_closed of 1002 on both legs" 5 closed_both || true
check "2. channel_closed for stream 1002 on legs ue and as" [ "$(closed_1002)" = "['as', 'ue']" ]

# ---- 3. DELETE
r=$(h2 del -X DELETE "$API/$ID")
check "3. DELETE: 204 (got $r)" [ "$r" = "204 2" ]
wait_for "session_closed of $ID" 5 event "$ID" session_closed || true
check "3. session_closed on the control socket" event "$ID" session_closed
check "3. the control socket no longer has it" not ctl get "$ID"
r=$(h2 del2 -X DELETE "$API/$ID")
check "3. DELETE again: 404 (got $r)" [ "$r" = "404 2" ]
valid ProblemDetails "$T/del2.body" "3. the 404 body"
touch "$U/stop"
wait_peer $p_ue
wait_peer $p_as
pycheck "1." received "$U/as.json" "aiortc echo" chat chat 65536
pycheck "1." received "$U/as.json" "aiortc echo" app app 65536

# ---- 4. refused, nothing created
before=$(sessions)
# refused NAME STATUS CAUSE PARAM CURL_ARGS...: the status, a valid ProblemDetails with
# that cause, PARAM among its invalidParams ("" when none is expected).
refused() {
    local name=$1 status=$2 cause=$3 param=$4; shift 4
    local r sec=${SEC:-4}; r=$(h2 "$name" "$@")
    check "$sec. $name: $status (got $r: $(head -c 200 "$T/$name.body"))" [ "$r" = "$status 2" ]
    [ "$cause" = - ] && return
    valid ProblemDetails "$T/$name.body" "$sec. $name"
    check "$sec. $name: cause $cause" [ "$(json_field "$T/$name.body" 'j.get("cause")')" = "$cause" ]
    [ -z "$param" ] || check "$sec. $name: invalidParams names $param" \
        [ "$(json_field "$T/$name.body" "'$param' in [p['param'] for p in j['invalidParams']]")" = True ]
}
post() { printf '%s' "$1" >"$T/req.json"; echo --data-binary @"$T/req.json" -H content-type:application/json "$API"; }
mutate() { # mutate PYTHON: the UE's context with a change (d is the dict)
    "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); $1; print(json.dumps(d))" "$U/ctx.json"
}
M='d["terminations"][0]["medias"][0]'
refused malformed 400 INVALID_MSG_FORMAT "" $(post '{"terminations": [')
refused missing 400 MANDATORY_IE_MISSING /terminations/0/medias/0/mediaId \
    $(post "$(mutate "del $M[\"mediaId\"]; del d[\"terminations\"][1]")")
refused no-terminations 400 MANDATORY_IE_MISSING /terminations $(post '{"contextId": "x"}')
refused bad-enum 400 OPTIONAL_IE_INCORRECT /terminations/0/medias/0/dcMedia/securitySetup \
    $(post "$(mutate "$M[\"dcMedia\"][\"securitySetup\"]=\"SIDEWAYS\"")")
refused bad-fingerprint 400 OPTIONAL_IE_INCORRECT \
    /terminations/0/medias/0/dcMedia/remoteDcEndpoint/fingerprint \
    $(post "$(mutate "$M[\"dcMedia\"][\"remoteDcEndpoint\"][\"fingerprint\"]=\"SHA-256 zz:01\"")")
refused audio 400 MANDATORY_IE_INCORRECT /terminations/0/medias/0/mediaResourceType \
    $(post "$(mutate "$M[\"mediaResourceType\"]=\"AUDIO\"")")
check "4. audio: the reason says why (MediaInfo has no codecs)" \
    [ "$(json_field "$T/audio.body" "'MediaInfo has no codecs' in j['invalidParams'][0]['reason']")" = True ]
head -c 9000 /dev/zero | tr '\0' ' ' >"$T/big.json"
refused oversized 413 PAYLOAD_TOO_LARGE "" --data-binary @"$T/big.json" \
    -H content-type:application/json "$API"
refused content-type 415 UNSUPPORTED_MEDIA_TYPE "" --data-binary @"$U/ctx.json" \
    -H content-type:text/plain "$API"
refused get 405 - "" "$API"
check "4. 405 says Allow: POST" [ "$(header get allow)" = POST ]
refused unknown-context 404 CONTEXT_NOT_FOUND "" -X PATCH --data-binary @"$U/patch.json" \
    -H content-type:application/json-patch+json "$API/no-such-context"
check "4. nothing was created ($before sessions before, $(sessions) after)" [ "$(sessions)" = "$before" ]
# a PATCH on a path that does not exist, on a context that does
r=$(h2 post2 --data-binary @"$U/ctx.json" -H 'content-type: application/json' "$API")
ID2=$(json_field "$T/post2.body" 'j["contextId"]')
check "4. a second context for the PATCH checks: 201 (got $r)" [ "$r" = "201 2" ]
echo '[{"op": "remove", "path": "/terminations/0/medias/0/dcMedia/streams/4242"}]' >"$T/p-unknown.json"
refused patch-unknown-path 400 MANDATORY_IE_INCORRECT /0/path -X PATCH \
    --data-binary @"$T/p-unknown.json" -H content-type:application/json-patch+json "$API/$ID2"
echo '[{"op": "replace", "path": "/terminations/0/medias/0/dcMedia/localDcEndpoint/sctpPort", "value": 9}]' >"$T/p-local.json"
refused patch-local 403 MODIFICATION_NOT_ALLOWED /terminations/0/medias/0/dcMedia/localDcEndpoint \
    -X PATCH --data-binary @"$T/p-local.json" -H content-type:application/json-patch+json "$API/$ID2"
check "4. the refused PATCHes left the context as it was" \
    [ "$(ctl --json get "$ID2" | json_get 'len(j["session"]["legs"])')" = 2 ]
r=$(h2 del3 -X DELETE "$API/$ID2")
check "4. DELETE of the second context: 204 (got $r)" [ "$r" = "204 2" ]

# ---- 5. TLS with ALPN h2 on a second daemon
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" -out "$T/tls.crt" 2>/dev/null
{
    echo 'workers = 1;'
    echo "control: { socket = \"$T/ctl2.sock\"; };"
    echo 'data_plane: { address = "127.0.0.1"; };'
    echo 'metrics: { listen = "127.0.0.1:0"; };' # the first dcgwd has the default port
    echo "nmf: { enabled = true; listen = \"127.0.0.1:18443\"; tls: { cert = \"$T/tls.crt\"; key = \"$T/tls.key\"; };"
    echo "  policy = \"$DCGW_SRC/config/examples/policy-allow-all.json\";"
    echo "  oauth2: { enabled = true; key = \"$T/nrf.pub\"; audience = \"mf-1\"; }; };"
} >"$T/tls.conf"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/nrf.key" 2>/dev/null
openssl pkey -in "$T/nrf.key" -pubout -out "$T/nrf.pub" 2>/dev/null
"$DCGWD" -c "$T/tls.conf" >"$T/dcgwd-tls.log" 2>&1 &
TLS_PID=$!
wait_for "the TLS daemon" 10 "$DCGWCTL" -s "$T/ctl2.sock" ping || true
wait_for "its worker" 10 bash -c "grep -q 'ready (pid' '$T/dcgwd-tls.log'" || true
TAPI=https://127.0.0.1:18443/nmf-mrm/v1/contexts
# tpost NAME [CURL_ARGS...]: POST the context over TLS; NAME.body, NAME.head; prints the status
tpost() {
    local name=$1; shift
    curl -sS --http2 --cacert "$T/tls.crt" -o "$T/$name.body" -D "$T/$name.head" \
        -w '%{http_code} %{http_version}' --data-binary @"$U/ctx.json" \
        -H 'content-type: application/json' "$@" "$TAPI" 2>"$T/$name.err" || true
}
before=$("$DCGWCTL" -s "$T/ctl2.sock" --json list | json_get 'len(j.get("sessions", []))')
r=$(tpost noauth)
check "5. no token: 401 (got $r)" [ "$r" = "401 2" ]
check "5. 401 says WWW-Authenticate: Bearer ($(header noauth www-authenticate))" \
    [ "$(header noauth www-authenticate)" = Bearer ]
valid ProblemDetails "$T/noauth.body" "5. the 401 body"
check "5. the 401's cause is UNAUTHORIZED" [ "$(json_field "$T/noauth.body" 'j.get("cause")')" = UNAUTHORIZED ]
r=$(tpost badscope -H "authorization: Bearer $(nmfas token "$T/nrf.key" scope=nudm-sdm aud=mf-1)")
check "5. a token without scope nmf-mrm: 403 (got $r)" [ "$r" = "403 2" ]
check "5. 403 says insufficient_scope ($(header badscope www-authenticate))" \
    grep -qi 'www-authenticate: Bearer error="insufficient_scope"' "$T/badscope.head"
r=$(tpost badaud -H "authorization: Bearer $(nmfas token "$T/nrf.key" aud=mf-2)")
check "5. a token for another MF (aud): 401 (got $r)" [ "$r" = "401 2" ]
check "5. ... with error=\"invalid_token\"" grep -qi 'www-authenticate: Bearer error="invalid_token"' "$T/badaud.head"
check "5. nothing was created without a valid token" \
    [ "$("$DCGWCTL" -s "$T/ctl2.sock" --json list | json_get 'len(j.get("sessions", []))')" = "$before" ]
TOKEN=$(nmfas token "$T/nrf.key" aud=mf-1)
r=$(tpost tls -H "authorization: Bearer $TOKEN")
check "5. POST over TLS, ALPN h2, with a valid token: 201 (got $r $(head -c 200 "$T/tls.err"))" [ "$r" = "201 2" ]
valid MediaContext "$T/tls.body" "5. the 201 body over TLS"
check "5. its Location is https" grep -q "\"contextId\"" "$T/tls.body"
TID=$(json_field "$T/tls.body" 'j["contextId"]')
r=$(curl -sS --http2 --cacert "$T/tls.crt" -o /dev/null -w '%{http_code}' -X DELETE "$TAPI/$TID" 2>/dev/null || true)
check "5. DELETE over TLS without a token: 401 (got $r)" [ "$r" = 401 ]
r=$(curl -sS --http2 --cacert "$T/tls.crt" -o /dev/null -w '%{http_code}' -X DELETE \
    -H "authorization: Bearer $TOKEN" "$TAPI/$TID" 2>/dev/null || true)
check "5. DELETE over TLS with the token: 204 (got $r)" [ "$r" = 204 ]
check "5. HTTP/1.1 over TLS is refused (no ALPN h2)" \
    not curl -sS --http1.1 --cacert "$T/tls.crt" -o /dev/null "$TAPI/x" -X DELETE
kill "$TLS_PID" 2>/dev/null || true
wait "$TLS_PID" 2>/dev/null || true

# ---- 6. the bootstrap proxy (docs/bootstrap.md) through Nmf_MRM
tcp_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
A=$(tcp_port)
B=$(tcp_port)
BT="$T/boot"; mkdir -p "$BT/www-a/boot/ue1" "$BT/www-b/boot/v2" "$BT/progress"
printf '{"apps":[{"id":"chat","url":"/apps/chat.zip"}]}\n' >"$BT/www-a/boot/ue1/apps.json"
printf '{"apps":[{"id":"chat-v2","url":"/apps/chat2.zip"},{"id":"ar","url":"/apps/ar.zip"}]}\n' >"$BT/www-b/boot/v2/apps.json"
"$PY" "$PEERS/dcsf_stub.py" --port "$A" --root "$BT/www-a" --name dcsf-a --log "$BT/dcsf-a.log" &
"$PY" "$PEERS/dcsf_stub.py" --port "$B" --root "$BT/www-b" --name dcsf-b --log "$BT/dcsf-b.log" &
wait_for "DCSF stand-ins" 10 test -f "$BT/dcsf-a.log.ready" -a -f "$BT/dcsf-b.log.ready" || true
cat >"$BT/plan.json" <<JSON
[{"name": "before", "chan": 0, "send": ["GET /apps.json HTTP/1.1\r\nHost: bootstrap\r\n\r\n"], "responses": 1},
 {"name": "after", "chan": 0, "pause_file": "$BT/patched", "send": ["GET /apps.json HTTP/1.1\r\nHost: bootstrap\r\n\r\n"], "responses": 1}]
JSON
"$PY" "$PEERS/boot_ue.py" --offer-out "$BT/ue-offer.sdp" --answer-in "$BT/ue-answer.sdp" \
    --plan "$BT/plan.json" --result "$BT/ue.json" --stop-file "$BT/stop" --progress "$BT/progress" \
    --timeout 30 2>"$BT/ue.log" &
p_boot=$!
wait_for "the bootstrap UE's offer" 10 test -s "$BT/ue-offer.sdp" || true
# dcsf.test does not resolve here: only remoteMdc1Endpoint says where dcgw connects
nmfas context "$BT/ctx.json" ue="$BT/ue-offer.sdp"
nmfas proxy "$BT/ctx.json" ue "0=http://dcsf.test:$A/boot/ue1/" "mdc1=127.0.0.1:$A" local=127.0.0.2
valid MediaContext "$BT/ctx.json" "6. the POST body with the proxy"
r=$(h2 bpost --data-binary @"$BT/ctx.json" -H 'content-type: application/json' "$API")
check "6. POST with mediaProxyConfig HTTP: 201 (got $r: $(head -c 300 "$T/bpost.body"))" [ "$r" = "201 2" ]
valid MediaContext "$T/bpost.body" "6. the 201 body"
BID=$(json_field "$T/bpost.body" 'j["contextId"]')
D6='j["terminations"][0]["medias"][0]["dcMedia"]'
check "6. the 201 reports the proxy: HTTP, stream 0's URL, the MDC1 endpoints (TCP)" \
    [ "$(json_field "$T/bpost.body" "($D6['mediaProxyConfig'], $D6['replaceHttpUrl']['0']['replaceHttpUrl'], $D6['remoteMdc1Endpoint'], $D6['localMdc1Endpoint'])")" = \
      "('HTTP', 'http://dcsf.test:$A/boot/ue1/', {'ip': {'ipv4Addr': '127.0.0.1'}, 'transport': 'TCP', 'portNumber': $A}, {'ip': {'ipv4Addr': '127.0.0.2'}, 'transport': 'TCP', 'portNumber': 0})" ]
ctl --json get "$BID" >"$BT/get1.json" 2>&1 || true
G6='j["session"]["legs"][0]["dc"]'
check "6. the control socket has the leg's proxy (binding, remote and local MDC1)" \
    [ "$(json_field "$BT/get1.json" "($G6['media_proxy_config'], [(b.get('stream_id', 0), b['url']) for b in $G6['replace_http_url']], $G6['remote_mdc1_endpoint']['address'], $G6['local_mdc1_endpoint']['address'])")" = \
      "('MEDIA_PROXY_HTTP', [(0, 'http://dcsf.test:$A/boot/ue1/')], '127.0.0.1:$A', '127.0.0.2')" ]
nmfas answer "$T/bpost.body" ue "$BT/ue-offer.sdp" "$BT/ue-answer.sdp"
wait_for "the GET before the PATCH" 15 test -f "$BT/progress/before" || true
R6="$BT/ue.json"
bstep() { json_field "$R6" "[s for s in j['steps'] if s['name'] == '$1'][0]['responses'][0]$2"; }
bhdr() { bstep "$1" "['headers']" | "$PY" -c "import ast,sys; h=ast.literal_eval(sys.stdin.read()); print(next((v for k, v in h if k.lower() == '$2'.lower()), '-'))"; }
cp "$T/bpost.body" "$BT/rep.json"
echo "[{\"op\": \"replace\", \"path\": \"/terminations/0/medias/0/dcMedia/replaceHttpUrl/0/replaceHttpUrl\", \"value\": \"http://dcsf.test:$B/boot/v2/\"},
 {\"op\": \"replace\", \"path\": \"/terminations/0/medias/0/dcMedia/remoteMdc1Endpoint/portNumber\", \"value\": $B}]" >"$BT/patch.json"
valid PatchDocument "$BT/patch.json" "6. the PATCH body"
r=$(h2 bpatch -X PATCH --data-binary @"$BT/patch.json" -H 'content-type: application/json-patch+json' "$API/$BID")
check "6. PATCH of the replacement URL and the MDC1 port: 200 (got $r: $(head -c 300 "$T/bpatch.body"))" [ "$r" = "200 2" ]
valid MediaContext "$T/bpatch.body" "6. the 200 body"
check "6. the 200 reports the new URL and port" \
    [ "$(json_field "$T/bpatch.body" "($D6['replaceHttpUrl']['0']['replaceHttpUrl'], $D6['remoteMdc1Endpoint']['portNumber'])")" = "('http://dcsf.test:$B/boot/v2/', $B)" ]
touch "$BT/patched"
wait_for "the GET after the PATCH" 15 test -f "$BT/progress/after" || true
touch "$BT/stop"
wait_peer $p_boot
check "6. the UE completed both GETs" test "$PEER_RC" -eq 0
check "6. before the PATCH: 200 from dcsf-a, its app list byte-exact" \
    [ "$(bstep before "['status']") $(bhdr before X-DCSF) $(bstep before "['body']")" = "200 dcsf-a $(cat "$BT/www-a/boot/ue1/apps.json")" ]
check "6. after the PATCH: 200 from dcsf-b, its app list byte-exact" \
    [ "$(bstep after "['status']") $(bhdr after X-DCSF) $(bstep after "['body']")" = "200 dcsf-b $(cat "$BT/www-b/boot/v2/apps.json")" ]
check "6. dcsf-a was asked for /boot/ue1/apps.json, dcsf-b for /boot/v2/apps.json, once each" \
    [ "$(grep -c '"path": "/boot/ue1/apps.json"' "$BT/dcsf-a.log") $(grep -c '"path": "/boot/v2/apps.json"' "$BT/dcsf-b.log")" = "1 1" ]
check "6. both saw Host dcsf.test (the URL's) and came from 127.0.0.2 (localMdc1Endpoint)" \
    [ "$(cat "$BT/dcsf-a.log" "$BT/dcsf-b.log" | "$PY" -c 'import json,sys; print(sorted({(dict(l["headers"]).get("Host", "").split(":")[0], l["client"]) for l in map(json.loads, sys.stdin)}))')" = "[('dcsf.test', '127.0.0.2')]" ]
ctl --json get "$BID" >"$BT/get2.json" 2>&1 || true
check "6. the control socket sees the new binding" \
    [ "$(json_field "$BT/get2.json" "([b['url'] for b in $G6['replace_http_url']], $G6['remote_mdc1_endpoint']['address'])")" = "(['http://dcsf.test:$B/boot/v2/'], '127.0.0.1:$B')" ]
r=$(h2 bdel -X DELETE "$API/$BID")
check "6. DELETE: 204 (got $r)" [ "$r" = "204 2" ]
# refused: each names the member, nothing created
SEC=6
before=$(sessions)
B6='d["terminations"][0]["medias"][0]["dcMedia"]'
bmutate() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); $1; print(json.dumps(d))" "$BT/ctx.json"; }
refused proxy-stream 400 OPTIONAL_IE_INCORRECT /terminations/0/medias/0/dcMedia/replaceHttpUrl/1000 \
    $(post "$(bmutate "$B6['replaceHttpUrl']['1000'] = {'replaceHttpUrl': 'http://d/'}")")
refused proxy-url 400 OPTIONAL_IE_INCORRECT /terminations/0/medias/0/dcMedia/replaceHttpUrl/0/replaceHttpUrl \
    $(post "$(bmutate "$B6['replaceHttpUrl']['0']['replaceHttpUrl'] = 'http://user@dcsf.test/boot/'")")
refused proxy-udp 400 OPTIONAL_IE_INCORRECT /terminations/0/medias/0/dcMedia/mediaProxyConfig \
    $(post "$(bmutate "$B6['mediaProxyConfig'] = 'UDP'")")
refused proxy-no-urls 400 OPTIONAL_IE_INCORRECT /terminations/0/medias/0/dcMedia/replaceHttpUrl \
    $(post "$(bmutate "del $B6['replaceHttpUrl']")")
refused mdc1-udp 400 OPTIONAL_IE_INCORRECT /terminations/0/medias/0/dcMedia/remoteMdc1Endpoint/transport \
    $(post "$(bmutate "$B6['remoteMdc1Endpoint']['transport'] = 'UDP'")")
check "6. the refused proxies created nothing ($before sessions before, $(sessions) after)" [ "$(sessions)" = "$before" ]

check "no worker_lost event" not grep -q '"worker_lost"' "$T/events.jsonl"
if [ "$FAILED" -ne 0 ]; then
    for f in "$U"/*.log; do [ -s "$f" ] && { echo "---- $f"; tail -15 "$f"; }; done
fi
finish
