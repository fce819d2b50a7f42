// Smoke test of the benchmark tools (make bench): the stamping publisher,
// the load client in all four modes (our protocol, FLV over WebSocket from
// node-media-server, RTMP play from nginx-rtmp, our LL-HLS), the HLS anchor
// and the LL-HLS part client (bench/hls-ll.mjs) run for a few seconds each
// and print their tables; so does the statistics section (ws_stream_stats
// on and off with reporting viewers, timed scrapes of /metrics and the API). It checks that they measured something real,
// never how fast anything was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './lib/nginx.mjs';

const BUILD = path.join(REPO, 'build', 'bench');

test('make bench --quick: publisher and load client measure every system', { timeout: 300000 }, async () => {
  for (const f of ['ws-stream-pub', 'ws-stream-load', 'fixture-360p.flv'])
    assert.ok(fs.existsSync(path.join(BUILD, f)),
      `${path.join(BUILD, f)} is missing: run make bench-smoke-tools`);
  const out = await fsp.mkdtemp(path.join(os.tmpdir(), 'wsstream-bench-'));
  const child = spawn(process.execPath, [path.join(REPO, 'bench', 'run.mjs'),
    '--quick', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0, `bench/run.mjs --quick failed:\n${stderr}`);

  // the tables a user sees
  assert.match(stdout, /### 360p, 20 viewers/);
  for (const label of ['ngx_ws_stream, 1 worker', 'ngx_ws_stream, 2 workers',
    'node-media-server', 'nginx-rtmp RTMP play', 'ngx_ws_stream LL-HLS'])
    assert.match(stdout, new RegExp(`\\| ${label}[^|]*\\| 20/20 \\|`), `no row for ${label}:\n${stdout}`);
  assert.match(stdout, /LL-HLS clients, 360p, 20 viewers/);
  assert.match(stdout, /### nginx-rtmp HLS and ngx_ws_stream LL-HLS/);

  const res = JSON.parse(await fsp.readFile(path.join(out, 'results.json'), 'utf8'));
  assert.equal(res.runs.length, 5);
  for (const r of res.runs) {
    assert.equal(r.failed_run, undefined, `${r.system}: ${r.failed_run}`);
    assert.equal(r.connected, 20, `${r.system} connected ${r.connected}`);
    assert.ok(r.stamped_frames > 0, `${r.system}: no stamped video frame received`);
    assert.ok(r.sei_delay_us.count > 0, `${r.system}: no delay sample`);
    assert.ok(r.bytes_per_s > 0 && r.msgs_per_s > 0, `${r.system}: nothing received in the window`);
    assert.ok(r.server_cpu_ms >= 0, `${r.system}: no server CPU figure`);
    assert.deepEqual(r.server_bad_log ?? [], [], `${r.system}: server log`);
    assert.equal(r.publisher_alive, true, `${r.system}: the publisher died`);
  }
  const ws = res.runs.filter((r) => r.mode === 'ws');
  assert.equal(ws.length, 2);
  for (const r of ws) assert.ok(r.ingest_delay_ms.count > 0, `${r.system}: no ingest-stamp sample`);
  // 20 LL-HLS clients: playlists and parts asked and answered, only 200s
  const ll = res.runs.find((r) => r.mode === 'hls');
  assert.ok(ll, 'no LL-HLS client run');
  assert.deepEqual(ll.errors, { connect: 0, handshake: 0, timeout: 0, closed: 0, protocol: 0 },
    `LL-HLS clients: ${ll.first_error}`);
  const { '200': ok, ...notOk } = ll.hls.status;
  assert.deepEqual(notOk, { 400: 0, 404: 0, 503: 0, other: 0 }, `LL-HLS answers: ${ll.hls.first_status}`);
  assert.ok(ok > 0 && ll.hls.requests.playlist > 0 && ll.hls.requests.part > 0,
    `LL-HLS requests: ${JSON.stringify(ll.hls.requests)}`);
  assert.ok(ll.hls.parts > 0 && ll.hls.listed_delay_us.count > 0, 'no part or part-listed delay');
  assert.ok(ll.zone_kb > 0, 'no zone figure for LL-HLS');
  const hls = res.hls[0];
  assert.equal(hls.failed_run, undefined, hls.failed_run);
  assert.ok(hls.frames > 0, `HLS anchor read no stamped frame: ${JSON.stringify(hls)}`);
  // the part client: part-listed and part-complete delays of stamped frames
  const part = res.llhls[0];
  assert.equal(part.failed_run, undefined, part.failed_run);
  assert.ok(part.parts > 0 && part.listed_ms.count > 0 && part.complete_ms.count > 0,
    `LL-HLS part client measured nothing: ${JSON.stringify(part)}`);
  assert.deepEqual(part.server_bad_log, [], 'LL-HLS server log');

  // the statistics section: one pair of runs, stats on and off, viewers
  // that report, /metrics scraped; then the timed scrapes
  assert.match(stdout, /### Statistics: fan-out cost with ws_stream_stats on and off/);
  assert.match(stdout, /### Statistics: scrape times/);
  const st = res.stats;
  assert.deepEqual(st.ab.map((r) => r.stats).sort(), [false, true]);
  for (const r of st.ab) {
    const arm = `stats ${r.stats ? 'on' : 'off'}`;
    assert.equal(r.failed_run, undefined, `${arm}: ${r.failed_run}`);
    assert.equal(r.connected, 20, `${arm} connected ${r.connected}`);
    assert.ok(r.cpu_ms_per_viewer_s > 0 && r.ingest_delay_ms.count > 0, `${arm}: nothing measured`);
    assert.ok(r.reports > 0, `${arm}: no report sent`);
    assert.equal(r.reports_dropped, 0, `${arm}: reports not sent`);
    assert.ok(r.metrics_scrapes > 0 && r.metrics_failed === 0, `${arm}: /metrics scrapes`);
    assert.deepEqual(r.server_bad_log, [], `${arm}: server log`);
  }
  assert.ok(st.ab.find((r) => r.stats).server_reports_total > 0, 'the server counted no report with stats on');
  assert.ok(Number.isFinite(st.summary.ratio), 'no on/off ratio');
  const sc = st.scrapes[0];
  assert.equal(sc.failed_run, undefined, sc.failed_run);
  assert.equal(sc.viewers_at_scrape, 20, 'the API listed every viewer before the scrapes');
  for (const q of sc.requests)
    assert.ok(q.n > 0 && q.failed === 0 && q.bytes > 0, `${q.label}: ${JSON.stringify(q)}`);
  for (const r of [sc.quiet, sc.scraped]) assert.equal(r.connected, 20);
  await fsp.rm(out, { recursive: true, force: true });
});
