// Channels: a viewer switches to another stream on its open WebSocket
// (`ws_stream_switch on`). The server answers with a channel notice (the
// new stream's hello), then that stream's codec configuration and its
// frames from its newest keyframe; nothing of the old stream comes after
// the notice. A name the location does not have gets what a new
// connection would get (404, or offline and waiting), a location without
// the directive refuses (403), a malformed request closes with 1007, and
// the statistics move with the viewer. Also: the audience's offsets from
// the shared target (reports' `sync`) summed per stream in the API and
// in Prometheus.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { ensureRenditions, publishRenditions } from './lib/renditions.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { connectOnline as connectHello, isText, isMedia, isConfig } from './lib/ws.mjs';

const connectOnline = async (url) => (await connectHello(url)).viewer;
import { waitUntil } from './lib/util.mjs';
import { api, metrics, sample, streamStats, viewersPage } from './lib/stats.mjs';

const SUFFIXES = ['_hi', '_mid', '_lo'];
const hex = (m) => m.payload.toString('hex');

// what the server sends after message i: texts, configurations, media
function after(v, i) { return v.msgs.slice(i + 1); }

// a fresh viewer's codec configuration of a stream (video, hex)
async function freshConfig(env, name) {
  const v = await connectOnline(env.http('live', name));
  const cfg = await v.next((m) => isConfig(m) && m.track === 1);
  await v.close();
  return hex(cfg);
}

// switch and wait for the channel notice (or the refusal)
async function switchTo(v, stream, type = 'channel') {
  const from = v.msgs.length;
  v.send({ type: 'switch', stream });
  const n = await v.waitFor((m) => m.kind === 'text' && (m.type === 'channel' || m.type === 'switch_failed'),
    { from, what: `the answer to the switch to ${stream}` });
  assert.equal(n.type, type, n.text);
  v.cursor = n.i + 1;
  return n;
}

// after a channel notice: the stream's configuration, then a keyframe of video first
async function checkStart(v, n, { audio }) {
  const first = await v.waitFor(isMedia, { from: n.i + 1, what: 'media after the channel notice' });
  const head = v.msgs.slice(n.i + 1, first.i);
  assert.ok(head.some((m) => isConfig(m) && m.track === 1), 'video configuration before the media');
  assert.equal(head.some((m) => isConfig(m) && m.track === 2), audio, `audio configuration ${audio ? '' : 'not '}sent`);
  assert.equal(first.track, 1, 'video first');
  assert.ok(first.key, 'the first frame is a keyframe');
  return { first, config: hex(head.find((m) => isConfig(m) && m.track === 1)) };
}

describe('69 channels: switching streams on one connection', () => {
  const env = useNginx({
    tag: 'chan',
    conf: (p) => liveConf(p, {
      zone: 'zone=live:32m',
      app: `ws_stream_variant ${SUFFIXES.join(' ')};`,
      loc: 'ws_stream_switch on; ws_stream_abr off;',
      // an application without renditions: a name nobody publishes there is
      // a plain stream waited for (in live it would be a group's name)
      rtmp: 'application plain { live on; ws_stream live; }',
      server: 'location /fixed/ { ws_stream; } location /api/ { ws_stream_api; } ' +
        'location = /metrics { ws_stream_metrics; }',
    }),
  });
  const a = streamName('a');
  const b = streamName('b');
  const g = streamName('g');
  const later = streamName('later');

  before(async () => {
    const file = await ensureRenditions();
    publishRenditions({ port: env.rtmpPort, base: g, file });
    startPublisher({ port: env.rtmpPort, name: a, size: '320x180', bitrate: '200k' });
    // b has no audio: any audio after the switch would be a's
    startPublisher({ port: env.rtmpPort, name: b, size: '160x90', bitrate: '100k', audio: false });
    await connectOnline(env.http('live', b)).then((v) => v.close());
  });

  it('hello says switching is on; a switch gets the channel notice, the new configuration, a keyframe, nothing of the old stream', async () => {
    const v = await connectOnline(env.http('live', a));
    const hello = v.msgs.find(isText('hello'));
    assert.equal(hello.json.switch, true);
    await v.next((m) => isMedia(m) && m.track === 2, { what: 'audio of a' });

    const cfgB = await freshConfig(env, b);
    const n = await switchTo(v, `live/${b}`);
    assert.equal(n.json.app, 'live');
    assert.equal(n.json.stream, b);
    assert.equal(n.json.online, true);
    assert.equal(n.json.switch, true);
    assert.equal(n.json.version, undefined, 'a channel notice is not a hello');
    assert.ok(Math.abs(n.json.server_time - Date.now()) < 5000, `server_time ${n.json.server_time}`);

    const { first, config } = await checkStart(v, n, { audio: false });
    assert.equal(config, cfgB, 'the configuration is b\'s');
    await v.waitFor(isMedia, { from: first.i + 30, what: 'a second of b' }).catch(() => {});
    await waitUntil(() => v.media(n.i).length >= 30, { what: '30 frames of b' });
    const media = v.media(n.i + 1);
    assert.equal(media.filter((m) => m.track === 2).length, 0, 'no audio after the notice: nothing of a');
    for (let k = 1; k < media.length; k++) {
      assert.ok(media[k].dts >= media[k - 1].dts, `dts go on: ${media[k - 1].dts} -> ${media[k].dts}`);
    }
    assert.equal(v.closeInfo, null);
    await v.close();
  });

  it('into a rendition group and out again: the group\'s hello fields, its rendition notice, and back to a plain stream', async () => {
    const v = await connectOnline(env.http('live', a));
    let n = null;
    await waitUntil(async () => {
      n = await switchTo(v, `live/${g}`);
      return n.json.renditions && n.json.renditions.every((r) => r.online);
    }, { what: 'the group online in the channel notice' });
    assert.equal(n.json.stream, g);
    assert.deepEqual(n.json.renditions.map((r) => r.name), SUFFIXES.map((s) => `${g}${s}`));
    assert.equal(typeof n.json.auto, 'boolean');
    const r = await v.next(isText('rendition'), { what: 'the rendition notice after the channel notice' });
    assert.equal(r.json.reason, 'start');
    assert.equal(r.json.from, -1);
    await checkStart(v, r, { audio: true });

    // a pin works on the group joined by a switch
    v.send({ type: 'rendition', index: 2 });
    const pin = await v.next(isText('rendition'), { what: 'the pin' });
    assert.deepEqual([pin.json.index, pin.json.reason], [2, 'pin']);

    const back = await switchTo(v, `live/${a}`);
    assert.equal(back.json.renditions, undefined, 'a plain stream has no renditions');
    await checkStart(v, back, { audio: true });
    const rest = after(v, back.i);
    assert.equal(rest.filter(isText('rendition')).length, 0, 'no rendition notice on a plain stream');

    // the statistics: one viewer of a, none of the group's renditions, the switches counted
    const rec = await waitUntil(async () => {
      const page = await viewersPage(env, a);
      return page.viewers.find((x) => x.channel_switches === 2);
    }, { what: 'the viewer listed under a with 2 channel switches' });
    assert.equal(rec.rendition, null);
    for (const s of SUFFIXES) {
      const st = await streamStats(env, `${g}${s}`);
      assert.equal(st.viewers.websocket, 0, `${g}${s} has no viewer left`);
    }
    await v.close();
  });

  it('twenty switches back and forth leave one viewer and a working connection', async () => {
    const v = await connectOnline(env.http('live', a));
    for (let k = 0; k < 20; k++) await switchTo(v, `live/${k % 2 ? a : g}`);
    const last = await switchTo(v, `live/${b}`);
    await checkStart(v, last, { audio: false });
    const pong = await v.ping(77);
    assert.equal(pong.json.id, 77);
    const st = await waitUntil(async () => {
      const s = await streamStats(env, b);
      return s && s.viewers.websocket === 1 && s;
    }, { what: 'one viewer of b' });
    assert.equal(st.viewers.websocket, 1);
    assert.equal((await streamStats(env, a)).viewers.websocket, 0);
    await v.close();
  });

  it('to another application, a name nobody publishes yet: offline, waiting on the connection, then the stream when it comes', async () => {
    const v = await connectOnline(env.http('live', a));
    const n = await switchTo(v, `plain/${later}`);
    assert.deepEqual([n.json.app, n.json.stream, n.json.online, n.json.renditions], ['plain', later, false, undefined]);
    await v.next(isText('offline'), { what: 'the offline notice' });
    startPublisher({ port: env.rtmpPort, app: 'plain', name: later, size: '160x90', bitrate: '100k' });
    const on = await v.next(isText('online'), { what: 'the online notice', timeout: 20000 });
    await checkStart(v, on, { audio: true });
    await v.close();
  });

  it('refused switches leave the viewer where it is; malformed ones close with 1007', async () => {
    const v = await connectOnline(env.http('live', a));
    for (const [stream, status] of [['other/x', 404], ['nope/x', 404], ['noslash', 404], ['live/a/b', 404],
      ['/x', 404], ['live/', 404], [`${'x'.repeat(64)}/y`, 404], [`live/${'y'.repeat(128)}`, 404]]) {
      const n = await switchTo(v, stream, 'switch_failed');
      assert.deepEqual([n.json.stream, n.json.status], [stream, status], n.text);
      assert.equal(typeof n.json.reason, 'string');
    }
    // still a's viewer: its audio goes on
    const at = v.msgs.length;
    await v.waitFor((m) => isMedia(m) && m.track === 2, { from: at, what: 'a\'s audio after the refusals' });
    assert.equal(v.msgs.slice(at).filter(isText('channel')).length, 0);

    // a location without ws_stream_switch: 403, and hello says nothing of switching
    const f = await connectOnline(`ws://127.0.0.1:${env.ports.http}/fixed/live/${a}`);
    assert.equal(f.msgs.find(isText('hello')).json.switch, undefined);
    const refused = await switchTo(f, `live/${b}`, 'switch_failed');
    assert.equal(refused.json.status, 403);
    await f.waitFor((m) => isMedia(m) && m.track === 2, { from: refused.i, what: 'a\'s audio after the 403' });
    await f.close();

    for (const bad of [{ type: 'switch' }, { type: 'switch', stream: 1 }, { type: 'switch', stream: '' },
      { type: 'switch', stream: 'live/a\nb' }, { type: 'switch', stream: `live/${'z'.repeat(300)}` }]) {
      const c = await connectOnline(env.http('live', a));
      c.send(bad);
      const info = await c.closed;
      assert.equal(info.code, 1007, `${JSON.stringify(bad).slice(0, 60)}: ${info.code} ${info.reason}`);
    }
    await v.close();
  });

  it('the viewers\' offsets from the shared target: per viewer, and min/avg/max/spread per stream', async () => {
    const vs = [];
    for (const sync of [-12.5, 4, 30]) {
      const v = await connectOnline(env.http('live', b));
      v.send({ type: 'report', state: 'playing', latency: 150 + sync, sync, target: 150, jitter: 3.5, clock_err: 0.4 });
      vs.push(v);
    }
    const st = await waitUntil(async () => {
      const s = await streamStats(env, b);
      return s && s.sync_ms.viewers === 3 && s;
    }, { what: 'three viewers\' offsets in the stream\'s statistics' });
    assert.deepEqual(st.sync_ms, { viewers: 3, min: -12.5, avg: 7.2, max: 30, spread: 42.5 });
    const page = await viewersPage(env, b);
    const reports = page.viewers.map((x) => x.report).filter(Boolean).sort((p, q) => p.sync_ms - q.sync_ms);
    assert.deepEqual(reports.map((r) => [r.sync_ms, r.target_ms, r.jitter_ms, r.clock_error_ms]),
      [[-12.5, 150, 3.5, 0.4], [4, 150, 3.5, 0.4], [30, 150, 3.5, 0.4]]);
    const text = (await metrics(env)).text;
    assert.equal(sample(text, 'ws_stream_viewer_sync_spread_seconds', { app: 'live', stream: b }), 0.0425);
    assert.equal(sample(text, 'ws_stream_viewer_sync_min_seconds', { app: 'live', stream: b }), -0.0125);
    assert.equal(sample(text, 'ws_stream_viewer_sync_max_seconds', { app: 'live', stream: b }), 0.03);
    // a report without sync leaves the viewer out of the spread
    vs[2].send({ type: 'report', state: 'playing', latency: 150 });
    await waitUntil(async () => (await streamStats(env, b)).sync_ms.viewers === 2, { what: 'two viewers with an offset' });
    for (const v of vs) await v.close();
  });
});
