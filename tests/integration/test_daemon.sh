#!/usr/bin/env bash
# The daemon's processes and control protocol, end to end:
#
#   dcgwctl ──unix socket──> master ──socketpair──> worker 0
#   dcgwctl --connect (mTLS) ──┘            └──────> worker 1
#
# create/list/close sessions; SIGKILL a worker -> restarted + worker_lost event; SIGSTOP
# a worker -> the watchdog kills and restarts it (worker_lost names its sessions);
# SIGHUP with a broken file -> kept; malformed frames -> error or disconnect, daemon
# fine; SIGTERM -> sessions closed, exit 0.
source "$(dirname "$0")/lib.sh"

cat >"$T/dcgw.conf" <<CONF
workers = 2; watchdog: { hang_timeout_ms = 2000; };
control: { socket = "$SOCK"; socket_mode = "0600";
  tcp: { enabled = true; listen = "127.0.0.1:0"; cert = "$T/server.pem"; key = "$T/server.key"; ca = "$T/ca.pem"; }; };
CONF
# A CA, a server and a client certificate for the mutual-TLS control connection.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
    -keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
for who in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
        -keyout "$T/$who.key" -out "$T/$who.csr" 2>/dev/null
    openssl x509 -req -in "$T/$who.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
        -days 2 -out "$T/$who.pem" 2>/dev/null
done
# Port 0 is not useful for a client; pick a free one.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s/127.0.0.1:0/127.0.0.1:$PORT/" "$T/dcgw.conf"
# /metrics on any free port: this test runs on the host's loopback, beside others.
echo 'metrics: { listen = "127.0.0.1:0"; };' >>"$T/dcgw.conf"
cp "$T/dcgw.conf" "$T/dcgw.conf.orig"

check "--check-config accepts the test configuration" "$DCGWD" --check-config "$T/dcgw.conf"
printf 'workers = 2;\nsctp: { streams = 0; };\n' >"$T/bad.conf"
out=$("$DCGWD" --check-config "$T/bad.conf" 2>&1) && rc=0 || rc=$?
check "--check-config rejects a bad file with file:line" \
    bash -c "[ $rc -ne 0 ] && [[ '$out' == *'bad.conf:2: sctp.streams'* ]]"

start_dcgwd "$T/dcgw.conf"
check "socket mode is applied" bash -c "[ \$(stat -c %a '$SOCK') = 600 ]"

# A second dcgwd on the same socket is refused with a clear error; the first keeps it.
rc=0; timeout 10 "$DCGWD" -c "$T/dcgw.conf" >"$T/second.log" 2>&1 || rc=$?
check "a second dcgwd on a live socket exits non-zero at once (exit $rc)" [ "$rc" = 1 ]
check "and says why ($(tail -n1 "$T/second.log"))" grep -q "another dcgwd answers there" "$T/second.log"
check "the first daemon still answers on its socket" ctl ping

ctl watch --json >"$T/events.jsonl" 2>&1 &
WATCH=$!
sleep 0.3

cp "$DCGW_SRC/tests/data/sdp/chromium-offer-mdns.sdp" "$T/offer.sdp"
check "create session a" ctl create --id sess-a --tag first --leg "name=ue,sdp=$T/offer.sdp" --leg name=as
check "create session b (generated id)" ctl create --leg "name=ue,sdp=$T/offer.sdp"
check "duplicate id is refused" bash -c "! '$DCGWCTL' -s '$SOCK' create --id sess-a --leg 'name=ue,sdp=$T/offer.sdp' 2>/dev/null"
check "bad session (no legs) is refused" bash -c "! '$DCGWCTL' -s '$SOCK' create --id x 2>/dev/null"
check "bad session (answer without SDP) is refused" \
    bash -c "'$DCGWCTL' -s '$SOCK' create --leg name=ue,role=answer 2>&1 | grep -q 'ROLE_ANSWER needs'"
n=$(ctl --json list | json_get 'len(j["sessions"]["sessions"])')
check "list shows 2 sessions" [ "$n" = 2 ]
# state_get / state_list ID: the session's state as get and as list say it.
state_get() { ctl --json get "$1" | json_get 'j["session"]["state"]' 2>/dev/null || true; }
state_list() { ctl --json list | json_get "next((s['state'] for s in j['sessions']['sessions'] if s['id'] == '$1'), None)" 2>/dev/null || true; }
check "a session whose answered leg waits for ICE is connecting in get ($(state_get sess-a))" \
    [ "$(state_get sess-a)" = SESSION_CONNECTING ]
check "list agrees with get ($(state_list sess-a))" [ "$(state_list sess-a)" = "$(state_get sess-a)" ]
workers=$(ctl --json list | json_get 'sorted(set(s["worker"] for s in j["sessions"]["sessions"]))')
check "sessions are spread over both workers" [ "$workers" = "[0, 1]" ]
check "create returns dcgw's answer (ice-lite, fingerprint, candidate)" bash -c \
    "'$DCGWCTL' -s '$SOCK' --json get sess-a | grep -q 'a=ice-lite' &&
     '$DCGWCTL' -s '$SOCK' --json get sess-a | grep -q 'a=fingerprint:sha-256' &&
     '$DCGWCTL' -s '$SOCK' --json get sess-a | grep -q 'typ host'"
printf 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' >"$T/nodc.sdp"
check "an offer without a data-channel m-line is refused with the reason" \
    bash -c "'$DCGWCTL' -s '$SOCK' create --leg 'name=ue,sdp=$T/nodc.sdp' 2>&1 | grep -q 'ESDP.*data-channel m-line'"
check "get returns the session with its legs" \
    bash -c "'$DCGWCTL' -s '$SOCK' --json get sess-a | grep -q '\"name\": \"as\"'"
check "close session a" ctl close sess-a
check "get after close is ENOENT" bash -c "'$DCGWCTL' -s '$SOCK' get sess-a 2>&1 | grep -q ENOENT"
n=$(ctl --json list | json_get 'len(j["sessions"]["sessions"])')
check "list shows 1 session" [ "$n" = 1 ]

# create --sdp-out: a missing directory is made before anything is sent; one that cannot be
# (a file in the way) is a usage error (exit 2) and no session is created.
rc=0; ctl create --id sdpout --leg "name=ue,sdp=$T/offer.sdp" --sdp-out "$T/out/new" >/dev/null || rc=$?
check "create --sdp-out makes a missing directory (exit $rc)" bash -c "[ $rc = 0 ] && [ -s '$T/out/new/ue.sdp' ]"
touch "$T/afile"
rc=0; ctl create --id orphan --leg "name=ue,sdp=$T/offer.sdp" --sdp-out "$T/afile/x" >/dev/null 2>"$T/sdpout.err" || rc=$?
check "create --sdp-out into a file: exit 2, said why ($(cat "$T/sdpout.err"))" \
    bash -c "[ $rc = 2 ] && grep -q 'sdp-out' '$T/sdpout.err'"
check "and no orphan session was created" bash -c "'$DCGWCTL' -s '$SOCK' get orphan 2>&1 | grep -q ENOENT"
ctl close sdpout >/dev/null

# dcgwctl: help and usage without a daemon; strict numbers and arguments (exit 2).
NOD=(-s "$T/nobody.sock")
check "dcgwctl create --help works without a daemon" bash -c "'$DCGWCTL' ${NOD[*]} create --help | grep -q -- '--sdp-out DIR'"
check "dcgwctl help close works without a daemon" bash -c "'$DCGWCTL' ${NOD[*]} help close | grep -q 'close ID \[--reason TEXT\]'"
check "dcgwctl --version" bash -c "'$DCGWCTL' --version | grep -q '^dcgwctl [0-9]'"
for bad in "-t abc ping" "-t 0 ping" "list --worker abc" "list --worker 1x" "ping extra" \
    "get" "get a b" "close-channel x --leg ue --stream abc" "watch --count -1" "watch --for x" \
    "create --leg name=ue extra" "version --bogus" "help ping extra"; do
    rc=0; "$DCGWCTL" "${NOD[@]}" $bad >/dev/null 2>&1 || rc=$?
    check "dcgwctl $bad: usage error, exit 2 (got $rc)" [ "$rc" = 2 ]
done
rc=0; "$DCGWCTL" "${NOD[@]}" ping >/dev/null 2>&1 || rc=$?
check "no daemon: exit 3 (got $rc)" [ "$rc" = 3 ]
# A request over control.max_frame: refused by dcgwctl, naming the limit.
head -c 300000 /dev/zero | tr '\0' 'a' >"$T/huge.sdp"
rc=0; ctl create --leg "name=ue,sdp=$T/huge.sdp" >/dev/null 2>"$T/huge.err" || rc=$?
check "a request over control.max_frame: exit 1, the limit named ($(cat "$T/huge.err"))" \
    bash -c "[ $rc = 1 ] && grep -q 'control.max_frame' '$T/huge.err' && grep -q 262144 '$T/huge.err'"
check "the daemon still answers" ctl ping

# Mutual TLS over TCP: with the client certificate it works; without, it does not.
check "TCP+mTLS control works" "$DCGWCTL" --connect "127.0.0.1:$PORT" --cert "$T/client.pem" \
    --key "$T/client.key" --ca "$T/ca.pem" ping
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=rogue \
    -keyout "$T/rogue.key" -out "$T/rogue.pem" 2>/dev/null
check "TCP control refuses a client certificate from another CA" bash -c \
    "! '$DCGWCTL' --connect 127.0.0.1:$PORT --cert '$T/rogue.pem' --key '$T/rogue.key' --ca '$T/ca.pem' -t 2000 ping 2>/dev/null"

# Malformed, oversized and unknown frames: error response or clean disconnect; each counted.
rejected() { ctl --json stats | json_get 'j["stats"].get("frames_rejected", 0)'; }
REJ0=$(rejected)
python3 - "$SOCK" <<'PY' && ok "malformed frames answered or disconnected" || fail "malformed frames"
import socket, struct, sys
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(3); return s
def read_frame(s):
    hdr = b""
    while len(hdr) < 4:
        b = s.recv(4 - len(hdr))
        if not b: return None
        hdr += b
    n = struct.unpack(">I", hdr)[0]; body = b""
    while len(body) < n:
        b = s.recv(n - len(body))
        if not b: return None
        body += b
    return body
s = conn()
s.sendall(struct.pack(">I", 5) + b"\xff\xff\xff\xff\xff")           # garbage protobuf
r = read_frame(s); assert r is not None and b"EMALFORMED" in r, r
s.sendall(struct.pack(">I", 2) + b"\x0a\x00")                       # empty request
r = read_frame(s); assert r is not None and b"EUNSUPPORTED" in r, r
s.sendall(struct.pack(">I", 2) + b"\x1a\x00")                       # an event from a client
r = read_frame(s); assert r is not None and b"EPROTO" in r, r
s.sendall(struct.pack(">I", 100 << 20))                             # oversized
assert read_frame(s) is None                                        # disconnected
s = conn(); s.sendall(b"\x00\x00\x01"); s.close()                   # truncated header, then gone
PY
check "daemon still answers after bad frames" ctl ping
check "each bad frame counted in frames_rejected, the oversized one too ($REJ0 -> $(rejected))" \
    [ "$(rejected)" = $((REJ0 + 4)) ]

# SIGKILL worker 1: the master restarts it and reports the lost session.
W1=$(ctl --json stats | json_get 'j["stats"]["workers"][1]["pid"]')
LOST=$(ctl --json list | json_get '",".join(s["id"] for s in j["sessions"]["sessions"] if s["worker"]==1)')
kill -9 "$W1"
wait_for "worker 1 restarted" 10 bash -c \
    "'$DCGWCTL' -s '$SOCK' --json stats | python3 -c 'import json,sys; w=json.load(sys.stdin)[\"stats\"][\"workers\"][1]; sys.exit(0 if w[\"alive\"] and w[\"pid\"]!=$W1 and w[\"restarts\"]==1 else 1)'"
check "worker 1 restarted with a new pid" [ $? -eq 0 ]
wait_for "worker_lost event" 5 grep -q '"worker_lost"' "$T/events.jsonl"
check "worker_lost event names the lost session" bash -c \
    "grep '\"worker_lost\"' '$T/events.jsonl' | grep -q '\"$LOST\"' || [ -z '$LOST' ]"
check "worker_started event after the restart" grep -q '"worker_started"' "$T/events.jsonl"
check "a new session can be placed after the restart" ctl create --leg "name=ue,sdp=$T/offer.sdp"

# SIGSTOP worker 0: it answers nothing; the master's watchdog (hang_timeout_ms 2000) kills
# it, restarts it and reports its sessions lost, as for a crash.
W0=$(ctl --json stats | json_get 'j["stats"]["workers"][0]["pid"]')
HUNG=$(ctl --json list | json_get '",".join(s["id"] for s in j["sessions"]["sessions"] if s["worker"]==0)')
NLOST=$(grep -c '"worker_lost"' "$T/events.jsonl" || true)
kill -STOP "$W0"
wait_for "worker 0 killed by the watchdog" 10 grep -q "worker 0 (pid $W0) silent for" "$T/dcgwd.log"
check "the watchdog named the silent worker in the log" grep -q "worker 0 (pid $W0) silent for" "$T/dcgwd.log"
wait_for "worker 0 restarted" 10 bash -c \
    "'$DCGWCTL' -s '$SOCK' --json stats | python3 -c 'import json,sys; w=json.load(sys.stdin)[\"stats\"][\"workers\"][0]; sys.exit(0 if w[\"alive\"] and w[\"pid\"]!=$W0 and w[\"restarts\"]==1 else 1)'"
check "worker 0 restarted with a new pid" [ $? -eq 0 ]
wait_for "second worker_lost event" 5 bash -c "[ \$(grep -c '\"worker_lost\"' '$T/events.jsonl') -gt $NLOST ]"
check "worker_lost event names the hung worker's sessions" bash -c \
    "grep '\"worker_lost\"' '$T/events.jsonl' | tail -n1 | grep -q '\"${HUNG%%,*}\"' || [ -z '$HUNG' ]"
check "the stopped process is gone" bash -c "! kill -0 $W0 2>/dev/null"
check "the daemon serves after the hung worker's restart" ctl create --leg "name=ue,sdp=$T/offer.sdp"

# SIGHUP with a broken file: rejected with the reason, old configuration kept.
echo 'sctp: { streams = 0; };' >>"$T/dcgw.conf"
kill -HUP "$DCGWD_PID"
wait_for "config_reloaded event" 5 grep -q '"config_reloaded"' "$T/events.jsonl"
check "broken reload is rejected with file:line" bash -c \
    "grep '\"config_reloaded\"' '$T/events.jsonl' | grep -q 'dcgw.conf:5: sctp.streams: 0 is out of range'"
check "daemon keeps running after a broken reload" ctl ping
check "reload rejection is logged" grep -q 'reload rejected' "$T/dcgwd.log"

# A leg that fails (here: no peer within sessions.setup_timeout_ms) takes its session down:
# the leg's event says SESSION_DOWN, get and list show it with the reason until the
# controller closes it or sessions.down_timeout_ms passes; then session_closed says why.
# The same reload names another control socket, where a regular file lies: settings that
# take effect at restart keep their running values, and at exit dcgwd removes only the
# socket it made.
echo precious >"$T/precious"
sed "s|socket = \"$SOCK\"|socket = \"$T/precious\"|" "$T/dcgw.conf.orig" >"$T/dcgw.conf"
echo 'sessions: { setup_timeout_ms = 1000; down_timeout_ms = 2000; };' >>"$T/dcgw.conf"
NREL=$(grep -c '"config_reloaded"' "$T/events.jsonl" || true)
kill -HUP "$DCGWD_PID"
wait_for "second config_reloaded" 5 bash -c "[ \$(grep -c '\"config_reloaded\"' '$T/events.jsonl') -gt $NREL ]" || true
check "the reload with short session timeouts is accepted" \
    [ "$(events config_reloaded | tail -n1 | json_get 'j.get("accepted")')" = True ]
ctl create --id sess-t --leg "name=ue,sdp=$T/offer.sdp" --leg name=as >/dev/null
wait_for "the leg's setup timeout" 5 event sess-t leg_closed || true
down=$(event sess-t leg_closed || echo '{}')
check "the failed leg's event says the session is down ($down)" \
    [ "$(field "$down" 'j.get("_state")')" = SESSION_DOWN ]
ctl --json get sess-t >"$T/down.json" || true
listed=$(state_list sess-t)
check "get shows SESSION_DOWN ($(json_field "$T/down.json" 'j["session"]["state"]'))" \
    [ "$(json_field "$T/down.json" 'j["session"]["state"]')" = SESSION_DOWN ]
check "list agrees ($listed)" [ "$listed" = SESSION_DOWN ]
reason=$(json_field "$T/down.json" 'j["session"].get("reason")')
check "get gives the reason ($reason)" bash -c "[[ '$reason' == 'leg ue: '*'setup timeout'* ]]"
legst=$(json_field "$T/down.json" 'j["session"]["legs"][0]["state"]')
check "the failed leg's state is final ($legst)" bash -c "[[ '$legst' == LEG_FAILED || '$legst' == LEG_CLOSED ]]"
wait_for "session_closed of the down session" 5 event sess-t session_closed || true
closed=$(event sess-t session_closed || echo '{}')
check "down_timeout_ms later it closed itself, with the reason ($closed)" \
    bash -c "[[ '$(field "$closed" 'j.get("reason")')' == *'setup timeout'* ]]"
check "and is gone from list" [ "$(state_list sess-t)" = None ]
check "the reload kept the control socket (and said so)" \
    bash -c "'$DCGWCTL' -s '$SOCK' ping >/dev/null && grep -q 'control.socket changes from' '$T/dcgwd.log'"

# /metrics (docs/metrics.md; the traffic side: test_metrics.sh) counts the restarts above.
MURL=$(sed -n 's#.* serving \(http://[0-9.:]*/metrics\)$#\1#p' "$T/dcgwd.log" | head -n1)
restarts=$(ctl --json stats | json_get 'sum(w.get("restarts", 0) for w in j["stats"]["workers"])')
mrestarts=$(python3 -c "import urllib.request, re; t = urllib.request.urlopen('$MURL').read().decode()
print(sum(int(v) for v in re.findall(r'^dcgw_worker_restarts_total\{[^}]*\} (\d+)$', t, re.M)))" 2>&1)
check "/metrics counts the worker restarts as stats does ($mrestarts, $restarts)" \
    [ -n "$MURL" -a "$mrestarts" = "$restarts" -a "${restarts:-0}" -ge 2 ]

# SIGTERM: sessions closed (events), clean exit 0. (A session that waits for its offer's
# answer: no setup timeout, so it is still there.)
ctl create --id drain-me --leg name=as >/dev/null
kill -TERM "$DCGWD_PID"
rc=0; timeout 15 tail --pid="$DCGWD_PID" -f /dev/null || rc=$?
wait "$DCGWD_PID" && drc=0 || drc=$?
DCGWD_PID=""
check "SIGTERM exits in time" [ "$rc" = 0 ]
check "SIGTERM exit status is 0" [ "$drc" = 0 ]
check "sessions were closed on drain" grep -q 'dcgw shutting down' "$T/events.jsonl"
check "control socket removed" [ ! -e "$SOCK" ]
check "... as its own, without a warning" bash -c "! grep -q 'no longer the control socket' '$T/dcgwd.log'"
check "the file at the path a reload named is untouched" [ "$(cat "$T/precious" 2>/dev/null)" = precious ]
check "no worker left behind" bash -c "! pgrep -f -- '--worker' -P $$ >/dev/null"
wait "$WATCH" 2>/dev/null || true

# A stale socket (nobody answers) from a daemon that died is replaced.
/usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
check "a stale socket file is there" [ -S "$SOCK" ]
printf 'workers = 1;\ncontrol: { socket = "%s"; };\nmetrics: { listen = "127.0.0.1:0"; };\n' "$SOCK" >"$T/one.conf"
"$DCGWD" -c "$T/one.conf" >"$T/restart.log" 2>&1 &
DCGWD_PID=$!
check "dcgwd starts over a stale socket" wait_for "the restarted daemon" 10 ctl ping
# What lies at the path by the time dcgwd exits is not its socket any more: left alone.
rm -f "$SOCK"
echo mine >"$SOCK"
kill -TERM "$DCGWD_PID"; wait "$DCGWD_PID" || true; DCGWD_PID=""
check "a file put at the socket's path since is left in place" [ "$(cat "$SOCK" 2>/dev/null)" = mine ]
check "... and dcgwd said so" grep -q 'no longer the control socket dcgw made' "$T/restart.log"
rm -f "$SOCK"
finish
