#!/usr/bin/python3
"""Captures real WebRTC DTLS handshakes, as a relay sees them, for the relay inspector's
unit test and fuzz seeds (tests/fuzz/corpus/dtls_inspect/, see docs/relay.md).

usage (root, Debian's python3 with python3-aiortc, /usr/bin/chromium):
    /usr/bin/python3 tools/dtls_inspect_capture.py MODE OUT
MODE:
    chromium-pair    two peer connections in one headless Chromium (BoringSSL both ends)
    chromium-offers  Chromium offers, aiortc (OpenSSL) answers and is the DTLS client
    aiortc-offers    aiortc offers, Chromium answers and is the DTLS client

Side 0 is Chromium (the first peer connection in chromium-pair), side 1 the other peer.
Writes OUT in the seed format of tests/fuzz/fuzz_dtls_inspect.c ([flags = 0], then
[side][2-byte length][datagram] per DTLS datagram, RFC 7983 first byte 20..63) and prints
both sides' a=fingerprint, which the unit test needs.

It re-executes itself in private network and PID namespaces. Chromium gathers host
candidates only on an interface with a default route, so the namespace gets a veth pair
(10.9.0.1 on v0, a default route through it); nothing leaves the namespace:

    peer 0 (Chromium) --UDP--> relay A ...... relay B <--UDP-- peer 1
    each peer's SDP candidate is rewritten to a relay socket: peer 1 sees peer 0 at B,
    peer 0 sees peer 1 at A; the relay forwards between them and records DTLS.
"""
import asyncio
import http.server
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading

IP = "10.9.0.1"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-features=WebRtcHideLocalIpsWithMdns"]

PAGE = """<!doctype html><html><body><script>
'use strict';
const post = (path, body) => fetch(path, {method: 'POST', body}).then((r) => r.text());
const gathered = (pc) => Promise.race([new Promise((res) => {
  if (pc.iceGatheringState === 'complete') return res();
  pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') res(); };
}), new Promise((r) => setTimeout(r, 3000))]);
const echo = (ch) => { ch.onmessage = (m) => ch.send('pong ' + m.data); };
const newPc = () => {
  const pc = new RTCPeerConnection({iceServers: []});
  pc.ondatachannel = (e) => echo(e.channel);
  return pc;
};
(async () => {
  try {
    const mode = location.search.slice(1);
    const pc = newPc();
    if (mode === 'offer' || mode === 'pair') {
      const dc = pc.createDataChannel('capture');
      echo(dc);
      if (mode === 'pair') {
        let got = 0;
        dc.onopen = () => { for (let i = 0; i < 3; i++) dc.send('ping ' + i); };
        dc.onmessage = () => { if (++got === 3) post('/done', ''); };
      }
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      let answer;
      if (mode === 'pair') {
        const pc2 = newPc();
        await pc2.setRemoteDescription({type: 'offer', sdp: await post('/offer', pc.localDescription.sdp)});
        await pc2.setLocalDescription(await pc2.createAnswer());
        await gathered(pc2);
        answer = await post('/answer', pc2.localDescription.sdp);
      } else {
        answer = await post('/offer', pc.localDescription.sdp);
      }
      await pc.setRemoteDescription({type: 'answer', sdp: answer});
    } else {
      await pc.setRemoteDescription({type: 'offer', sdp: await post('/getoffer', '')});
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      await post('/answer', pc.localDescription.sdp);
    }
  } catch (e) { post('/error', String(e)); }
})();
</script></body></html>
"""


class Relay:
    """Two UDP sockets; forwards between the peers and records DTLS datagrams."""

    def __init__(self):
        self.a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # peer 0 sends here
        self.b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # peer 1 sends here
        self.a.bind((IP, 0))
        self.b.bind((IP, 0))
        self.real = {}        # side -> the peer's own host candidate
        self.fps = {}         # side -> a=fingerprint
        self.captured = []    # (side, datagram)
        self.done = threading.Event()
        self.error = None

    def port(self, s):
        return s.getsockname()[1]

    def rewrite(self, sdp, side):
        """Keeps the IPv4 host candidate of `side`, now at its relay socket."""
        out = []
        for line in sdp.replace("\r\n", "\n").split("\n"):
            if line.startswith("a=candidate:"):
                m = re.match(r"a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", line)
                if not m or m.group(1) != IP:
                    continue
                self.real[side] = (IP, int(m.group(2)))
                relay_port = self.port(self.b if side == 0 else self.a)
                line = line.replace(" %s %s " % (IP, m.group(2)), " %s %d " % (IP, relay_port))
            if line.startswith("a=fingerprint:"):
                self.fps[side] = line[len("a=fingerprint:"):]
            out.append(line)
        return "\r\n".join(out)

    def run(self):
        while not self.done.is_set():
            ready, _, _ = select.select([self.a, self.b], [], [], 0.1)
            for s in ready:
                data, _ = s.recvfrom(65536)
                side = 0 if s is self.a else 1
                if data and 20 <= data[0] <= 63:
                    self.captured.append((side, data))
                dst = self.real.get(1 - side)
                if dst:
                    (self.b if side == 0 else self.a).sendto(data, dst)


class Aiortc:
    """aiortc on its own event loop thread; answers pings with pongs and counts pongs."""

    def __init__(self, relay):
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        self.desc = RTCSessionDescription
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.relay, self.pongs = relay, 0
        self.pc = self.call(self._new(RTCPeerConnection, RTCConfiguration))

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def _watch(self, ch, ping):
        @ch.on("message")
        def on_message(m):
            if m.startswith("pong"):
                self.pongs += 1
                if self.pongs == 3:
                    self.relay.done.set()
            else:
                ch.send("pong " + m)
        if ping:
            for i in range(3):
                ch.send("ping %d" % i)

    async def _new(self, pc_class, config_class):
        pc = pc_class(config_class(iceServers=[]))
        pc.on("datachannel", lambda ch: self._watch(ch, True))
        return pc

    async def offer(self):
        ch = self.pc.createDataChannel("capture")
        self._watch(ch, False)
        ch.on("open", lambda: [ch.send("ping %d" % i) for i in range(3)])
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, offer):
        await self.pc.setRemoteDescription(self.desc(offer, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def take_answer(self, answer):
        await self.pc.setRemoteDescription(self.desc(answer, "answer"))


def handler(relay, mode, peer):
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def reply(self, body, ctype="text/plain"):
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.reply(PAGE, "text/html")

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            if self.path == "/offer" and mode == "chromium-pair":
                self.reply(relay.rewrite(body, 0))
            elif self.path == "/answer" and mode == "chromium-pair":
                self.reply(relay.rewrite(body, 1))
            elif self.path == "/offer":
                answer = peer.call(peer.answer(relay.rewrite(body, 0)))
                self.reply(relay.rewrite(answer, 1))
            elif self.path == "/getoffer":
                self.reply(peer.offer_sdp)
            elif self.path == "/answer":
                peer.call(peer.take_answer(relay.rewrite(body, 0)))
                self.reply("")
            else:
                if self.path == "/error":
                    relay.error = body
                relay.done.set()
                self.reply("")
    return H


def main():
    mode, out = sys.argv[1], sys.argv[2]
    relay = Relay()
    peer = None
    if mode != "chromium-pair":
        peer = Aiortc(relay)
        if mode == "aiortc-offers":
            peer.offer_sdp = relay.rewrite(peer.call(peer.offer()), 1)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler(relay, mode, peer))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Thread(target=relay.run, daemon=True).start()
    page = {"chromium-pair": "pair", "chromium-offers": "offer", "aiortc-offers": "answer"}[mode]
    with tempfile.TemporaryDirectory() as ud:
        proc = subprocess.Popen(["/usr/bin/chromium", *FLAGS, "--user-data-dir=" + ud,
                                 "http://127.0.0.1:%d/?%s" % (srv.server_address[1], page)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        ok = relay.done.wait(30) and relay.error is None
        relay.done.wait(0.5)
        os.killpg(proc.pid, 9)
        proc.wait()
    if not ok:
        sys.exit("capture failed: %s" % (relay.error or "timeout"))
    with open(out, "wb") as f:
        f.write(b"\0")
        for side, d in relay.captured:
            f.write(bytes([side, len(d) >> 8, len(d) & 0xff]) + d)
    print("%s: %d datagrams" % (out, len(relay.captured)))
    for side in (0, 1):
        print("side %d a=fingerprint:%s" % (side, relay.fps[side]))


if __name__ == "__main__":
    if os.environ.get("DCGW_CAPTURE_NETNS") != "1":
        setup = ("ip link set lo up && ip link add v0 type veth peer name v1 && "
                 "ip addr add %s/24 dev v0 && ip link set v0 up && ip link set v1 up && "
                 "ip route add default via 10.9.0.2 dev v0 && exec \"$@\"" % IP)
        os.execvp("unshare", ["unshare", "-n", "-p", "-f", "--kill-child", "--mount-proc",
                              "env", "DCGW_CAPTURE_NETNS=1", "sh", "-c", setup, "sh",
                              sys.executable, os.path.abspath(__file__), *sys.argv[1:]])
    main()
