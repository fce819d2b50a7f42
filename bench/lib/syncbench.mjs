// The sync section of make bench (bench/sync.mjs runs it alone): players of
// one stream side by side in one headless Chromium page (bench/sync/), every
// presented frame identified by the fixture's barcode, the players compared
// at the same moments (t/lib/sync_frames.mjs), on loopback and through a
// relay that delays the server -> browser direction (t/lib/relay.mjs).
//
// Arms (each on the 360p fixture from the stamping publisher, measured for
// `seconds` after every player presented frames and `settle` more seconds):
//   drift    ours with 2 and with 10 players, loopback and relay; mpegts.js on
//            node-media-server, 2 players, loopback and relay (size 180p: a
//            320x180 fixture scaled from the 360p one, for many players)
//   jitter   ours with ?latency=400 (the page's own target), 2 players, relay
//   per arm: the difference in presented frame between every two players at
//            every moment (median / p95 / max, frames and ms), the spread
//            (newest - oldest shown) per moment, stalls ('waiting' events) and
//            freezes (> 150 ms without a new frame) per player-minute, dropped
//            frames, glass-to-glass latency (stamp SEI, as bench/g2g), and for
//            ours the clock offset error: player.loader.offset against the truth
//            (the page's Date.now() - (timeOrigin + performance.now()): server
//            and browser share this machine's clock), with loader.clockError
//            (the player's own bound) when the player has one
//   zap      one player; live/bench (360p) and live/other (720p): from asking
//            for the other stream to its first presented frame (the first frame
//            of the other width), by a new player on a new connection and by
//            player.switchStream() on the open one (the server's
//            `ws_stream_switch on;`); "not available" when the player has no
//            switchStream, the server does not offer it, or it reconnected
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, BENCH_BUILD, startNginx, startNms, startPublisher, sleep } from './servers.mjs';
import { waitPlayable } from './loadclient.mjs';
import { quantile } from './stats.mjs';
import { startRelay } from '../../t/lib/relay.mjs';
import { compare, freezes, summarize, FRAME_MS } from '../../t/lib/sync_frames.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../../t/lib/browser.mjs';

// mpegts.js as bench/g2g.mjs sets it up (its MPEGTS_CONFIG: g2g.mjs runs when imported)
const MPEGTS = { enableStashBuffer: false, liveBufferLatencyChasing: true, liveBufferLatencyMaxLatency: 0.5,
  liveBufferLatencyMinRemain: 0.15, liveSync: true, liveSyncMaxLatency: 0.25, liveSyncTargetLatency: 0.12,
  liveSyncPlaybackRate: 1.2 };
const round1 = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const STATIC = 'types { text/html html; text/javascript js mjs; application/json map; }';

// the player served to the page: the working tree's player/, another directory, or a commit's
export function playerRoot({ root = null, commit = null, out }) {
  if (root) return { dir: path.resolve(root), label: root };
  if (!commit) {
    const head = spawnSync('git', ['-C', REPO, 'log', '-1', '--format=%h', '--', 'player'], { encoding: 'utf8' }).stdout.trim();
    const dirty = spawnSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'player'], { encoding: 'utf8' }).stdout.trim();
    return { dir: path.join(REPO, 'player'), label: `player/ at ${head}${dirty ? ' with uncommitted changes' : ''}` };
  }
  const dir = path.join(out, `player-${commit}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('sh', ['-c', `git -C '${REPO}' archive '${commit}' player | tar -x -C '${dir}'`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git archive ${commit} player: ${r.stderr}`);
  return { dir: path.join(dir, 'player'), label: `player/ of ${commit}` };
}

// the static locations of the page (our nginx serves it, for every arm)
const pageLocs = (player) => [
  ['/sync/', path.join(REPO, 'bench/sync')], ['/player/', player], ['/lib/', path.join(REPO, 'bench/lib')],
  ['/g2g/', path.join(REPO, 'bench/g2g')], ['/mpegts/', path.join(REPO, 'node_modules/mpegts.js/dist')],
].map(([at, dir]) => `location ${at} { ${STATIC} alias ${dir}/; add_header Cache-Control no-store; }`).join('\n        ');

// CPU time (ms) of a process and all its descendants, from /proc
function treeCpuMs(root) {
  const kids = new Map();
  const stat = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const text = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');   // state ppid ... utime(11) stime(12)
      const ppid = Number(f[1]);
      stat.set(Number(d), (Number(f[11]) + Number(f[12])) * 10);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch { /* gone */ }
  }
  let ms = 0;
  const todo = [root];
  for (let i = 0; i < todo.length && i < 10000; i++) {
    ms += stat.get(todo[i]) || 0;
    todo.push(...(kids.get(todo[i]) || []));
  }
  return ms;
}

// the machine's busy CPU time (ms, all CPUs), from /proc/stat
function machineBusyMs() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) * 10;
}

async function openSync(browser, base, q) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text().slice(0, 300)); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('crash', () => errors.push('page crashed'));
  await page.goto(`${base}/sync/index.html?${new URLSearchParams(q)}`, { waitUntil: 'load', timeout: 20000 });
  return { context, page, errors };
}

async function until(page, fn, arg, ms, what) {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100000 && Date.now() < deadline; i++) {
    if (await page.evaluate(fn, arg)) return;
    await sleep(200);
  }
  const seen = await page.evaluate(() => ({ errors: window.__sync.errors,
    players: window.__sync.dump(Infinity).map((p) => [p.state, p.sockets, p.decoded, p.bad, p.errors]),
    frames: window.__sync.players.map((p) => p.frames.length) })).catch((e) => e.message);
  throw new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(seen).slice(0, 1500)}`);
}

// one drift / jitter arm: n players of `url` for `seconds`
async function arm(browser, base, { kind, url, n, cfg, seconds, settle, label, link, browserPid }) {
  const { context, page, errors } = await openSync(browser, base, { player: kind, url, n: String(n), cfg: JSON.stringify(cfg), stamps: '1' });
  try {
    await until(page, (k) => window.__sync.ready && window.__sync.players.length === k &&
      window.__sync.players.every((p) => p.frames.length > 30), n, 40000, `${n} players presenting frames`);
    await sleep(settle * 1000);
    const from = await page.evaluate(() => performance.now());
    const before = await page.evaluate(() => window.__sync.dump(Infinity));
    const cpu0 = [treeCpuMs(browserPid), machineBusyMs(), performance.now()];
    const clock = [];
    for (let s = 0; s < seconds; s++) {
      await sleep(1000);
      if (kind === 'ours') clock.push(...(await page.evaluate(() => window.__sync.clock())));
    }
    const to = await page.evaluate(() => performance.now());
    const wall = performance.now() - cpu0[2];
    const cpu = { browserPct: round1((treeCpuMs(browserPid) - cpu0[0]) / wall * 100),
      machinePct: round1((machineBusyMs() - cpu0[1]) / wall * 100) };   // % of one CPU (2 here: 200)
    const d = await page.evaluate((f) => window.__sync.dump(f), from);
    const pageErrors = await page.evaluate(() => window.__sync.errors);
    const c = compare(d.map((p) => p.frames), { from, to });
    const minutes = (to - from) / 60000;
    const lat = d.flatMap((p) => p.frames.map((f) => f[2]).filter((x) => x !== null));
    const perMin = (xs) => round1(xs.reduce((a, b) => a + b, 0) / (n * minutes));
    const clockErr = clock.filter((x) => x.offset !== null).map((x) => Math.abs(x.offset - x.truth));
    const said = clock.filter((x) => x.clockError !== null).map((x) => x.clockError);
    return {
      label, kind, link, players: n, cfg, seconds: round1((to - from) / 1000),
      moments: c.moments, skipped: c.skipped,
      diffFrames: c.pairs, diffMs: scale(c.pairs, FRAME_MS), spreadFrames: c.spread, worst: c.worst,
      stallsPerMin: perMin(d.map((p) => p.waiting.length)),
      freezesPerMin: perMin(d.map((p) => freezes(p.frames, { from, to }).length)),
      playerStalls: kind === 'ours' ? d.map((p, k) => p.stalls - before[k].stalls) : null,
      dropped: d.map((p, k) => p.dropped - before[k].dropped),
      decoded: d.map((p, k) => p.decoded - before[k].decoded),
      frames: d.map((p) => p.frames.length), badReads: d.map((p, k) => p.bad - before[k].bad),
      latencyMs: { p50: round1(quantile(lat, 0.5)), p95: round1(quantile(lat, 0.95)), max: round1(lat.length ? lat.reduce((a, b) => Math.max(a, b)) : NaN), count: lat.length },
      latencyTarget: d[0].latencyTarget,
      clockErrorMs: kind === 'ours' ? scale(summarize(clockErr), 1) : null,
      clockErrorSaidMs: said.length ? scale(summarize(said), 1) : null,
      sockets: d.map((p) => p.sockets), cpu,
      errors: [...pageErrors, ...d.flatMap((p) => p.errors), ...errors].slice(0, 10),
    };
  } finally {
    await context.close().catch(() => {});
  }
}

function scale(s, k) {
  const r = { count: s.count };
  for (const q of ['p50', 'p95', 'max']) r[q] = s[q] === null ? null : round1(s[q] * k);
  return r;
}

// zaps of one player between live/bench (360p) and live/other (720p), `times` each way per method
async function zaps(browser, base, { url, times, link }) {
  const out = [];
  for (const how of ['reconnect', 'switch']) {
    const { context, page } = await openSync(browser, base, { player: 'ours', url, n: '1', stamps: '0' });
    const runs = [];
    try {
      await until(page, () => window.__sync.ready && window.__sync.players[0].frames.length > 30, null, 40000, 'the player presenting frames');
      await sleep(3000);
      for (let i = 0; i < 2 * times; i++) {
        const to = i % 2 === 0 ? 'live/other' : 'live/bench';
        const z0 = await page.evaluate(([t, h]) => window.__sync.zap(0, t, h), [to, how]);
        if (z0.unavailable) { runs.push({ to, unavailable: z0.unavailable }); break; }
        let z = z0;
        const deadline = Date.now() + 10000;
        while (Date.now() < deadline) {
          await sleep(100);
          z = await page.evaluate(() => window.__sync.zaps.at(-1));
          if (z.t1 !== null || z.unavailable) break;
        }
        const reconnected = how === 'switch' && z.socketsAfter !== null && z.socketsAfter > z.socketsBefore;
        runs.push({ to, ms: z.t1 === null ? null : round1(z.t1 - z.t0), canSwitch: z.canSwitch ?? null,
          player: z.player || null, reconnected, unavailable: z.unavailable });
        if (how === 'switch' && (z.canSwitch === false || reconnected || z.unavailable)) break;
        await sleep(2500);     // plays a while before the next zap
      }
    } finally {
      await context.close().catch(() => {});
    }
    const ok = runs.filter((r) => r.ms !== null && !r.unavailable && !r.reconnected && r.canSwitch !== false);
    const why = runs.find((r) => r.unavailable)?.unavailable ||
      (runs.some((r) => r.canSwitch === false) ? "the server's hello does not offer switch" : null) ||
      (runs.some((r) => r.reconnected) ? 'the player reconnected instead' : null);
    const ms = ok.map((r) => r.ms);
    out.push({ how, link, available: how === 'reconnect' || (!why && ok.length > 0), why, zaps: runs.length, ok: ok.length,
      p50: round1(quantile(ms, 0.5)), max: round1(ms.length ? Math.max(...ms) : NaN), runs });
  }
  return out;
}

// a 320x180 fixture scaled from the 360p one (barcode and all), for many players on few CPUs
function smallFixture(out) {
  const file = path.join(BENCH_BUILD, 'fixture-180p.flv');
  if (fs.existsSync(file)) return file;
  const r = spawnSync(process.env.FFMPEG || 'ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
    '-i', path.join(BENCH_BUILD, 'fixture-360p.flv'), '-vf', 'scale=320:180', '-c:v', 'libx264', '-profile:v', 'high',
    '-preset', 'medium', '-bf', '0', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-b:v', '300k',
    '-maxrate', '300k', '-bufsize', '300k', '-c:a', 'copy', '-f', 'flv', `${file}.tmp`], { encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) throw new Error(`ffmpeg (the 180p fixture): ${r.stderr}`);
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

export async function syncSection({ seconds = 60, settle = 10, players = [2, 10], delay = 30, jitter = 15, size = '360p',
  zapTimes = 5, player = {}, kinds = ['ours', 'mpegts'], out = path.join(BENCH_BUILD, 'sync'), arms = ['drift', 'jitter', 'zap'],
  log = () => {} } = {}) {
  await fsp.mkdir(out, { recursive: true });
  const fixture = (size) => path.join(BENCH_BUILD, `fixture-${size}.flv`);
  for (const s of ['360p', '720p']) if (!fs.existsSync(fixture(s))) throw new Error(`${fixture(s)} is missing: make bench-tools`);
  out = path.resolve(out);
  const root = playerRoot({ ...player, out });
  log(`sync: player ${root.label}`);
  const result = { player: root.label, seconds, settle, relay: { delay, jitter, direction: 'down' }, arms: [], zaps: [], server: {} };
  let ours, nms = null;
  const pubs = [], relays = [];
  const { chromium } = await import('playwright-core');
  let browser;
  try {
    // ws_stream_switch: a module without it does not start; then without, and zaps by switch say so
    try {
      ours = await startNginx({ workers: 1, tag: 'sync', wsConf: 'ws_stream_switch on;', locs: pageLocs(root.dir) });
      result.server.switch = 'ws_stream_switch on';
    } catch (e) {
      ours = await startNginx({ workers: 1, tag: 'sync', locs: pageLocs(root.dir) });
      result.server.switch = `not available: ${e.message.split('\n').find((l) => /emerg/.test(l)) || e.message.split('\n')[0]}`;
    }
    const main = size === '180p' ? smallFixture(out) : fixture('360p');
    result.size = size;
    pubs.push(await startPublisher(main, ours.rtmpUrl('bench')));
    pubs.push(await startPublisher(fixture('720p'), ours.rtmpUrl('other')));
    await waitPlayable('ws', ours.wsUrl('bench'));
    await waitPlayable('ws', ours.wsUrl('other'));
    if (arms.includes('drift') && kinds.includes('mpegts')) {
      nms = await startNms({ tag: 'sync-nms' });
      pubs.push(await startPublisher(main, nms.rtmpUrl('bench')));
      await waitPlayable('flv', nms.flvUrl('bench'));
    }
    const relayTo = async (port) => {
      const r = await startRelay({ port, delay, jitter, direction: 'down', lifetime: 30 * 60000 });
      relays.push(r);
      return r;
    };
    const viaRelay = (u, r) => u.replace(/:\d+\//, `:${r.port}/`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
    result.chromium = browser.version();
    const base = `http://127.0.0.1:${ours.httpPort}`;
    const plan = [];
    const linkName = `relay ${delay} +/- ${jitter} ms`;
    if (arms.includes('drift')) {
      for (const link of ['loopback', linkName]) {
        for (const n of players) plan.push({ kind: 'ours', n, cfg: {}, link, label: `ours, ${n} players` });
        if (kinds.includes('mpegts')) plan.push({ kind: 'mpegts', n: 2, cfg: MPEGTS, link, label: 'mpegts.js on node-media-server, 2 players' });
      }
    }
    if (arms.includes('jitter'))
      plan.push({ kind: 'ours', n: 2, cfg: { latency: 400 }, link: linkName, label: 'ours latency=400, 2 players' });
    for (const a of plan) {
      const direct = a.kind === 'ours' ? ours.wsUrl('bench') : nms.flvUrl('bench');
      let relay = null, url = direct;
      if (a.link !== 'loopback') {
        relay = await relayTo(a.kind === 'ours' ? ours.httpPort : nms.httpPort);
        url = viaRelay(direct, relay);
      }
      log(`sync: ${a.label}, ${a.link}, ${seconds} s ...`);
      try {
        const r = await arm(browser, base, { kind: a.kind, url, n: a.n, cfg: a.cfg, seconds, settle, label: a.label, link: a.link,
          browserPid: browser.process ? browser.process().pid : 0 });
        if (relay) r.relayStats = { ...relay.stats };
        result.arms.push(r);
        log(`sync:   ${rowText(r)}`);
      } catch (e) {
        result.arms.push({ label: a.label, link: a.link, players: a.n, failed_run: e.message });
        log(`sync:   failed: ${e.message}`);
      }
      if (relay) await relay.stop();
    }
    if (arms.includes('zap')) {
      for (const link of ['loopback', linkName]) {
        let url = ours.wsUrl('bench'), relay = null;
        if (link !== 'loopback') { relay = await relayTo(ours.httpPort); url = viaRelay(url, relay); }
        log(`sync: zaps, ${link} ...`);
        try { result.zaps.push(...(await zaps(browser, base, { url, times: zapTimes, link }))); } catch (e) {
          result.zaps.push({ how: 'both', link, failed_run: e.message });
        }
        if (relay) await relay.stop();
      }
    }
  } finally {
    if (browser) await Promise.race([browser.close(), sleep(10000)]).catch(() => {});
    for (const r of relays) await r.stop();
    for (const p of pubs) await p.stop();
    if (nms) await nms.stop();
    if (ours) await ours.stop();
  }
  await fsp.writeFile(path.join(out, 'results.json'), JSON.stringify(result, null, 1));
  const md = syncMarkdown(result);
  await fsp.writeFile(path.join(out, 'results.md'), md);
  return result;
}

const f3 = (s, k = 'p50') => (s && s[k] !== null && s[k] !== undefined ? String(s[k]) : '-');
const triple = (s) => (s ? `${f3(s, 'p50')} / ${f3(s, 'p95')} / ${f3(s, 'max')}` : '-');

function rowText(r) {
  return `diff ${triple(r.diffFrames)} frames (${triple(r.diffMs)} ms), stalls ${r.stallsPerMin}/min, ` +
    `latency ${r.latencyMs.p50} ms, clock error ${triple(r.clockErrorMs)} ms, CPU browser ${r.cpu.browserPct} % machine ${r.cpu.machinePct} %`;
}

export function syncMarkdown(r) {
  const lines = [`Player: ${r.player}; fixture ${r.size}; Chromium ${r.chromium ?? '?'}; ${r.seconds} s per arm after ${r.settle} s; ` +
    `relay: server -> browser + ${r.relay.delay} +/- ${r.relay.jitter} ms, in order; server: ${r.server.switch}`, '',
  '| arm | link | frame difference p50 / p95 / max (frames) | (ms) | spread p95 / max (frames) | stalls per player-min | freezes > 150 ms per player-min | dropped | latency p50 / p95 ms | clock offset error p50 / p95 / max ms | clockError said p50 ms | CPU % browser / machine |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const a of r.arms) {
    if (a.failed_run) { lines.push(`| ${a.label} | ${a.link} | failed: ${a.failed_run.split('\n')[0]} | | | | | | | | | |`); continue; }
    lines.push(`| ${a.label} | ${a.link} | ${triple(a.diffFrames)} | ${triple(a.diffMs)} | ${f3(a.spreadFrames, 'p95')} / ${f3(a.spreadFrames, 'max')} | ` +
      `${a.stallsPerMin} | ${a.freezesPerMin} | ${a.dropped.reduce((x, y) => x + y, 0)} | ${a.latencyMs.p50} / ${a.latencyMs.p95} | ` +
      `${a.clockErrorMs ? triple(a.clockErrorMs) : '-'} | ${a.clockErrorSaidMs ? f3(a.clockErrorSaidMs) : 'n/a'} | ${a.cpu.browserPct} / ${a.cpu.machinePct} |`);
  }
  if (r.zaps.length) {
    lines.push('', '| zap | link | zaps | time to the first frame of the other stream p50 / max ms |', '| --- | --- | --- | --- |');
    for (const z of r.zaps) {
      const what = z.how === 'reconnect' ? 'a new player, a new connection' : 'switchStream() on the open connection';
      if (z.failed_run) lines.push(`| ${z.how} | ${z.link} | - | failed: ${z.failed_run.split('\n')[0]} |`);
      else if (!z.available) lines.push(`| ${what} | ${z.link} | - | not available (${z.why}) |`);
      else lines.push(`| ${what} | ${z.link} | ${z.ok} | ${z.p50} / ${z.max} |`);
    }
  }
  return lines.join('\n') + '\n';
}
