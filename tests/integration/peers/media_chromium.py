"""Headless Chromium with its fake camera and microphone and a data channel, for dcgw's
media test (test_media.sh).

usage: media_chromium.py --offer-out F --answer-in F --result F [--seconds S]
                         [--messages N] [--unbundle] [--stop-file F] [--timeout S]
                         [--log F] [--chromium PATH]

Serves media_chromium.html on 127.0.0.1 and starts Chromium on it (chromium_common.py)
with --use-fake-device-for-media-stream --use-fake-ui-for-media-stream. The page offers
audio, video and the data channel "echo", sends N messages over S seconds, checks their
echoes, and reports getStats(). --unbundle: bundlePolicy 'max-compat' and an offer without
a=group:BUNDLE (a transport per m-line, each with its own DTLS). The result (renamed into --result): {"error", "pc",
"echo": {sent, ok, bad, open}, "stats": {inbound: {audio, video}, outbound: {...}}} with
the last statistics. Exit 0 when the page finished, 1 otherwise. Standard library only;
run inside the test's network namespace.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium_common as cc  # noqa: E402

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offer-out", required=True)
    ap.add_argument("--answer-in", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--unbundle", action="store_true")
    ap.add_argument("--stop-file")
    ap.add_argument("--timeout", type=float, default=45.0)
    cc.add_arguments(ap)
    args = ap.parse_args()

    st = {"done": False, "error": None, "pc": None, "echo": None, "stats": None, "reports": 0}

    def on_report(rep):
        if rep is None:
            st["error"] = "unparsable report"
            return
        st["reports"] += 1
        for k in ("pc", "echo"):
            if rep.get(k) is not None:
                st[k] = rep[k]
        if rep.get("stats"):
            st["stats"] = rep["stats"]
        if rep.get("what") == "error":
            st["error"] = rep.get("error")
        elif rep.get("what") == "done":
            st["done"] = True

    config = json.dumps({"seconds": args.seconds, "messages": args.messages,
                         "unbundle": args.unbundle}).encode()
    end = time.monotonic() + args.timeout
    with cc.PageServer("media_chromium.html", args.offer_out, args.answer_in, on_report,
                       extra={"/config": (config, "application/json")}) as page, \
            cc.chromium(args.chromium, page.url, args.log, FAKE_MEDIA) as proc:
        with page.lock:
            while (not st["done"] and st["error"] is None and time.monotonic() < end
                   and proc.poll() is None):
                page.lock.wait(0.1)
            res = {k: st[k] for k in ("error", "pc", "echo", "stats", "done")}
        if not st["done"] and res["error"] is None:
            res["error"] = "timeout" if proc.poll() is None else "Chromium exited"
        tmp = args.result + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(res, f)
        os.rename(tmp, args.result)
        while (args.stop_file and not os.path.exists(args.stop_file)
               and time.monotonic() < end and proc.poll() is None):
            time.sleep(0.05)
    sys.exit(0 if st["done"] else 1)


if __name__ == "__main__":
    main()
