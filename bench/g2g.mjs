// Glass-to-glass latency of browser players in headless Chromium.
//
//   node bench/g2g.mjs [--ours WSURL] [--flv WSURL] [--hls M3U8URL]
//       [--hlsll M3U8URL] [--seconds 60] [--json] [--port 0]
//       [--ours-config JSON] [--mpegts-config JSON] [--hls-config JSON]
//       [--hlsll-config JSON]
//       [--trace FILE]   (per-frame [ms since first frame, latency ms, index] per player, JSON)
//
// Needs a stamping publisher (build/bench/ws-stream-pub with a fixture: a
// barcode with the frame index in every picture and a stamp SEI with the
// publisher's wall clock in every video frame) on the servers behind the
// URLs; starts no server itself. The given players run one after another
// (ours, mpegts.js, hls.js, hls.js on our LL-HLS), each in a fresh browser
// context of one headless
// Chromium (/usr/bin/chromium via playwright-core, flags of t/lib/browser.mjs).
//
// Per player, for --seconds after its first presented frame: every presented
// frame (requestVideoFrameCallback) is identified by its barcode, and its
// stamp is taken from the data the player received (read in the page, see
// bench/g2g/g2g.js); latency = presentation (expectedDisplayTime, wall clock)
// - publisher send time. Human table on stderr; --json: one JSON line on
// stdout. Exit status 1 if a player produced no measured frame.
//
// Player settings (each player's best documented live settings, tuned on
// loopback with the 360p fixture to the lowest latency that plays without
// stalls; override with --*-config, merged over these):
//   ours      defaults (latency target 200 ms, docs/player.md)
//   mpegts.js 1.8.2  createPlayer({type:'flv', isLive:true, hasAudio:true,
//             hasVideo:true}) with MPEGTS_CONFIG below (enableWorker stays
//             false: the WebSocket must live in the page to be observed)
//   hls.js 1.7.4  default config + HLS_CONFIG below (nginx-rtmp HLS is not
//             LL-HLS; lowLatencyMode only matters for LL-HLS playlists)
//   hlsll     hls.js 1.7.4 on ngx_ws_stream's LL-HLS (--hlsll: index.m3u8
//             or media.m3u8 of a ws_stream_hls location), default config +
//             HLSLL_CONFIG below. Stamps: hls.js's FRAG_PARSING_USERDATA
//             (its fMP4 demuxer reads SEI NAL units of video samples too),
//             and, to check it, the SEI read in the page from every loaded
//             part (FRAG_LOADED payload, walked with bench/lib/fmp4.mjs);
//             the report says how many stamps each source gave
import { quantile, slope } from './lib/stats.mjs';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS } from '../t/lib/browser.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const OURS_CONFIG = {};
export const MPEGTS_CONFIG = {
  enableStashBuffer: false,
  liveBufferLatencyChasing: true,  // seek when buffered end - currentTime > MaxLatency
  liveBufferLatencyMaxLatency: 0.5,
  liveBufferLatencyMinRemain: 0.15, // ... to buffered end - MinRemain
  liveSync: true,                   // playbackRate SyncPlaybackRate above SyncMaxLatency,
  liveSyncMaxLatency: 0.25,         // back to 1 at SyncTargetLatency (seconds of buffer)
  liveSyncTargetLatency: 0.12,
  liveSyncPlaybackRate: 1.2,        // the default
};
// Tuning (60 s runs, 360p, loopback): 0.4/0.1/0.15/0.08 -> 4 stalls, 36 dropped;
// 0.3/0.05/0.1/0.04 -> 2 stalls in 30 s; the values above: median 92 ms,
// one 'waiting' right after the startup chase seek, none while playing.
export const HLS_CONFIG = {
  lowLatencyMode: true,
  liveSyncDurationCount: 2, // 1 stalls (3 in 30 s) with nginx-rtmp's 1 s fragments; default 3
};
// LL-HLS: hls.js then plays PART-HOLD-BACK (3 part targets) behind the
// live edge and loads parts, with blocking playlist reloads
export const HLSLL_CONFIG = {
  lowLatencyMode: true,
};

const USAGE = `usage: node bench/g2g.mjs [--ours WSURL] [--flv WSURL] [--hls M3U8URL] [--hlsll M3U8URL]
    [--seconds 60] [--json] [--port 0] [--ours-config JSON] [--mpegts-config JSON] [--hls-config JSON]
    [--hlsll-config JSON] [--trace FILE]`;

function parseArgs(argv) {
  const o = { seconds: 60, json: false, port: 0, oursConfig: {}, mpegtsConfig: {}, hlsConfig: {},
    hlsllConfig: {}, trace: null };
  const names = { '--ours': 'ours', '--flv': 'flv', '--hls': 'hls', '--hlsll': 'hlsll', '--seconds': 'seconds',
    '--port': 'port', '--trace': 'trace', '--ours-config': 'oursConfig', '--mpegts-config': 'mpegtsConfig',
    '--hls-config': 'hlsConfig', '--hlsll-config': 'hlsllConfig' };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i], v;
    if (a === '--json') { o.json = true; continue; }
    if (a === '-h' || a === '--help') { console.error(USAGE); process.exit(0); }
    const eq = a.indexOf('=');
    if (eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    const key = names[a];
    if (!key) throw new Error(`unknown argument ${a}\n${USAGE}`);
    if (v === undefined) {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      v = argv[++i];
    }
    o[key] = key.endsWith('Config') ? JSON.parse(v) : v;
  }
  o.seconds = Number(o.seconds);
  o.port = Number(o.port);
  if (!(o.seconds > 0) || !Number.isInteger(o.port)) throw new Error(USAGE);
  if (!o.ours && !o.flv && !o.hls && !o.hlsll)
    throw new Error(`give at least one of --ours, --flv, --hls, --hlsll\n${USAGE}`);
  return o;
}

// --- static file server for the page, the players and bench/lib ------------
const ROOTS = {
  '/g2g/': path.join(REPO, 'bench/g2g'),
  '/player/': path.join(REPO, 'player'),
  '/mpegts/': path.join(REPO, 'node_modules/mpegts.js/dist'),
  '/hlsjs/': path.join(REPO, 'node_modules/hls.js/dist'),
  '/lib/': path.join(REPO, 'bench/lib'),
};
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.map': 'application/json', '.css': 'text/css' };

function serve(port) {
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const prefix = Object.keys(ROOTS).find((r) => p.startsWith(r));
    const file = prefix && path.join(ROOTS[prefix], p.slice(prefix.length));
    if (!file || !file.startsWith(ROOTS[prefix] + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
      'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

// --- statistics ---------------------------------------------------------------
const round1 = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(browser, base, kind, url, cfg, seconds) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const errors = [];
  try {
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('crash', () => errors.push('page crashed'));
    const q = new URLSearchParams({ player: kind, url, cfg: JSON.stringify(cfg), seconds: String(seconds) });
    await page.goto(`${base}/g2g/index.html?${q}`, { waitUntil: 'load', timeout: 20000 });
    // first frame (bounded), then the measuring window, then a margin
    let deadline = Date.now() + 30000;
    let firstFrame = null;
    while (Date.now() < deadline && firstFrame === null) {
      firstFrame = await page.evaluate(() => window.__g2g.firstFrame);
      if (firstFrame === null) await sleep(100);
    }
    if (firstFrame !== null) {
      await sleep(seconds * 1000);
      deadline = Date.now() + 15000;
      while (Date.now() < deadline && !(await page.evaluate(() => window.__g2g.done))) await sleep(200);
    }
    const g = await page.evaluate(() => {
      const g = window.__g2g;
      if (!g.done && g.firstFrame !== null) {
        const q = document.getElementById('video').getVideoPlaybackQuality();
        g.q1 = { total: q.totalVideoFrames, dropped: q.droppedVideoFrames };
      }
      return g;
    });
    return summarize(kind, g, errors);
  } finally {
    await context.close().catch(() => {});
  }
}

function summarize(kind, g, errors) {
  const lat = g.frames.map((f) => f[1]);
  const r = {
    player: kind,
    firstFrameMs: round1(g.firstFrame),
    frames: g.frames.length,
    badReads: g.bad,
    noStamp: g.noStamp + g.stale,
    medianMs: round1(quantile(lat, 0.5)),
    p95Ms: round1(quantile(lat, 0.95)),
    maxMs: round1(lat.length ? Math.max(...lat) : NaN),
    minMs: round1(lat.length ? Math.min(...lat) : NaN),
    driftMsPerMin: round1(slope(g.frames.map((f) => [f[0] / 1000, f[1]]))),
    stalls: g.waiting.length,           // 'waiting' events (a player's own seek can cause one)
    seeks: g.seeks,                     // 'seeking' events (latency chasing jumps)
    droppedFrames: g.q0 && g.q1 ? g.q1.dropped - g.q0.dropped : null,
    decodedFrames: g.q0 && g.q1 ? g.q1.total - g.q0.total : null,
    // diagnostics
    arrivalMedianMs: round1(quantile(g.recv, 0.5)), // stamp seen in the page - publisher send
    missedCallbacks: g.missedCallbacks,
    indexMismatch: g.mismatch,
    stamps: g.stamps,
    complete: g.done,
    config: g.cfg,
    errors: [...g.errors, ...errors].slice(0, 20),
  };
  if (g.playerInfo) r.playerInfo = g.playerInfo;
  if (g.stampSources) {
    r.stampSources = g.stampSources;  // stamps per source (hls.js modes)
    const src = Object.entries(g.stampSources).filter(([, n]) => n > 0).map(([k]) => k);
    r.stampSource = src.join(' + ') || 'none';
  }
  Object.defineProperty(r, 'trace', { value: g.frames.map((f) => f.map((x) => Math.round(x * 10) / 10)) });
  return r;
}

function table(results, seconds) {
  const cols = [
    ['player', (r) => r.player],
    ['first frame', (r) => ms(r.firstFrameMs)],
    ['frames', (r) => String(r.frames)],
    ['bad reads', (r) => String(r.badReads)],
    ['median', (r) => ms(r.medianMs)],
    ['p95', (r) => ms(r.p95Ms)],
    ['max', (r) => ms(r.maxMs)],
    ['drift', (r) => (r.driftMsPerMin === null ? 'n/a' : `${r.driftMsPerMin >= 0 ? '+' : ''}${r.driftMsPerMin} ms/min`)],
    ['stalls', (r) => String(r.stalls)],
    ['seeks', (r) => String(r.seeks)],
    ['dropped', (r) => String(r.droppedFrames ?? 'n/a')],
    ['arrival', (r) => (r.arrivalMedianMs === null ? 'n/a' : `${r.arrivalMedianMs} ms`)],
  ];
  const rows = [cols.map((c) => c[0]), ...results.map((r) => cols.map((c) => c[1](r)))];
  const w = cols.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) => row.map((x, i) => (i ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  '));
  lines.splice(1, 0, w.map((n) => '-'.repeat(n)).join('  '));
  return `glass-to-glass latency over ${seconds} s after the first frame (publisher send -> display)\n` +
    lines.join('\n') + '\n' +
    '(first frame: from navigation start; arrival: median stamp arrival in the page, publisher send -> page)';
}
function ms(x) { return x === null ? 'n/a' : `${Math.round(x)} ms`; }

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}`);
  const { chromium } = await import('playwright-core');
  const server = await serve(opts.port);
  const base = `http://127.0.0.1:${server.address().port}`;
  let browser;
  const results = [];
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
    const runs = [
      ['ours', opts.ours, { ...OURS_CONFIG, ...opts.oursConfig }],
      ['mpegts', opts.flv, { ...MPEGTS_CONFIG, ...opts.mpegtsConfig }],
      ['hls', opts.hls, { ...HLS_CONFIG, ...opts.hlsConfig }],
      ['hlsll', opts.hlsll, { ...HLSLL_CONFIG, ...opts.hlsllConfig }],
    ].filter((r) => r[1]);
    for (const [kind, url, cfg] of runs) {
      process.stderr.write(`g2g: ${kind} ${url} for ${opts.seconds} s ...\n`);
      const r = await measure(browser, base, kind, url, cfg, opts.seconds);
      results.push(r);
      if (r.errors.length) process.stderr.write(`g2g: ${kind}: ${r.errors.length} error(s), first: ${r.errors[0]}\n`);
    }
    const version = browser.version();
    if (opts.trace) {
      fs.writeFileSync(opts.trace, JSON.stringify(Object.fromEntries(results.map((r) => [r.player, r.trace]))));
    }
    process.stderr.write(`chromium ${version} headless\n${table(results, opts.seconds)}\n`);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ chromium: version, seconds: opts.seconds, results }) + '\n');
    }
  } finally {
    if (browser) await Promise.race([browser.close(), sleep(10000)]).catch(() => {});
    server.close();
    server.closeAllConnections?.();
  }
  if (results.some((r) => r.frames === 0)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`g2g: ${e && e.message ? e.message : e}\n`);
  process.exit(2);
});
