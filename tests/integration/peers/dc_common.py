"""What the data-channel interop peers share: the messages, their pacing, the checks,
the a=dcmap lines the peers add to the SDP they hand to dcgw, and the options that say
which channels a peer uses.

A channel's script is a list of items, each {"kind": "text"|"binary", "size": N,
"seed": S} (content made by a formula, so a 256 KiB message needs no file) or
{"kind": "text", "literal": "..."} (UTF-8 text with multi-byte characters). The same
formula is written in JavaScript in dc_chromium.html (gen()); the Chromium driver serves
the items as JSON and the page builds the bytes itself.

  binary byte i:  (seed + 7 i + 13 (i >> 8)) mod 256
  text char i:    ALPHABET[(seed + 11 i + (i >> 6)) mod 62]   (ASCII: bytes = chars)

A script starts with a burst of small messages (empty text, empty binary, 1 byte, a few
bytes, the UTF-8 sample, 1000 bytes) sent back to back, then the large ones (16384,
65536 and max_size, text and binary). Receivers report each message as a digest
{"t": "text"|"binary", "n": bytes, "h": sha-256 hex}; the checks compare digests.
"""
import argparse
import hashlib

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UTF8_SAMPLE = "grüße, 世界 ✓ 🚀"
BURST_SIZES = [0, 0, 1, 1, 2, 3, 17, 100, 1000, 1000, 5, 0]


def seed_of(tag):
    return sum(tag.encode("utf-8")) * 7 % 251


def script(tag, max_size, large=(16384, 65536)):
    """The items channel `tag` sends: the burst, then `large` sizes and max_size."""
    s = seed_of(tag)
    items = []
    for i, n in enumerate(BURST_SIZES):
        items.append({"kind": "text" if i % 2 == 0 else "binary", "size": n, "seed": (s + i) % 256})
        if i == 4:
            items.append({"kind": "text", "literal": UTF8_SAMPLE})
    k = len(items)
    for n in list(large) + [max_size]:
        for kind in ("text", "binary"):
            items.append({"kind": kind, "size": n, "seed": (s + k) % 256})
            k += 1
    return items


def burst_len():
    """How many items of a script belong to the burst."""
    return len(BURST_SIZES) + 1


def content(item):
    """(is_text, bytes) of an item."""
    if "literal" in item:
        return True, item["literal"].encode("utf-8")
    n, s = item["size"], item["seed"]
    if item["kind"] == "binary":
        return False, bytes((s + 7 * i + 13 * (i >> 8)) & 255 for i in range(n))
    return True, "".join(ALPHABET[(s + 11 * i + (i >> 6)) % 62] for i in range(n)).encode("ascii")


def digest(is_text, data):
    return {"t": "text" if is_text else "binary", "n": len(data),
            "h": hashlib.sha256(data).hexdigest()}


def expected(items):
    return [digest(*content(it)) for it in items]


def compare(want, got):
    """None if got == want, else a short account of the first difference."""
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            return "message %d: expected %s %d bytes %s..., got %s %d bytes %s..." % (
                i, w["t"], w["n"], w["h"][:12], g.get("t"), g.get("n", -1), str(g.get("h"))[:12])
    if len(got) != len(want):
        return "%d messages expected, %d arrived" % (len(want), len(got))
    return None


def pace(items, role, leader=False, echoed=None):
    """For each item, how many messages must have arrived on the channel before it is
    sent. The burst goes at once. ue: each large message waits for the echo of all before
    it (echoed[i] False: items[i] is not expected back). p2p: the large messages take
    turns, the leader's n-th after the peer's (n-1)-th, the other's n-th after the
    leader's n-th."""
    b = burst_len()
    echoed = echoed or [True] * len(items)
    after = []
    for k in range(len(items)):
        j = k - b
        if j < 0:
            after.append(0)
        elif role == "ue":
            after.append(sum(echoed[:k]))
        elif leader:
            after.append(b + j if j else 0)
        else:
            after.append(b + j + 1)
    return after


def item_size(item):
    return len(item["literal"].encode("utf-8")) if "literal" in item else item["size"]


def total_bytes(items):
    return sum(len(content(it)[1]) for it in items)


def add_dcmap(sdp, negotiated):
    """The SDP with one a=dcmap line (RFC 8864 §5.1) per negotiated channel (id, label,
    protocol) appended to its only media section: neither aiortc 1.4 nor Chromium writes
    them, and dcgw creates a negotiated channel on a leg only if its SDP has the line."""
    lines = [ln for ln in sdp.replace("\r\n", "\n").split("\n") if ln]
    for cid, label, proto in negotiated:
        line = 'a=dcmap:%d label="%s"' % (cid, label)
        if proto:
            line += ';subprotocol="%s"' % proto
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def fields(spec, n):
    """spec split at ':' into n fields (an argparse type)."""
    parts = spec.split(":")
    if len(parts) != n:
        raise argparse.ArgumentTypeError("expected %d fields separated by ':'" % n)
    return parts


def add_channel_arguments(ap, name, peer_name):
    """The options of dc_aiortc.py and dc_chromium.py for their channels and scripts:
    --open/--open-lossy LABEL:PROTOCOL, --negotiated ID:LABEL:PROTOCOL, --expect LABEL,
    --name/--peer-name (defaults name, peer_name), --leader, --script-max (and per channel
    --script-max-for LABEL:N), --stop-file."""
    ap.add_argument("--open", action="append", default=[], type=lambda s: fields(s, 2))
    ap.add_argument("--open-lossy", action="append", default=[], type=lambda s: fields(s, 2))
    ap.add_argument("--negotiated", action="append", default=[],
                    type=lambda s: (lambda p: (int(p[0]), p[1], p[2]))(fields(s, 3)))
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--name", default=name)
    ap.add_argument("--peer-name", default=peer_name)
    ap.add_argument("--leader", action="store_true")
    ap.add_argument("--script-max", type=int, default=262144)
    ap.add_argument("--script-max-for", action="append", default=[],
                    type=lambda s: (lambda p: (p[0], int(p[1])))(fields(s, 2)),
                    help="LABEL:N: channel LABEL's script ends with N bytes, not --script-max")
    ap.add_argument("--stop-file")


def script_max(args, label):
    """The largest message of channel `label`'s script: --script-max-for, else --script-max."""
    return dict(args.script_max_for).get(label, args.script_max)


def labels(args):
    """The labels of the channels a peer must see: --open, --negotiated, --expect."""
    return [o[0] for o in args.open] + [n[1] for n in args.negotiated] + args.expect
