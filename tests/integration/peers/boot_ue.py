"""An aiortc UE (Debian python3-aiortc 1.4) on bootstrap data channels: negotiated
channels 0, 10, 100 and 110 with subprotocol "http" (TS 26.114 6.2.10), HTTP/1.1 over
them as a plan says.

usage: boot_ue.py --offer-out F --answer-in F --plan F --result F [--timeout S]
                  [--stop-file F] [--progress DIR]

The plan (JSON) is a list of steps, run in order:
  {"name": N, "chan": ID, "send": [PART, ...], "responses": K, "wait_close": bool,
   "pause_file": F}
Each PART is one data-channel message (a string, sent as UTF-8 binary). The UE then reads
K complete responses from the channel's byte stream (http.client parses them) and, with
wait_close, waits for the channel to close. pause_file: before the step, wait for F.
The result (JSON) has per step: the responses (status, reason, headers, body length,
sha-256, the body itself when under 4 KiB, time taken), whether the channel closed, and
an error if the step did not complete. With --progress, DIR/NAME is created as each step
ends. Exit 0 when every step completed.
"""
import argparse
import asyncio
import base64
import hashlib
import http.client
import io
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_common as ac  # noqa: E402
import dc_common  # noqa: E402

BOOT = [0, 10, 100, 110]


class Stream(io.BytesIO):
    """A byte buffer http.client reads from; it stays readable after http.client's close,
    so the bytes a response took can be told."""

    def close(self):
        pass


class FakeSock:
    def __init__(self, data):
        self.f = Stream(data)

    def makefile(self, mode):
        return self.f


def parse_one(buf, head):
    """(response dict, bytes used) for the first complete response in buf, or None."""
    if b"\r\n\r\n" not in buf:
        return None  # http.client would take a cut head for a whole one
    sock = FakeSock(bytes(buf))
    r = http.client.HTTPResponse(sock, method="HEAD" if head else "GET")
    try:
        r.begin()
        body = r.read()
    except (http.client.IncompleteRead, http.client.BadStatusLine,
            http.client.RemoteDisconnected, ValueError):
        return None
    used = sock.f.tell()
    if r.getheader("Connection", "").lower() == "close" and r.chunked is False \
            and r.length is None:
        return None  # close-delimited: complete only at the close
    return ({"status": r.status, "reason": r.reason, "headers": r.getheaders(),
             "length": len(body), "sha256": hashlib.sha256(body).hexdigest(),
             "body": body.decode("latin-1") if len(body) < 4096 else None}, used)


class Chan:
    def __init__(self, ch):
        self.ch = ch
        self.buf = bytearray()
        self.closed = False
        self.changed = asyncio.Event()
        ch.on("message", self.on_message)
        ch.on("close", self.on_close)

    def on_message(self, m):
        self.buf += m if isinstance(m, (bytes, bytearray)) else m.encode()
        self.changed.set()

    def on_close(self):
        self.closed = True
        self.changed.set()


async def run_step(step, chans, deadline):
    loop = asyncio.get_running_loop()
    c = chans[step["chan"]]
    out = {"name": step["name"], "responses": [], "closed": False, "error": None}
    if step.get("pause_file") and not await ac.wait_until(
            lambda: os.path.exists(step["pause_file"]), deadline, 0.05):
        out["error"] = "no pause file"
        return out
    t0 = loop.time()
    for part in step.get("send", []):
        data = base64.b64decode(part["b64"]) if isinstance(part, dict) else part.encode()
        c.ch.send(data)
        await asyncio.sleep(step.get("gap", 0))
    head = step.get("head", False)
    while len(out["responses"]) < step.get("responses", 0):
        got = parse_one(c.buf, head)
        if got:
            resp, used = got
            resp["ms"] = round((loop.time() - t0) * 1000)
            out["responses"].append(resp)
            del c.buf[:used]
            continue
        if c.closed or loop.time() > deadline:
            out["error"] = "closed" if c.closed else "timeout"
            if c.closed and c.buf:  # a response that ends at the close
                r = http.client.HTTPResponse(FakeSock(bytes(c.buf)), method="GET")
                try:
                    r.begin()
                    body = r.read()
                    out["responses"].append({"status": r.status, "reason": r.reason,
                                             "headers": r.getheaders(), "length": len(body),
                                             "sha256": hashlib.sha256(body).hexdigest(),
                                             "body": body.decode("latin-1")[:4096]})
                    out["error"] = None if len(out["responses"]) >= step["responses"] else out["error"]
                except Exception as e:  # noqa: BLE001
                    out["partial"] = repr(e)
            break
        c.changed.clear()
        try:
            await asyncio.wait_for(c.changed.wait(), 0.5)
        except asyncio.TimeoutError:
            pass
    if step.get("wait_close"):
        await ac.wait_until(lambda: c.closed, min(deadline, loop.time() + 5), 0.05)
    out["closed"] = c.closed
    out["ms"] = round((loop.time() - t0) * 1000)
    return out


async def run(args):
    loop, deadline, pc = ac.new_peer(args.timeout)
    plan = json.load(open(args.plan))
    chans = {}
    for cid in BOOT:
        chans[cid] = Chan(pc.createDataChannel("bootstrap-%d" % cid, protocol="http",
                                               negotiated=True, id=cid))
    negotiated = [(cid, "bootstrap-%d" % cid, "http") for cid in BOOT]
    result = {"steps": [], "error": None}
    try:
        if not await ac.offer(pc, args.offer_out, args.answer_in, deadline,
                              lambda sdp: dc_common.add_dcmap(sdp, negotiated)):
            raise RuntimeError("no answer from the test")
        if not await ac.wait_until(lambda: chans[0].ch.readyState == "open", deadline):
            raise RuntimeError("channel 0 did not open")
        for step in plan:
            result["steps"].append(await run_step(step, chans, deadline))
            if args.progress:
                open(os.path.join(args.progress, step["name"]), "w").close()
    except Exception as e:  # noqa: BLE001
        result["error"] = repr(e)
    ac.write_json(args.result, result)
    if args.stop_file:
        await ac.wait_until(lambda: os.path.exists(args.stop_file), deadline, 0.1)
    await pc.close()
    ok = result["error"] is None and all(s["error"] is None for s in result["steps"])
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offer-out", required=True)
    ap.add_argument("--answer-in", required=True)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--stop-file")
    ap.add_argument("--progress")
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
