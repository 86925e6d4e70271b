"""The checks of test_interop_dc.sh that compare JSON: the peers' results (dc_aiortc.py,
dc_chromium.py), dcgw's events (dcgwctl watch --json) and sessions (dcgwctl --json get).

usage:
  dc_check.py peer RESULT WHO
      every channel of the peer got what it expected (byte-exact, in order, typed)
  dc_check.py received RESULT WHO LABEL TAG SCRIPT_MAX
      an echo peer's channel LABEL received exactly script(TAG, SCRIPT_MAX)
  dc_check.py twin RESULT WHO LABEL PROTOCOL ORDERED MAX_RETRANSMITS
      the peer has a channel LABEL that dcgw opened by DCEP, with that protocol and
      reliability (MAX_RETRANSMITS "-" for none)
  dc_check.py opened EVENTS SESSION LEG=RESULT...
      a channel_opened event for every channel of every leg, with the stream id, label,
      subprotocol and negotiated flag the peer of that leg sees
  dc_check.py counters (get GET_JSON | closed EVENTS) SESSION LEG=RESULT...
      dcgw's per-channel counters (from `dcgwctl --json get`, or from the session_closed
      event) are what the peers counted: a leg's rx = what its peer sent, tx = what its
      peer received, messages and bytes; and no channel more or less. session_closed
      lists each channel of each leg once (its leg named), closed
  dc_check.py dropped GET_JSON LEG STREAM_ID N WHY
      dcgw's dropped_messages of that channel is N (WHY: what they are)
  dc_check.py kinds GET_JSON
      no DCEP channel sits on a 3GPP bootstrap stream id (0, 10, 100, 110); when channels
      sit on those ids, dcgw calls them KIND_BOOTSTRAP (and ids >= 1000 KIND_APPLICATION)

Prints one line per check, "ok TEXT" or "not ok TEXT"; the test counts them.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dc_common  # noqa: E402

BOOTSTRAP_IDS = (0, 10, 100, 110)


def say(good, text):
    print(("ok " if good else "not ok ") + text, flush=True)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"error": "no result (%s)" % e, "channels": [], "problems": ["no result"]}


def events(path, session):
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("session_id") == session:
                    out.append(e)
    except OSError:
        pass
    return out


def chan_of(result, label):
    for c in result.get("channels", []):
        if c.get("label") == label:
            return c
    return None


def how(c):
    if c.get("negotiated"):
        return "negotiated id %s" % c.get("id")
    return "DCEP id %s, opened by %s" % (c.get("id"), c.get("opened_by"))


def cmd_peer(path, who):
    r = load(path)
    if r.get("error"):
        say(False, "%s: %s" % (who, r["error"]))
    for c in r.get("channels", []):
        if c.get("expected") == 0:
            continue
        p = c.get("problem")
        say(p is None, "%s: channel %s (%s): %s/%s messages, %s bytes, byte-exact, in order, "
            "typed%s" % (who, c.get("label"), how(c), c.get("rx"), c.get("expected"),
                         c.get("rx_bytes"), "" if p is None else ": " + p))
    rest = [p for p in r.get("problems", [])
            if not any(p.startswith(c.get("label", "") + ": ") or p == c.get("problem")
                       for c in r.get("channels", []))]
    if rest:
        say(False, "%s: %s" % (who, "; ".join(rest)))


def cmd_received(path, who, label, tag, script_max):
    c = chan_of(load(path), label) or {}
    want = dc_common.expected(dc_common.script(tag, int(script_max)))
    got = c.get("digests", [])
    p = dc_common.compare(want, got)
    sizes = sorted({d["n"] for d in got if d["n"] >= 16384})
    say(p is None, "%s: channel %s received all %d messages of the script (large: %s)%s" % (
        who, label, len(want), sizes, "" if p is None else ": " + p))


def cmd_twin(path, who, label, protocol, ordered, max_rtx):
    c = chan_of(load(path), label)
    if c is None:
        say(False, "%s: dcgw opened no channel %s" % (who, label))
        return
    want = {"protocol": protocol, "negotiated": False, "opened_by": "peer",
            "ordered": ordered == "true", "max_retransmits": None if max_rtx == "-" else int(max_rtx)}
    got = {k: c.get(k) for k in want}
    say(got == want, "%s: dcgw's DCEP twin of %s has the same subprotocol and reliability "
        "(%s)" % (who, label, ", ".join("%s=%s" % kv for kv in got.items())))


def legs_of(args):
    out = []
    for a in args:
        leg, path = a.split("=", 1)
        out.append((leg, load(path)))
    return out


def cmd_opened(path, session, leg_args):
    evs = [e for e in events(path, session) if "channel_opened" in e]
    for leg, r in legs_of(leg_args):
        for c in r.get("channels", []):
            if c.get("id") is None:
                say(False, "leg %s: channel %s never got a stream id" % (leg, c.get("label")))
                continue
            hit = [e for e in evs if e.get("leg") == leg
                   and e["channel_opened"]["channel"].get("stream_id") == c["id"]]
            ch = hit[0]["channel_opened"]["channel"] if hit else {}
            good = bool(hit) and ch.get("label") == c["label"] and \
                ch.get("subprotocol", "") == c.get("protocol", "") and \
                bool(ch.get("negotiated")) == bool(c.get("negotiated"))
            say(good, "leg %s: channel_opened for stream %s \"%s\" (%s)" % (
                leg, c["id"], c["label"], "as the peer sees it" if good else
                "got %s" % (json.dumps(ch) if hit else "none")))


def key(d):
    return (d.get("stream_id", 0), d.get("label", ""), d.get("subprotocol", ""),
            bool(d.get("negotiated")), int(d.get("rx_messages", 0)), int(d.get("rx_bytes", 0)),
            int(d.get("tx_messages", 0)), int(d.get("tx_bytes", 0)))


def cmd_counters(source, path, session, leg_args):
    if source == "get":
        s = load(path).get("session", {})
        dcgw = {l["name"]: [key(x) for x in l.get("dc", {}).get("streams", [])]
                for l in s.get("legs", [])}
        where = "dcgwctl get"
    else:
        closed = [e for e in events(path, session) if "session_closed" in e]
        say(len(closed) == 1, "session_closed event for %s (%d seen)" % (session, len(closed)))
        chans = closed[0]["session_closed"].get("channels", []) if closed else []
        say(all(not x.get("open") for x in chans),
            "session_closed: every channel is closed (open: false)")
        # Each channel of each leg once (a leg that left earlier included): by leg.
        dcgw = {}
        for x in chans:
            dcgw.setdefault(x.get("leg"), []).append(key(x))
        ids = [(x.get("leg"), x.get("stream_id")) for x in chans]
        say(None not in dcgw and len(ids) == len(set(ids)),
            "session_closed: each channel once, with its leg (%s)" % sorted(map(str, ids)))
        where = "session_closed"
    for leg, r in legs_of(leg_args):
        mine = dcgw.get(leg, [])
        for c in r.get("channels", []):
            want = (c.get("id"), c.get("label"), c.get("protocol", ""), bool(c.get("negotiated")),
                    c.get("tx") or 0, c.get("tx_bytes") or 0, c.get("rx") or 0, c.get("rx_bytes") or 0)
            if want in mine:
                mine.remove(want)
                say(True, "%s: leg %s stream %s \"%s\": rx %d msgs/%d B, tx %d msgs/%d B as "
                    "its peer counted" % (where, leg, want[0], want[1], *want[4:]))
                continue
            near = [k for k in mine if k[0] == want[0] and k[1] == want[1]]
            say(False, "%s: leg %s stream %s \"%s\": peer sent %d msgs/%d B and got %d msgs/%d B;"
                " dcgw counted %s" % (where, leg, want[0], want[1], *want[4:], (
                    "rx %d msgs/%d B, tx %d msgs/%d B" % near[0][4:]) if near else "no such channel"))
            if near:
                mine.remove(near[0])
        say(not mine, "%s: leg %s has no channel its peer does not know%s" % (
            where, leg, "" if not mine else ": %s" % mine))


def cmd_dropped(path, leg, stream, n, why):
    s = load(path).get("session", {})
    got = None
    for l in s.get("legs", []):
        if l.get("name") == leg:
            for x in l.get("dc", {}).get("streams", []):
                if x.get("stream_id") == int(stream):
                    got = x.get("dropped_messages", 0)
    say(got == int(n), "dcgwctl get: leg %s stream %s dropped_messages = %s, %s (got %s)" % (
        leg, stream, n, why, got))


def cmd_kinds(path):
    s = load(path).get("session", {})
    bad = []
    for l in s.get("legs", []):
        for x in l.get("dc", {}).get("streams", []):
            if not x.get("negotiated") and x.get("stream_id", 0) in BOOTSTRAP_IDS:
                bad.append("leg %s stream %s \"%s\" (%s)" % (l.get("name"), x.get("stream_id"),
                                                             x.get("label"), x.get("kind")))
    say(not bad, "no DCEP channel on a 3GPP bootstrap stream id 0/10/100/110 (TS 26.114 "
        "6.2.10)%s" % ("" if not bad else ": " + ", ".join(bad)))
    # The channels on those ids (negotiated, a=dcmap) are classified as bootstrap, those
    # from 1000 up as application: events, policy and metrics go by the kind.
    kinds, wrong = {}, []
    for l in s.get("legs", []):
        for x in l.get("dc", {}).get("streams", []):
            sid = x.get("stream_id", 0)
            want = ("KIND_BOOTSTRAP" if sid in BOOTSTRAP_IDS else
                    "KIND_APPLICATION" if sid >= 1000 else None)
            if want is None:
                continue
            kinds.setdefault(want, set()).add(sid)
            if x.get("kind") != want:
                wrong.append("leg %s stream %s: %s" % (l.get("name"), sid, x.get("kind")))
    if any(sid in BOOTSTRAP_IDS for ids in kinds.values() for sid in ids):
        say(not wrong, "the channels on ids %s are KIND_BOOTSTRAP, on ids >= 1000 "
            "KIND_APPLICATION%s" % (sorted(kinds.get("KIND_BOOTSTRAP", [])),
                                    "" if not wrong else ": " + ", ".join(wrong)))


def main(argv):
    cmds = {"peer": (cmd_peer, 2), "received": (cmd_received, 5), "twin": (cmd_twin, 6),
            "dropped": (cmd_dropped, 5), "kinds": (cmd_kinds, 1)}
    if argv and argv[0] in cmds and len(argv) == cmds[argv[0]][1] + 1:
        cmds[argv[0]][0](*argv[1:])
    elif argv and argv[0] == "opened" and len(argv) >= 4:
        cmd_opened(argv[1], argv[2], argv[3:])
    elif argv and argv[0] == "counters" and len(argv) >= 5 and argv[1] in ("get", "closed"):
        cmd_counters(argv[1], argv[2], argv[3], argv[4:])
    else:
        print("not ok dc_check.py: bad arguments %s" % argv)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
