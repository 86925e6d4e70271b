"""An unpaced bulk sender (aiortc) for the lossy-path test and the throughput measurement:
the UE of issue 13's unpaced case.

usage: bulk_aiortc.py --offer-out F --answer-in F --result F [--count N]
                      [--min-size N] [--max-size N] [--seed N] [--buffered-max N]
                      [--stop-file F] [--timeout S]

It offers one in-band (DCEP) channel "bulk", reliable and ordered, and once it opens
sends --count binary messages whose sizes are drawn, seeded, between --min-size and
--max-size (1 B to 59 KiB by default; --spread log: log-uniform, uniform), without pacing: the only limit is
its own bufferedAmount, which it keeps at most --buffered-max (1 MiB) by waiting for
bufferedamountlow. The far side echoes (dc_aiortc.py --role echo); every echo must come
back exactly once and in order, byte for byte. Message i holds its index in its first
bytes (little endian, as many as fit) and then a byte pattern that starts at i mod 256.

The first echo that is not the one expected ends the run, unless --until-idle S: then
the UE goes on counting echoes until none came for S seconds (to count what was lost).
The result (JSON, into --result): count, sizes, bytes sent, echoes that matched
(in_order), echoes in all, the first mismatches (problems), the time from the first send to the last
echo (seconds), goodput (bytes echoed per second), the highest bufferedAmount seen. The
process then stays connected until --stop-file exists. Exit 0 when every echo came back
right, 1 otherwise, 2 on a timeout or a signalling error.
"""
import argparse
import asyncio
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_common as ac  # noqa: E402

PATTERN = bytes(range(256)) * 300  # 76800 bytes: any message up to ~76 KB is a slice


def payload(i, n):
    head = i.to_bytes(4, "little")[:n]
    off = i % 256
    return head + PATTERN[off:off + n - len(head)]


def sizes(count, lo, hi, seed, spread="log"):
    rng = random.Random(seed)
    if spread == "uniform":
        return [rng.randint(lo, hi) for _ in range(count)]
    a, b = math.log(lo), math.log(hi)
    return [max(lo, min(hi, int(round(math.exp(rng.uniform(a, b)))))) for _ in range(count)]


class Bulk:
    def __init__(self, args, ch):
        self.args, self.ch = args, ch
        self.sizes = sizes(args.count, args.min_size, args.max_size, args.seed, args.spread)
        self.next = 0  # index of the echo expected next
        self.problems = []
        self.extra = 0
        self.sent = 0
        self.max_buffered = 0
        self.t_first = self.t_last = None
        self.done = asyncio.Event()
        self.low = asyncio.Event()
        ch.bufferedAmountLowThreshold = args.buffered_max // 2
        ch.on("bufferedamountlow", self.low.set)
        ch.on("message", self.on_message)

    def on_message(self, msg):
        loop = asyncio.get_running_loop()
        data = msg.encode("utf-8") if isinstance(msg, str) else msg
        i = self.next
        if i < len(self.sizes) and data == payload(i, self.sizes[i]):
            self.next += 1
            self.t_last = loop.time()
            if self.next == len(self.sizes):
                self.done.set()
            return
        self.extra += 1
        self.t_last = loop.time()
        if not self.args.until_idle:
            self.done.set()  # a lost, duplicated or reordered echo: the run has failed already
        if len(self.problems) < 5:
            self.problems.append("echo %d: expected message %d (%d bytes), got %d bytes%s" % (
                self.next + self.extra - 1, i, self.sizes[i] if i < len(self.sizes) else -1,
                len(data), " starting %s" % data[:4].hex() if data else ""))

    async def send_all(self, deadline):
        loop = asyncio.get_running_loop()
        self.t_first = loop.time()
        for i, n in enumerate(self.sizes):
            while self.ch.bufferedAmount > 0 and self.ch.bufferedAmount + n > self.args.buffered_max:
                self.low.clear()
                try:
                    await asyncio.wait_for(self.low.wait(), max(0.01, deadline - loop.time()))
                except asyncio.TimeoutError:
                    return False
            self.ch.send(payload(i, n))
            self.sent += 1
            self.max_buffered = max(self.max_buffered, self.ch.bufferedAmount)
            if i % 16 == 15:
                await asyncio.sleep(0)  # let aiortc move data meanwhile
        return True

    def result(self, error=None):
        total = sum(self.sizes)
        echoed = sum(self.sizes[:self.next])
        secs = (self.t_last - self.t_first) if self.t_last and self.t_first else None
        problems = list(self.problems)
        if error:
            problems.append(error)
        if self.next < len(self.sizes) and not error:
            problems.append("%d of %d echoes came back in order" % (self.next, len(self.sizes)))
        return {"count": len(self.sizes), "bytes": total, "sent": self.sent,
                "in_order": self.next, "extra": self.extra, "echoes": self.next + self.extra,
                "echoed_bytes": echoed,
                "seconds": secs, "goodput": echoed / secs if secs else None,
                "max_buffered": self.max_buffered, "min_size": min(self.sizes),
                "max_size": max(self.sizes), "problems": problems}


async def run(args):
    loop, deadline, pc = ac.new_peer(args.timeout)
    ch = pc.createDataChannel("bulk", protocol="x-bulk")
    bulk = Bulk(args, ch)
    opened = asyncio.Event()
    ch.on("open", opened.set)
    status = 2
    try:
        if not await ac.offer(pc, args.offer_out, args.answer_in, deadline):
            raise RuntimeError("no answer from the test")
        await asyncio.wait_for(opened.wait(), max(0.01, deadline - loop.time()))
        if not await bulk.send_all(deadline):
            raise RuntimeError("bufferedAmount never went low (sent %d)" % bulk.sent)
        while not bulk.done.is_set() and loop.time() < deadline:
            try:
                await asyncio.wait_for(bulk.done.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
            if args.until_idle and bulk.t_last and loop.time() - bulk.t_last > args.until_idle:
                break  # echoes stopped coming: the rest is lost
        res = bulk.result()
        status = 0 if not res["problems"] else 1
    except (asyncio.TimeoutError, RuntimeError) as e:
        res = bulk.result("%s: %s" % (type(e).__name__, e))
    ac.write_json(args.result, res)
    while args.stop_file and loop.time() < deadline and not os.path.exists(args.stop_file):
        await asyncio.sleep(0.05)
    await pc.close()
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offer-out", required=True)
    ap.add_argument("--answer-in", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--min-size", type=int, default=1)
    ap.add_argument("--max-size", type=int, default=59 * 1024)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--spread", choices=("log", "uniform"), default="log",
                    help="sizes log-uniform (most small, mean ~5.4 KiB) or uniform (~30 KiB)")
    ap.add_argument("--buffered-max", type=int, default=1 << 20)
    ap.add_argument("--until-idle", type=float, default=0,
                    help="after a wrong echo keep counting until none came for this many s")
    ap.add_argument("--stop-file")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    if not 1 <= args.min_size <= args.max_size <= len(PATTERN):
        ap.error("need 1 <= --min-size <= --max-size <= %d" % len(PATTERN))
    ac.run_main(run, args)


if __name__ == "__main__":
    main()
