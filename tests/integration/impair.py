"""A userspace UDP impairment proxy for the integration tests (this kernel has no netem).

usage: impair.py --target HOST:PORT --port-out FILE [--seed N] [--loss PCT]
                 [--delay MS] [--jitter MS] [--reorder PCT] [--duplicate PCT]
                 [--stats-out FILE] [--stop-file FILE] [--timeout S]

It listens on 127.0.0.1, on a port it picks (written to --port-out). Datagrams that
arrive there go on to --target from a second socket of its own; what the target sends
back to that socket goes to the address the last datagram came from. Both directions
are impaired alike, each by its own generator seeded from --seed, so a run repeats:

  loss       each datagram is dropped with probability PCT
  delay      each datagram waits DELAY +- JITTER ms (uniform), in arrival order
  reorder    a datagram goes at once with probability PCT, ahead of the ones waiting
             (what netem's `reorder` does)
  duplicate  a datagram is sent twice with probability PCT (the copy right after)

So `--loss 10 --delay 5 --jitter 2 --reorder 10 --duplicate 2` is netem's
`loss 10% delay 5ms 2ms reorder 10% duplicate 2%`. One peer talks to one target through
each proxy: put one in front of every hop that must be impaired. It runs until
--stop-file exists or --timeout seconds passed, then writes its counters as JSON to
--stats-out (per direction: in, dropped, reordered, duplicated, out) and exits 0.
"""
import argparse
import asyncio
import json
import os
import random
import sys


class Direction:
    """One way through the proxy: impairs and forwards datagrams to a destination."""

    def __init__(self, name, args, seed, send):
        self.name, self.args, self.send = name, args, send
        self.rng = random.Random(seed)
        self.last_due = 0.0  # datagrams that wait leave in arrival order
        self.stats = {"in": 0, "dropped": 0, "reordered": 0, "duplicated": 0, "out": 0}

    def _out(self, data, addr):
        self.stats["out"] += 1
        self.send(data, addr)

    def packet(self, data, addr):
        a, loop, st = self.args, asyncio.get_running_loop(), self.stats
        st["in"] += 1
        if self.rng.random() * 100 < a.loss:
            st["dropped"] += 1
            return
        copies = 2 if self.rng.random() * 100 < a.duplicate else 1
        st["duplicated"] += copies - 1
        if self.rng.random() * 100 < a.reorder:
            st["reordered"] += 1
            for _ in range(copies):
                self._out(data, addr)
            return
        delay = max(0.0, a.delay + self.rng.uniform(-a.jitter, a.jitter)) / 1000.0
        due = max(loop.time() + delay, self.last_due)
        self.last_due = due
        for _ in range(copies):
            loop.call_at(due, self._out, data, addr)


class Side(asyncio.DatagramProtocol):
    def __init__(self, on_packet):
        self.on_packet = on_packet
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.on_packet(data, addr)

    def error_received(self, exc):  # ICMP port unreachable while a peer restarts: go on
        pass


async def run(args):
    loop = asyncio.get_running_loop()
    host, port = args.target.rsplit(":", 1)
    target = (host, int(port))
    client = {"addr": None}  # who talks to the listening socket

    def from_client(data, addr):
        client["addr"] = addr
        up.packet(data, target)

    def from_target(data, addr):
        if addr == target and client["addr"]:
            down.packet(data, client["addr"])

    t_listen, _ = await loop.create_datagram_endpoint(
        lambda: Side(from_client), local_addr=("127.0.0.1", 0))
    t_toward, _ = await loop.create_datagram_endpoint(
        lambda: Side(from_target), local_addr=("127.0.0.1", 0))
    up = Direction("to_target", args, args.seed * 2 + 1, t_toward.sendto)
    down = Direction("to_client", args, args.seed * 2 + 2, t_listen.sendto)
    tmp = args.port_out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % t_listen.get_extra_info("sockname")[1])
    os.rename(tmp, args.port_out)
    deadline = loop.time() + args.timeout
    while loop.time() < deadline and not (args.stop_file and os.path.exists(args.stop_file)):
        await asyncio.sleep(0.05)
    t_listen.close()
    t_toward.close()
    if args.stats_out:
        with open(args.stats_out, "w", encoding="utf-8") as f:
            json.dump({"to_target": up.stats, "to_client": down.stats}, f)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True, help="HOST:PORT datagrams go on to")
    ap.add_argument("--port-out", required=True, help="file the listening port is written to")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--loss", type=float, default=0.0, help="percent")
    ap.add_argument("--delay", type=float, default=0.0, help="ms")
    ap.add_argument("--jitter", type=float, default=0.0, help="ms, +- around --delay")
    ap.add_argument("--reorder", type=float, default=0.0, help="percent sent at once")
    ap.add_argument("--duplicate", type=float, default=0.0, help="percent")
    ap.add_argument("--stats-out")
    ap.add_argument("--stop-file")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    for name in ("loss", "reorder", "duplicate"):
        if not 0 <= getattr(args, name) <= 100:
            ap.error("--%s must be a percentage" % name)
    if args.delay < 0 or args.jitter < 0 or args.jitter > args.delay:
        ap.error("--delay and --jitter must be >= 0, jitter at most delay")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
