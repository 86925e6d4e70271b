"""Headless Chromium as a data-channel peer of the dcgw interop tests.

usage: dc_chromium.py --role ue|p2p --offer-out F --answer-in F --result F
                      [--open LABEL:PROTOCOL]... [--open-lossy LABEL:PROTOCOL]...
                      [--negotiated ID:LABEL:PROTOCOL]...
                      [--expect LABEL]... [--name A --peer-name B] [--leader]
                      [--script-max N] [--script-max-for LABEL:N]... [--stop-file F]
                      [--timeout S] [--log F]
                      [--chromium PATH]

Serves dc_chromium.html on 127.0.0.1 and starts headless Chromium on it, as
chromium_peer.py does (chromium_common.py). The page gets its channels and their
scripts from /config (the items of dc_common.py, each with its pacing), offers, and
reports every channel that opens and the digest of every message that arrives. The
offer is written to OFFER_OUT with an a=dcmap line per --negotiated channel added
(Chromium does not write them).

--open-lossy as in dc_aiortc.py (unordered, 2 retransmissions, nothing sent). Roles as
in dc_aiortc.py: ue expects each channel's own script back (an echo); p2p
sends script("NAME:label") on every channel, its own and those the far side opened
(--expect), and expects script("PEER:label").

When every channel has sent its script and received what it expects (or on timeout),
the result is renamed into --result: {"error", "pc", "dtls", "max_message_size" (what
Chromium's RTCSctpTransport allows it to send), "channels": [{label, protocol, id,
negotiated, ordered, opened_by, rx, rx_bytes, tx, tx_bytes, expected, problem}],
"problems"}. Chromium keeps running until --stop-file exists (or the timeout), so the
session can be inspected with the page still connected. Exit 0 when there is no
problem, 1 otherwise, 2 when Chromium never connected. Standard library only; run it
inside the test's network namespace.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium_common as cc  # noqa: E402
import dc_common  # noqa: E402


class State:
    def __init__(self, args):
        self.args = args
        self.last = {}
        self.error = None
        self.chans = {}  # label -> {"info": {...}, "digests": {index: d}, "sent": {...}}
        self.config = None
        self.want = {}

    def chan(self, label):
        return self.chans.setdefault(label, {"info": None, "digests": {}, "sent": None})

    def labels(self):
        return dc_common.labels(self.args)

    def complete(self):
        for lb in self.labels():
            c = self.chans.get(lb)
            if not c or c["sent"] is None or len(c["digests"]) < len(self.want[lb]):
                return False
        return True


def build_config(args):
    """The page's /config and, per label, the digests expected to arrive."""
    scripts, want = {}, {}
    for lb in dc_common.labels(args):
        tag = lb if args.role == "ue" else "%s:%s" % (args.name, lb)
        smax = dc_common.script_max(args, lb)
        items = dc_common.script(tag, smax)
        after = dc_common.pace(items, args.role, args.leader)
        scripts[lb] = [dict(it, after=n) for it, n in zip(items, after)]
        peer_tag = lb if args.role == "ue" else "%s:%s" % (args.peer_name, lb)
        want[lb] = dc_common.expected(dc_common.script(peer_tag, smax))
    config = {"open": [{"label": lb, "protocol": p} for lb, p in args.open],
              "lossy": [{"label": lb, "protocol": p} for lb, p in args.open_lossy],
              "negotiated": [{"id": i, "label": lb, "protocol": p} for i, lb, p in args.negotiated],
              "scripts": scripts}
    return json.dumps(config).encode("utf-8"), want


def handle_report(st, rep):
    """A report of the page (PageServer calls it with its lock held)."""
    if rep is None:
        rep = {"what": "error", "error": "unparsable report"}
    for k in ("pc", "dtls", "max_message_size"):
        if rep.get(k) is not None:
            st.last[k] = rep[k]
    what = rep.get("what")
    if what == "error":
        st.error = rep.get("error")
    elif what == "channel-open":
        st.chan(rep["label"])["info"] = {k: rep.get(k) for k in (
            "label", "protocol", "id", "negotiated", "ordered", "max_retransmits",
            "max_packet_lifetime", "opened_by")}
    elif what == "message":
        st.chan(rep["label"])["digests"][rep["index"]] = {"t": rep["t"], "n": rep["n"],
                                                         "h": rep["h"]}
    elif what == "sent":
        st.chan(rep["label"])["sent"] = {"tx": rep.get("sent"), "tx_bytes": rep.get("bytes"),
                                         "error": rep.get("error")}
    elif what in ("channel-error", "channel-closed"):
        st.chan(rep["label"]).setdefault("events", []).append(what + ": " + str(rep.get("error")))


def result(st, timed_out):
    chans, problems = [], []
    for lb in st.labels() + [lb for lb in st.chans if lb not in st.labels()]:
        c = st.chans.get(lb, {"info": None, "digests": {}, "sent": None})
        got = [c["digests"][i] for i in sorted(c["digests"])]
        want = st.want.get(lb)
        sent = c["sent"] or {}
        problem = None
        if c["info"] is None:
            problem = "never opened"
        elif sent.get("error"):
            problem = "sending: " + sent["error"]
        elif lb in [o[0] for o in st.args.open_lossy]:
            want = []
            problem = "%d unexpected messages" % len(got) if got else None
        elif want is None:
            problem = "unexpected channel"
        else:
            problem = dc_common.compare(want, got)
            if problem is None and c["sent"] is None:
                problem = "did not finish sending"
        r = dict(c["info"] or {"label": lb})
        r.update({"rx": len(got), "rx_bytes": sum(d["n"] for d in got),
                  "tx": sent.get("tx"), "tx_bytes": sent.get("tx_bytes"),
                  "expected": len(want) if want is not None else None, "problem": problem,
                  "events": c.get("events", [])})
        chans.append(r)
        if problem:
            problems.append("%s: %s" % (lb, problem))
    if st.error:
        problems.append(st.error)
    if timed_out:
        problems.append("timeout")
    out = {"role": st.args.role, "name": st.args.name, "error": st.error, "channels": chans,
           "problems": problems}
    out.update({k: st.last.get(k) for k in ("pc", "dtls", "max_message_size")})
    return out


def main():
    ap = argparse.ArgumentParser(description="headless Chromium as a dcgw data-channel peer")
    ap.add_argument("--role", choices=("ue", "p2p"), required=True)
    ap.add_argument("--offer-out", required=True)
    ap.add_argument("--answer-in", required=True)
    ap.add_argument("--result", required=True)
    dc_common.add_channel_arguments(ap, "A", "B")
    ap.add_argument("--timeout", type=float, default=40.0)
    cc.add_arguments(ap)
    args = ap.parse_args()

    st = State(args)
    st.config, st.want = build_config(args)
    end = time.monotonic() + args.timeout
    with cc.PageServer("dc_chromium.html", args.offer_out, args.answer_in,
                       lambda rep: handle_report(st, rep),
                       edit_offer=lambda sdp: dc_common.add_dcmap(sdp, args.negotiated),
                       extra={"/config": (st.config, "application/json")}) as page, \
            cc.chromium(args.chromium, page.url, args.log) as proc:
        with page.lock:
            while (not st.complete() and st.error is None and time.monotonic() < end
                   and proc.poll() is None):
                page.lock.wait(0.1)
            res = result(st, not st.complete() and st.error is None)
            if proc.poll() is not None and not st.complete():
                res["problems"].append("Chromium exited with status %s" % proc.returncode)
        status = 0 if not res["problems"] else 1 if st.last.get("dtls") == "connected" else 2
        cc.report(args.result, res, args.stop_file, end, proc)
    sys.exit(status)


if __name__ == "__main__":
    main()
