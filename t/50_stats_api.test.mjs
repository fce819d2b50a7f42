// The JSON statistics API with viewers on every worker: exact counts, the
// worker of each viewer, bytes that grow, client reports in min/avg/max,
// viewers that leave, escaping of what clients control, paging and the
// answers nginx would give to bad requests.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { useNginx, serverPidsByClientPort } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, connectOnline, isMedia } from './lib/ws.mjs';
import { streamName } from './lib/common.mjs';
import { sleep, waitUntil } from './lib/util.mjs';
import { statsConf, api, streamStats, viewersPage } from './lib/stats.mjs';

// HTTP header strings are sent as latin1: this carries the UTF-8 bytes
const utf8Header = (s) => Buffer.from(s, 'utf8').toString('latin1');

async function connectMany(env, name, n, ua = (i) => `stats-test/${i}`) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(await Viewer.connect(env.http('live', name), { wsOptions: { headers: { 'User-Agent': ua(i) } } }));
  }
  return out;
}

for (const workers of ['1', '2', 'auto']) {
  describe(`50 stats API: worker_processes ${workers}`, () => {
    const env = useNginx({ tag: `stats${workers}`, tools: { ss: true }, conf: (p) => statsConf(p, { workers }) });
    const name = streamName('st');

    before(async () => {
      startPublisher({ port: env.rtmpPort, name });
      const { viewer } = await connectOnline(env.http('live', name));
      await viewer.close();
    });

    it('viewer counts are exact, per worker and in total, and a viewer that leaves disappears', async () => {
      const viewers = await connectMany(env, name, 8);
      const owner = await waitUntil(() => {
        const m = serverPidsByClientPort(env.ports.http);
        return viewers.every((v) => m.has(v.ws._socket.localPort)) && m;
      }, { what: 'every viewer in ss -tnp' });

      const s = await streamStats(env, name);
      assert.equal(s.viewers.websocket, 8, JSON.stringify(s.viewers));
      assert.equal(s.viewers.now, 8 + s.viewers.hls);
      const byWorker = Object.fromEntries(s.viewers.by_worker.map((w) => [w.pid, w.websocket]));
      const expect = {};
      for (const v of viewers) {
        const pid = owner.get(v.ws._socket.localPort);
        expect[pid] = (expect[pid] || 0) + 1;
      }
      assert.deepEqual(byWorker, expect, 'viewers by worker as ss sees the connections');

      const expected = workers === 'auto' ? os.availableParallelism?.() ?? os.cpus().length : Number(workers);
      const all = await api(env, '/api/streams');
      assert.equal(all.status, 200);
      assert.deepEqual(all.json.server.workers.map((w) => w.pid).sort(), env.nginx.workerPids().sort());
      assert.equal(all.json.server.workers.length, expected);

      const page = await viewersPage(env, name);
      assert.equal(page.total, 8);
      const listed = new Map(page.viewers.map((v) => [v.port, v]));
      for (const [i, v] of viewers.entries()) {
        const rec = listed.get(v.ws._socket.localPort);
        assert.ok(rec, `viewer ${i} (port ${v.ws._socket.localPort}) listed`);
        assert.equal(rec.address, '127.0.0.1');
        assert.equal(rec.user_agent, `stats-test/${i}`);
        assert.equal(rec.worker_pid, owner.get(v.ws._socket.localPort));
        assert.equal(rec.protocol, 'ws');
      }
      assert.equal(new Set(page.viewers.map((v) => v.id)).size, 8, 'ids are unique');

      const gone = viewers.splice(0, 3);
      const goneIds = gone.map((v) => listed.get(v.ws._socket.localPort).id);
      await Promise.all(gone.map((v) => v.close()));
      await waitUntil(async () => (await streamStats(env, name)).viewers.websocket === 5,
        { what: 'websocket viewers 5 after 3 left' });
      const after = await viewersPage(env, name);
      assert.equal(after.total, 5);
      for (const id of goneIds) assert.ok(!after.viewers.some((v) => v.id === id), `viewer ${id} still listed`);
      await Promise.all(viewers.map((v) => v.close()));
      await waitUntil(async () => (await streamStats(env, name)).viewers.websocket === 0, { what: 'no viewers' });
      assert.equal((await viewersPage(env, name)).total, 0);
    });

    it('a User-Agent many viewers share is listed for each, also after others with it leave', async () => {
      // the zone keeps one copy per distinct value, counted by the records
      // that use it: the last viewer of a value still lists it
      const ua = (i) => (i % 2 ? 'shared-b/1.0' : 'shared-a/1.0');
      const viewers = await connectMany(env, name, 5, ua);
      const uaOf = async () => {
        const page = await viewersPage(env, name);
        return new Map(page.viewers.map((v) => [v.port, v.user_agent]));
      };
      await waitUntil(async () => (await uaOf()).size >= 5, { what: '5 viewers listed' });
      let listed = await uaOf();
      for (const [i, v] of viewers.entries()) assert.equal(listed.get(v.ws._socket.localPort), ua(i), `viewer ${i}`);

      // leave: a-0, b-1, b-3; a-2 and a-4 stay
      await Promise.all([0, 1, 3].map((i) => viewers[i].close()));
      const late = await Viewer.connect(env.http('live', name), { wsOptions: { headers: { 'User-Agent': 'shared-b/1.0' } } });
      await waitUntil(async () => (await streamStats(env, name)).viewers.websocket === 3,
        { what: 'websocket viewers 3' });
      listed = await uaOf();
      assert.equal(listed.get(viewers[2].ws._socket.localPort), 'shared-a/1.0');
      assert.equal(listed.get(viewers[4].ws._socket.localPort), 'shared-a/1.0');
      assert.equal(listed.get(late.ws._socket.localPort), 'shared-b/1.0', 'a value all its viewers left is made again');
      await Promise.all([viewers[2], viewers[4], late].map((v) => v.close()));
      await waitUntil(async () => (await streamStats(env, name)).viewers.websocket === 0,
        { what: 'no websocket viewers' });
    });
  });
}

describe('50 stats API: figures and requests', () => {
  const env = useNginx({
    tag: 'statsfig',
    tools: { ss: true },
    conf: (p) => statsConf(p, {
      workers: 2,
      server: `location /wsp/ { ws_stream; ws_stream_trusted_proxy 127.0.0.0/8; }
        location /wsoff/ { ws_stream; ws_stream_stats off; }`,
    }),
  });
  const name = streamName('sf');

  before(async () => {
    startPublisher({ port: env.rtmpPort, name, gop: 30 });
    const { viewer } = await connectOnline(env.http('live', name));
    await viewer.close();
  });

  it('the stream: codecs, resolution, GOP, bytes in and out that grow', async () => {
    const viewers = await connectMany(env, name, 2);
    await Promise.all(viewers.map((v) => v.waitFor(isMedia, { what: 'media' })));
    const a = await waitUntil(async () => {
      const s = await streamStats(env, name);
      return s.video && s.video.gop_frames && s.ingest_bitrate_bps > 0 && s;
    }, { what: 'video figures' });
    assert.equal(a.online, true);
    assert.equal(a.publisher.address, '127.0.0.1');
    assert.match(a.video.codec, /^avc1\.[0-9a-f]{6}$/);
    assert.equal(a.video.format, 'H.264');
    assert.ok(a.video.profile.length > 0, `profile ${a.video.profile}`);
    assert.equal(a.video.width, 640);
    assert.equal(a.video.height, 360);
    assert.equal(a.video.gop_frames, 30);
    assert.equal(a.audio.codec, 'mp4a.40.2');
    assert.equal(a.audio.format, 'AAC');
    assert.equal(a.audio.sample_rate_hz, 44100);
    assert.ok(a.audio.channels >= 1);
    assert.equal(a.ingest_bitrate_bps, a.video.bitrate_bps + a.audio.bitrate_bps);
    // the stream's bytes include codec configuration and metadata
    assert.ok(a.received_bytes >= a.video.received_bytes + a.audio.received_bytes);

    const pa = await viewersPage(env, name);
    await sleep(1500);
    const b = await streamStats(env, name);
    const pb = await viewersPage(env, name);
    for (const k of ['received_bytes', 'sent_bytes', 'sent_messages']) assert.ok(b[k] > a[k], `${k}: ${a[k]} -> ${b[k]}`);
    assert.ok(b.video.frames > a.video.frames && b.video.keyframes > a.video.keyframes);
    for (const v of pb.viewers) {
      const old = pa.viewers.find((x) => x.id === v.id);
      assert.ok(v.sent_bytes > old.sent_bytes, `viewer ${v.id} sent_bytes ${old.sent_bytes} -> ${v.sent_bytes}`);
      assert.ok(v.send_rate_bps > 0 && v.rtt_ms > 0, JSON.stringify(v));
      assert.ok(v.send_delay_ms !== null && v.send_delay_max_ms >= v.send_delay_ms, JSON.stringify(v));
    }
    assert.equal(b.send_delay_ms.viewers, 2);
    assert.ok(b.send_delay_ms.min <= b.send_delay_ms.avg && b.send_delay_ms.avg <= b.send_delay_ms.max);
    await Promise.all(viewers.map((v) => v.close()));
  });

  it('MP3 audio (no sequence header) is described from its frames', async () => {
    const mp3 = streamName('mp3');
    startPublisher({ port: env.rtmpPort, name: mp3, extra: ['-c:a', 'libmp3lame', '-ar', '44100'] });
    const { viewer } = await connectOnline(env.http('live', mp3));
    await viewer.close();
    const s = await waitUntil(async () => {
      const st = await streamStats(env, mp3);
      return st && st.audio && st.audio.codec && st;
    }, { what: 'MP3 audio figures' });
    assert.equal(s.audio.codec, 'mp4a.6b');
    assert.equal(s.audio.format, 'MP3');
    assert.equal(s.audio.sample_rate_hz, 44100);
  });

  it('client reports: each viewer\'s newest, and min/avg/max over the viewers now', async () => {
    const viewers = await connectMany(env, name, 4);
    const latencies = [120, 240, 360];
    const report = (i) => ({ type: 'report', latency: latencies[i], buffer: 100 + i, bitrate: 1000000, throughput: 5000000,
      dropped: i, decoded: 300, stalls: 1, stall_ms: 250, startup_ms: 400 + i, rate: 1.05, state: 'playing' });
    for (let i = 0; i < 3; i++) viewers[i].send(report(i));
    // the fourth sends none: it is not in latency_ms
    const s = await waitUntil(async () => {
      const st = await streamStats(env, name);
      return st.latency_ms.viewers === 3 && st;
    }, { what: 'three reports in latency_ms' });
    assert.deepEqual([s.latency_ms.min, s.latency_ms.avg, s.latency_ms.max], [120, 240, 360]);
    assert.ok(s.latency_ms.p50 >= 120 && s.latency_ms.p50 <= 360 && s.latency_ms.p95 <= 360, JSON.stringify(s.latency_ms));

    const page = await viewersPage(env, name);
    const byPort = new Map(page.viewers.map((v) => [v.port, v]));
    for (let i = 0; i < 3; i++) {
      const r = byPort.get(viewers[i].ws._socket.localPort).report;
      assert.deepEqual({ ...r, age_ms: 0 }, {
        age_ms: 0, latency_ms: latencies[i], buffer_ms: 100 + i, bitrate_bps: 1000000, throughput_bps: 5000000,
        dropped_frames: i, decoded_frames: 300, stalls: 1, stall_ms: 250, startup_ms: 400 + i, playback_rate: 1.05,
        target_ms: null, jitter_ms: null, clock_error_ms: null, sync_ms: null, state: 'playing',
      });
    }
    assert.equal(byPort.get(viewers[3].ws._socket.localPort).report, null);

    // a newer report replaces the old one
    viewers[2].send({ type: 'report', latency: 180 });
    await waitUntil(async () => (await streamStats(env, name)).latency_ms.max === 240, { what: 'max 240 after a new report' });
    await viewers[0].close();
    const t = await waitUntil(async () => {
      const st = await streamStats(env, name);
      return st.latency_ms.viewers === 2 && st;
    }, { what: 'latency_ms over the two reporting viewers left' });
    assert.deepEqual([t.latency_ms.min, t.latency_ms.max], [180, 240]);
    await Promise.all(viewers.map((v) => v.close()));
  });

  it('user-controlled strings are escaped: User-Agent, X-Forwarded-For, stream names', async () => {
    const ua = utf8Header('evil "quoted" \\ back\tslash é ✓ \u{1F600}');
    const raw = 'x\u00ff\u00fe'; // latin1 bytes ff fe: not UTF-8
    const weird = `q"u\\o<te>${process.pid}`;
    const viewers = [
      await Viewer.connect(env.http('live', encodeURIComponent(weird), { loc: 'wsp' }),
        { wsOptions: { headers: { 'User-Agent': ua, 'X-Forwarded-For': '203.0.113.7, 10.0.0.1' } } }),
      await Viewer.connect(env.http('live', encodeURIComponent(weird)),
        { wsOptions: { headers: { 'User-Agent': raw, 'X-Forwarded-For': '203.0.113.8' } } }),
    ];
    const all = await api(env, '/api/streams');
    const s = all.json.streams.find((x) => x.stream === weird);
    assert.ok(s, `stream ${weird} listed with its name intact`);
    assert.equal(s.viewers.websocket, 2);
    const page = await viewersPage(env, weird);
    const byPort = new Map(page.viewers.map((v) => [v.port, v]));
    const a = byPort.get(viewers[0].ws._socket.localPort), b = byPort.get(viewers[1].ws._socket.localPort);
    assert.equal(a.user_agent, 'evil "quoted" \\ back\tslash é ✓ \u{1F600}');
    assert.equal(a.forwarded_for, '203.0.113.7, 10.0.0.1', 'trusted proxy: X-Forwarded-For kept');
    assert.equal(b.user_agent, 'x\ufffd\ufffd', 'bytes that are not UTF-8 become U+FFFD');
    assert.equal(b.forwarded_for, null, 'no ws_stream_trusted_proxy: no X-Forwarded-For');
    assert.match(page.viewers.length ? JSON.stringify(page) : '', /evil/);
    await Promise.all(viewers.map((v) => v.close()));
  });

  it('ws_stream_stats off: viewers counted but not listed', async () => {
    const v = await Viewer.connect(env.http('live', name, { loc: 'wsoff' }));
    await v.waitFor(isMedia, { what: 'media' });
    const s = await streamStats(env, name);
    assert.equal(s.viewers.websocket, 1);
    assert.equal((await viewersPage(env, name)).total, 0);
    await v.close();
  });

  it('paging, and the answers to bad requests', async () => {
    const viewers = await connectMany(env, name, 5);
    const all = await viewersPage(env, name);
    assert.equal(all.limit, 100);
    assert.equal(all.offset, 0);
    assert.equal(all.viewers.length, 5);
    const p = await viewersPage(env, name, '?offset=1&limit=2');
    assert.deepEqual([p.total, p.offset, p.limit], [5, 1, 2]);
    assert.deepEqual(p.viewers.map((v) => v.id), all.viewers.slice(1, 3).map((v) => v.id));
    assert.equal((await viewersPage(env, name, '?offset=10')).viewers.length, 0);
    assert.equal((await viewersPage(env, name, '?limit=5000')).limit, 1000);

    const one = await api(env, `/api/streams/live/${name}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.stream, name);
    assert.equal(one.headers.get('cache-control'), 'no-store');

    const post = await api(env, '/api/streams', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await api(env, '/api/streams', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    for (const path of ['/api/', '/api/nothing', '/api/streams/live', `/api/streams/live/${name}/other`,
      `/api/streams/live/${name}/viewers/x`, '/api/streams/live/no-such-stream',
      '/api/streams/live/no-such-stream/viewers']) {
      assert.equal((await api(env, path)).status, 404, path);
    }
    for (const q of ['?limit=0', '?limit=x', '?offset=-1']) {
      assert.equal((await api(env, `/api/streams/live/${name}/viewers${q}`)).status, 400, q);
    }
    await Promise.all(viewers.map((v) => v.close()));
  });
});
