"""A DCSF stand-in for the bootstrap tests: Python's own http.server (not written here)
serving a directory over HTTP/1.1 keep-alive, plus two small handlers the tests need.

usage: dcsf_stub.py --port P --root DIR --name NAME --log FILE [--slow S]

  GET  any file under DIR (http.server's SimpleHTTPRequestHandler: 200 with
       Content-Type, Content-Length and Last-Modified, 404 when missing)
  GET  .../slow        answers after S seconds (the 504 case)
  POST .../echo        answers 200 with the request body; X-Seen-Session, X-Seen-Hop and
                       X-Seen-Connection tell what reached the server of the session
                       header, of a field the UE named in Connection, and of Connection
  every request: one JSON line in FILE (method, path, headers, the client's address),
  written before it is answered, so a test can tell which requests reached the DCSF.
The server adds X-DCSF: NAME to every response. Runs until killed.
"""
import argparse
import http.server
import json
import os
import socketserver
import time


def make_handler(args):
    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *a, **kw):
            super().__init__(*a, directory=args.root, **kw)

        def log_message(self, fmt, *a):  # quiet on stderr
            pass

        def note(self):
            with open(args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"method": self.command, "path": self.path,
                                    "headers": [[k, v] for k, v in self.headers.items()],
                                    "client": self.client_address[0]}) + "\n")

        def end_headers(self):
            self.send_header("X-DCSF", args.name)
            super().end_headers()

        def do_GET(self):
            self.note()
            if self.path.endswith("/slow"):
                time.sleep(args.slow)
                body = b"slow\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def do_HEAD(self):
            self.note()
            super().do_HEAD()

        def do_POST(self):
            self.note()
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Seen-Session", self.headers.get("X-Dcgw-Session", "-"))
            self.send_header("X-Seen-Hop", self.headers.get("X-Hop", "-"))
            self.send_header("X-Seen-Connection", self.headers.get("Connection", "-"))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--slow", type=float, default=5.0)
    args = ap.parse_args()
    open(args.log, "a").close()
    srv = Server(("127.0.0.1", args.port), make_handler(args))
    with open(args.log + ".ready", "w") as f:
        f.write(str(os.getpid()))
    srv.serve_forever()


if __name__ == "__main__":
    main()
