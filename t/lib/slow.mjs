// A viewer that stops reading for 8 s while another keeps up: the slow one
// is jumped ahead (skipped notice, then a keyframe), the fast one is not
// disturbed, every frame the slow one got is byte for byte the fast one's,
// and each ping it sent meanwhile is answered once, between whole frames. Shared by t/04 (records sent as they land) and t/72 (coalesced).
import assert from 'node:assert/strict';
import { Viewer, checkStream, isMedia, describeMsg } from './ws.mjs';
import { sleep } from './util.mjs';

/** `slowLoc`: the location of the slow viewer (the fast one is at /ws/). */
export async function slowCase(env, t, name, { slowLoc = 'ws' } = {}) {
  const fast = await Viewer.connect(env.http('live', name));
  const slow = await Viewer.connect(env.http('live', name, { loc: slowLoc }));
  await fast.waitFor(isMedia, { what: 'fast first media' });
  await slow.waitFor(isMedia, { what: 'slow first media' });
  const fastFrom = fast.msgs.length;
  slow.ws._socket.pause();
  // a ping while the socket is full, most likely in the middle of a frame:
  // its pong has to queue behind the rest of that frame
  // (a second ping: the rest, copied by the first, is not a reply, and
  // does not count against the limit of unread replies)
  await sleep(1000);
  const pingFrom = slow.msgs.length;
  slow.send({ type: 'ping', id: 77, t: 1 });
  await sleep(1000);
  slow.send({ type: 'ping', id: 78, t: 2 });
  await sleep(6000);
  const pausedAt = slow.msgs.length;
  slow.ws._socket.resume();
  const skipped = await slow.waitFor((m) => m.kind === 'text' && m.type === 'skipped',
    { what: 'skipped notice', timeout: 20000 });
  t.diagnostic(`skipped: ${skipped.text} (msgs before pause end: ${pausedAt})`);
  assert.ok(Number.isInteger(skipped.json.frames) && skipped.json.frames > 0, skipped.text);
  assert.ok(typeof skipped.json.bytes === 'number' && skipped.json.bytes > 0, skipped.text);
  assert.ok(skipped.json.count >= 1, skipped.text);
  const after = await slow.waitFor(isMedia, { from: skipped.i + 1, what: 'media after skipped' });
  assert.ok(after.track === 1 && after.key, `first media after skipped: ${describeMsg(after)}`);
  await sleep(2000);
  checkStream(slow.msgs, { from: 1, label: 'slow' });
  const pongs = slow.msgs.slice(pingFrom).filter((m) => m.kind === 'text' && m.type === 'pong');
  assert.deepEqual(pongs.map((m) => m.json.id), [77, 78], 'a pong for each ping sent while the socket was full');

  assert.ok(!fast.msgs.some((m) => m.kind === 'text' && m.type === 'skipped'),
    `fast viewer was skipped: ${fast.msgs.filter((m) => m.type === 'skipped').map((m) => m.text)}`);
  const st = checkStream(fast.msgs, { from: 1, maxDtsGap: 1000, label: 'fast' });
  const during = fast.msgs.slice(fastFrom).filter(isMedia).length;
  t.diagnostic(`fast: ${JSON.stringify(st)}, ${during} media msgs during the pause+`);
  assert.ok(during > 8 * 30, `fast viewer got only ${during} media messages while the other was paused`);
  assert.equal(fast.closeInfo, null);
  assert.equal(slow.closeInfo, null);

  // every frame the slow viewer got is byte for byte the fast viewer's: a
  // frame the socket took only part of is finished from the right place
  const seen = new Map();
  for (const m of fast.msgs) if (m.kind === 'bin' && !m.short) seen.set(`${m.track}:${m.config}:${m.dts}`, m.payload);
  let compared = 0;
  const bad = [];
  for (const m of slow.msgs) {
    if (m.kind !== 'bin' || m.short) continue;
    const want = seen.get(`${m.track}:${m.config}:${m.dts}`);
    if (!want) continue;
    compared++;
    if (!want.equals(m.payload)) bad.push(`#${m.i} track ${m.track} dts ${m.dts} (${m.payload.length} vs ${want.length} bytes)`);
  }
  t.diagnostic(`slow: ${compared} frames compared with the fast viewer's`);
  assert.ok(compared > 100, `only ${compared} frames to compare`);
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} frames differ`);
  await fast.close();
  await slow.close();
}
