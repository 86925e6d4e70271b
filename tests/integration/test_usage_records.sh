#!/usr/bin/env bash
# Usage records for a controller that was away when a session closed: dcgwd keeps its last
# control.event_replay events (here 12), so the session_closed with its reason and every
# channel's final counters can still be had:
#
#   controller away ... dcgwctl watch --since SEQ ──> master (events kept: replay.c)
#
# a. `watch --since 0` replays the kept events in order, then goes live without a gap or a
#    duplicate; b. `get` of a closed session names the seq of its session_closed, and
#    `close` of it answers closed; c. past the bound, the oldest are dropped and watch says
#    which it no longer has.
source "$(dirname "$0")/lib.sh"

printf 'workers = 1;\ncontrol: { socket = "%s"; event_replay = 12; };\nmetrics: { listen = "127.0.0.1:0"; };\n' \
    "$SOCK" >"$T/dcgw.conf"
start_dcgwd "$T/dcgw.conf" # nobody watches from here on

# A session that waits for its offer's answer (no set-up timeout), closed with a reason.
ctl create --id call-1 --leg name=as >/dev/null
ctl close call-1 --reason "call ended" >/dev/null

# ---- a. replay, then live
ctl --json watch --since 0 --for 0.5 >"$T/a.jsonl" 2>"$T/a.err" || true
kinds=$(/usr/bin/python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(" ".join("%d:%s:%s" % (e["seq"], next(k for k in e if k not in ("seq", "time_unix_ms", "session_id", "leg", "session_state")), e.get("session_id", "-")) for e in ev))' "$T/a.jsonl" 2>/dev/null || true)
check "a. watch --since 0 replays what the controller missed, in order ($kinds)" \
    bash -c "[[ '$kinds' == *':session_created:call-1 '*':session_closed:call-1'* ]]"
sc=$(/usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if "session_closed" in e and e.get("session_id") == "call-1":
        print(json.dumps(dict(e["session_closed"], seq=e["seq"])))' "$T/a.jsonl")
CLOSED_SEQ=$(field "$sc" 'j["seq"]')
check "a. the replayed session_closed has the reason ($sc)" [ "$(field "$sc" 'j.get("reason")')" = "call ended" ]
check "a. nothing was reported missing ($(cat "$T/a.err"))" bash -c "! grep -q 'no longer held' '$T/a.err'"
# replay then live: a session created while watching comes right after the replayed events
ctl --json watch --since "$((CLOSED_SEQ - 1))" --count 2 >"$T/live.jsonl" 2>/dev/null &
w=$!
sleep 0.3
ctl create --id call-2 --leg name=as >/dev/null
wait "$w" || true
got=$(/usr/bin/python3 -c '
import json, sys
print(" ".join("%d:%s" % (e["seq"], "closed" if "session_closed" in e else "created" if "session_created" in e else "other") for e in map(json.loads, open(sys.argv[1]))))' "$T/live.jsonl" 2>/dev/null || true)
check "a. --since the seq before session_closed: it, then the live session_created ($got)" \
    [ "$got" = "$CLOSED_SEQ:closed $((CLOSED_SEQ + 1)):created" ]

# ---- b. get and close of a closed session
out=$(ctl get call-1 2>&1) && rc=0 || rc=$?
check "b. get of a closed session: ENOENT naming its session_closed ($out)" \
    bash -c "[ $rc = 1 ] && [[ '$out' == *ENOENT* ]] && [[ '$out' == *'event $CLOSED_SEQ'* ]]"
rc=0; ctl close call-1 >/dev/null 2>&1 || rc=$?
check "b. close of a session that closed already answers closed (exit $rc)" [ "$rc" = 0 ]

# ---- c. bounded: the oldest events go, and watch says so
for i in 3 4 5 6 7 8 9; do ctl create --id "call-$i" --leg name=as >/dev/null; ctl close "call-$i" >/dev/null; done
ctl --json watch --since 0 --for 0.5 >"$T/c.jsonl" 2>"$T/c.err" || true
n=$(wc -l <"$T/c.jsonl")
check "c. at most event_replay (12) events replayed ($n)" [ "$n" -le 12 -a "$n" -ge 10 ]
check "c. watch names the events it can no longer give ($(cat "$T/c.err"))" \
    grep -q "events 1\.\.[0-9]* are no longer held by dcgwd" "$T/c.err"
out=$(ctl get call-1 2>&1) || true
check "c. once its session_closed is gone, get says only 'no such session' ($out)" \
    bash -c "[[ '$out' == *'no such session'* ]]"
finish
