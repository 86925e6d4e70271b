"""The checks of test_metrics.sh: dcgw's /metrics, parsed with Debian's
python3-prometheus-client text parser, against the format's rules and against what
`dcgwctl --json get / stats` and the session_closed event say.

usage:
  metrics_check.py scrape URL OUT            GET URL into OUT (exit 1 unless 200)
  metrics_check.py scrape-loop URL DIR STOP  scrape every 0.25 s into DIR/NNN.txt until the
                                             file STOP exists (at most 240 scrapes)
  metrics_check.py http URL                  status codes of a bad path, POST, HEAD
  metrics_check.py format SCRAPE FORBIDDEN   the text follows the exposition format and the
                                             naming rules; no label value is FORBIDDEN
  metrics_check.py during DIR                the scrapes taken during traffic: counters
                                             never go back, traffic and gauges were seen
  metrics_check.py live SCRAPE GET STATS1 STATS2 T1A T1B
                                             values agree with get (same time, traffic
                                             stopped) and lie between two stats (T1A, T1B:
                                             Unix time just before and after STATS1)
  metrics_check.py sessions SCRAPE LIST STATE sessions by worker and state = dcgwctl list, and
                                             one session is in STATE
  metrics_check.py events SCRAPE EVENTS       the families counted from events (DTLS, consent,
                                             relay verdicts, avatars) = the events, by reason
  metrics_check.py relay SCRAPE EVENTS STATS  relay flows, verdicts and blocks = the events and
                                             stats; forwarded datagrams cover the closed flows
  metrics_check.py final SCRAPE EVENTS SESSION STATS
                                             after the close: the session's final counters
                                             (session_closed) are kept, gauges are zero
  metrics_check.py requests SCRAPE1 SCRAPE2 TYPE N
                                             TYPE control requests went up by N, and its
                                             latency histogram with them

Prints one line per check, "ok TEXT" or "not ok TEXT"; the test counts them.
"""
import glob
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

LABELS = {"worker", "role", "state", "kind", "direction", "reason", "inspected", "type",
          "mode", "outcome", "version", "le"}
TOKEN = re.compile(r"^([a-z0-9_]+|[0-9.e+-]+|\+Inf)$")


def say(good, text):
    print(("ok " if good else "not ok ") + text, flush=True)


def fetch(url, method="GET", data=None):
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def parse(path):
    """(families, {(sample name, sorted label items): value}) of a saved scrape."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    fams = list(text_string_to_metric_families(text))
    values = {}
    for fam in fams:
        for s in fam.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return text, fams, values


def total(values, name, **want):
    """Sum of the samples of name whose labels include want."""
    return sum(v for (n, labels), v in values.items()
               if n == name and all(dict(labels).get(k) == w for k, w in want.items()))


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def counter(stats, name):
    return sum(c.get("value", 0) for w in stats["stats"]["workers"]
               for c in w.get("counters", []) if c["name"] == name)


# ---- modes

def scrape(url, out):
    status, headers, body = fetch(url)
    with open(out, "w", encoding="utf-8") as f:
        f.write(body)
    ok = status == 200 and headers.get("Content-Type", "").startswith("text/plain; version=0.0.4")
    return 0 if ok else 1


def scrape_loop(url, outdir, stop):
    os.makedirs(outdir, exist_ok=True)
    for i in range(240):
        if os.path.exists(stop):
            break
        try:
            status, _, body = fetch(url)
        except OSError:
            status, body = 0, ""
        if status == 200:
            with open(os.path.join(outdir, "%03d.txt" % i), "w", encoding="utf-8") as f:
                f.write(body)
        time.sleep(0.25)
    return 0


def http(url):
    base = url.rsplit("/", 1)[0]
    status, _, body = fetch(url)
    say(status == 200 and "dcgw_build_info" in body, "GET /metrics: 200 with the families")
    say(fetch(base + "/nope")[0] == 404, "GET /nope: 404")
    say(fetch(base + "/")[0] == 404, "GET /: 404")
    status, headers, _ = fetch(url, "POST", b"x=1")
    say(status == 405 and "GET" in headers.get("Allow", ""),
        "POST /metrics: 405 with Allow (%s, %s)" % (status, headers.get("Allow")))
    status, headers, body = fetch(url, "HEAD")
    say(status == 200 and body == "", "HEAD /metrics: 200, no body")
    host, port = url.split("/")[2].split(":")

    def raw(data):
        with socket.create_connection((host, int(port)), 5) as c:
            c.sendall(data)
            c.settimeout(5)
            try:
                return c.recv(200)
            except OSError:
                return b""
    got = raw(b"\x00\x01 garbage\r\n\r\n")
    say(got == b"" or got.startswith(b"HTTP/1.1 400"), "garbage: closed or 400 (%r)" % got[:30])
    got = raw(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
    say(got.startswith(b"HTTP/1.1 431") or got.startswith(b"HTTP/1.1 413") or got == b"",
        "40 KB of headers (over the 32 KiB a connection may use): refused (%r)" % got[:30])
    say(fetch(url)[0] == 200, "GET /metrics still answers after them")
    return 0


def fmt(path, forbidden):
    text, fams, _ = parse(path)
    names = [f.name for f in fams]
    say(len(fams) >= 30, "%d families parsed" % len(fams))
    say(all(n.startswith("dcgw_") for n in names),
        "every family has the dcgw_ prefix (%s)" % [n for n in names if not n.startswith("dcgw_")])
    say(len(names) == len(set(names)), "each family once, its samples together")
    untyped = [f.name for f in fams if f.type == "untyped"]
    say(not untyped, "no sample outside its declared family (untyped: %s)" % untyped[:5])
    types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    bad = [n for n, t in types if t == "counter" and not n.endswith("_total")]
    say(not bad, "counters end in _total (%s)" % bad)
    say(all(n in helps for n, _ in types), "every family has HELP")
    say(all(t in ("counter", "gauge", "histogram") for _, t in types), "types: counter, gauge, histogram")
    seen = {k for f in fams for s in f.samples for k in s.labels}
    say(seen <= LABELS, "labels are few and bounded: %s" % sorted(seen))
    vals = {(k, v) for f in fams for s in f.samples for k, v in s.labels.items() if k != "version"}
    say(all(TOKEN.match(v) for _, v in vals),
        "label values are plain tokens (%s)" % sorted(v for _, v in vals if not TOKEN.match(v))[:5])
    say(not any(v == forbidden for _, v in vals), "no label value is the session id %s" % forbidden)
    unit = [n for n in names if re.search(r"_(ms|us|milliseconds|kb|mb)(_|$)", n)]
    say(not unit, "base units only (%s)" % unit)
    for f in fams:
        if f.type != "histogram":
            continue
        series = {}
        for s in f.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            series.setdefault(key, []).append(s)
        good = True
        for key, ss in series.items():
            buckets = [(float(s.labels["le"]), s.value) for s in ss if s.name.endswith("_bucket")]
            count = [s.value for s in ss if s.name.endswith("_count")]
            cum = [v for _, v in sorted(buckets)]
            good &= cum == sorted(cum) and bool(count) and cum[-1] == count[0]
        say(good and series, "%s: buckets cumulative, +Inf = count (%d series)" % (f.name, len(series)))
    return 0


def during(outdir):
    files = sorted(glob.glob(os.path.join(outdir, "*.txt")))
    say(len(files) >= 8, "%d scrapes taken during the traffic" % len(files))
    prev, back, msgs, connected, channels = None, [], set(), False, 0
    for path in files:
        _, fams, values = parse(path)
        for f in fams:
            if f.type != "counter":
                continue
            for s in f.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                if prev is not None and key in prev and s.value < prev[key]:
                    back.append((path[-7:], s.name, s.value, prev[key]))
        msgs.add(total(values, "dcgw_dc_messages_total", direction="in"))
        connected |= total(values, "dcgw_legs", state="connected") == 2
        channels = max(channels, total(values, "dcgw_channels_open"))
        prev = values
    say(not back, "no counter ever went back across the scrapes (%s)" % back[:3])
    say(len(msgs) >= 3, "messages counted while they flowed: %d distinct totals" % len(msgs))
    say(connected, "a scrape saw both legs connected (dcgw_legs)")
    say(channels >= 2, "a scrape saw the open channels (%d)" % channels)
    return 0


def leg_sums(leg):
    out = {"rx_messages": 0, "rx_bytes": 0, "tx_messages": 0, "tx_bytes": 0, "policy_dropped": 0,
           "open": 0}
    for st in leg.get("dc", {}).get("streams", []):
        for k in out:
            out[k] += int(st.get(k, 0))
    return out


def live(path, get_path, s1_path, s2_path, t1a, t1b):
    _, _, values = parse(path)
    sess, s1, s2 = load(get_path)["session"], load(s1_path), load(s2_path)
    # A worker pushes when a value changed (CPU time and memory aside) or every 10th push
    # interval: the snapshot scraped may predate stats1 (nothing changed since), then its
    # values are at most those of stats1; taken after stats1 (answered between t1a and
    # t1b), they lie between stats1 and stats2; in between, they are at most stats2's.
    ts = total(values, "dcgw_worker_metrics_timestamp_seconds")
    t1a, t1b = float(t1a), float(t1b)
    when = "after" if ts > t1b else "before" if ts < t1a else "during"
    say(ts > t1a - 10 * 0.2 - 1, "the snapshot is recent (%.3f s before stats1)" % (t1a - ts))

    def between(m, a, b):
        return {"after": a <= m <= b, "before": m <= a, "during": m <= b}[when]
    for leg in sess["legs"]:
        role = leg.get("role", "ROLE_ANSWER").replace("ROLE_", "").lower()
        sums = leg_sums(leg)
        for direction, field in (("in", "rx"), ("out", "tx")):
            for unit, name in (("messages", "dcgw_dc_messages_total"), ("bytes", "dcgw_dc_bytes_total")):
                m = total(values, name, role=role, direction=direction)
                g = sums["%s_%s" % (field, unit)]
                say(m == g, "leg %s (%s) %s %s: metrics %d = get %d" % (leg["name"], role, direction, unit, m, g))
        m = total(values, "dcgw_channels_open", role=role)
        say(m == sums["open"], "leg %s: open channels %d = get %d" % (leg["name"], m, sums["open"]))
    refused = total(values, "dcgw_drops_total", reason="refused")
    pdrop = sum(leg_sums(leg)["policy_dropped"] for leg in sess["legs"])
    say(refused == pdrop, "drops{reason=refused} %d = the channels' policy_dropped %d" % (refused, pdrop))
    ps = sess.get("policy_status", {})
    v = total(values, "dcgw_policy_violations_total")
    say(v == int(ps.get("violations", -1)), "policy violations %d = get %s" % (v, ps.get("violations")))
    rules = ps.get("rules", [])
    for reason, field in (("message_size", "dropped_size"), ("message_rate", "dropped_rate")):
        m = total(values, "dcgw_policy_violations_total", reason=reason)
        g = sum(int(r.get(field, 0)) for r in rules)
        say(m == g, "violations{reason=%s} %d = the rules' %s %d" % (reason, m, field, g))
    m = total(values, "dcgw_policy_violations_total", reason="denied")
    g = sum(int(r.get("refused_channels", 0)) for r in rules)
    say(m == g, "violations{reason=denied} %d = the rules' refused_channels %d" % (m, g))
    say(total(values, "dcgw_legs", state="connected") == 2, "both legs connected (dcgw_legs)")
    say(total(values, "dcgw_dtls_handshakes_total") == 2, "2 DTLS handshakes")
    for metric, direction, field in (("dcgw_udp_datagrams_total", "in", "rx_packets"),
                                     ("dcgw_udp_datagrams_total", "out", "tx_packets"),
                                     ("dcgw_udp_bytes_total", "in", "rx_bytes"),
                                     ("dcgw_udp_bytes_total", "out", "tx_bytes")):
        m, a, b = total(values, metric, direction=direction), counter(s1, field), counter(s2, field)
        say(between(m, a, b), "%s{direction=%s} %d between stats %d and %d" % (metric, direction, m, a, b))
    for reason, field in (("unknown_source", "rx_unknown_source"), ("no_session", "rx_no_session"),
                          ("udp_truncated", "rx_truncated")):
        m, a, b = total(values, "dcgw_drops_total", reason=reason), counter(s1, field), counter(s2, field)
        say(between(m, a, b), "drops{reason=%s} %d between stats %d and %d" % (reason, m, a, b))
    for mode, field in (("user", "cpu_user_us"), ("system", "cpu_system_us")):
        m = total(values, "dcgw_worker_cpu_seconds_total", mode=mode)
        a = sum(w.get(field, 0) for w in s1["stats"]["workers"]) / 1e6
        b = sum(w.get(field, 0) for w in s2["stats"]["workers"]) / 1e6
        say(between(m, a, b) and m > 0, "CPU %s %.6f s between stats %.6f and %.6f (%s)"
            % (mode, m, a, b, "snapshot %s stats1" % when))
    m = total(values, "dcgw_worker_resident_memory_bytes")
    a = sum(w.get("rss_bytes", 0) for w in s1["stats"]["workers"])
    say(0.5 * a <= m <= 2 * a, "resident memory %d near stats %d" % (m, a))
    for name, field in (("dcgw_sessions_created_total", "sessions_created"),
                        ("dcgw_sessions_closed_total", "sessions_closed"),
                        ("dcgw_sessions_lost_total", "sessions_lost"),
                        ("dcgw_control_frames_rejected_total", "frames_rejected")):
        m, g = total(values, name), int(s2["stats"].get(field, 0))
        say(m == g, "%s %d = stats %d" % (name, m, g))
    m = total(values, "dcgw_worker_restarts_total")
    g = sum(w.get("restarts", 0) for w in s2["stats"]["workers"])
    say(m == g, "worker restarts %d = stats %d" % (m, g))
    m = total(values, "dcgw_sessions")
    g = sum(w.get("sessions", 0) for w in s2["stats"]["workers"])
    say(m == g == 1, "sessions %d = stats %d = 1" % (m, g))
    return 0


def sessions(path, list_path, want_state):
    _, _, values = parse(path)
    listed = {}
    for x in load(list_path)["sessions"].get("sessions", []):
        key = (str(x.get("worker", 0)), x.get("state", "").replace("SESSION_", "").lower())
        listed[key] = listed.get(key, 0) + 1
    metric = {(dict(labels)["worker"], dict(labels)["state"]): v for (n, labels), v in values.items()
              if n == "dcgw_sessions" and v}
    say(metric == listed, "sessions by worker and state = dcgwctl list (%s, %s)" % (metric, listed))
    say(total(values, "dcgw_sessions", state=want_state) == 1, "the session is %s" % want_state)
    return 0


def reason_of(code):
    """The reason label of a dcgw error code (msg/metrics.c dcgw_metrics_reason_of)."""
    if -1256 < code <= -1000:
        return "alert"
    return {-16: "fingerprint", -17: "weak_hash", -19: "timeout", -23: "protocol", -18: "tls",
            -15: "tls", -11: "unsupported", -14: "limit", -10: "malformed",
            -9: "malformed"}.get(code, "other")


def read_events(path):
    """The events of a `dcgwctl watch --json` file, one a line (a torn last line is
    passed over)."""
    evs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                evs.append(json.loads(line))
            except ValueError:
                pass
    return evs


def events_mode(path, events_path):
    """Every family counted from events equals the events of the same kind and reason."""
    _, _, values = parse(path)
    evs = read_events(events_path)

    def count(kind, pred=lambda e: True):
        return sum(1 for e in evs if kind in e and pred(e[kind]))
    checks = [("dcgw_dtls_handshakes_total", {}, count("leg_connected"))]
    for r in sorted({reason_of(e["dtls_failed"].get("code", 0)) for e in evs if "dtls_failed" in e}):
        checks.append(("dcgw_dtls_failures_total", {"reason": r},
                       count("dtls_failed", lambda x, r=r: reason_of(x.get("code", 0)) == r)))
    checks.append(("dcgw_dtls_failures_total", {}, count("dtls_failed")))
    checks.append(("dcgw_consent_lost_total", {}, count("consent_lost")))
    checks.append(("dcgw_relay_connected_total", {}, count("relay_connected")))
    checks.append(("dcgw_relay_blocks_total", {}, count("relay_blocked")))
    checks.append(("dcgw_avatar_accepted_total", {"type": "transfer"},
                   count("avatar_accepted", lambda x: not x.get("request"))))
    checks.append(("dcgw_avatar_accepted_total", {"type": "request"},
                   count("avatar_accepted", lambda x: bool(x.get("request")))))
    for r in sorted({e["avatar_rejected"].get("reason", "") for e in evs if "avatar_rejected" in e}):
        label = r.replace("AVATAR_", "").lower()
        checks.append(("dcgw_avatar_rejected_total", {"reason": label},
                       count("avatar_rejected", lambda x, r=r: x.get("reason") == r)))
    checks.append(("dcgw_avatar_rejected_total", {}, count("avatar_rejected")))
    for name, labels, n in checks:
        m = total(values, name, **labels)
        say(m == n, "%s%s: metrics %d = events %d" % (name, labels or "", m, n))
    return 0


def relay(path, events_path, stats_path):
    _, _, values = parse(path)
    evs = read_events(events_path)
    conn = [e["relay_connected"] for e in evs if "relay_connected" in e]
    blocks = [e["relay_blocked"] for e in evs if "relay_blocked" in e]
    closed = [e["relay_closed"] for e in evs if "relay_closed" in e]
    for insp in (True, False):
        m = total(values, "dcgw_relay_connected_total", inspected=str(insp).lower())
        n = sum(1 for c in conn if bool(c.get("inspected")) == insp)
        say(m == n, "relay connected{inspected=%s}: metrics %d = events %d" % (str(insp).lower(), m, n))
    m = total(values, "dcgw_relay_blocks_total", reason="fingerprint")
    n = sum(1 for b in blocks if b.get("code") == -16)
    say(m == n >= 1, "relay blocks{reason=fingerprint}: metrics %d = EFINGERPRINT events %d" % (m, n))
    say(total(values, "dcgw_relay_blocks_total") == len(blocks),
        "relay blocks: metrics = events (%d)" % len(blocks))
    m, g = total(values, "dcgw_relay_flows_total"), counter(load(stats_path), "relay_flows")
    say(m == g >= 1, "relay flows: metrics %d = stats %d" % (m, g))
    fwd = sum(int(l.get("forwarded_packets", 0)) for c in closed for l in c.get("legs", []))
    m = total(values, "dcgw_relay_forwarded_datagrams_total")
    say(m >= fwd and m > 0, "relay forwarded datagrams %d >= those of the closed flows %d" % (m, fwd))
    return 0


def final(path, events_path, session, stats_path):
    _, _, values = parse(path)
    closed = None
    for e in read_events(events_path):
        if e.get("session_id") == session and "session_closed" in e:
            closed = e["session_closed"]
    say(closed is not None, "session_closed of %s seen" % session)
    chans = (closed or {}).get("channels", [])
    for direction, field in (("in", "rx"), ("out", "tx")):
        for unit, name in (("messages", "dcgw_dc_messages_total"), ("bytes", "dcgw_dc_bytes_total")):
            m = total(values, name, direction=direction)
            g = sum(int(c.get("%s_%s" % (field, unit), 0)) for c in chans)
            say(m == g, "after the close, %s %s: metrics %d = session_closed %d" % (direction, unit, m, g))
    say(total(values, "dcgw_sessions") == 0, "no session left (dcgw_sessions)")
    say(total(values, "dcgw_legs") == 0, "no leg left (dcgw_legs)")
    say(total(values, "dcgw_channels_open") == 0, "no channel open")
    st = load(stats_path)["stats"]
    say(total(values, "dcgw_sessions_closed_total") == int(st.get("sessions_closed", -1)) == 1,
        "sessions closed = stats = 1")
    return 0


def requests(p1, p2, typ, n):
    _, _, a = parse(p1)
    _, _, b = parse(p2)
    d = total(b, "dcgw_control_requests_total", type=typ) - total(a, "dcgw_control_requests_total", type=typ)
    say(d == n, "control requests{type=%s} went up by %d (%d)" % (typ, n, d))
    h = "dcgw_control_request_duration_seconds"
    d = total(b, h + "_count", type=typ) - total(a, h + "_count", type=typ)
    say(d == n, "its latency histogram counted them (%d)" % d)
    s = total(b, h + "_sum", type=typ) - total(a, h + "_sum", type=typ)
    say(0 < s < n * 1.0, "their latency sum grew, under 1 s each (%.6f s)" % s)
    return 0


def main(argv):
    modes = {"scrape": (scrape, 2), "scrape-loop": (scrape_loop, 3), "http": (http, 1),
             "format": (fmt, 2), "during": (during, 1), "live": (live, 6), "final": (final, 4), "sessions": (sessions, 3), "relay": (relay, 3), "events": (events_mode, 2),
             "requests": (requests, 4)}
    if len(argv) < 2 or argv[1] not in modes or len(argv) != 2 + modes[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    fn, _ = modes[argv[1]]
    args = argv[2:]
    if argv[1] == "requests":
        args[3] = int(args[3])
    return fn(*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
