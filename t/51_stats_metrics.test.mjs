// /metrics as Prometheus sees it (promtool, and Debian's prometheus
// scraping it), counters that never go back across a reload or a killed
// worker, and LL-HLS requests counted per stream.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { useNginx, serverPidsByClientPort, badLines, freePort } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, connectOnline, isMedia } from './lib/ws.mjs';
import { streamName } from './lib/common.mjs';
import { sleep, waitUntil } from './lib/util.mjs';
import { statsConf, api, streamStats, metrics, sample } from './lib/stats.mjs';

const PROMTOOL = process.env.WS_STREAM_PROMTOOL || 'promtool';
const PROMETHEUS = process.env.WS_STREAM_PROMETHEUS || 'prometheus';

function promtoolCheck(text) {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20000 });
  if (r.error) throw new Error(`${PROMTOOL}: ${r.error.message} (apt-get install prometheus, or make deps)`);
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
}

describe('51 metrics: promtool and a real Prometheus', () => {
  const env = useNginx({ tag: 'metrics', conf: (p) => statsConf(p, { workers: 2 }) });
  const name = streamName('m');
  // a name a label must escape: quote and backslash (newline: unit tests)
  const weird = `we"ir\\d${process.pid}`;
  let prom = null;

  before(async () => {
    startPublisher({ port: env.rtmpPort, name });
    const { viewer } = await connectOnline(env.http('live', name));
    await viewer.close();
  });

  after(async () => {
    if (prom && prom.exitCode === null) {
      prom.kill('SIGTERM');
      await new Promise((r) => { prom.once('exit', r); setTimeout(r, 5000); });
    }
  });

  it('text format 0.0.4, promtool check metrics clean, one family head each, no viewer labels', async () => {
    const viewers = [];
    for (let i = 0; i < 3; i++) viewers.push(await Viewer.connect(env.http('live', name)));
    viewers.push(await Viewer.connect(env.http('live', encodeURIComponent(weird))));
    for (const v of viewers.slice(0, 3)) v.send({ type: 'report', latency: 200 });
    await waitUntil(async () => sample((await metrics(env)).text, 'ws_stream_reports_total', { stream: name }) >= 3,
      { what: 'reports counted' });

    const m = await metrics(env);
    assert.equal(m.status, 200);
    assert.match(m.type, /^text\/plain; version=0\.0\.4/);
    const check = promtoolCheck(m.text);
    assert.equal(check.status, 0, `promtool check metrics: ${check.out}\n${m.text.slice(0, 2000)}`);
    assert.equal(check.out, '', 'promtool has no lint complaints');

    const heads = m.text.split('\n').filter((l) => l.startsWith('# TYPE '));
    assert.equal(new Set(heads).size, heads.length, 'a family head appears once');
    assert.ok(!/\b(id|address|port|user_agent)="/.test(m.text), 'no per-viewer labels');
    assert.equal(sample(m.text, 'ws_stream_viewers', { stream: name, protocol: 'websocket' }), 3);
    assert.equal(sample(m.text, 'ws_stream_publisher_up', { stream: name }), 1);
    assert.equal(sample(m.text, 'ws_stream_viewers', { stream: 'we\\"ir\\\\d' + process.pid, protocol: 'websocket' }), 1,
      'the escaped stream name is a label value');
    assert.ok(sample(m.text, 'ws_stream_build_info', { nginx_version: '1.22.1' }) === 1 ||
      sample(m.text, 'ws_stream_build_info') === 1);
    // the three reports of 200 ms are in the latency histogram
    assert.equal(sample(m.text, 'ws_stream_viewer_latency_seconds_bucket', { stream: name, le: '0.15' }), 0);
    assert.equal(sample(m.text, 'ws_stream_viewer_latency_seconds_bucket', { stream: name, le: '0.2' }), 3);
    assert.equal(sample(m.text, 'ws_stream_viewer_latency_seconds_count', { stream: name }), 3);
    assert.equal(sample(m.text, 'ws_stream_viewer_latency_seconds_sum', { stream: name }), 0.6);
    assert.ok(sample(m.text, 'ws_stream_send_delay_seconds_count', { stream: name }) > 0);

    // the API agrees
    const s = await streamStats(env, name);
    assert.equal(s.viewers.websocket, 3);
    assert.equal(sample(m.text, 'ws_stream_connections_total', { stream: name }) >= 3, true);
    await Promise.all(viewers.map((v) => v.close()));
  });

  it('Debian\'s prometheus scrapes it; PromQL gives the viewer count', async (t) => {
    const dir = path.join(env.prefix, 'prom');
    fs.mkdirSync(dir, { recursive: true });
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ws_stream
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:${env.ports.http}']
`);
    prom = spawn(PROMETHEUS, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=info'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    prom.stderr.on('data', (d) => { stderr += d; });
    prom.once('error', (e) => { stderr += String(e); });

    const viewers = [];
    for (let i = 0; i < 5; i++) viewers.push(await Viewer.connect(env.http('live', name)));
    const q = `sum(ws_stream_viewers{app="live",stream="${name}",protocol="websocket"})`;
    const query = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
      const j = await res.json();
      return j.data && j.data.result[0] ? Number(j.data.result[0].value[1]) : null;
    };
    try {
      await waitUntil(async () => (await query().catch(() => null)) === 5, { timeout: 30000, interval: 500,
        what: `PromQL ${q} = 5` });
      const up = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`).then((r) => r.json());
      assert.equal(up.data.result[0].value[1], '1', 'the scrape target is up');
      await viewers[0].close();
      await viewers[1].close();
      await waitUntil(async () => (await query()) === 3, { timeout: 30000, interval: 500, what: `PromQL ${q} = 3` });
    } catch (e) {
      t.diagnostic(`prometheus stderr: ${stderr.slice(-2000)}`);
      throw e;
    }
    await Promise.all(viewers.map((v) => v.close()));
  });
});

// Counters read from /metrics and the API, many times while something
// happens: no reading may be lower than the one before.
function monotonic(env, name) {
  const keys = ['ws_stream_sent_bytes_total', 'ws_stream_sent_messages_total', 'ws_stream_connections_total',
    'ws_stream_frames_total', 'ws_stream_received_bytes_total'];
  const last = {};
  let readings = 0;
  return {
    async read() {
      // a scrape on a connection an old worker closes at a reload fails,
      // as it would for Prometheus: the next one counts
      const m = await metrics(env).catch(() => null);
      if (!m || m.status !== 200) return;
      for (const k of keys) {
        const labels = { stream: name };
        if (k === 'ws_stream_sent_bytes_total') labels.protocol = 'websocket';
        if (k === 'ws_stream_frames_total') labels.track = 'video';
        const v = sample(m.text, k, labels);
        if (v === undefined) continue;
        if (last[k] !== undefined) assert.ok(v >= last[k], `${k} went back: ${last[k]} -> ${v}`);
        last[k] = v;
      }
      readings++;
    },
    get readings() { return readings; },
    get last() { return last; },
  };
}

describe('51 metrics: counters across a reload and a killed worker', () => {
  const env = useNginx({ tag: 'metricsmono', tools: { ss: true }, conf: (p) => statsConf(p, { workers: 2 }) });
  const name = streamName('mm');

  before(async () => {
    startPublisher({ port: env.rtmpPort, name });
    const { viewer } = await connectOnline(env.http('live', name));
    await viewer.close();
  });

  it('reload: totals keep growing while old workers leave', async () => {
    const viewers = [];
    for (let i = 0; i < 4; i++) viewers.push(await Viewer.connect(env.http('live', name)));
    await Promise.all(viewers.map((v) => v.waitFor(isMedia, { what: 'media' })));
    const mono = monotonic(env, name);
    for (let i = 0; i < 5; i++) { await mono.read(); await sleep(200); }
    const before = { ...mono.last };
    await env.nginx.reload({ expectWorkers: 2 });
    for (let i = 0; i < 30; i++) { await mono.read(); await sleep(200); }
    assert.ok(mono.readings >= 30);
    assert.ok(mono.last.ws_stream_sent_bytes_total > before.ws_stream_sent_bytes_total);
    assert.ok(mono.last.ws_stream_connections_total >= 4);
    await Promise.all(viewers.map((v) => v.close()));
  });

  it('a killed worker: its viewers disappear, what it counted stays', async (t) => {
    const viewers = [];
    for (let i = 0; i < 10; i++) viewers.push(await Viewer.connect(env.http('live', name)));
    await Promise.all(viewers.map((v) => v.waitFor(isMedia, { what: 'media' })));
    const owner = serverPidsByClientPort(env.ports.http);
    const rtmpOwner = [...new Set(serverPidsByClientPort(env.rtmpPort).values())][0];
    // kill the worker that does not hold the publisher, if it has viewers
    const pids = [...new Set(viewers.map((v) => owner.get(v.ws._socket.localPort)))];
    const victim = pids.find((p) => p !== rtmpOwner) ?? pids[0];
    const onVictim = viewers.filter((v) => owner.get(v.ws._socket.localPort) === victim).length;
    t.diagnostic(`killing worker ${victim} with ${onVictim} of 10 viewers (publisher on ${rtmpOwner})`);
    assert.ok(onVictim > 0, 'no viewer on the worker to kill');

    const mono = monotonic(env, name);
    await waitUntil(async () => (await streamStats(env, name)).viewers.websocket === 10, { what: '10 viewers' });
    await mono.read();
    env.nginx.newLog();
    process.kill(victim, 'SIGKILL');
    await waitUntil(() => env.nginx.log().includes(`${victim} exited on signal 9`), { what: 'master saw the kill' });
    const bad = badLines(env.nginx.newLog()).filter((l) => !l.includes(`${victim} exited on signal 9`));
    assert.deepEqual(bad, []);

    const s = await waitUntil(async () => {
      await mono.read();
      const st = await streamStats(env, name);
      return st.viewers.websocket === 10 - onVictim && st;
    }, { what: `websocket viewers ${10 - onVictim} after the kill` });
    assert.ok(!s.viewers.by_worker.some((w) => w.pid === victim), 'the dead worker is not listed');
    const page = await api(env, `/api/streams/live/${name}/viewers`);
    assert.equal(page.json.total, 10 - onVictim);
    assert.ok(!page.json.viewers.some((v) => v.worker_pid === victim));
    for (let i = 0; i < 10; i++) { await mono.read(); await sleep(200); }
    await Promise.all(viewers.map((v) => v.close()));
  });
});

describe('51 metrics: LL-HLS requests per stream', () => {
  const env = useNginx({ tag: 'metricshls', conf: (p) => statsConf(p, { workers: 2 }) });
  const name = streamName('mh');

  before(async () => {
    startPublisher({ port: env.rtmpPort, name });
    const { viewer } = await connectOnline(env.http('live', name));
    await viewer.close();
  });

  it('requests, bytes and distinct clients (address + User-Agent)', async () => {
    const url = `http://127.0.0.1:${env.ports.http}/hls/live/${name}/index.m3u8`;
    await waitUntil(async () => (await fetch(url)).status === 200, { what: 'playlist' });
    const before = await streamStats(env, name);
    let bytes = 0;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(url, { headers: { 'User-Agent': `hls-client-${i % 2}` } });
      assert.equal(res.status, 200);
      bytes += (await res.arrayBuffer()).byteLength;
    }
    const s = await streamStats(env, name);
    assert.equal(s.hls.requests - before.hls.requests, 6);
    assert.equal(s.hls.sent_bytes - before.hls.sent_bytes, bytes);
    // node's own fetch above (no User-Agent of ours) is a third client
    assert.equal(s.hls.clients, 3, JSON.stringify(s.hls));
    assert.equal(s.viewers.hls, 3);
    const m = await metrics(env);
    assert.equal(sample(m.text, 'ws_stream_hls_requests_total', { stream: name }), s.hls.requests);
    assert.equal(sample(m.text, 'ws_stream_viewers', { stream: name, protocol: 'hls' }), 3);
  });
});
