"""Headless Chromium as the UE of a dcgw interop test.

usage: chromium_peer.py OFFER_OUT ANSWER_IN [--timeout SECONDS] [--log FILE]
                        [--chromium PATH]

Serves chromium_peer.html on 127.0.0.1 (an ephemeral port) and starts headless Chromium
on it. The page POSTs its offer (written to OFFER_OUT), long-polls for dcgw's answer
(read from ANSWER_IN once the test writes it) and POSTs its state changes. Ends when the
DTLS transport under the data channel is "connected" or "failed" (or on timeout), stops
Chromium's whole process group and prints one JSON line:

  {"dtls": "connected", "pc": "connected", "ice": "connected",
   "fingerprint": {"algorithm": "sha-256", "value": "AB:..."},   # from Chromium's offer
   "remote_cert_sha256": "CD:...",                               # what dcgw presented
   "error": null, "reports": [...]}

Exit status: 0 connected, 1 failed, 2 timeout or other error. Standard library only.
Run it inside the test's network namespace.
"""
import argparse
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--allow-loopback-in-peer-connection",
    # Real host addresses in candidates instead of mDNS names (one --disable-features).
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


class State:
    def __init__(self, offer_out, answer_in):
        self.offer_out, self.answer_in = offer_out, answer_in
        self.lock = threading.Condition()
        self.reports = []
        self.offer = None
        self.done = None  # "connected" | "failed" | "error"
        self.last = {}


def make_handler(st, page):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_args):
            pass

        def reply(self, code, body=b"", ctype="text/plain"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the page went away (Chromium is being stopped)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(min(n, 1 << 20))

        def do_GET(self):
            if self.path == "/":
                self.reply(200, page, "text/html")
            elif self.path == "/answer":
                # Long poll: up to 1 s per request, the page asks again.
                end = time.monotonic() + 1.0
                while time.monotonic() < end:
                    if os.path.exists(st.answer_in) and os.path.getsize(st.answer_in):
                        with open(st.answer_in, "rb") as f:
                            self.reply(200, f.read())
                        return
                    time.sleep(0.05)
                self.reply(204)
            else:
                self.reply(404)

        def do_POST(self):
            data = self.body()
            if self.path == "/offer":
                tmp = st.offer_out + ".tmp"
                with open(tmp, "wb") as f:
                    f.write(data)
                os.rename(tmp, st.offer_out)
                with st.lock:
                    st.offer = data.decode("ascii", "replace")
                self.reply(200)
            elif self.path == "/report":
                try:
                    rep = json.loads(data)
                except ValueError:
                    rep = {"what": "unparsable report"}
                with st.lock:
                    st.reports.append(rep)
                    st.last.update({k: v for k, v in rep.items() if v is not None})
                    if rep.get("what") == "error":
                        st.done = "error"
                    elif rep.get("dtls") in ("connected", "failed") and (
                        rep.get("what") == "dtls-state" or rep.get("dtls") == "failed"
                    ):
                        st.done = rep["dtls"]
                    st.lock.notify_all()
                self.reply(200)
            else:
                self.reply(404)

    return Handler


def offer_fingerprint(sdp):
    m = re.search(r"^a=fingerprint:(\S+) (\S+)\s*$", sdp or "", re.M)
    return {"algorithm": m.group(1), "value": m.group(2)} if m else None


def stop_group(proc):
    for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 3)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            pass


def main():
    ap = argparse.ArgumentParser(description="headless Chromium as a dcgw interop peer")
    ap.add_argument("offer_out")
    ap.add_argument("answer_in")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--log", default=os.devnull, help="Chromium's stderr goes here")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()

    with open(os.path.join(HERE, "chromium_peer.html"), "rb") as f:
        page = f.read()
    st = State(args.offer_out, args.answer_in)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(st, page))
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/" % srv.server_address[1]

    result = {"dtls": None, "pc": None, "ice": None, "fingerprint": None,
              "remote_cert_sha256": None, "error": None, "reports": []}
    status = 2
    with tempfile.TemporaryDirectory(prefix="dcgw-chromium-") as ud, \
            open(args.log, "ab") as log:
        proc = subprocess.Popen([args.chromium, *FLAGS, "--user-data-dir=" + ud, url],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
        try:
            end = time.monotonic() + args.timeout
            with st.lock:
                while st.done is None and time.monotonic() < end and proc.poll() is None:
                    st.lock.wait(0.1)
                if st.done is None:
                    result["error"] = ("Chromium exited with status %s" % proc.returncode
                                       if proc.poll() is not None else "timeout")
                status = {"connected": 0, "failed": 1}.get(st.done, 2)
                result.update({k: st.last.get(k) for k in ("dtls", "pc", "ice")})
                result["remote_cert_sha256"] = st.last.get("remote_cert_sha256")
                result["error"] = result["error"] or st.last.get("error")
                result["fingerprint"] = offer_fingerprint(st.offer)
                result["reports"] = list(st.reports)
        finally:
            stop_group(proc)
            srv.shutdown()
    print(json.dumps(result), flush=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
