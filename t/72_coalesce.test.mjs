// ws_stream_coalesce: a viewer's records gathered into one write per
// interval. Whatever the interval, a coalescing viewer gets what a viewer
// of the same stream without it gets: every record once, in order, byte for
// byte, configuration first and a keyframe first; and one that stops
// reading is skipped to a keyframe as without it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, connectOnline, checkStream, isMedia, describeMsg } from './lib/ws.mjs';
import { slowCase } from './lib/slow.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';

const INTERVALS = [33, 100, 350];
const locs = (extra = '') => INTERVALS.map((ms) =>
  `location /c${ms}/ { ws_stream; ws_stream_coalesce ${ms}ms; ${extra} }`).join('\n        ');

const key = (m) => `${m.track}:${m.config ? 'c' : ''}${m.key ? 'k' : ''}:${m.dts}`;

/** The binary messages of a viewer from its first media on, and what it counted. */
function records(v) {
  const bins = v.msgs.filter((m) => m.kind === 'bin');
  const first = bins.findIndex(isMedia);
  return { all: bins, media: first < 0 ? [] : bins.slice(first) };
}

describe('72 coalescing: records gathered per interval', () => {
  const env = useNginx({ tag: 'coalesce', conf: (p) => liveConf(p, { server: locs() }) });

  it('every interval: each record once, in order, byte for byte as the viewer without coalescing gets it', async (t) => {
    const name = streamName('co');
    const pub = startPublisher({ port: env.rtmpPort, name, gop: 15 });
    const { viewer: probe } = await connectOnline(env.http('live', name));
    await probe.close();
    const viewers = [['ws', 0], ...INTERVALS.map((ms) => [`c${ms}`, ms])];
    const vs = await Promise.all(viewers.map(([loc]) => Viewer.connect(env.http('live', name, { loc }))));
    const reads = vs.map(() => 0);
    vs.forEach((v, i) => v.ws._socket.on('data', () => { reads[i]++; }));
    await Promise.all(vs.map((v) => v.waitFor(isMedia, { what: 'first media' })));
    await sleep(6000);
    await pub.stop();
    const [ref, ...co] = vs.map(records);
    assert.ok(ref.media.length > 200, `the reference viewer got ${ref.media.length} records`);
    const refAt = new Map(ref.media.map((m, i) => [key(m), i]));
    for (const [j, r] of co.entries()) {
      const [loc, ms] = viewers[j + 1];
      const v = vs[j + 1];
      checkStream(v.msgs, { from: 1, label: loc });
      // configuration before the first media, as without coalescing
      const firstMedia = r.all.indexOf(r.media[0]);
      assert.ok(r.all.slice(0, firstMedia).some((m) => m.config && m.track === 1), `${loc}: no video configuration first`);
      assert.equal(new Set(r.media.map(key)).size, r.media.length, `${loc}: a record came twice`);
      // aligned on its first record, the sequence is the reference's up to where either stops
      const from = refAt.get(key(r.media[0]));
      assert.notEqual(from, undefined, `${loc}: its first record ${describeMsg(r.media[0])} is not the reference's`);
      const n = Math.min(r.media.length, ref.media.length - from);
      assert.ok(n > 150, `${loc}: only ${n} records overlap`);
      for (let i = 0; i < n; i++) {
        const a = r.media[i], b = ref.media[from + i];
        assert.equal(key(a), key(b), `${loc}: record ${i} is ${describeMsg(a)}, the reference has ${describeMsg(b)}`);
        assert.ok(a.payload.equals(b.payload), `${loc}: record ${i} (${describeMsg(a)}) differs from the reference's`);
      }
      t.diagnostic(`${loc} (${ms} ms): ${r.media.length} records, ${n} compared; ${reads[j + 1]} socket reads ` +
        `(reference: ${ref.media.length} records in ${reads[0]} reads)`);
      // records are gathered: at 350 ms ~10 frames of video with their audio per write
      if (ms === 350) assert.ok(reads[j + 1] * 4 < r.media.length, `${loc}: ${reads[j + 1]} socket reads for ${r.media.length} records`);
      assert.equal(v.closeInfo, null, `${loc}: closed`);
    }
    await Promise.all(vs.map((v) => v.close()));
  });

  it('the client\'s messages are answered at once, not with the next batch', async (t) => {
    const name = streamName('cp');
    const pub = startPublisher({ port: env.rtmpPort, name });
    const { viewer } = await connectOnline(env.http('live', name, { loc: 'c350' }));
    const { viewer: plain } = await connectOnline(env.http('live', name));
    await viewer.waitFor(isMedia, { what: 'first media' });
    // a ping right after a batch: its pong comes before the next batch, while a
    // viewer without coalescing gets at most a record or two; sent with the next
    // batch, that viewer would have had ~20 records by then
    const between = [];
    for (let i = 0; i < 5; i++) {
      await viewer.waitFor(isMedia, { from: viewer.msgs.length, what: 'a batch' });
      await sleep(60);   // the rest of the batch (a write may come in several reads)
      const at = viewer.msgs.length, plainAt = plain.msgs.length;
      viewer.send({ type: 'ping', id: i, t: i });
      const pong = await viewer.waitFor((m) => m.kind === 'text' && m.type === 'pong', { from: at, what: 'pong' });
      assert.equal(pong.json.id, i);
      assert.equal(viewer.msgs.slice(at, pong.i).filter(isMedia).length, 0, 'records before the pong');
      between.push(plain.msgs.slice(plainAt).filter(isMedia).length);
    }
    t.diagnostic(`records the plain viewer got between ping and pong: ${between}`);
    assert.ok(between.filter((n) => n <= 3).length >= 3, `records the plain viewer got between ping and pong: ${between}`);
    await viewer.close();
    await plain.close();
    await pub.stop();
  });
});

describe('72 coalescing: a slow reader', () => {
  const env = useNginx({
    tag: 'coslow',
    conf: (p) => liveConf(p, {
      app: 'ws_stream_buffer 512k;', listen: 'sndbuf=16k', loc: 'ws_stream_send_timeout 60s;',
      server: locs('ws_stream_send_timeout 60s;'),
    }),
  });

  it('a coalescing viewer that stops reading gets skipped + keyframe, frames byte for byte', async (t) => {
    const name = streamName('cslow');
    const pub = startPublisher({ port: env.rtmpPort, name, bitrate: '3M', cbr: true, gop: 15 });
    const { viewer: probe } = await connectOnline(env.http('live', name));
    await probe.close();
    await slowCase(env, t, name, { slowLoc: 'c100' });
    await pub.stop();
  });
});
