#!/usr/bin/python3
"""Captures real ICE connectivity checks for tests/unit/test_ice.c.

A WebRTC peer (aiortc, or headless Chromium through a tiny HTML page) makes a data-channel
offer; this script answers as an ICE-lite peer with fixed credentials and a host candidate
on a local UDP socket, answers the peer's checks with a success response so that it goes
on to nominate, and stores the first check and the first check carrying USE-CANDIDATE.

Run it only inside a private network namespace, with a veth pair and a default route
(aioice does not gather 127.0.0.1; Chromium without media permission gathers only on the
interface of the default route):
  unshare -n sh -c 'ip link set lo up; ip link add v0 type veth peer name v1;
      ip addr add 10.99.0.1/24 dev v0; ip link set v0 up; ip link set v1 up;
      ip route add default dev v0; /usr/bin/python3 capture.py aiortc|chromium OUTDIR'
"""
import asyncio, hashlib, hmac, json, os, socket, struct, subprocess, sys, tempfile, zlib

LOCAL_UFRAG = "dcgW"
LOCAL_PWD = "dcgwCapturePassword0123"
IP = "10.99.0.1"
FAKE_FP = ":".join(["AB"] * 32)


def attrs(msg):
    off, out = 20, []
    while off + 4 <= len(msg):
        t, l = struct.unpack("!HH", msg[off:off + 4])
        out.append((t, msg[off + 4:off + 4 + l]))
        off += 4 + ((l + 3) & ~3)
    return out


def response(req, addr):
    """RFC 8489 Binding success response: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT."""
    txid = req[4:20]
    xip = int.from_bytes(socket.inet_aton(addr[0]), "big") ^ 0x2112A442
    body = struct.pack("!HHBBH", 0x0020, 8, 0, 1, addr[1] ^ 0x2112) + xip.to_bytes(4, "big")
    mac = hmac.new(LOCAL_PWD.encode(), struct.pack("!HH", 0x0101, len(body) + 24) + txid + body,
                   hashlib.sha1).digest()
    body += struct.pack("!HH", 0x0008, 20) + mac
    head = struct.pack("!HH", 0x0101, len(body) + 8) + txid
    crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
    return head + body + struct.pack("!HHI", 0x8028, 4, crc)


def answer_sdp(port):
    return "\r\n".join([
        "v=0", f"o=- 1 1 IN IP4 {IP}", "s=-", "t=0 0", "a=ice-lite", "a=group:BUNDLE 0",
        f"m=application {port} UDP/DTLS/SCTP webrtc-datachannel", f"c=IN IP4 {IP}",
        "a=mid:0", f"a=ice-ufrag:{LOCAL_UFRAG}", f"a=ice-pwd:{LOCAL_PWD}",
        f"a=fingerprint:sha-256 {FAKE_FP}", "a=setup:passive", "a=sctp-port:5000",
        f"a=candidate:1 1 udp 2130706431 {IP} {port} typ host", "a=end-of-candidates", ""])


class Listener(asyncio.DatagramProtocol):
    def __init__(self):
        self.first = self.nominated = None
        self.done = asyncio.Event()

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if len(data) < 20 or data[0] > 3 or data[4:8] != b"\x21\x12\xa4\x42":
            return
        if struct.unpack("!H", data[:2])[0] != 0x0001:
            return
        a = dict(attrs(data))
        if self.first is None:
            self.first = (data, addr)
        if 0x0025 in a and self.nominated is None:
            self.nominated = (data, addr)
            self.done.set()
        self.transport.sendto(response(data, addr), addr)


async def run_aiortc(port):
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.createDataChannel("capture")
    await pc.setLocalDescription(await pc.createOffer())
    await pc.setRemoteDescription(RTCSessionDescription(answer_sdp(port), "answer"))
    return pc


PAGE = """<!doctype html><script>
(async () => {
  const pc = new RTCPeerConnection({iceServers: []});
  pc.createDataChannel("capture");
  await pc.setLocalDescription(await pc.createOffer());
  await pc.setRemoteDescription({type: "answer", sdp: %s});
  document.title = "remote set";
})();
</script>"""


def run_chromium(port, tmp):
    page = os.path.join(tmp, "capture.html")
    with open(page, "w") as f:
        f.write(PAGE % json.dumps(answer_sdp(port)))
    return subprocess.Popen(
        ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
         "--disable-features=WebRtcHideLocalIpsWithMdns", f"--user-data-dir={tmp}/profile",
         "--remote-debugging-port=0", "file://" + page],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def main(peer, outdir):
    loop = asyncio.get_running_loop()
    transport, listener = await loop.create_datagram_endpoint(Listener, local_addr=(IP, 0))
    port = transport.get_extra_info("sockname")[1]
    tmp = tempfile.mkdtemp()
    proc = pc = None
    if peer == "aiortc":
        pc = await run_aiortc(port)
    else:
        proc = run_chromium(port, tmp)
    try:
        await asyncio.wait_for(listener.done.wait(), 30)
    finally:
        if pc:
            await pc.close()
        if proc:
            proc.kill()
    for name, (data, addr) in (("first", listener.first), ("nominating", listener.nominated)):
        with open(os.path.join(outdir, f"{peer}_{name}.bin"), "wb") as f:
            f.write(data)
    user = dict(attrs(listener.first[0]))[0x0006].decode()
    with open(os.path.join(outdir, f"{peer}.txt"), "w") as f:
        f.write(f"local_ufrag {LOCAL_UFRAG}\nlocal_pwd {LOCAL_PWD}\n"
                f"remote_ufrag {user.split(':', 1)[1]}\nsource {addr[0]}:{addr[1]}\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
