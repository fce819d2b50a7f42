// make bench: ngx_ws_stream side by side with node-media-server (WS-FLV),
// nginx-rtmp's RTMP play, nginx-rtmp's HLS and the floor of fan-out, on one
// machine, with one stamping publisher and one load client; and our LL-HLS
// (ws_stream_hls) against nginx-rtmp's HLS and our WebSocket. Prints one
// table per scenario and writes build/bench/results.{json,md};
// --update-docs also replaces the results section of docs/performance.md.
// Asserts nothing.
//
//   node bench/run.mjs [--quick] [--seconds 15] [--warmup 3]
//        [--viewers 1,100,1000,5000] [--sizes 720p,360p]
//        [--systems ours-1w,ours-2w,nms,rtmp,ours-hls,floor,floor-gather,
//                   ours-1w-c33,ours-1w-c100,ours-1w-c350]
//        [--hls-viewers 1000] [--coalesce-viewers 1000,5000]
//        [--big-viewers 10000] [--big-systems ours-2w,ours-2w-c100]
//        [--big-size 360p]
//        [--no-hls] [--no-g2g]
//        [--hls-seconds 60] [--g2g-seconds 60] [--g2g-size 720p]
//        [--threads 2] [--rate 1000] [--out DIR] [--update-docs]
//        [--no-stats] [--stats-viewers 1000] [--stats-pairs 4]
//        [--stats-workers 2] [--stats-size 720p] [--stats-seconds (--seconds)]
//        [--stats-scrape-viewers 1000,5000] [--stats-scrape-hz 10]
//        [--no-abr] [--abr-rates 300kbit,700kbit] [--abr-reps 2]
//        [--abr-lift 25] [--abr-after 25] [--abr-target 500]
//        [--abr-viewers 1000] [--abr-rounds 3] [--abr-workers 1]
//        [--abr-seconds (--seconds)]
//        [--no-sync] [--sync-seconds 60] [--sync-players 2,10]
//        [--sync-player-commit REV]
//        [--no-profile] [--profile-viewers 1000,5000]
//        [--floor-pairs 3] [--floor-pairs-viewers 1000]
//        [--floor-pairs-size 720p] [--floor-pairs-system ours-1w]
//        [--only runs,pairs,hls,g2g,stats,abr,sync,profile]
//
// The pairs section: --floor-pairs rounds of --floor-pairs-system and
// floor, one after the other, in turns (ours first in odd rounds, the floor
// first in even ones), and the median of the rounds' ratios: on two shared
// cores one 15 s window of each, minutes apart, mostly measures how busy
// the machine was. Not with --quick.
//
// ours-1w-cN: ws_stream_coalesce N ms, 720p only, in the scenarios whose
// viewer count is in --coalesce-viewers. The profile section
// (lib/profbench.mjs, also bench/profile.mjs): perf profiles of the workers
// (1 and 2 workers, and 1 with ws_stream_coalesce 100ms) and their memory
// per viewer between the counts of --profile-viewers. Not with --quick.
//
// The stats section (lib/statsbench.mjs): fan-out cost with ws_stream_stats
// on and off in alternating pairs of runs, and the time of GET /metrics and
// of the API with that many viewers connected. --only runs just the named
// sections (with --update-docs it is refused: the docs' results section is
// rewritten whole).
//
// The abr section (lib/abrbench.mjs): a rendition group's viewer behind a
// throttled link (tc in a network namespace: needs root) with ABR on and
// off, side by side, then the limit lifted: first move down, skips, time
// behind live, stalls of a fixed-latency playback model, recovery; and the
// server CPU per viewer-second of 1,000 fast viewers of the group with ABR
// on, off, and of the top rendition as a plain stream. About 7 minutes;
// --quick under one.
//
// The sync section (lib/syncbench.mjs, also bench/sync.mjs): players of one
// stream side by side in Chromium, on loopback and through a relay adding
// 30 +/- 15 ms server -> browser: the difference in presented frame between
// players, stalls and latency (ours, ours ?latency=400, mpegts.js on
// node-media-server), the player's clock offset error, zap time by a new
// connection and by switchStream(). About 12 minutes; output also in
// build/bench/sync/. Not with --quick.
//
// ours-hls (LL-HLS clients of the load client, --mode hls) runs only in the
// scenarios whose viewer count is in --hls-viewers.
//
// floor and floor-gather (lib/floorbench.mjs, bench/floor.c): the physical
// floor, what per-message delivery costs here with no protocol or ring
// logic. One process sends the fixture itself (no publisher, no RTMP),
// paced and stamped as the publisher does, each message framed once and
// written to every viewer: a write() per message per viewer (floor), a
// writev() per viewer per event-loop pass (floor-gather). The load client
// measures it in ws mode like ours; each table gets a line of ours / floor.
// Not in --quick's default systems (name them with --systems).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  REPO, BENCH_BUILD, NGINX, startNginx, startNms, startPublisher, stopAll,
  sleep, zoneResidentKb, parseSize,
} from './lib/servers.mjs';
import { runLoad, waitPlayable, badLog } from './lib/loadclient.mjs';
import { statsSection } from './lib/statsbench.mjs';
import { abrSection } from './lib/abrbench.mjs';
import { syncSection, syncMarkdown } from './lib/syncbench.mjs';
import { profileSection, planArms } from './lib/profbench.mjs';
import { hlsAnchor } from './hls-anchor.mjs';
import { renderMarkdown, renderMachine } from './lib/report.mjs';
import { startFloor, FLOOR_LABELS } from './lib/floorbench.mjs';

const argv = process.argv.slice(2);
const flag = (n) => argv.includes(`--${n}`);
const arg = (n, d) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : d;
};
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

const QUICK = flag('quick');
const only = arg('only') ? list(arg('only')) : null;
const section = (name) => !only || only.includes(name);
const opts = {
  seconds: Number(arg('seconds', QUICK ? 3 : 15)),
  warmup: Number(arg('warmup', QUICK ? 1 : 3)),
  viewers: list(arg('viewers', QUICK ? '20' : '1,100,1000,5000')).map(Number),
  sizes: list(arg('sizes', QUICK ? '360p' : '720p,360p')),
  systems: list(arg('systems', `ours-1w,ours-2w,nms,rtmp,ours-hls${
    QUICK ? '' : ',floor,floor-gather,ours-1w-c33,ours-1w-c100,ours-1w-c350'}`)),
  coalesceViewers: list(arg('coalesce-viewers', QUICK ? '20' : '1000,5000'))
    .map(Number),
  bigViewers: list(arg('big-viewers', QUICK ? '' : '10000')).map(Number),
  bigSystems: list(arg('big-systems', 'ours-2w,ours-2w-c100')),
  bigSize: arg('big-size', '360p'),
  profile: !flag('no-profile') && !QUICK && section('profile'),
  profileViewers: list(arg('profile-viewers', '1000,5000')).map(Number),
  hlsViewers: list(arg('hls-viewers', QUICK ? '20' : '1000')).map(Number),
  runs: section('runs'),
  floorPairs: !QUICK && section('pairs') ? Number(arg('floor-pairs', 3)) : 0,
  floorPairsViewers: Number(arg('floor-pairs-viewers', 1000)),
  floorPairsSize: arg('floor-pairs-size', '720p'),
  floorPairsSystem: arg('floor-pairs-system', 'ours-1w'),
  hls: !flag('no-hls') && section('hls'),
  g2g: !flag('no-g2g') && !QUICK && section('g2g'),
  stats: !flag('no-stats') && section('stats'),
  statsViewers: Number(arg('stats-viewers', QUICK ? 20 : 1000)),
  statsPairs: Number(arg('stats-pairs', QUICK ? 1 : 4)),
  statsWorkers: Number(arg('stats-workers', 2)),
  statsSize: arg('stats-size', QUICK ? '360p' : '720p'),
  statsSeconds: Number(arg('stats-seconds', arg('seconds', QUICK ? 2 : 15))),
  statsScrapeViewers: list(arg('stats-scrape-viewers', QUICK ? '20' : '1000,5000'))
    .map(Number),
  statsScrapeHz: Number(arg('stats-scrape-hz', 10)),
  abr: !flag('no-abr') && section('abr'),
  abrRates: list(arg('abr-rates', QUICK ? '300kbit' : '300kbit,700kbit')),
  abrReps: Number(arg('abr-reps', QUICK ? 1 : 2)),
  abrLift: Number(arg('abr-lift', QUICK ? 8 : 25)),
  abrAfter: Number(arg('abr-after', QUICK ? 6 : 25)),
  abrTarget: Number(arg('abr-target', 500)),
  abrViewers: Number(arg('abr-viewers', QUICK ? 20 : 1000)),
  abrRounds: Number(arg('abr-rounds', QUICK ? 1 : 3)),
  abrWorkers: Number(arg('abr-workers', 1)),
  abrSeconds: Number(arg('abr-seconds', arg('seconds', QUICK ? 3 : 15))),
  sync: !flag('no-sync') && !QUICK && section('sync'),
  syncSeconds: Number(arg('sync-seconds', 60)),
  syncPlayers: list(arg('sync-players', '2,10')).map(Number),
  syncPlayerCommit: arg('sync-player-commit', null),
  hlsSeconds: Number(arg('hls-seconds', QUICK ? 8 : 60)),
  g2gSeconds: Number(arg('g2g-seconds', 60)),
  g2gSize: arg('g2g-size', '720p'),
  threads: Number(arg('threads', 2)),
  rate: Number(arg('rate', 1000)),
  updateDocs: flag('update-docs'),
  out: arg('out', BENCH_BUILD),
};

const SYSTEMS = {
  'ours-1w': { label: 'ngx_ws_stream, 1 worker', mode: 'ws',
    start: () => startNginx({ workers: 1, tag: 'ours1' }) },
  'ours-2w': { label: 'ngx_ws_stream, 2 workers', mode: 'ws',
    start: () => startNginx({ workers: 2, tag: 'ours2' }) },
  nms: { label: 'node-media-server 4.4.3 WS-FLV', mode: 'flv',
    start: () => startNms() },
  rtmp: { label: 'nginx-rtmp RTMP play, 1 worker', mode: 'rtmp',
    start: () => startNginx({ workers: 1, wsStream: false, tag: 'rtmp' }) },
  'ours-hls': { label: 'ngx_ws_stream LL-HLS, 1 worker', mode: 'hls',
    start: () => startNginx({ workers: 1, llhls: true, tag: 'ourshls' }) },
  // ws_stream_coalesce: 720p only, at --coalesce-viewers
  ...Object.fromEntries([33, 100, 350].map((ms) => [`ours-1w-c${ms}`, {
    label: `ngx_ws_stream, 1 worker, coalesce ${ms} ms`, mode: 'ws', sizes: ['720p'],
    viewers: () => opts.coalesceViewers,
    start: () => startNginx({ workers: 1, tag: `ours1c${ms}`,
      wsConf: `ws_stream_coalesce ${ms}ms;` }) }])),
  'ours-2w-c100': { label: 'ngx_ws_stream, 2 workers, coalesce 100 ms', mode: 'ws',
    sizes: [], viewers: () => [],
    start: () => startNginx({ workers: 2, tag: 'ours2c100', wsConf: 'ws_stream_coalesce 100ms;' }) },
  // the floor sends the fixture itself: no publisher
  floor: { label: FLOOR_LABELS.each, mode: 'ws', floor: true,
    start: (size) => startFloor({ mode: 'each', fixture: fixture(size) }) },
  'floor-gather': { label: FLOOR_LABELS.gather, mode: 'ws', floor: true,
    start: (size) => startFloor({ mode: 'gather', fixture: fixture(size) }) },
};
for (const s of [...opts.systems, ...opts.bigSystems, opts.floorPairsSystem])
  if (!SYSTEMS[s]) throw new Error(`unknown system ${s}; known: ${Object.keys(SYSTEMS)}`);
for (const s of only ?? [])
  if (!['runs', 'pairs', 'hls', 'g2g', 'stats', 'abr', 'sync', 'profile'].includes(s))
    throw new Error(`unknown section ${s} in --only; known: runs, pairs, hls, g2g, stats, abr, sync, profile`);
if (only && opts.updateDocs)
  throw new Error('--update-docs rewrites every result in docs/performance.md: not with --only');

const fixture = (size) => {
  const f = path.join(BENCH_BUILD, `fixture-${size}.flv`);
  if (!fs.existsSync(f)) throw new Error(`${f} is missing: make bench-tools`);
  return f;
};

function viewUrl(sys, srv) {
  if (sys.mode === 'ws') return srv.wsUrl('bench');
  if (sys.mode === 'flv') return srv.flvUrl('bench');
  if (sys.mode === 'hls') return srv.llhlsUrl('bench');
  return srv.rtmpUrl('bench');
}

// One load-client run of a system; resolves with its JSON report.
const load = (sys, url, n, { seconds, warmup, pids = [] }) => runLoad({
  mode: sys.mode, url, n, seconds, warmup, pids, rate: opts.rate,
  threads: opts.threads });

async function scenario(key, size, n) {
  const sys = SYSTEMS[key];
  const srv = await sys.start(size);
  let pub, r;
  try {
    if (!sys.floor) pub = await startPublisher(fixture(size), srv.rtmpUrl('bench'));
    const url = viewUrl(sys, srv);
    await waitPlayable(sys.mode, url);
    r = await load(sys, url, n, { seconds: opts.seconds,
      warmup: opts.warmup, pids: srv.pids() });
    r.system = key;
    r.label = sys.label;
    r.size = size;
    r.asked = n;
    r.publisher_alive = sys.floor ? srv.alive() : pub.alive();
    if (srv.kind === 'nginx' && key !== 'rtmp') {
      const zb = parseSize(srv.zone);
      r.zone_kb = Math.max(...srv.workerPids().map((p) => zoneResidentKb(p, zb) ?? 0));
      r.zone_size_kb = zb / 1024;
    }
    r.server_bad_log = badLog(srv).slice(0, 5);
  } finally {
    if (pub) await pub.stop();
    const summary = await srv.stop();
    if (sys.floor && r) r.floor = summary;
  }
  return r;
}

// scenario() as a row: a run that throws is a row with failed_run
async function scenarioRow(key, size, n) {
  try {
    return await scenario(key, size, n);
  } catch (e) {
    process.stderr.write(`bench: ${key} failed: ${e.message}\n`);
    return { system: key, label: SYSTEMS[key].label, size, asked: n,
      failed_run: e.message.split('\n')[0] };
  }
}

// The pairs section: rounds of ours and the floor in turns (see the top)
async function floorPairs() {
  const key = opts.floorPairsSystem, size = opts.floorPairsSize;
  const n = opts.floorPairsViewers;
  const rounds = [];
  for (let i = 0; i < opts.floorPairs; i++) {
    const order = i % 2 ? ['floor', key] : [key, 'floor'];
    const got = {};
    for (const k of order) {
      process.stderr.write(`bench: pair ${i + 1}/${opts.floorPairs}: ${size} ${n} viewers ${k} ...\n`);
      got[k] = await scenarioRow(k, size, n);
    }
    rounds.push({ first: order[0], ours: got[key], floor: got.floor });
  }
  return { system: key, label: SYSTEMS[key].label, size, viewers: n, rounds };
}

// bench/hls-ll.mjs in its own process (its timings stay clear of the
// anchor's TS parsing): resolves with its JSON report
function llClient(url, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bench', 'hls-ll.mjs'),
      '--url', url, '--seconds', String(seconds), '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    const t = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      try { resolve(JSON.parse(out.trim().split('\n').pop())); } catch {
        reject(new Error(`hls-ll.mjs exited ${code ?? sig} without a report:\n${err}`));
      }
    });
  });
}

async function waitHttp(url) {
  for (let i = 0; i < 40; i++) {
    try { if ((await fetch(url)).ok) return; } catch { /* not yet */ }
    await sleep(250);
  }
  throw new Error(`${url} did not answer 200`);
}

// nginx-rtmp's HLS (the anchor) and our LL-HLS (hls-ll.mjs), each on its
// own nginx and publisher, over the same window
async function hlsRun(size) {
  const srv = await startNginx({ workers: 1, wsStream: false, hls: true, tag: 'hls' });
  const ours = await startNginx({ workers: 1, llhls: true, tag: 'llhls' });
  const pubs = [];
  try {
    pubs.push(await startPublisher(fixture(size), srv.rtmpUrl('bench')));
    pubs.push(await startPublisher(fixture(size), ours.rtmpUrl('bench')));
    await sleep(4000);
    await waitHttp(ours.llhlsUrl('bench'));
    const [r, ll] = await Promise.all([
      hlsAnchor(srv.hlsUrl('bench'), { seconds: opts.hlsSeconds }),
      llClient(ours.llhlsUrl('bench'), opts.hlsSeconds)
        .catch((e) => ({ failed_run: e.message })),
    ]);
    r.size = size;
    ll.size = size;
    ll.server_bad_log = badLog(ours).slice(0, 5);
    return [r, ll];
  } finally {
    for (const p of pubs) await p.stop();
    await ours.stop();
    await srv.stop();
  }
}

async function g2gRun(size) {
  const ours = await startNginx({ workers: 1, hls: true, llhls: true,
    tag: 'g2g' });
  const nms = await startNms({ tag: 'g2g-nms' });
  const pubs = [];
  try {
    pubs.push(await startPublisher(fixture(size), ours.rtmpUrl('bench')));
    pubs.push(await startPublisher(fixture(size), nms.rtmpUrl('bench')));
    await waitPlayable('ws', ours.wsUrl('bench'));
    await waitPlayable('flv', nms.flvUrl('bench'));
    await sleep(3000);              // a few HLS segments
    const args = [path.join(REPO, 'bench', 'g2g.mjs'),
      '--ours', ours.wsUrl('bench'), '--flv', nms.flvUrl('bench'),
      '--hls', ours.hlsUrl('bench'),
      '--hlsll', ours.llhlsUrl('bench', 'index.m3u8'),
      '--seconds', String(opts.g2gSeconds),
      '--json'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8',
      timeout: (opts.g2gSeconds * 4 + 240) * 1000, maxBuffer: 1 << 24 });
    process.stderr.write(r.stderr || '');
    const line = (r.stdout || '').trim().split('\n').pop();
    try { return { size, ...JSON.parse(line) }; } catch {
      throw new Error(`g2g.mjs gave no report (exit ${r.status}): ${(r.stderr || '').slice(-2000)}`);
    }
  } finally {
    for (const p of pubs) await p.stop();
    await nms.stop();
    await ours.stop();
  }
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  const nginxV = spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr.trim();
  return {
    date: new Date().toISOString(), nproc: os.cpus().length,
    cpu: cpu ? cpu[1] : 'unknown', mem_gib: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(), nginx: nginxV, node: process.version,
    command: `node bench/run.mjs ${argv.join(' ')}`.trim(),
  };
}

async function main() {
  const results = { machine: machine(), opts, runs: [], hls: [], llhls: [],
    g2g: null, stats: null, abr: null, sync: null, profile: null, pairs: null };
  console.log(renderMachine(results.machine, opts));
  // the scenarios, then --big-viewers of --big-systems at --big-size only
  const plan = (opts.runs ? opts.sizes : []).flatMap((size) => [
    ...opts.viewers.map((n) => [size, n, opts.systems]),
    ...(size === opts.bigSize ? opts.bigViewers.map((n) => [size, n, opts.bigSystems]) : [])]);
  for (const [size, n, systems] of plan) {
    {
      const rows = [];
      const big = systems === opts.bigSystems;
      for (const key of systems) {
        if (SYSTEMS[key].mode === 'hls' && !opts.hlsViewers.includes(n)) continue;
        if (!big && SYSTEMS[key].viewers && !SYSTEMS[key].viewers().includes(n)) continue;
        if (!big && SYSTEMS[key].sizes && !SYSTEMS[key].sizes.includes(size)) continue;
        process.stderr.write(`bench: ${size} ${n} viewers ${key} ...\n`);
        rows.push(await scenarioRow(key, size, n));
      }
      results.runs.push(...rows);
      console.log(renderMarkdown({ ...results, runs: rows, hls: [], llhls: [],
        g2g: null }, { only: 'runs' }));
    }
  }
  if (opts.floorPairs > 0) {
    results.pairs = await floorPairs();
    console.log(renderMarkdown(results, { only: 'pairs' }));
  }
  if (opts.hls) {
    for (const size of opts.sizes) {
      process.stderr.write(`bench: HLS anchor and LL-HLS ${size} ...\n`);
      try {
        const [anchor, ll] = await hlsRun(size);
        results.hls.push(anchor);
        results.llhls.push(ll);
      } catch (e) {
        results.hls.push({ size, failed_run: e.message });
        results.llhls.push({ size, failed_run: e.message });
      }
    }
    console.log(renderMarkdown(results, { only: 'hls' }));
  }
  if (opts.g2g) {
    process.stderr.write(`bench: glass-to-glass ${opts.g2gSize} ...\n`);
    try { results.g2g = await g2gRun(opts.g2gSize); } catch (e) {
      results.g2g = { failed_run: e.message };
    }
    console.log(renderMarkdown(results, { only: 'g2g' }));
  }
  if (opts.stats) {
    results.stats = await statsSection({ size: opts.statsSize,
      fixture: fixture(opts.statsSize), viewers: opts.statsViewers,
      scrapeViewers: opts.statsScrapeViewers, workers: opts.statsWorkers,
      pairs: opts.statsPairs, seconds: opts.statsSeconds, warmup: opts.warmup,
      rate: opts.rate, threads: opts.threads, reportMs: 1000,
      scrapeHz: opts.statsScrapeHz,
      log: (m) => process.stderr.write(`${m}\n`) });
    console.log(renderMarkdown(results, { only: 'stats' }));
  }
  if (opts.abr) {
    results.abr = await abrSection({ rates: opts.abrRates, reps: opts.abrReps,
      lift: opts.abrLift, after: opts.abrAfter, burst: '3kb',
      target: opts.abrTarget, viewers: opts.abrViewers, workers: opts.abrWorkers,
      rounds: opts.abrRounds, seconds: opts.abrSeconds, warmup: opts.warmup,
      rate: opts.rate, threads: opts.threads,
      log: (m) => process.stderr.write(`${m}\n`) });
    console.log(renderMarkdown(results, { only: 'abr' }));
  }
  if (opts.profile) {
    try {
      results.profile = await profileSection({
        arms: planArms([{ workers: 1, coalesce: '0' }, { workers: 2, coalesce: '0' },
          { workers: 1, coalesce: '100ms' }], opts.profileViewers),
        rate: opts.rate, threads: opts.threads, out: path.join(opts.out, 'profile'),
        log: (m) => process.stderr.write(`${m}\n`) });
      console.log(results.profile.markdown);
    } catch (e) {
      results.profile = { failed_run: e.message };
      process.stderr.write(`bench: profile failed: ${e.message}\n`);
    }
  }
  if (opts.sync) {
    try {
      results.sync = await syncSection({ seconds: opts.syncSeconds, players: opts.syncPlayers,
        player: { commit: opts.syncPlayerCommit }, out: path.join(opts.out, 'sync'),
        log: (m) => process.stderr.write(`${m}\n`) });
      console.log(syncMarkdown(results.sync));
    } catch (e) {
      results.sync = { failed_run: e.message };
      process.stderr.write(`bench: sync failed: ${e.message}\n`);
    }
  }
  await fsp.mkdir(opts.out, { recursive: true });
  await fsp.writeFile(path.join(opts.out, 'results.json'),
    JSON.stringify(results, null, 1));
  const md = renderMarkdown(results);
  await fsp.writeFile(path.join(opts.out, 'results.md'), md);
  console.log(`bench: results in ${path.join(opts.out, 'results.{json,md}')}`);
  if (opts.updateDocs) {
    const doc = path.join(REPO, 'docs', 'performance.md');
    const text = await fsp.readFile(doc, 'utf8');
    const a = '<!-- results:start -->', b = '<!-- results:end -->';
    const i = text.indexOf(a), j = text.indexOf(b);
    if (i < 0 || j < i) throw new Error(`${doc} has no ${a} ... ${b} section`);
    await fsp.writeFile(doc, text.slice(0, i + a.length) + '\n'
      + renderMachine(results.machine, opts) + '\n' + md + text.slice(j));
    console.log(`bench: ${doc} updated`);
  }
}

try {
  await main();
} finally {
  await stopAll();
}
