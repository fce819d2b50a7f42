// A rendition group over WebSocket: a viewer of the group's name gets the
// group (hello lists the renditions, a rendition notice says which one it
// is on, then that rendition's codec configuration and a keyframe), and a
// move, here by the client's own choice, changes the rendition at a
// keyframe with the configuration first and timestamps that go on: no gap,
// no overlap, no step back. The renditions are pre-encoded with aligned
// keyframes and published from one ffmpeg with -c copy.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { ensureRenditions, publishRenditions } from './lib/renditions.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { Viewer, connectOnline, isText, isMedia, isConfig } from './lib/ws.mjs';
import { sleep, waitUntil } from './lib/util.mjs';
import { api, metrics, sample } from './lib/stats.mjs';

const SUFFIXES = ['_hi', '_mid', '_lo'];
const FRAME = 34;       // ms between video frames at 30 fps, rounded up
const AUDIO = 22;       // ms between AAC frames at 48 kHz, rounded up

// the group's viewer once every rendition publishes (and is measured)
async function groupViewer(env, base, count = SUFFIXES.length) {
  let v = null, hello = null;
  await waitUntil(async () => {
    if (v) await v.close();
    v = await Viewer.connect(env.http('live', base));
    hello = await v.next(isText('hello'));
    return hello.json.renditions.filter((r) => r.online && r.bitrate > 0).length === count;
  }, { what: `${count} renditions online and measured in hello` });
  return { v, hello };
}

// the messages from a rendition notice up to the next one (or the end)
function after(v, notice) {
  const rest = v.msgs.slice(notice.i + 1);
  const next = rest.findIndex(isText('rendition'));
  return next < 0 ? rest : rest.slice(0, next);
}

// last frame of a track before message i, first one after
function around(msgs, i, track) {
  let before = null, first = null;
  for (let k = i - 1; k >= 0 && !before; k--) if (isMedia(msgs[k]) && msgs[k].track === track) before = msgs[k];
  for (let k = i + 1; k < msgs.length && !first; k++) if (isMedia(msgs[k]) && msgs[k].track === track) first = msgs[k];
  return { before, first };
}

describe('63 abr: a rendition group over WebSocket', () => {
  const env = useNginx({
    tag: 'abrws',
    conf: (p) => liveConf(p, {
      zone: 'zone=live:32m',
      app: `ws_stream_variant ${SUFFIXES.join(' ')};`,
      loc: 'ws_stream_abr off;',
      server: 'location /api/ { ws_stream_api; } location = /metrics { ws_stream_metrics; }',
    }),
  });
  const base = streamName('g');
  const plain = streamName('plain');

  before(async () => {
    const file = await ensureRenditions();
    publishRenditions({ port: env.rtmpPort, base, file });
    startPublisher({ port: env.rtmpPort, name: plain, size: '160x90', bitrate: '100k' });
  });

  it('a viewer of the group gets its renditions, a rendition notice, then configuration and a keyframe', async () => {
    const { v, hello } = await groupViewer(env, base);
    assert.equal(hello.json.stream, base);
    assert.equal(hello.json.auto, true);
    assert.deepEqual(hello.json.renditions.map((r) => [r.index, r.name]),
      SUFFIXES.map((s, k) => [k, `${base}${s}`]));
    assert.deepEqual(hello.json.renditions.map((r) => r.width), [640, 320, 160]);
    const rates = hello.json.renditions.map((r) => r.bitrate);
    assert.ok(rates[0] > rates[1] && rates[1] > rates[2], `measured bitrates ${rates}`);

    // the next message is the notice; with ws_stream_abr off it starts on the highest
    const start = await v.next((m) => m.kind === 'text' || isMedia(m) || isConfig(m));
    assert.equal(start.type, 'rendition', `after hello: ${start.text || 'binary'}`);
    assert.equal(start.json.index, 0);
    assert.equal(start.json.from, -1);
    assert.equal(start.json.reason, 'start');
    assert.equal(start.json.name, `${base}_hi`);
    const first = await v.next(isMedia);
    assert.ok(v.msgs.slice(start.i, first.i).some((m) => isConfig(m) && m.track === 1), 'video configuration first');
    assert.equal(first.track, 1);
    assert.ok(first.key, 'the first frame is a keyframe');
    await v.close();
  });

  it('pinning moves the viewer at a keyframe: configuration first, then dts that go on', async (t) => {
    const { v } = await groupViewer(env, base);
    await v.next(isText('rendition'));
    const configs = [];
    for (const [to, from] of [[2, 0], [1, 2], [0, 1]]) {
      await v.next(isMedia, { what: 'media before the pin' });
      v.send({ type: 'rendition', index: to });
      const n = await v.next(isText('rendition'), { what: `the move to ${to}` });
      assert.deepEqual([n.json.index, n.json.from, n.json.reason, n.json.auto, n.json.continuous],
        [to, from, 'pin', false, true], n.text);
      assert.equal(n.json.name, `${base}${SUFFIXES[to]}`);
      await v.next(isMedia, { what: 'media after the move' });
      await v.waitFor((m) => isMedia(m) && m.track === 2, { from: n.i, what: 'audio after the move' });

      const rest = after(v, n);
      const media = rest.findIndex(isMedia);
      const cfg = rest.slice(0, media).find((m) => isConfig(m) && m.track === 1);
      assert.ok(cfg, 'the rendition\'s video configuration comes before its media');
      configs.push(cfg.payload.toString('hex'));
      assert.equal(rest[media].track, 1, 'video first');
      assert.ok(rest[media].key, 'from a keyframe');

      const vid = around(v.msgs, n.i, 1), aud = around(v.msgs, n.i, 2);
      const dv = vid.first.dts - vid.before.dts, da = aud.first.dts - aud.before.dts;
      t.diagnostic(`move ${from}->${to}: video ${vid.before.dts} -> ${vid.first.dts}, audio ${aud.before.dts} -> ${aud.first.dts}`);
      assert.ok(dv > 0 && dv <= FRAME, `video dts ${vid.before.dts} -> ${vid.first.dts}`);
      assert.ok(da > 0 && da <= AUDIO, `audio dts ${aud.before.dts} -> ${aud.first.dts}`);
    }
    assert.equal(new Set(configs).size, 3, 'each rendition has its own configuration');

    // every frame of the connection: dts never step back or repeat
    for (const track of [1, 2]) {
      const d = v.media().filter((m) => m.track === track).map((m) => m.dts);
      const bad = d.findIndex((x, k) => k > 0 && x <= d[k - 1]);
      assert.equal(bad, -1, `track ${track} dts ${d.slice(Math.max(0, bad - 2), bad + 2)}`);
    }

    // pinned where it is: said at once, nothing moves
    v.send({ type: 'rendition', index: 0 });
    const here = await v.next(isText('rendition'), { what: 'the notice of a pin where it is' });
    assert.deepEqual([here.json.index, here.json.from, here.json.reason, here.json.auto], [0, 0, 'pin', false], here.text);

    // automatic again: said at once, on the rendition it is on
    v.send({ type: 'rendition', index: -1 });
    const auto = await v.next(isText('rendition'), { what: 'the notice of automatic' });
    assert.deepEqual([auto.json.index, auto.json.reason, auto.json.auto], [0, 'auto', true], auto.text);

    // the statistics: the viewer is listed under its rendition with its switches
    // (records are rewritten once a second)
    let seen = null;
    const rec = await waitUntil(async () => {
      const page = await api(env, `/api/streams/live/${base}_hi/viewers`);
      seen = page.json.viewers.map((x) => x.rendition);
      return page.json.viewers.find((x) => x.rendition && x.rendition.switches.up === 2 && x.rendition.auto);
    }, { what: 'the viewer\'s record with its switches' }).catch(() => assert.fail(`records of ${base}_hi: ${JSON.stringify(seen)}`));
    assert.deepEqual(rec.rendition, { index: 0, auto: true, switches: { up: 2, down: 1 }, reason: 'pin' });
    const text = (await metrics(env)).text;
    assert.equal(sample(text, 'ws_stream_rendition_switches_total', { app: 'live', stream: `${base}_lo`, direction: 'down' }), 1);
    assert.equal(sample(text, 'ws_stream_rendition_switches_total', { app: 'live', stream: `${base}_hi`, direction: 'up' }), 1);
    await v.close();
  });

  it('a viewer whose rendition stops publishing goes to the nearest that does (gone)', async () => {
    const g = streamName('gone');
    const hiPub = startPublisher({ port: env.rtmpPort, name: `${g}_hi`, size: '320x180', bitrate: '300k' });
    const mid = startPublisher({ port: env.rtmpPort, name: `${g}_mid`, size: '160x90', bitrate: '100k' });
    const { v } = await groupViewer(env, g, 2);
    await v.next(isText('rendition'));
    await v.next(isMedia);
    // the viewer is on _hi (ws_stream_abr off: where it starts); _mid stops: nothing changes
    await mid.stop();
    const hi = v.msgs.length;
    await v.waitFor((m) => isMedia(m) && m.i > hi + 30, { what: 'more media of _hi' });
    assert.equal(v.msgs.slice(hi).filter(isText('rendition')).length, 0);
    // _mid is back, _hi stops: the viewer goes to _mid
    startPublisher({ port: env.rtmpPort, name: `${g}_mid`, size: '160x90', bitrate: '100k' });
    await sleep(3000);
    const from = v.msgs.length;
    await hiPub.stop();
    const n = await v.waitFor(isText('rendition'), { from, what: 'the move off the stopped rendition' });
    assert.deepEqual([n.json.index, n.json.from, n.json.reason], [1, 0, 'gone'], n.text);
    const first = await v.waitFor(isMedia, { from: n.i });
    assert.ok(first.track === 1 && first.key, 'from a keyframe');
    // an offline notice of the stopped rendition is followed by online before the move's notice
    const off = v.msgs.slice(from, n.i).findIndex(isText('offline'));
    if (off >= 0) assert.ok(v.msgs.slice(from + off, n.i).some(isText('online')), 'online after offline');
    await v.close();
  });

  it('a rendition the group does not have, or any but 0 on a plain stream, closes with 1007', async () => {
    const { v } = await groupViewer(env, base);
    v.send({ type: 'rendition', index: 3 });
    assert.equal((await v.closed).code, 1007);

    const { viewer: p, hello } = await connectOnline(env.http('live', plain));
    assert.equal(hello.json.renditions, undefined, 'a plain stream has no renditions');
    p.send({ type: 'rendition', index: 0 });
    p.send({ type: 'rendition', index: -1 });
    await p.ping(5);
    p.send({ type: 'rendition', index: 1 });
    assert.equal((await p.closed).code, 1007);

    const { v: w } = await groupViewer(env, base);
    w.send({ type: 'rendition', index: 8 });
    assert.equal((await w.closed).code, 1007);
  });
});
