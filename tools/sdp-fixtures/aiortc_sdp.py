"""Prints a real aiortc SDP for the dcgw SDP fixtures (see tools/gen-sdp-fixtures.sh).

usage: aiortc_sdp.py offer           -> an offer with one data channel
       aiortc_sdp.py answer OFFERFILE -> aiortc's answer to the offer in OFFERFILE

Runs with Debian's /usr/bin/python3 (python3-aiortc) inside a private network
namespace; no ICE servers, so only host candidates are gathered.
"""
import asyncio
import sys

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription


async def run(mode, offer_path):
    # Closing right after setLocalDescription aborts aiortc's background connect task;
    # its "RTCIceTransport is closed" is expected and not worth a traceback.
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        if mode == "offer":
            pc.createDataChannel("chat")
            await pc.setLocalDescription(await pc.createOffer())
        else:
            with open(offer_path, encoding="ascii") as f:
                offer = f.read()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        # aiortc gathers before setLocalDescription returns: the SDP is complete.
        sys.stdout.write(pc.localDescription.sdp)
    finally:
        await pc.close()


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("offer", "answer") or (
        sys.argv[1] == "answer" and len(sys.argv) != 3
    ):
        sys.exit("usage: aiortc_sdp.py offer | answer OFFERFILE")
    asyncio.run(run(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None))
