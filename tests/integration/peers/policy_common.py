"""Shared bits of the policy test peers (policy_ue.py, policy_echo.py): aiortc on
loopback only, file signalling, JSON results written atomically.

Run with Debian's /usr/bin/python3 (python3-aiortc 1.4) inside a private network
namespace that has nothing but lo.
"""
import asyncio
import json
import os

import aioice.ice


def loopback_only(use_ipv4, use_ipv6):
    """Stands in for aioice.ice.get_host_addresses, which skips 127.0.0.1."""
    return ["127.0.0.1"] if use_ipv4 else []


aioice.ice.get_host_addresses = loopback_only


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(tmp, path)


def write_json(path, obj):
    write_atomic(path, json.dumps(obj, indent=1))


async def wait_file(path, deadline):
    """The file's text once it exists (writers rename into place), or None at deadline."""
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path, encoding="utf-8") as f:
                return f.read()
        await asyncio.sleep(0.05)
    return None


async def wait_until(pred, deadline, step=0.02):
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        if pred():
            return True
        await asyncio.sleep(step)
    return pred()
