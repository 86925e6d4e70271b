"""aiortc (Debian python3-aiortc 1.4) as a data-channel peer of the dcgw interop tests.

usage: dc_aiortc.py --role ue|echo|p2p
                    (--offer-out F --answer-in F | --offer-in F --answer-out F)
                    --result F [--open LABEL:PROTOCOL]... [--open-lossy LABEL:PROTOCOL]...
                    [--negotiated ID:LABEL:PROTOCOL]...
                    [--expect LABEL]... [--name N --peer-name P] [--leader]
                    [--max-message-size N] [--script-max N] [--script-max-for LABEL:N]...
                    [--expect-max N]
                    [--oversize LABEL:N] [--start-file F]
                    [--stop-file F] [--timeout S]

Signalling is files. As offerer (--offer-out) it writes its offer and waits for dcgw's
answer; as answerer (--offer-in) it reads dcgw's offer and writes its answer. The SDP it
writes carries an a=dcmap line (RFC 8864) for each --negotiated channel, which aiortc
does not write itself, so dcgw knows the channel exists on this leg.

Roles (the messages are those of dc_common.py):
  ue    opens a DCEP channel per --open and a negotiated one per --negotiated, sends
        each channel's script (tag = label) and expects every message back (an echo),
        byte-exact, in order, with its type. The burst goes back to back; each large
        message waits for the echo of everything before it.
  echo  echoes every message on every channel, keeping its type; records what it saw.
  p2p   opens its channels like ue and also uses the channels the far side opened
        (--expect LABEL); on every channel it sends script("NAME:label") and expects
        script("PEER:label"). The large messages take turns (the --leader sends its
        n-th once it received the peer's (n-1)-th, the other side its n-th once it got
        the leader's n-th), so at most one large message per channel is in flight.
--open-lossy opens a DCEP channel that is unordered with at most 2 retransmissions and
sends nothing on it: the far side checks that dcgw's twin has the same reliability.
--expect-max N (ue): messages over N bytes are sent but must not come back (the far
side may take them, but this peer advertised less, RFC 8841 §6).
--oversize LABEL:N sends one extra binary message of N bytes on channel LABEL right
after the burst (ue, p2p); it is not expected to arrive anywhere.
--start-file F (ue, p2p): each channel opens as usual, then waits until F exists before
sending its script, so a test can hold a connected session idle first; F missing at the
timeout is that channel's problem.

--max-message-size N makes aiortc advertise N (a=max-message-size) instead of its
65536; aiortc itself neither enforces nor needs a limit (it reassembles any size).

The result (JSON, renamed into --result once the role is done; for echo, when
--stop-file appears) lists each channel: label, protocol, id, negotiated, ordered, who
opened it, counts, and for ue/p2p "problem" (null when everything arrived right). The
process then stays connected until --stop-file exists (or the timeout) so that the
session can be inspected and closed with the peer still up. Exit 0 when the result has
no problem, 1 otherwise, 2 on a timeout or a signalling error.

aioice leaves 127.0.0.1 out of its host candidates; the tests run in a network
namespace with nothing but loopback, so the lookup is patched to return 127.0.0.1
(aiortc_common.py). Run with Debian's /usr/bin/python3 inside that namespace.
"""
import argparse
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_common as ac  # noqa: E402
import dc_common  # noqa: E402


class Chan:
    """One data channel as this peer uses it."""

    def __init__(self, peer, ch, opened_by):
        self.peer, self.ch, self.opened_by = peer, ch, opened_by
        self.label, self.protocol = ch.label, ch.protocol
        self.received = []  # digests
        self.rx_bytes = 0
        self.sent = 0
        self.sent_bytes = 0
        self.progress = asyncio.Event()
        self.items = []
        self.echoed = []  # ue: whether items[i] is expected back (--expect-max)
        self.want = None
        self.oversize_sent = None
        self.send_error = None
        self.done_sending = False
        ch.on("message", self.on_message)

    def on_message(self, msg):
        data = msg.encode("utf-8") if isinstance(msg, str) else msg
        self.received.append(dc_common.digest(isinstance(msg, str), data))
        self.rx_bytes += len(data)
        if self.peer.args.role == "echo":
            self.ch.send(msg)
            self.sent += 1
            self.sent_bytes += len(data)
        self.progress.set()
        self.peer.changed.set()

    async def wait_received(self, n, deadline):
        loop = asyncio.get_running_loop()
        while len(self.received) < n and loop.time() < deadline:
            self.progress.clear()
            try:
                await asyncio.wait_for(self.progress.wait(), max(0.01, deadline - loop.time()))
            except asyncio.TimeoutError:
                pass
        return len(self.received) >= n

    def send_item(self, item):
        is_text, data = dc_common.content(item)
        self.ch.send(data.decode("utf-8") if is_text else data)
        self.sent += 1
        self.sent_bytes += len(data)

    async def run(self, deadline):
        """Sends the script (ue, p2p); see the module doc for the pacing."""
        a = self.peer.args
        try:
            await self._run(a, deadline)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            self.send_error = "%s: %s" % (type(e).__name__, e)
        self.done_sending = True
        self.peer.changed.set()

    async def _run(self, a, deadline):
        if a.start_file and not await ac.wait_until(lambda: os.path.exists(a.start_file),
                                                     deadline, 0.05):
            self.send_error = "start file %s never appeared" % a.start_file
            return
        burst = dc_common.burst_len()
        for item in self.items[:burst]:
            self.send_item(item)
        over = dict(a.oversize).get(self.label)
        if over:
            self.ch.send(bytes(over))
            self.oversize_sent = over
        after = dc_common.pace(self.items, a.role, a.leader, self.echoed)
        for k in range(burst, len(self.items)):
            if not await self.wait_received(after[k], deadline):
                self.send_error = "gave up before sending message %d" % k
                return
            self.send_item(self.items[k])

    def complete(self):
        return self.want is not None and len(self.received) >= len(self.want) and self.done_sending

    def report(self):
        ch = self.ch
        r = {"label": self.label, "protocol": self.protocol, "id": ch.id,
             "negotiated": ch.negotiated, "ordered": ch.ordered,
             "max_retransmits": ch.maxRetransmits, "max_packet_lifetime": ch.maxPacketLifeTime,
             "opened_by": self.opened_by, "state": ch.readyState,
             "rx": len(self.received), "rx_bytes": self.rx_bytes,
             "tx": self.sent, "tx_bytes": self.sent_bytes}
        if self.peer.args.role == "echo":
            r["digests"] = self.received
        else:
            r["expected"] = len(self.want) if self.want is not None else None
            r["oversize_sent"] = self.oversize_sent
            problem = self.send_error
            if self.label in self.peer.silent():
                r["expected"] = 0
                problem = problem or ("%d unexpected messages" % len(self.received)
                                      if self.received else None)
            elif self.want is None:
                problem = problem or "no script for this channel"
            else:
                problem = problem or dc_common.compare(self.want, self.received)
            r["problem"] = problem
        return r


class Peer:
    def __init__(self, args):
        self.args = args
        self.chans = {}
        self.changed = asyncio.Event()
        self.tasks = []
        self.loop = asyncio.get_running_loop()

    def add(self, ch, opened_by):
        c = Chan(self, ch, opened_by)
        self.chans[ch.label] = c
        a = self.args
        if a.role == "ue":
            c.items = dc_common.script(c.label, dc_common.script_max(a, c.label))
            c.echoed = [dc_common.item_size(it) <= a.expect_max for it in c.items]
            c.want = dc_common.expected([it for it, e in zip(c.items, c.echoed) if e])
        elif a.role == "p2p":
            smax = dc_common.script_max(a, c.label)
            c.items = dc_common.script("%s:%s" % (a.name, c.label), smax)
            c.want = dc_common.expected(dc_common.script("%s:%s" % (a.peer_name, c.label), smax))
        self.changed.set()
        return c

    def start(self, c, deadline):
        if self.args.role != "echo" and c.label not in self.silent():
            self.tasks.append(asyncio.ensure_future(c.run(deadline)))

    def silent(self):
        return [o[0] for o in self.args.open_lossy]

    def done(self):
        a = self.args
        if a.role == "echo":
            return False
        return all(lb in self.chans and self.chans[lb].complete() for lb in dc_common.labels(a))

    def result(self, error=None):
        chans = [c.report() for c in self.chans.values()]
        problems = [c.get("problem") for c in chans if c.get("problem")]
        a = self.args
        missing = [lb for lb in dc_common.labels(a) if lb not in self.chans]
        if missing and a.role != "echo":
            problems.append("channels never open: " + ", ".join(missing))
        return {"role": a.role, "name": a.name, "error": error, "channels": chans,
                "problems": problems}


async def run(args):
    loop, deadline, pc = ac.new_peer(args.timeout)
    if args.max_message_size:
        ac.advertise_max_message_size(args.max_message_size)
    peer = Peer(args)
    status, error = 2, None

    @pc.on("datachannel")
    def on_datachannel(ch):
        c = peer.add(ch, "peer")
        peer.start(c, deadline)

    def make_local_channels():
        for label, proto in args.open:
            ch = pc.createDataChannel(label, protocol=proto)
            c = peer.add(ch, "me")
            ch.on("open", lambda c=c: peer.start(c, deadline))
        for label, proto in args.open_lossy:
            peer.add(pc.createDataChannel(label, protocol=proto, ordered=False, maxRetransmits=2),
                     "me")
        for cid, label, proto in args.negotiated:
            ch = pc.createDataChannel(label, protocol=proto, negotiated=True, id=cid)
            c = peer.add(ch, "sdp")
            ch.on("open", lambda c=c: peer.start(c, deadline))

    def add_dcmap(sdp):
        return dc_common.add_dcmap(sdp, args.negotiated)

    try:
        if args.offer_out:
            make_local_channels()
            if not pc.sctp:  # echo with no channel of its own still offers SCTP
                pc.createDataChannel("unused-offer-helper", negotiated=True, id=65534)
            if not await ac.offer(pc, args.offer_out, args.answer_in, deadline, add_dcmap):
                raise RuntimeError("no answer from the test")
        elif not await ac.answer(pc, args.offer_in, args.answer_out, deadline, add_dcmap,
                                 make_local_channels):
            raise RuntimeError("no offer from the test")

        while loop.time() < deadline and not peer.done():
            peer.changed.clear()
            try:
                await asyncio.wait_for(peer.changed.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
            if args.role == "echo" and args.stop_file and os.path.exists(args.stop_file):
                break
        res = peer.result()
        if args.role != "echo" and not peer.done():
            res["problems"].append("timeout")
        status = 0 if not res["problems"] and (args.role != "echo" or loop.time() < deadline) else 1
        ac.write_file(args.result, json.dumps(res))
        # Stay connected until the test is done with the session.
        while args.stop_file and loop.time() < deadline and not os.path.exists(args.stop_file):
            await asyncio.sleep(0.05)
        return status
    except Exception as e:  # noqa: BLE001 - one JSON line says what went wrong
        error = "%s: %s" % (type(e).__name__, e)
        ac.write_file(args.result, json.dumps(peer.result(error)))
        return 2
    finally:
        for t in peer.tasks:
            t.cancel()
        await pc.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", choices=("ue", "echo", "p2p"), required=True)
    ap.add_argument("--offer-out")
    ap.add_argument("--answer-in")
    ap.add_argument("--offer-in")
    ap.add_argument("--answer-out")
    ap.add_argument("--result", required=True)
    dc_common.add_channel_arguments(ap, "B", "A")
    ap.add_argument("--max-message-size", type=int, default=0)
    ap.add_argument("--expect-max", type=int, default=1 << 30,
                    help="ue: messages above this size are sent but must not come back")
    ap.add_argument("--oversize", action="append", default=[],
                    type=lambda s: (lambda p: (p[0], int(p[1])))(dc_common.fields(s, 2)))
    ap.add_argument("--start-file",
                    help="ue, p2p: open the channels, then wait for this file before sending")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()
    if not ((args.offer_out and args.answer_in) or (args.offer_in and args.answer_out)):
        ap.error("give --offer-out and --answer-in, or --offer-in and --answer-out")
    ac.run_main(run, args)


if __name__ == "__main__":
    main()
