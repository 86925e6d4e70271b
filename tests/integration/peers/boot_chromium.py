"""Headless Chromium as a UE on bootstrap data channels (boot_chromium.html).

usage: boot_chromium.py --offer-out F --answer-in F --plan F --result F
                        [--stop-file F] [--timeout S] [--log F] [--chromium PATH]

Serves boot_chromium.html on 127.0.0.1 (chromium_common.py), gives it the plan (the
format of boot_ue.py) at /config, writes its offer with the a=dcmap lines of channels
0, 10, 100 and 110 (subprotocol "http") added (Chromium does not write them), and
renames the page's result, in boot_ue.py's format, into --result. Chromium stays up
until --stop-file exists (or the timeout). Exit 0 when every step completed. Standard
library only; run it inside the test's network namespace.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium_common as cc  # noqa: E402
import dc_common  # noqa: E402

BOOT = [(cid, "bootstrap-%d" % cid, "http") for cid in (0, 10, 100, 110)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offer-out", required=True)
    ap.add_argument("--answer-in", required=True)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--stop-file")
    ap.add_argument("--timeout", type=float, default=60.0)
    cc.add_arguments(ap)
    args = ap.parse_args()
    with open(args.plan, "rb") as f:
        plan = f.read()
    got = {}

    def on_report(rep):
        if rep and rep.get("what") == "result":
            got["result"] = rep

    end = time.monotonic() + args.timeout
    with cc.PageServer("boot_chromium.html", args.offer_out, args.answer_in, on_report,
                       edit_offer=lambda sdp: dc_common.add_dcmap(sdp, BOOT),
                       extra={"/config": (plan, "application/json")}) as page, \
            cc.chromium(args.chromium, page.url, args.log) as proc:
        with page.lock:
            while "result" not in got and time.monotonic() < end and proc.poll() is None:
                page.lock.wait(0.1)
        rep = got.get("result") or {"error": "no result from the page", "steps": []}
        res = {"error": rep.get("error"), "steps": rep.get("steps", [])}
        cc.report(args.result, res, args.stop_file, end, proc)
    ok = res["error"] is None and res["steps"] and all(s["error"] is None for s in res["steps"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
