#!/usr/bin/env bash
# Per-channel policy enforced on real peers: two aiortc peers (Debian python3-aiortc)
# talk through dcgwd, which terminates both legs, in a private network (and PID)
# namespace:
#
#   +------------------------- unshare -n -p (this script) --------------------------+
#   |  lo 127.0.0.1                                                                  |
#   |                                                                                |
#   |  policy_ue.py --offer--> test --dcgwctl create --policy--> dcgwd (1 worker)    |
#   |   (chat, bulk, secret)        <--ue.sdp / as.sdp--          |  UDP 127.0.0.1:p |
#   |  policy_echo.py <--as.sdp-- test --dcgwctl update --leg as--/                  |
#   |   (echoes)      --answer-->                                                    |
#   |  UE ==DTLS/SCTP== dcgwd (policy) ==DTLS/SCTP== echo                            |
#   |  dcgwctl watch --json -> events.jsonl (policy_violation, channel_*)            |
#   +--------------------------------------------------------------------------------+
#
# The policy (lib.sh policy_scenario): allow_dcep; "chat" allowed up to 1024-byte
# messages; "bulk" allowed at 50 msg/s (burst 10); "secret*" denied. Asserts
# (docs/policy.md):
#   a. the DCEP open of "secret" is refused (no ACK, stream reset: aiortc closes it
#      without it ever opening), reported (policy_violation REASON_DENIED, rule
#      no-secret) and counted; the echo peer never sees it;
#   b. 2000-byte messages on chat are dropped and counted (dropped_size 3), small ones
#      after them still pass;
#   c. a 300 msg/s flood on bulk reaches the echo peer at 50 msg/s (steady rate measured
#      over 2.5 s, within 25%), the drops are counted and the violation events are
#      rate-limited (with the count of those suppressed);
#   d. a live patch denying bulk closes bulk on both legs while chat keeps flowing;
#      counters are kept across the update;
#   e. dcgwctl policy shows the effective policy and counters;
#   f. a session created without a policy passes nothing: every DCEP open is refused
#      (allow_dcep is false unless a policy says otherwise);
#   g. a deny rule with ACTION_CLOSE_SESSION closes the session when its channel is
#      opened; the worker lives on.
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

check "Debian python3 has aiortc" "$PY" -c 'import aiortc, aioice'

start_loopback_dcgwd 1

# ---- helpers

# rule_stat FILE RULE FIELD: a counter of RULE from a saved `dcgwctl --json get`.
rule_stat() {
    json_field "$1" "[r.get('$3', 0) for r in j['session']['policy_status']['rules'] if r['rule'] == '$2'][0]"
}

# ---- the session: UE answered by dcgw, echo peer offered by dcgw

policy_scenario ""

wait_for "the flood to end" 60 test -e "$M/flooded" || true
ctl --json get pol >"$T/before.json"
rc=0; ctl policy pol --patch "$T/patch.json" >"$T/patch.out" 2>&1 || rc=$?
check "d. dcgwctl policy pol --patch FILE is accepted (exit $rc)" [ "$rc" = 0 ]
echo 1 >"$M/updated"
wait_for "the UE's result" 30 test -s "$U/result.json" || true
sleep 0.5
ctl --json get pol >"$T/after.json"
ctl policy pol >"$T/policy.txt" || true
echo 1 >"$M/stop"
wait $upid || true
wait $epid || true
R="$U/result.json" X="$E/result.json"
echo "# UE: $(json_field "$R" 'json.dumps({k: v for k, v in j.items() if k != "flood"})')"

# ---- a. the denied DCEP open

check "a. chat and bulk opened, secret never did ($(json_field "$R" 'j.get("open")'))" \
    [ "$(json_field "$R" 'j["open"]["chat"] and j["open"]["bulk"] and not j["open"]["secret"]')" = True ]
check "a. the UE saw secret closed (stream reset instead of an ACK)" [ "$(json_field "$R" 'j["secret_closed"]')" = True ]
check "a. the echo peer never saw a secret channel" [ "$(json_field "$X" '"secret" in j["channels"]')" = False ]
check "a. policy_violation for secret: REASON_DENIED by rule no-secret" \
    test -n "$(events policy_violation 'e.get("label") == "secret" and e.get("reason") == "REASON_DENIED" and e.get("rule") == "no-secret"')"
check "a. rule no-secret counts the refused channel" [ "$(rule_stat "$T/before.json" no-secret refused_channels)" -ge 1 ]
check "a. the audit log names session, leg, stream, rule and reason" \
    grep -q 'audit: session pol leg ue stream [0-9]* "secret": channel refused, rule session/no-secret: denied' "$T/dcgwd.log"

# ---- b. the size limit

check "b. small chat messages after the big ones came back" [ "$(json_field "$R" 'j["small_after_big_echoed"]')" = True ]
check "b. no 2000-byte message came back ($(json_field "$R" 'j["big_echoed"]'))" [ "$(json_field "$R" 'j["big_echoed"]')" = 0 ]
check "b. the echo peer's largest chat message is within 1024 ($(json_field "$X" 'j["channels"]["chat"]["max_size"]'))" \
    [ "$(json_field "$X" 'j["channels"]["chat"]["max_size"] <= 1024')" = True ]
check "b. rule chat: dropped_size = 3 ($(rule_stat "$T/before.json" chat dropped_size))" \
    [ "$(rule_stat "$T/before.json" chat dropped_size)" = 3 ]
check "b. policy_violation REASON_MESSAGE_SIZE with size 2000" \
    test -n "$(events policy_violation 'e.get("reason") == "REASON_MESSAGE_SIZE" and e.get("size") == 2000')"

# ---- c. the rate limit

rate=$(json_field "$X" '(lambda t: len([x for x in t if t[0] + 1.0 <= x < t[0] + 3.5]) / 2.5)(j["channels"]["bulk"]["times"])')
sent=$(json_field "$R" 'j["flood"]["sent"]')
got=$(json_field "$X" 'j["channels"]["bulk"]["count"]')
echo "# flood: sent $sent in $(json_field "$R" 'round(j["flood"]["end"] - j["flood"]["start"], 2)') s, echo peer got $got, steady rate $rate msg/s"
check "c. the flood was well beyond the limit (sent $sent)" [ "${sent:-0}" -ge 900 ]
check "c. steady rate at the echo peer within 25% of 50 msg/s ($rate)" \
    "$PY" -c "import sys; sys.exit(0 if 37.5 <= float('${rate:-0}') <= 62.5 else 1)"
check "c. total at the echo peer bounded by burst + 50/s ($got)" \
    "$PY" -c "import sys; sys.exit(0 if 150 <= int('${got:-0}') <= 10 + 50 * 4.5 * 1.25 else 1)"
dropped=$(rule_stat "$T/before.json" bulk dropped_rate)
check "c. rule bulk counts the rate drops ($dropped)" [ "${dropped:-0}" -ge $((sent - got - 10)) ]
nrate=$(events policy_violation 'e.get("reason") == "REASON_MESSAGE_RATE"' | wc -l)
sup=$(events policy_violation 'e.get("suppressed", 0) > 0' | wc -l)
check "c. rate violations are reported, rate-limited ($nrate events for $dropped drops)" \
    [ "$nrate" -ge 1 -a "$nrate" -le 60 ]
check "c. events carry the count of suppressed violations ($sup with suppressed > 0)" [ "$sup" -ge 1 ]

# ---- d. the live update

check "d. bulk closed at the UE after the update ($(json_field "$R" 'round(j.get("bulk_close_delay", -1), 2)') s)" \
    [ "$(json_field "$R" 'j["bulk_closed_after_update"]')" = True ]
check "d. bulk closed at the echo peer too" [ "$(json_field "$X" 'j["channels"]["bulk"]["closed"] is not None')" = True ]
check "d. chat kept flowing after the update" [ "$(json_field "$R" 'j["chat_echo_after"] and j["chat_open_after_update"]')" = True ]
check "d. policy_violation REASON_UPDATE for bulk" \
    test -n "$(events policy_violation 'e.get("reason") == "REASON_UPDATE" and e.get("label") == "bulk"')"
b_chat=$(rule_stat "$T/before.json" chat messages) a_chat=$(rule_stat "$T/after.json" chat messages)
b_bulk=$(rule_stat "$T/before.json" bulk messages) a_bulk=$(rule_stat "$T/after.json" bulk messages)
check "d. counters kept: chat $b_chat -> $a_chat messages, bulk $b_bulk -> $a_bulk" \
    [ "${a_chat:-0}" -gt "${b_chat:-0}" -a "${a_bulk:-0}" -ge "${b_bulk:-1}" -a "${b_bulk:-0}" -gt 0 ]
check "d. the session's policy is version 2 with bulk denied" \
    [ "$(json_field "$T/after.json" '[r["verdict"] for r in j["session"]["policy"]["rules"] if r["name"] == "bulk"][0] + str(j["session"]["policy"]["version"])')" = VERDICT_DENY2 ]
check "d. one update counted" [ "$(json_field "$T/after.json" 'j["session"]["policy_status"]["updates"]')" = 1 ]

# ---- e. dcgwctl policy

check "e. dcgwctl policy lists the rules and their counters" \
    bash -c "grep -q 'no-secret *deny' '$T/policy.txt' && grep -qE '^  session +chat +allow' '$T/policy.txt' && grep -q 'updates 1' '$T/policy.txt'"

# ---- f. no policy: nothing passes

F="$T/nopol"; mkdir -p "$F/m" "$F/dcgw"
"$PY" "$PEERS/policy_ue.py" "$F/offer.sdp" "$F/answer.sdp" "$F/result.json" "$F/m" \
    --expect-refused --timeout 30 >"$F/peer.out" 2>"$F/peer.log" &
fpid=$!
wait_for "the second UE's offer" 15 test -s "$F/offer.sdp" || true
check "f. a session without a policy is created" ctl create --id nopol --leg "name=ue,sdp=$F/offer.sdp" --sdp-out "$F/dcgw"
deliver "$F/dcgw/ue.sdp" "$F/answer.sdp"
wait_for "the second UE's result" 25 test -s "$F/result.json" || true
echo 1 >"$F/m/stop"
rc=0; wait $fpid || rc=$?
check "f. every DCEP open refused, none opened (exit $rc: $(json_field "$F/result.json" 'j.get("open")'))" [ "$rc" = 0 ]
check "f. the refusals say in-band opens are not allowed (the default)" \
    test -n "$(events policy_violation 'e.get("reason") == "REASON_DCEP_NOT_ALLOWED"')"

# ---- g. a deny rule whose action closes the session

G="$T/tripwire"; mkdir -p "$G/m" "$G/dcgw"
cat >"$G/policy.json" <<'JSON'
{"allow_dcep": true, "rules": [
  {"name": "tripwire", "verdict": "VERDICT_DENY", "label": "secret", "action": "ACTION_CLOSE_SESSION"},
  {"name": "all", "verdict": "VERDICT_ALLOW"}]}
JSON
"$PY" "$PEERS/policy_ue.py" "$G/offer.sdp" "$G/answer.sdp" "$G/result.json" "$G/m" \
    --expect-refused --timeout 30 >"$G/peer.out" 2>"$G/peer.log" &
gpid=$!
wait_for "the third UE's offer" 15 test -s "$G/offer.sdp" || true
check "g. a session whose policy has a tripwire is created" ctl create --id trip \
    --leg "name=ue,sdp=$G/offer.sdp" --policy "$G/policy.json" --sdp-out "$G/dcgw"
deliver "$G/dcgw/ue.sdp" "$G/answer.sdp"
closed_trip() { events session_closed 'e.get("reason") == "policy violation"' | grep -q .; }
wait_for "session trip closed" 15 closed_trip || true
check "g. opening secret closed the session (session_closed: policy violation)" closed_trip
check "g. policy_violation names the tripwire with ACTION_CLOSE_SESSION" \
    test -n "$(events policy_violation 'e.get("rule") == "tripwire" and e.get("action") == "ACTION_CLOSE_SESSION"')"
check "g. the session is gone" bash -c "! '$DCGWCTL' -s '$SOCK' get trip >/dev/null 2>&1"
echo 1 >"$G/m/stop"
wait $gpid || true
check "g. dcgwd still answers, no worker lost" \
    bash -c "'$DCGWCTL' -s '$SOCK' ping >/dev/null && ! grep -q worker_lost '$T/events.jsonl'"

if [ "$FAILED" -ne 0 ]; then
    for f in "$U/peer.log" "$E/peer.log" "$F/peer.log"; do [ -s "$f" ] && { echo "---- $f"; tail -20 "$f"; }; done
    echo "---- policy"; cat "$T/policy.txt" 2>/dev/null || true
fi
finish
