// Memory per viewer alone: the memory part of bench/profile.mjs without
// perf. Each viewer count on a fresh nginx (1 worker, as the profile's
// arms), the stamping publisher of the fixture and the load client; once
// the viewers are connected, `warmup` seconds have passed and the publish
// is as old as in every other count, the worker's
// VmRSS, Private_Dirty outside the zone and [heap] (bench/lib/profbench.mjs
// says how); per viewer = (at the larger count - at the smaller) / the
// connected viewers' difference. Asserts nothing.
//
//   node bench/memory.mjs [--viewers 1000,5000] [--size 720p|360p]
//       [--workers 1] [--coalesce 0] [--stats on|off] [--warmup 3] [--rate 1000]
//       [--json]
//
// --stats off: ws_stream_stats off, viewers not listed (no record in the
// zone); --rate: connections a second (a faster rate leaves more of the
// handshakes' freed buffers in the heap's high-water mark).
//
// --size defaults to 720p when its fixture is built (make bench-tools),
// else 360p (make bench-smoke-tools); the fixture changes the ring, which
// is in the shared zone, not what a viewer costs.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_BUILD, startNginx, startPublisher, sleep, parseSize, stopAll }
  from './lib/servers.mjs';
import { runLoad, waitPlayable, badLog } from './lib/loadclient.mjs';
import { planArms, perViewer, memoryOf, waitConnected, establishedTo, settleSeconds,
  untilAge } from './lib/profbench.mjs';

const str = { type: 'string' };
const { values: v } = parseArgs({ options: {
  viewers: str, size: str, workers: str, coalesce: str, stats: str, warmup: str, rate: str,
  json: { type: 'boolean' },
} });
const fixtureOf = (s) => path.join(BENCH_BUILD, `fixture-${s}.flv`);
const size = v.size ?? (fs.existsSync(fixtureOf('720p')) ? '720p' : '360p');
const warmup = Number(v.warmup ?? 3);
const stats = v.stats ?? 'on';
if (!['on', 'off'].includes(stats)) throw new Error('--stats on|off');
const rate = Number(v.rate ?? 1000);
const arms = planArms([{ workers: Number(v.workers ?? 1), coalesce: v.coalesce ?? '0' }],
  (v.viewers ?? '1000,5000').split(',').map(Number));
const log = (m) => process.stderr.write(`${m}\n`);
// every count read at the same age of the publish (profbench.mjs says why)
const settle = settleSeconds(arms, rate, warmup);

async function measure(a) {
  const srv = await startNginx({ workers: a.workers, tag: `mem-${a.key}`,
    wsConf: (a.coalesce && a.coalesce !== '0' ? `ws_stream_coalesce ${a.coalesce};` : '')
      + (stats === 'off' ? ' ws_stream_stats off;' : '') });
  let pub = null, child = null, exited = false, loadRun = null;
  const res = { ...a };
  try {
    pub = await startPublisher(fixtureOf(size), srv.rtmpUrl('bench'));
    const published = Date.now();
    await waitPlayable('ws', srv.wsUrl('bench'));
    loadRun = runLoad({ mode: 'ws', url: srv.wsUrl('bench'), n: a.viewers,
      seconds: Math.ceil(a.viewers / rate) + 60 + warmup, warmup, rate,
      onSpawn: (c) => { child = c; c.once('exit', () => { exited = true; }); } })
      .catch((e) => ({ failed_run: e.message.split('\n')[0] }));
    res.connected = await waitConnected(srv.httpPort, a.viewers, () => exited);
    await sleep(warmup * 1000);
    res.publish_age_s = await untilAge(published, settle);
    res.memory = memoryOf(srv.workerPids(), parseSize(srv.zone));
    res.connected_after = establishedTo(srv.httpPort);
    log(`memory: ${a.label}: ${res.connected_after} connected, VmRSS `
      + `${res.memory.vm_rss_kb} kB, [heap] ${res.memory.heap_private_dirty_kb} kB`);
    if (child && !exited) child.kill('SIGTERM');
    await loadRun;
    res.server_bad_log = badLog(srv).slice(0, 5);
  } finally {
    if (child && !exited) child.kill('SIGKILL');
    if (loadRun) await loadRun;
    if (pub) await pub.stop();
    await srv.stop();
  }
  return res;
}

try {
  const done = [];
  for (const a of arms) done.push(await measure(a));
  const per = perViewer(done);
  if (v.json) process.stdout.write(`${JSON.stringify({ size, stats, rate, arms: done, per_viewer: per })}\n`);
  else {
    for (const p of per) {
      process.stdout.write(`${p.config}, ws_stream_stats ${stats}, ${size}, ${p.from} -> ${p.to} viewers, bytes per viewer: `
        + `VmRSS ${p.vm_rss_bytes.toFixed(0)}, private outside the zone `
        + `${p.private_outside_zone_bytes.toFixed(0)}, [heap] ${p.heap_bytes.toFixed(0)}, `
        + `zone resident ${p.zone_rss_bytes.toFixed(0)}\n`);
    }
    for (const a of done) if (a.server_bad_log?.length) log(`${a.label}: ${a.server_bad_log.join(' | ')}`);
  }
} finally {
  await stopAll();
}
