"""Hand-made STUN checks and garbage toward a dcgw leg (interop test tool).

usage:
  stun_probe.py check HOST PORT --ufrag DCGW_UFRAG --pwd KEY [--peer-ufrag U]
                [--bind ADDR:PORT] [--wait SECONDS]
      Sends one ICE connectivity check (RFC 8445 §7.1.2): a Binding request with
      USERNAME "DCGW_UFRAG:U", PRIORITY, ICE-CONTROLLING, MESSAGE-INTEGRITY keyed with
      KEY (RFC 5389 §15.4, short-term credentials) and FINGERPRINT (§15.5), then waits
      for an answer. Exit 0: a success response with our transaction id whose
      MESSAGE-INTEGRITY (same key) and FINGERPRINT verify and whose XOR-MAPPED-ADDRESS
      is our address. Exit 1: nothing within --wait. Exit 3: some other answer.
  stun_probe.py garbage HOST PORT --ufrag DCGW_UFRAG [--bind ADDR:PORT]
                [--seed N] [--per-class N]
      Sends datagrams of random bytes: any first byte, first byte 0..3 (STUN range of
      RFC 7983), 20..63 (DTLS), 128..191 (RTP/RTCP), tiny ones, and STUN headers that
      name the leg in USERNAME followed by junk. Prints a JSON count per class.

Prints one JSON line. Standard library only; runs with any python3.
"""
import argparse
import binascii
import hashlib
import hmac
import json
import os
import random
import socket
import struct
import sys
import time

MAGIC = 0x2112A442
BINDING_REQUEST, BINDING_SUCCESS, BINDING_ERROR = 0x0001, 0x0101, 0x0111
USERNAME, MESSAGE_INTEGRITY, XOR_MAPPED_ADDRESS = 0x0006, 0x0008, 0x0020
PRIORITY, ICE_CONTROLLING, FINGERPRINT = 0x0024, 0x802A, 0x8028
FINGERPRINT_XOR = 0x5354554E


def attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack(">HH", kind, len(value)) + value + b"\0" * pad


def header(kind, body_len, txid):
    return struct.pack(">HHI", kind, body_len, MAGIC) + txid


def sign(kind, txid, attrs, key):
    """Appends MESSAGE-INTEGRITY then FINGERPRINT: each covers the message before it,
    with the header length already counting the attribute itself (RFC 5389 §15.4/15.5)."""
    body = b"".join(attrs)
    mi_len = len(body) + 24
    mac = hmac.new(key, header(kind, mi_len, txid) + body, hashlib.sha1).digest()
    body += attr(MESSAGE_INTEGRITY, mac)
    fp_len = len(body) + 8
    crc = binascii.crc32(header(kind, fp_len, txid) + body) ^ FINGERPRINT_XOR
    body += attr(FINGERPRINT, struct.pack(">I", crc & 0xFFFFFFFF))
    return header(kind, len(body), txid) + body


def parse_attrs(msg):
    """[(type, value, offset of the attribute)] of a STUN message, or None if malformed."""
    if len(msg) < 20:
        return None
    kind, length, cookie = struct.unpack(">HHI", msg[:8])
    if cookie != MAGIC or length + 20 != len(msg) or length % 4:
        return None
    out, off = [], 20
    while off + 4 <= len(msg):
        t, n = struct.unpack(">HH", msg[off:off + 4])
        if off + 4 + n > len(msg):
            return None
        out.append((t, msg[off + 4:off + 4 + n], off))
        off += 4 + n + (4 - n % 4) % 4
    return out


def verify_response(msg, txid, key, local):
    """Why the answer is not a verified success response for us, or None if it is."""
    attrs = parse_attrs(msg)
    if attrs is None:
        return "not a well-formed STUN message"
    kind = struct.unpack(">H", msg[:2])[0]
    if msg[8:20] != txid:
        return "transaction id differs"
    if kind != BINDING_SUCCESS:
        return "message type 0x%04x" % kind
    found = {t: (v, off) for t, v, off in attrs}
    if MESSAGE_INTEGRITY not in found or FINGERPRINT not in found:
        return "no MESSAGE-INTEGRITY or FINGERPRINT"
    mac, off = found[MESSAGE_INTEGRITY]
    want = hmac.new(key, header(kind, off + 24 - 20, txid) + msg[20:off], hashlib.sha1).digest()
    if not hmac.compare_digest(mac, want):
        return "MESSAGE-INTEGRITY does not verify"
    crc, off = found[FINGERPRINT]
    if struct.unpack(">I", crc)[0] != (binascii.crc32(msg[:off]) ^ FINGERPRINT_XOR) & 0xFFFFFFFF:
        return "FINGERPRINT does not verify"
    if XOR_MAPPED_ADDRESS not in found:
        return "no XOR-MAPPED-ADDRESS"
    xma = found[XOR_MAPPED_ADDRESS][0]
    family, xport = struct.unpack(">xBH", xma[:4])
    if family != 1:
        return "XOR-MAPPED-ADDRESS family %d" % family
    port = xport ^ (MAGIC >> 16)
    addr = socket.inet_ntoa(struct.pack(">I", struct.unpack(">I", xma[4:8])[0] ^ MAGIC))
    if (addr, port) != local:
        return "XOR-MAPPED-ADDRESS %s:%d is not our %s:%d" % (addr, port, *local)
    return None


def open_socket(bind):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host, _, port = (bind or "127.0.0.1:0").rpartition(":")
    s.bind((host, int(port)))
    return s


def check(args):
    s = open_socket(args.bind)
    txid = os.urandom(12)
    user = ("%s:%s" % (args.ufrag, args.peer_ufrag)).encode()
    attrs = [attr(USERNAME, user), attr(PRIORITY, struct.pack(">I", 0x6E0001FF)),
             attr(ICE_CONTROLLING, os.urandom(8))]
    key = args.pwd.encode()
    s.sendto(sign(BINDING_REQUEST, txid, attrs, key), (args.host, args.port))
    end = time.monotonic() + args.wait
    out = {"local": "%s:%d" % s.getsockname(), "answer": None}
    status = 1
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            msg, src = s.recvfrom(2048)
        except socket.timeout:
            break
        if src != (args.host, args.port):
            continue
        why = verify_response(msg, txid, key, s.getsockname())
        out["answer"] = "verified success response" if why is None else why
        status = 0 if why is None else 3
        break
    print(json.dumps(out))
    return status


def garbage(args):
    s = open_socket(args.bind)
    rnd = random.Random(args.seed)
    dst = (args.host, args.port)

    def blob(first_lo, first_hi, lo=1, hi=1200):
        b = bytearray(rnd.randbytes(rnd.randint(lo, hi)))
        b[0] = rnd.randint(first_lo, first_hi)
        return bytes(b)

    def stun_junk():
        user = attr(USERNAME, ("%s:x" % args.ufrag).encode())
        junk = rnd.randbytes(rnd.randint(0, 200))
        length = len(user) + len(junk)
        if rnd.random() < 0.5:
            length = rnd.randint(0, 0xFFFF)  # a lying length field
        return struct.pack(">HHI", BINDING_REQUEST, length & 0xFFFF, MAGIC) + \
            rnd.randbytes(12) + user + junk

    classes = {
        "random": lambda: blob(0, 255),
        "first_0_3": lambda: blob(0, 3),
        "first_20_63": lambda: blob(20, 63),
        "first_128_191": lambda: blob(128, 191),
        "tiny": lambda: blob(0, 255, 1, 19),
        "stun_named_junk": stun_junk,
    }
    sent = {}
    for name, make in classes.items():
        for _ in range(args.per_class):
            s.sendto(make(), dst)
            sent[name] = sent.get(name, 0) + 1
        time.sleep(0.01)  # let the receive batch drain; this is not a flood test
    s.sendto(b"", dst)  # an empty datagram too
    sent["empty"] = 1
    print(json.dumps({"local": "%s:%d" % s.getsockname(), "seed": args.seed, "sent": sent}))
    return 0


def main():
    ap = argparse.ArgumentParser(description="STUN checks and garbage toward dcgw")
    ap.add_argument("mode", choices=("check", "garbage"))
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--ufrag", required=True, help="dcgw's a=ice-ufrag")
    ap.add_argument("--pwd", default="", help="key for MESSAGE-INTEGRITY (check)")
    ap.add_argument("--peer-ufrag", default="prob", help="our ufrag (after the colon)")
    ap.add_argument("--bind", help="local ADDR:PORT (default 127.0.0.1:ephemeral)")
    ap.add_argument("--wait", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--per-class", type=int, default=50)
    args = ap.parse_args()
    sys.exit(check(args) if args.mode == "check" else garbage(args))


if __name__ == "__main__":
    main()
