#!/usr/bin/env bash
# Bootstrap data channels (docs/bootstrap.md): dcgw serves the UE's HTTP on its bootstrap
# channels and proxies it to the DCSF over MDC1. The DCSF stand-ins are Python's own
# http.server (dcsf_stub.py); the UE is aiortc (boot_ue.py) with negotiated channels
# 0, 10, 100 and 110, subprotocol "http". All in a private network namespace:
#
#   +-------------------------- unshare -n -p (this script) ---------------------------+
#   |  aiortc UE ==stream 0===> dcgwd --http--> dcsf-a 127.0.0.1:A  /boot/ue1/          |
#   |            ==stream 100=>       --http--> dcsf-b 127.0.0.1:B  /boot/remote/       |
#   |            ==stream 10==>       --http--> 127.0.0.1:C (nothing listens: 502)      |
#   |            ==stream 110=>  (garbage: 400, channel closed)                         |
#   |  aiortc UE ==stream 0===> dcgwd --https (h2, TLS verified against a test CA)-->   |
#   |                                   nginx-light 127.0.0.1:D as dcsf.test /boot/ue1/ |
#   |  Chromium UE ==stream 0=> dcgwd --http--> dcsf-a                                  |
#   +-----------------------------------------------------------------------------------+
#
# Checked: the app list's status, headers and body; a 5 MiB download byte-exact (sha-256)
# with the worker's RSS growing less than bootstrap.window_bytes; a POST (hop-by-hop
# fields removed, the session header set and not forgeable); two pipelined requests in one
# message; one request in three messages; 404 passed through; 502; 504 within the
# timeout; 403 for another host's absolute URL, which never reaches a DCSF; stream 100
# reaching its own DCSF; garbage -> 400 and the channel closed; dcgwctl get counters and
# http_request_failed events. Then a second session whose DCSF is nginx over TLS (a CA made
# here, HTTP/2 by ALPN): the app list and the 5 MiB download byte-exact, and the update of
# a binding (update_session dc) pointing stream 0 at it. Last, headless Chromium as the UE
# (negotiated: true, id: 0, protocol 'http' in its page): app list, download, POST,
# pipelined and split requests, checked as for aiortc. Then the policy's rate limit on
# stream 0 (1 request per second): of three pipelined requests the last two get 429.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

WINDOW=${BOOT_WINDOW:-1048576}
start_loopback_dcgwd 1 "bootstrap: { window_bytes = $WINDOW; request_timeout_ms = 1500; };" \
    'metrics: { push_interval_ms = 200; };' "${DCGW_IT_LOG:-}"

ctl_quiet() { ctl "$@" >>"$T/ctl.out"; }
# same DESCRIPTION GOT WANT: a check that shows both on failure.
same() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1"; printf '#   got:  %q\n#   want: %q\n' "$2" "$3"; fi
}
tcp_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
A=$(tcp_port)
B=$(tcp_port)
C=$(tcp_port)
mkdir -p "$T/www-a/boot/ue1" "$T/www-b/boot/remote" "$T/progress"
printf '{"apps":[{"id":"chat","url":"/apps/chat.zip"},{"id":"ar","url":"/apps/ar.zip"}]}\n' >"$T/www-a/boot/ue1/apps.json"
head -c 5242880 /dev/urandom >"$T/www-a/boot/ue1/app.zip"
head -c 524288 /dev/urandom >"$T/www-a/boot/ue1/warm.bin"
echo "first" >"$T/www-a/boot/ue1/a.txt"
echo "second" >"$T/www-a/boot/ue1/b.txt"
echo "remote network bootstrap" >"$T/www-b/boot/remote/index.html"
"$PY" "$PEERS/dcsf_stub.py" --port "$A" --root "$T/www-a" --name dcsf-a --log "$T/dcsf-a.log" &
"$PY" "$PEERS/dcsf_stub.py" --port "$B" --root "$T/www-b" --name dcsf-b --log "$T/dcsf-b.log" &
wait_for "DCSF stand-ins" 10 test -f "$T/dcsf-a.log.ready" -a -f "$T/dcsf-b.log.ready"

cat >"$T/plan.json" <<JSON
[
 {"name": "list", "chan": 0, "send": ["GET /apps.json HTTP/1.1\r\nHost: bootstrap\r\nAccept: application/json\r\n\r\n"], "responses": 1},
 {"name": "warm", "chan": 0, "send": ["GET /warm.bin HTTP/1.1\r\n\r\n"], "responses": 1},
 {"name": "download", "chan": 0, "pause_file": "$T/rss-go", "send": ["GET /app.zip HTTP/1.1\r\nHost: bootstrap\r\n\r\n"], "responses": 1},
 {"name": "post", "chan": 0, "send": ["POST /echo HTTP/1.1\r\nHost: bootstrap\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nX-Dcgw-Session: forged\r\n\r\nhello dcsf"], "responses": 1},
 {"name": "pipelined", "chan": 0, "send": ["GET /a.txt HTTP/1.1\r\nHost: b\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: b\r\n\r\n"], "responses": 2},
 {"name": "split", "chan": 0, "gap": 0.05, "send": ["GET /a.t", "xt HTTP/1.1\r\nHo", "st: b\r\n\r\n"], "responses": 1},
 {"name": "notfound", "chan": 0, "send": ["GET /nope HTTP/1.1\r\n\r\n"], "responses": 1},
 {"name": "down", "chan": 10, "send": ["GET / HTTP/1.1\r\n\r\n"], "responses": 1},
 {"name": "slow", "chan": 0, "send": ["GET /slow HTTP/1.1\r\n\r\n"], "responses": 1},
 {"name": "elsewhere", "chan": 0, "send": ["GET http://evil.example/never-leaves HTTP/1.1\r\nHost: evil.example\r\n\r\n"], "responses": 1},
 {"name": "remote", "chan": 100, "send": ["GET /index.html HTTP/1.1\r\n\r\n"], "responses": 1},
 {"name": "after", "chan": 0, "send": ["GET /b.txt HTTP/1.1\r\n\r\n"], "responses": 1},
 {"name": "garbage", "chan": 110, "send": ["\u0016\u0003\u0001 not http at all\r\n\r\n"], "responses": 1, "wait_close": true}
]
JSON

"$PY" "$PEERS/boot_ue.py" --offer-out "$T/ue-offer.sdp" --answer-in "$T/ue-answer.sdp" \
    --plan "$T/plan.json" --result "$T/ue.json" --stop-file "$T/stop" --progress "$T/progress" \
    --timeout 90 &
UE=$!
wait_for "the UE's offer" 20 test -s "$T/ue-offer.sdp"
mkdir -p "$T/sdp"
check "create with four bootstrap bindings" \
    ctl_quiet create --id boot1 --policy "$DCGW_SRC/config/examples/policy-allow-all.json" \
    --leg "name=ue,sdp=$T/ue-offer.sdp" --sdp-out "$T/sdp" \
    --bootstrap "ue:0=http://127.0.0.1:$A/boot/ue1/" \
    --bootstrap "ue:10=http://127.0.0.1:$C/nobody/" \
    --bootstrap "ue:100=http://127.0.0.1:$B/boot/remote" \
    --bootstrap "ue:110=http://127.0.0.1:$A/boot/ue1/"
deliver "$T/sdp/ue.sdp" "$T/ue-answer.sdp"

# RSS of the worker around the 5 MiB download, after the app list and a 512 KiB warm-up
# download (so the connection to the DCSF, curl's and the SCTP stack's first buffers and
# the allocator's first arenas exist already): the download must add less than the window.
WPID=$(ctl --json stats | json_get 'j["stats"]["workers"][0]["pid"]')
rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$WPID/status"; }
wait_for "the warm-up download" 30 test -f "$T/progress/warm" || fail "the UE got no warm-up"
RSS0=$(rss)
RSSMAX=$RSS0
touch "$T/rss-go"
end=$((SECONDS + 60))
while [ ! -f "$T/progress/download" ] && [ $SECONDS -lt $end ]; do
    r=$(rss)
    [ "$r" -gt "$RSSMAX" ] && RSSMAX=$r
    sleep 0.01
done
echo "# worker RSS before the download $RSS0, at most $RSSMAX during it (window $WINDOW)"
check "RSS grew less than the window during the 5 MiB download ($((RSSMAX - RSS0)) < $WINDOW)" \
    test $((RSSMAX - RSS0)) -lt $WINDOW

wait_for "the UE's result" 90 test -s "$T/ue.json" || true
ctl --json get boot1 >"$T/get.json" # while the UE is still connected
# /metrics (docs/metrics.md): the channels the proxy serves count as open bootstrap channels,
# the MDC1 transfers as stats counts them (a snapshot taken between two stats).
ctl --json stats >"$T/mstats1.json"
sleep 0.5
"$PY" -c 'import urllib.request, sys; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:9745/metrics").read().decode())' >"$T/metrics.txt" || true
ctl --json stats >"$T/mstats2.json"
mcheck() {
    "$PY" - "$T/metrics.txt" "$T/get.json" "$T/mstats1.json" "$T/mstats2.json" "$1" <<'PY'
import json, re, sys
text, get, s1, s2, what = open(sys.argv[1]).read(), *[json.load(open(p)) for p in sys.argv[2:5]], sys.argv[5]
def total(name, **want):
    out = 0
    for labels, v in re.findall(r"^%s\{([^}]*)\} (\S+)$" % name, text, re.M):
        d = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        out += float(v) if all(d.get(k) == x for k, x in want.items()) else 0
    return out
def counter(st, name):
    return sum(c["value"] for w in st["stats"]["workers"] for c in w["counters"] if c["name"] == name)
if what == "open":
    n = sum(1 for l in get["session"]["legs"] for c in l["dc"].get("streams", [])
            if c.get("kind") == "KIND_BOOTSTRAP" and c.get("open"))
    m = total("dcgw_channels_open", kind="bootstrap")
    print(m, n); sys.exit(0 if m == n >= 1 else 1)
m = total("dcgw_mdc1_transfers_total", outcome="started")
a, b = counter(s1, "http_transfers"), counter(s2, "http_transfers")
print(m, a, b); sys.exit(0 if a <= m <= b and m >= 9 else 1)
PY
}
check "metrics: the served bootstrap channels are open bootstrap channels ($(mcheck open 2>&1))" mcheck open
check "metrics: MDC1 transfers as stats counts them ($(mcheck started 2>&1))" mcheck started
touch "$T/stop"
wait_peer $UE
check "the UE completed every step" test "$PEER_RC" -eq 0
R="$T/ue.json"
step() { json_field "$R" "[s for s in j['steps'] if s['name'] == '$1'][0]$2"; }
resp() { step "$1" "['responses'][${3:-0}]$2"; }
hdr() { step "$1" "['responses'][${3:-0}]['headers']" | "$PY" -c "import ast,sys; h=ast.literal_eval(sys.stdin.read()); print(next((v for k, v in h if k.lower() == '$2'.lower()), '-'))"; }

# the app list: exact
same "list: 200 OK" "$(resp list "['status']") $(resp list "['reason']")" "200 OK"
same "list: body exact" "$(resp list "['body']")" "$(cat "$T/www-a/boot/ue1/apps.json")"
same "list: Content-Type application/json" "$(hdr list Content-Type)" "application/json"
same "list: Content-Length $(stat -c %s "$T/www-a/boot/ue1/apps.json")" "$(hdr list Content-Length)" "$(stat -c %s "$T/www-a/boot/ue1/apps.json")"
same "list: the DCSF's own fields pass (X-DCSF, Last-Modified)" \
    "$(hdr list X-DCSF) $(hdr list Last-Modified | grep -c GMT)" "dcsf-a 1"
check "list: the DCSF was asked for the rewritten path /boot/ue1/apps.json" \
    grep -q '"path": "/boot/ue1/apps.json"' "$T/dcsf-a.log"
# the download
check "download: 200, 5 MiB, sha-256 equal" test "$(resp download "['status']") $(resp download "['length']") $(resp download "['sha256']")" = \
    "200 5242880 $(sha256sum "$T/www-a/boot/ue1/app.zip" | cut -d' ' -f1)"
# POST
same "post: 200 and the body back" "$(resp post "['status']") $(resp post "['body']")" "200 hello dcsf"
same "post: the session header names session and leg (the UE's forged one removed)" "$(hdr post X-Seen-Session)" "session=boot1;leg=ue"
same "post: a field named in Connection does not reach the DCSF" "$(hdr post X-Seen-Hop)" "-"
check "post: the UE's Keep-Alive does not reach the DCSF" \
    not grep -q '"Keep-Alive"' "$T/dcsf-a.log"
# pipelining and splitting
same "pipelined: two responses, in order" "$(resp pipelined "['body']" 0)|$(resp pipelined "['body']" 1)" "first|second"
same "split over three messages: one response" "$(resp split "['status']") $(resp split "['body']")" "200 first"
# errors
same "404 passes through (from the DCSF)" "$(resp notfound "['status']") $(hdr notfound X-DCSF)" "404 dcsf-a"
same "nothing listens: 502" "$(resp down "['status']")" 502
same "slow DCSF: 504" "$(resp slow "['status']")" 504
check "slow DCSF: within the timeout (1500 ms + slack: $(resp slow "['ms']") ms)" test "$(resp slow "['ms']")" -lt 3000
same "another host's absolute URL: 403" "$(resp elsewhere "['status']")" 403
check "another host's absolute URL never left dcgw" \
    not grep -q never-leaves "$T/dcsf-a.log" "$T/dcsf-b.log"
same "stream 100 reaches its own DCSF" "$(resp remote "['status']") $(hdr remote X-DCSF) $(resp remote "['body']")" "200 dcsf-b remote network bootstrap"
same "the channel keeps working after the errors" "$(resp after "['status']")" 200
same "garbage: 400" "$(resp garbage "['status']")" 400
same "garbage: the channel is closed" "$(step garbage "['closed']")" True

# dcgw's view
h() { json_field "$T/get.json" "[s for s in j['session']['legs'][0]['dc']['streams'] if s['stream_id'] == $1][0]['http']$2"; }
same "get: stream 0 counted its requests (11) by class (2xx 8, 4xx 2, 5xx 1)" \
    "$(h 0 "['requests']") $(h 0 "['responses_2xx']") $(h 0 "['responses_4xx']") $(h 0 "['responses_5xx']")" "11 8 2 1"
same "get: stream 0 bytes each way and upstream latency" \
    "$(h 0 "['response_bytes'] > 5242880") $(h 0 "['request_bytes'] > 300") $(h 0 "['upstream_latency_us_sum'] > 0")" "True True True"
same "get: stream 0 was paused by the UE's pace" "$(h 0 "['paused'] > 0")" True
same "get: stream 100 names its upstream" "$(h 100 "['upstream']")" "http://127.0.0.1:$B/boot/remote"
same "http_request_failed events: 502, 504, 403, 400" "$(events http_request_failed | "$PY" -c 'import json,sys; print(sorted(json.loads(l)["status"] for l in sys.stdin))')" "[400, 403, 502, 504]"
same "stats: the worker counts its MDC1 transfers" "$(ctl --json stats | json_get '[c["value"] for c in j["stats"]["workers"][0]["counters"] if c["name"] == "http_transfers"][0] >= 9')" True
check "close" ctl_quiet close boot1

# ---- the TLS case: nginx-light with a certificate of a CA made here, HTTP/2
D=$(tcp_port)
mkdir -p "$T/tls" "$T/nginx" "$T/progress-tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=test-ca \
    -keyout "$T/tls/ca.key" -out "$T/tls/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=dcsf.test \
    -keyout "$T/tls/dcsf.key" -out "$T/tls/dcsf.csr" 2>/dev/null
printf 'subjectAltName=DNS:dcsf.test\n' >"$T/tls/ext"
openssl x509 -req -in "$T/tls/dcsf.csr" -CA "$T/tls/ca.pem" -CAkey "$T/tls/ca.key" \
    -CAcreateserial -days 1 -extfile "$T/tls/ext" -out "$T/tls/dcsf.pem" 2>/dev/null
cat >"$T/nginx/nginx.conf" <<CONF
master_process off;
daemon off;
pid $T/nginx/pid;
error_log $T/nginx/error.log;
events { worker_connections 64; }
http {
    access_log $T/nginx/access.log;
    client_body_temp_path $T/nginx; proxy_temp_path $T/nginx; fastcgi_temp_path $T/nginx;
    uwsgi_temp_path $T/nginx; scgi_temp_path $T/nginx;
    types { application/json json; application/zip zip; }
    server {
        listen 127.0.0.1:$D ssl http2;
        server_name dcsf.test;
        ssl_certificate $T/tls/dcsf.pem;
        ssl_certificate_key $T/tls/dcsf.key;
        root $T/www-a;
        add_header X-DCSF nginx;
    }
}
CONF
nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" &
wait_for "nginx" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$D"
cat >"$T/plan-tls.json" <<JSON
[
 {"name": "list", "chan": 0, "send": ["GET /apps.json HTTP/1.1\r\nHost: bootstrap\r\n\r\n"], "responses": 1},
 {"name": "download", "chan": 0, "send": ["GET /app.zip HTTP/1.1\r\n\r\n"], "responses": 1},
 {"name": "updated", "chan": 0, "pause_file": "$T/updated", "send": ["GET /a.txt HTTP/1.1\r\n\r\n"], "responses": 1}
]
JSON
rm -f "$T/ue-offer.sdp" "$T/ue-answer.sdp" "$T/sdp/ue.sdp" "$T/stop"
"$PY" "$PEERS/boot_ue.py" --offer-out "$T/ue-offer.sdp" --answer-in "$T/ue-answer.sdp" \
    --plan "$T/plan-tls.json" --result "$T/ue-tls.json" --stop-file "$T/stop" \
    --progress "$T/progress-tls" --timeout 60 &
UE=$!
wait_for "the UE's offer" 20 test -s "$T/ue-offer.sdp"
check "create: stream 0 to https://dcsf.test via 127.0.0.1:$D with the test CA" \
    ctl_quiet create --id boot2 --policy "$DCGW_SRC/config/examples/policy-allow-all.json" \
    --leg "name=ue,sdp=$T/ue-offer.sdp" --sdp-out "$T/sdp" \
    --bootstrap "ue:0=https://dcsf.test/boot/ue1/" --mdc1 "ue=127.0.0.1:$D" --mdc1-ca "ue=$T/tls/ca.pem"
deliver "$T/sdp/ue.sdp" "$T/ue-answer.sdp"
wait_for "the TLS download" 60 test -f "$T/progress-tls/download" || fail "no TLS download"
# the binding moves to the plain DCSF (update_session dc); the channel stays served
check "update: stream 0 now to dcsf-a over http" \
    ctl_quiet update boot2 --leg ue --bootstrap "0=http://127.0.0.1:$A/boot/ue1/" --mdc1 "127.0.0.1:$A"
touch "$T/updated"
wait_for "the UE's TLS result" 30 test -s "$T/ue-tls.json" || true
touch "$T/stop"
wait_peer $UE
check "TLS: the UE completed every step" test "$PEER_RC" -eq 0
R="$T/ue-tls.json"
same "TLS: the app list, exact, from nginx" \
    "$(resp list "['status']") $(hdr list X-DCSF) $(resp list "['body']")" \
    "200 nginx $(cat "$T/www-a/boot/ue1/apps.json")"
same "TLS: the 5 MiB download byte-exact" "$(resp download "['length']") $(resp download "['sha256']")" \
    "5242880 $(sha256sum "$T/www-a/boot/ue1/app.zip" | cut -d' ' -f1)"
check "TLS: nginx served both over HTTP/2" test "$(grep -c 'HTTP/2.0" 200' "$T/nginx/access.log")" -ge 2
same "after the update: the same channel reaches dcsf-a" "$(resp updated "['status']") $(hdr updated X-DCSF)" "200 dcsf-a"
check "close" ctl_quiet close boot2

# ---- headless Chromium as the UE
cat >"$T/plan-chromium.json" <<JSON
[
 {"name": "list", "chan": 0, "send": ["GET /apps.json HTTP/1.1\r\nHost: bootstrap\r\n\r\n"], "responses": 1},
 {"name": "download", "chan": 0, "send": ["GET /app.zip HTTP/1.1\r\n\r\n"], "responses": 1},
 {"name": "post", "chan": 0, "send": ["POST /echo HTTP/1.1\r\nContent-Length: 13\r\n\r\nfrom chromium"], "responses": 1},
 {"name": "pipelined", "chan": 0, "send": ["GET /a.txt HTTP/1.1\r\n\r\nGET /b.txt HTTP/1.1\r\n\r\n"], "responses": 2},
 {"name": "split", "chan": 0, "gap": 0.05, "send": ["GET /b.t", "xt HTTP/1.1\r\nHo", "st: b\r\n\r\n"], "responses": 1}
]
JSON
rm -f "$T/ue-offer.sdp" "$T/ue-answer.sdp" "$T/sdp/ue.sdp" "$T/stop"
"$PY" "$PEERS/boot_chromium.py" --chromium "$CHROMIUM" --offer-out "$T/ue-offer.sdp" \
    --answer-in "$T/ue-answer.sdp" --plan "$T/plan-chromium.json" --result "$T/chromium.json" \
    --stop-file "$T/stop" --timeout 60 --log "$T/chromium.log" &
UE=$!
wait_for "Chromium's offer" 30 test -s "$T/ue-offer.sdp"
check "create: Chromium's stream 0 to dcsf-a" \
    ctl_quiet create --id boot3 --policy "$DCGW_SRC/config/examples/policy-allow-all.json" \
    --leg "name=ue,sdp=$T/ue-offer.sdp" --sdp-out "$T/sdp" \
    --bootstrap "ue:0=http://127.0.0.1:$A/boot/ue1/"
deliver "$T/sdp/ue.sdp" "$T/ue-answer.sdp"
wait_for "Chromium's result" 60 test -s "$T/chromium.json" || true
touch "$T/stop"
wait_peer $UE
check "Chromium: every step completed" test "$PEER_RC" -eq 0
R="$T/chromium.json"
same "Chromium: the app list, exact" \
    "$(resp list "['status']") $(hdr list Content-Type) $(hdr list Content-Length) $(resp list "['body']")" \
    "200 application/json $(stat -c %s "$T/www-a/boot/ue1/apps.json") $(cat "$T/www-a/boot/ue1/apps.json")"
same "Chromium: the 5 MiB download byte-exact" "$(resp download "['length']") $(resp download "['sha256']")" \
    "5242880 $(sha256sum "$T/www-a/boot/ue1/app.zip" | cut -d' ' -f1)"
same "Chromium: POST" "$(resp post "['status']") $(resp post "['body']") $(hdr post X-Seen-Session)" \
    "200 from chromium session=boot3;leg=ue"
same "Chromium: two pipelined requests in one message" \
    "$(resp pipelined "['body']" 0)|$(resp pipelined "['body']" 1)" "first|second"
same "Chromium: one request in three messages" "$(resp split "['status']") $(resp split "['body']")" "200 second"
check "close" ctl_quiet close boot3

# ---- the policy's rate limit counts requests: 1 per second (burst 1) on stream 0
cat >"$T/policy-rate.json" <<JSON
{"version": 1, "rules": [{"name": "boot", "verdict": "VERDICT_ALLOW", "streams": [{"first": 0}],
  "messages_per_sec": 1, "messages_burst": 1}]}
JSON
cat >"$T/plan-rate.json" <<JSON
[{"name": "three", "chan": 0, "send": ["GET /a.txt HTTP/1.1\r\n\r\nGET /a.txt HTTP/1.1\r\n\r\nGET /a.txt HTTP/1.1\r\n\r\n"], "responses": 3}]
JSON
rm -f "$T/ue-offer.sdp" "$T/ue-answer.sdp" "$T/sdp/ue.sdp" "$T/stop"
cp "$T/dcsf-a.log" "$T/dcsf-a.log.before"
"$PY" "$PEERS/boot_ue.py" --offer-out "$T/ue-offer.sdp" --answer-in "$T/ue-answer.sdp" \
    --plan "$T/plan-rate.json" --result "$T/ue-rate.json" --stop-file "$T/stop" --timeout 30 &
UE=$!
wait_for "the UE's offer" 20 test -s "$T/ue-offer.sdp"
check "create with a policy of 1 request/s on stream 0" \
    ctl_quiet create --id boot4 --policy "$T/policy-rate.json" \
    --leg "name=ue,sdp=$T/ue-offer.sdp" --sdp-out "$T/sdp" \
    --bootstrap "ue:0=http://127.0.0.1:$A/boot/ue1/"
deliver "$T/sdp/ue.sdp" "$T/ue-answer.sdp"
wait_for "the UE's result" 30 test -s "$T/ue-rate.json" || true
touch "$T/stop"
wait_peer $UE
R="$T/ue-rate.json"
same "policy rate limit: the first request passes, the two after it get 429 (in order)" \
    "$(resp three "['status']" 0) $(resp three "['status']" 1) $(resp three "['status']" 2)" "200 429 429"
check "policy rate limit: only one request reached the DCSF" \
    test "$(grep -c '"path": "/boot/ue1/a.txt"' "$T/dcsf-a.log")" -eq "$(($(grep -c '"path": "/boot/ue1/a.txt"' "$T/dcsf-a.log.before") + 1))"
check "close" ctl_quiet close boot4
finish
