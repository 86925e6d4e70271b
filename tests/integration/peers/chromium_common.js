// What the Chromium peers' pages share (chromium_peer.html, dc_chromium.html), served
// next to them by chromium_common.py.
'use strict';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// postJson(path, obj): POSTs obj as JSON; a failed POST is dropped (the driver is
// stopping Chromium).
const postJson = (path, obj) => fetch(path, {
  method: 'POST',
  headers: {'Content-Type': 'application/json'},
  body: JSON.stringify(obj),
}).catch(() => {});

// offerAndAnswer(pc[, munge]): makes pc's offer (its SDP passed through munge(sdp) first,
// when given), POSTs it to /offer, long-polls /answer for dcgw's answer and applies it;
// throws when no answer comes.
async function offerAndAnswer(pc, munge) {
  const gathered = new Promise((resolve) => {
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === 'complete') resolve();
    };
  });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(munge ? {type: 'offer', sdp: munge(offer.sdp)} : offer);
  // dcgw takes no trickled candidates: offer what gathering finds within 3 s.
  await Promise.race([gathered, sleep(3000)]);
  await fetch('/offer', {method: 'POST', body: pc.localDescription.sdp});
  let answer = null;
  for (let i = 0; i < 60 && answer === null; i++) {
    const r = await fetch('/answer');
    if (r.status === 200) answer = await r.text();
  }
  if (answer === null) throw new Error('no answer');
  await pc.setRemoteDescription({type: 'answer', sdp: answer});
}
