"""Headless Chromium as the UE of a dcgw interop test.

usage: chromium_peer.py OFFER_OUT ANSWER_IN [--timeout SECONDS] [--log FILE]
                        [--chromium PATH]

Serves chromium_peer.html on 127.0.0.1 (an ephemeral port) and starts headless Chromium
on it (chromium_common.py). The page POSTs its offer (written to OFFER_OUT), long-polls
for dcgw's answer (read from ANSWER_IN once the test writes it) and POSTs its state
changes. Ends when the DTLS transport under the data channel is "connected" or "failed"
(or on timeout), stops Chromium's whole process group and prints one JSON line:

  {"dtls": "connected", "pc": "connected", "ice": "connected",
   "fingerprint": {"algorithm": "sha-256", "value": "AB:..."},   # from Chromium's offer
   "remote_cert_sha256": "CD:...",                               # what dcgw presented
   "error": null, "reports": [...]}

Exit status: 0 connected, 1 failed, 2 timeout or other error. Standard library only.
Run it inside the test's network namespace.
"""
import argparse
import json
import re
import sys
import time

import chromium_common as cc


class State:
    def __init__(self):
        self.reports = []
        self.done = None  # "connected" | "failed" | "error"
        self.last = {}

    def on_report(self, rep):
        """A report of the page (PageServer calls it with its lock held)."""
        rep = rep if rep is not None else {"what": "unparsable report"}
        self.reports.append(rep)
        self.last.update({k: v for k, v in rep.items() if v is not None})
        if rep.get("what") == "error":
            self.done = "error"
        elif rep.get("dtls") in ("connected", "failed") and (
            rep.get("what") == "dtls-state" or rep.get("dtls") == "failed"
        ):
            self.done = rep["dtls"]


def offer_fingerprint(sdp):
    m = re.search(r"^a=fingerprint:(\S+) (\S+)\s*$", sdp or "", re.M)
    return {"algorithm": m.group(1), "value": m.group(2)} if m else None


def main():
    ap = argparse.ArgumentParser(description="headless Chromium as a dcgw interop peer")
    ap.add_argument("offer_out")
    ap.add_argument("answer_in")
    ap.add_argument("--timeout", type=float, default=30.0)
    cc.add_arguments(ap)
    args = ap.parse_args()

    st = State()
    result = {"dtls": None, "pc": None, "ice": None, "fingerprint": None,
              "remote_cert_sha256": None, "error": None, "reports": []}
    with cc.PageServer("chromium_peer.html", args.offer_out, args.answer_in,
                       st.on_report) as page, \
            cc.chromium(args.chromium, page.url, args.log) as proc:
        end = time.monotonic() + args.timeout
        with page.lock:
            while st.done is None and time.monotonic() < end and proc.poll() is None:
                page.lock.wait(0.1)
            if st.done is None:
                result["error"] = ("Chromium exited with status %s" % proc.returncode
                                   if proc.poll() is not None else "timeout")
            status = {"connected": 0, "failed": 1}.get(st.done, 2)
            result.update({k: st.last.get(k) for k in ("dtls", "pc", "ice")})
            result["remote_cert_sha256"] = st.last.get("remote_cert_sha256")
            result["error"] = result["error"] or st.last.get("error")
            result["fingerprint"] = offer_fingerprint(page.offer)
            result["reports"] = list(st.reports)
    print(json.dumps(result), flush=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
