"""What the headless Chromium peers of the integration tests share (chromium_peer.py,
dc_chromium.py, ...): the HTTP server their page talks to, the Chromium they start on it
and the result they leave for the test.

The page (chromium_peer.html, dc_chromium.html) loads chromium_common.js from the same
server, POSTs its offer to /offer (written to a file for the test), long-polls /answer
(the test's answer file) and POSTs what it sees to /report. Standard library only; run
inside the test's network namespace.
"""
import contextlib
import http.server
import json
import os
import signal
import subprocess
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
SCRIPT = "chromium_common.js"


class PageServer:
    """Serves a page of this directory on 127.0.0.1 (an ephemeral port; self.url):

    GET /                    the page
    GET /chromium_common.js  the script the pages share
    GET /answer              the text of answer_in once it exists (long poll: up to 1 s,
                             then 204 and the page asks again)
    GET PATH                 body of extra[PATH] = (body, content type)
    POST /offer              the page's offer: self.offer, and written (through
                             edit_offer(text) if given) to offer_out, renamed into place
    POST /report             the JSON it carries (None if unparsable) goes to
                             on_report(rep), called with self.lock held; then
                             self.lock is notified

    on_report runs on a server thread; the driver waits on self.lock. A context manager:
    the server stops on leaving it."""

    def __init__(self, page, offer_out, answer_in, on_report, edit_offer=None, extra=None):
        self.offer_out, self.answer_in = offer_out, answer_in
        self.on_report, self.edit_offer = on_report, edit_offer
        self.lock = threading.Condition()
        self.offer = None
        self.files = dict(extra or {})
        for path, name, ctype in (("/", page, "text/html"),
                                  ("/" + SCRIPT, SCRIPT, "text/javascript")):
            with open(os.path.join(HERE, name), "rb") as f:
                self.files[path] = (f.read(), ctype)
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/" % self.srv.server_address[1]

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.srv.shutdown()

    def answer(self):
        """The answer file's bytes, or None if it is not there (yet)."""
        if os.path.exists(self.answer_in) and os.path.getsize(self.answer_in):
            with open(self.answer_in, "rb") as f:
                return f.read()
        return None

    def posted_offer(self, data):
        text = data.decode("ascii", "replace")
        with self.lock:
            self.offer = text
        tmp = self.offer_out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(self.edit_offer(text) if self.edit_offer else text)
        os.rename(tmp, self.offer_out)

    def posted_report(self, data):
        try:
            rep = json.loads(data)
        except ValueError:
            rep = None
        with self.lock:
            self.on_report(rep)
            self.lock.notify_all()

    def _handler(self):
        ps = self

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

            def do_GET(self):
                if self.path == "/answer":
                    end = time.monotonic() + 1.0
                    while time.monotonic() < end:
                        answer = ps.answer()
                        if answer is not None:
                            self.reply(200, answer)
                            return
                        time.sleep(0.05)
                    self.reply(204)
                elif self.path in ps.files:
                    self.reply(200, *ps.files[self.path])
                else:
                    self.reply(404)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(min(n, 1 << 20))
                if self.path == "/offer":
                    ps.posted_offer(data)
                    self.reply(200)
                elif self.path == "/report":
                    ps.posted_report(data)
                    self.reply(200)
                else:
                    self.reply(404)

        return Handler


def add_arguments(ap):
    """--log and --chromium, as every Chromium peer takes them."""
    ap.add_argument("--log", default=os.devnull, help="Chromium's stderr goes here")
    ap.add_argument("--chromium", default="/usr/bin/chromium")


def report(path, res, stop_file, end, proc):
    """Writes res as JSON to path (renamed into place: the test never reads half a file),
    then waits until stop_file exists (when given), time.monotonic() passes end or
    Chromium (proc) exits."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(res, f)
    os.rename(tmp, path)
    while (stop_file and not os.path.exists(stop_file) and time.monotonic() < end
           and proc.poll() is None):
        time.sleep(0.05)


def stop_group(proc):
    """Stops proc's whole process group: SIGTERM, then SIGKILL, 3 s each."""
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


@contextlib.contextmanager
def chromium(path, url, log, extra_flags=()):
    """Headless Chromium (FLAGS and extra_flags, a fresh profile) on url in a session of its
    own, its output appended to the file log; its whole process group is stopped on
    leaving."""
    with tempfile.TemporaryDirectory(prefix="dcgw-chromium-") as ud, open(log, "ab") as out:
        proc = subprocess.Popen([path, *FLAGS, *extra_flags, "--user-data-dir=" + ud, url],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
        try:
            yield proc
        finally:
            stop_group(proc)
