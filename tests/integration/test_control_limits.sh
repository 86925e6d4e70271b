#!/usr/bin/env bash
# Controllers that hold the control socket without using it, and one that stops reading:
#
#   python holders (idle, slowloris, subscribed) ──┐
#   dcgwctl as root (the operator) ────────────────┼──> master (max_connections = 6)
#   dcgwctl as nobody (another controller) ────────┘
#
# a. idle connections fill max_connections: a new controller still gets in (it takes the
#    place of the one quiet longest), and dcgwd closes them after control.idle_timeout_ms;
# b. slowloris (a header, or half a frame, then nothing): closed after frame_timeout_ms;
# c. subscribed connections are not idle; when they fill the socket, root's dcgwctl still
#    gets in (control.operator_connections), another user's is refused;
# d. SIGTERM while a controller reads nothing: dcgwd exits 0 within drain + flush timeouts.
source "$(dirname "$0")/lib.sh"

cat >"$T/dcgw.conf" <<CONF
workers = 1;
control: { socket = "$SOCK"; socket_mode = "0666"; max_connections = 6;
  idle_timeout_ms = 2000; frame_timeout_ms = 1000; operator_connections = 2;
  outbuf_limit = 67108864; };
shutdown: { drain_timeout_ms = 1000; flush_timeout_ms = 1000; };
metrics: { listen = "127.0.0.1:0"; }; # on the host's loopback, beside other tests
CONF
start_dcgwd "$T/dcgw.conf"
chmod 0755 "$T" # so that nobody reaches the socket
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
stat_of() { ctl --json stats | json_get "j['stats'].get('$1', 0)"; }

# hold KIND N SECONDS: N connections of KIND (idle | header | half | subscribed), held up to
# SECONDS; prints, at the end, how many dcgwd closed and after how long (max, ms).
hold() {
    /usr/bin/python3 - "$SOCK" "$@" <<'PY'
import socket, struct, sys, time
path, kind, n, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
# Subscribe{} as a Request (id 1, field 16) inside a Frame (field 1).
sub = b"\x08\x01" + b"\x82\x01\x00"
frame = b"\x0a" + bytes([len(sub)]) + sub
conns, t0 = [], time.monotonic()
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    if kind == "header":
        s.sendall(b"\x00\x00")
    elif kind == "half":
        s.sendall(struct.pack(">I", 100) + b"\x0a\x10")
    elif kind == "subscribed":
        s.sendall(struct.pack(">I", len(frame)) + frame)
        s.recv(4096)
    s.setblocking(False)
    conns.append(s)
open(sys.argv[5] if len(sys.argv) > 5 else "/dev/null", "w").write("ready\n")
closed, worst = 0, 0
while time.monotonic() - t0 < secs and closed < n:
    time.sleep(0.05)
    for s in conns:
        if s.fileno() < 0:
            continue
        try:
            if s.recv(4096) == b"":
                raise ConnectionResetError
        except BlockingIOError:
            continue
        except OSError:
            pass
        closed += 1
        worst = max(worst, int((time.monotonic() - t0) * 1000))
        s.close()
print(closed, worst)
PY
}

# ---- a. idle connections
hold idle 6 6 "$T/a.ready" >"$T/a.out" &
apid=$!
wait_for "six idle connections" 5 test -s "$T/a.ready" || true
sleep 1.1 # quiet for longer than the 1 s a connection must be before it can make room
rc=0; as_nobody "$DCGWCTL" -s "$SOCK" -t 3000 ping >/dev/null 2>"$T/a.err" || rc=$?
check "a. with max_connections idle, another user's dcgwctl still gets in (exit $rc $(cat "$T/a.err"))" [ "$rc" = 0 ]
wait "$apid" || true
read -r closed worst <"$T/a.out" || true
check "a. dcgwd closed the idle connections (5 left + 1 made room: $closed closed, the last after ${worst} ms)" \
    bash -c "[ '$closed' = 6 ] && [ '$worst' -lt 4500 ]"
check "a. counted: connections_evicted 1 ($(stat_of connections_evicted)), timed out 5 ($(stat_of connections_timed_out))" \
    bash -c "[ $(stat_of connections_evicted) = 1 ] && [ $(stat_of connections_timed_out) = 5 ]"

# ---- b. slowloris: half a header, half a frame
hold header 2 5 >"$T/b1.out" &
b1=$!
hold half 2 5 >"$T/b2.out" &
b2=$!
wait "$b1" "$b2" || true
read -r c1 w1 <"$T/b1.out" || true
read -r c2 w2 <"$T/b2.out" || true
check "b. half a header: closed after frame_timeout_ms ($c1 closed, ${w1} ms)" \
    bash -c "[ '$c1' = 2 ] && [ '$w1' -lt 2500 ]"
check "b. half a frame: closed after frame_timeout_ms ($c2 closed, ${w2} ms)" \
    bash -c "[ '$c2' = 2 ] && [ '$w2' -lt 2500 ]"

# ---- c. subscribers fill the socket: the operator has slots of its own
hold subscribed 6 4 "$T/c.ready" >"$T/c.out" &
cpid=$!
wait_for "six subscribers" 5 test -s "$T/c.ready" || true
sleep 1.1
rc=0; ctl -t 3000 ping >/dev/null 2>&1 || rc=$?
check "c. root's dcgwctl gets in past six subscribers (operator slot; exit $rc)" [ "$rc" = 0 ]
rc=0; as_nobody "$DCGWCTL" -s "$SOCK" -t 2000 ping >/dev/null 2>&1 || rc=$?
check "c. another user's is refused: no one to replace (exit $rc)" [ "$rc" = 3 ]
wait "$cpid" || true
read -r closed worst <"$T/c.out" || true
check "c. subscribers are not idle: none closed while held ($closed)" [ "$closed" = 0 ]

# ---- d. SIGTERM while a controller reads nothing
ctl create --id big --leg "name=ue,sdp=$DCGW_SRC/tests/data/sdp/chromium-offer-mdns.sdp" >/dev/null
/usr/bin/python3 - "$SOCK" "$T/d.ready" <<'PY' &
import socket, struct, sys, time
# 3000 pipelined GetSession{id "big"} (field 13), never reading a byte of the answers.
get = b"\x0a\x03big"
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
for i in range(3000):
    req = b"\x08" + bytes([i % 100 + 1]) + b"\x6a" + bytes([len(get)]) + get
    fr = b"\x0a" + bytes([len(req)]) + req
    s.sendall(struct.pack(">I", len(fr)) + fr)
open(sys.argv[2], "w").write("sent\n")
time.sleep(30)
PY
dpid=$!
wait_for "the pipelined requests" 10 test -s "$T/d.ready" || true
sleep 0.5
kill -TERM "$DCGWD_PID"
t0=$SECONDS
rc=0; timeout 10 tail --pid="$DCGWD_PID" -f /dev/null || rc=$?
wait "$DCGWD_PID" && drc=0 || drc=$?
DCGWD_PID=""
kill "$dpid" 2>/dev/null || true
check "d. SIGTERM with a controller that reads nothing: exit in $((SECONDS - t0)) s (bound: drain 1 s + 1 s + flush 1 s)" \
    bash -c "[ $rc = 0 ] && [ $((SECONDS - t0)) -le 5 ]"
check "d. exit status 0 ($drc)" [ "$drc" = 0 ]
check "d. the log says who held it up" grep -q "did not take their last output within 1000 ms" "$T/dcgwd.log"
finish
