// The statistics section of make bench: what ws_stream_stats costs and how
// long the statistics take to answer.
//
// 1. Fan-out cost A/B: our nginx with the API and metrics locations, two
//    configs differing only by `ws_stream_stats on;` / `off;` in the
//    WebSocket location, the same client load on both: N viewers that each
//    send a `report` once a second (as the player does) with a browser's
//    User-Agent, and /metrics scraped once a second. Pairs of runs, the
//    order swapped every pair (on off, off on, ...: a steady drift of the
//    machine falls on both arms alike); each run on a fresh nginx.
// 2. Scrape times, stats on, for each viewer count: one run without
//    scraping, then one where, once every viewer is connected, GET
//    /metrics, /api/streams, the viewers page (limit 100) and the viewers
//    page with limit=1000 go in turn over one keep-alive connection, one
//    request every 1/scrapeHz s, each timed to its last byte; the fan-out
//    delay of the two runs says whether scraping slows the viewers.
import { startNginx, startPublisher, sleep } from './servers.mjs';
import { runLoad, waitPlayable, badLog } from './loadclient.mjs';
import { Scraper } from './scrape.mjs';
import { mean, quantile } from './stats.mjs';

// what a browser sends: the records and the viewers pages carry it
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 '
  + '(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

const STREAM = 'bench';

export const SCRAPE_PATHS = (srv) => [
  { key: 'metrics', label: 'GET /metrics', path: '/metrics' },
  { key: 'streams', label: 'GET /api/streams', path: '/api/streams' },
  { key: 'viewers', label: 'GET .../viewers (limit 100)',
    path: srv.apiPath(STREAM, '/viewers') },
  { key: 'viewers1000', label: 'GET .../viewers?limit=1000',
    path: srv.apiPath(STREAM, '/viewers?limit=1000') },
];

// Our nginx (stats on or off, API locations) with a publisher of the
// fixture, playable; fn(srv) runs against it, then both stop.
async function withServer({ stats, workers, fixture, tag }, fn) {
  const srv = await startNginx({ workers, api: true, tag,
    wsConf: `ws_stream_stats ${stats ? 'on' : 'off'};` });
  let pub;
  try {
    pub = await startPublisher(fixture, srv.rtmpUrl(STREAM));
    await waitPlayable('ws', srv.wsUrl(STREAM));
    const out = await fn(srv);
    for (const r of Array.isArray(out) ? out : [out]) {
      r.publisher_alive = pub.alive();
      r.server_bad_log = badLog(srv).slice(0, 5);
    }
    return out;
  } finally {
    if (pub) await pub.stop();
    await srv.stop();
  }
}

// one load-client run of the section's viewers, sending reports
function viewers(o, srv, n, { pids = [], onSpawn } = {}) {
  return runLoad({ mode: 'ws', url: srv.wsUrl(STREAM), n, seconds: o.seconds,
    warmup: o.warmup, pids, rate: o.rate, threads: o.threads, onSpawn,
    extra: ['--report-interval', String(o.reportMs), '--user-agent', USER_AGENT] });
}

// a sample's value in Prometheus text, NaN if absent
export function metricValue(text, name) {
  const m = new RegExp(`^${name}\\{[^}]*stream="${STREAM}"[^}]*\\} (\\S+)$`, 'm')
    .exec(text);
  return m ? Number(m[1]) : NaN;
}

function slim(r) {
  const { client_log: _c, server_pids: _p, ...rest } = r;
  return rest;
}

// One A/B run: the load with /metrics once a second, on a fresh nginx.
async function abRun(o, stats, pair) {
  return withServer({ stats, workers: o.workers, fixture: o.fixture,
    tag: `stats-${stats ? 'on' : 'off'}` }, async (srv) => {
    const sc = new Scraper(srv.httpPort);
    const loop = sc.loop(['/metrics'], 1000);
    let r, samples;
    try {
      r = await viewers(o, srv, o.viewers, { pids: srv.pids() });
    } finally {
      samples = (await loop.stop())['/metrics'];
    }
    let reportsTotal = NaN;
    try {
      reportsTotal = metricValue((await sc.get('/metrics')).body.toString(),
        'ws_stream_reports_total');
    } catch { /* left NaN */ }
    sc.close();
    return { ...slim(r), stats, pair, metrics_scrapes: samples.length,
      metrics_failed: samples.filter((s) => s.status !== 200).length,
      server_reports_total: reportsTotal };
  });
}

// Wait until the API lists n WebSocket viewers of the stream (or their
// number stops growing for 3 s, or the load client is gone); returns the
// stream's `viewers` object then.
async function waitViewers(sc, srv, n, gone) {
  let last = -1, since = Date.now();
  for (;;) {
    let v = null;
    try { v = (await sc.json(srv.apiPath(STREAM))).viewers; } catch { /* not yet */ }
    const now = v?.websocket ?? 0;
    if (now >= n || gone()) return v;
    if (now !== last) { last = now; since = Date.now(); }
    if (now > 0 && Date.now() - since > 3000) return v;
    await sleep(250);
  }
}

const timing = (samples) => {
  const ok = samples.filter((s) => s.status === 200);
  const ms = ok.map((s) => s.ms);
  return { n: ok.length, failed: samples.length - ok.length,
    p50_ms: quantile(ms, 0.5), p99_ms: quantile(ms, 0.99),
    max_ms: ms.length ? Math.max(...ms) : NaN,
    bytes: quantile(ok.map((s) => s.bytes), 0.5) };
};

// n viewers, stats on: a run without scraping, then one with the timed
// scrapes at o.scrapeHz
async function scrapeRuns(o, n) {
  return withServer({ stats: true, workers: o.workers, fixture: o.fixture,
    tag: `stats-scrape${n}` }, async (srv) => {
    const quiet = await viewers(o, srv, n, { pids: srv.pids() });
    const sc = new Scraper(srv.httpPort);
    const paths = SCRAPE_PATHS(srv);
    let child, exited = false, loop, atScrape = null;
    const scraped = viewers(o, srv, n, { pids: srv.pids(),
      onSpawn: (c) => { child = c; c.once('exit', () => { exited = true; }); } });
    const scraping = (async () => {
      await sleep(100);
      atScrape = await waitViewers(sc, srv, n, () => exited);
      if (exited) return {};
      loop = sc.loop(paths.map((p) => p.path), 1000 / o.scrapeHz);
      await new Promise((r) => (exited ? r() : child.once('exit', r)));
      return loop.stop();
    })();
    let loaded, samples;
    try {
      loaded = await scraped;
    } finally {
      samples = await scraping;
      sc.close();
    }
    return [{
      viewers: n,
      viewers_at_scrape: atScrape?.websocket ?? 0,
      by_worker: (atScrape?.by_worker ?? []).map((w) => w.websocket),
      scrape_hz: o.scrapeHz,
      requests: paths.map((p) => ({ key: p.key, label: p.label,
        ...timing(samples[p.path] || []) })),
      quiet: slim(quiet),
      scraped: slim(loaded),
    }];
  });
}

const cv = (xs) => {
  const m = mean(xs);
  if (xs.length < 2) return NaN;
  const v = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(v) / m;
};

// The two arms of `key` (a figure of each run): mean, min, max, CV, the
// ratio of the means and the on/off ratio within each pair.
function armsOf(runs, key) {
  const ok = runs.filter((r) => !r.failed_run && Number.isFinite(r[key]));
  const arm = (stats) => {
    const xs = ok.filter((r) => r.stats === stats).map((r) => r[key]);
    return { n: xs.length, mean: mean(xs), min: quantile(xs, 0),
      max: quantile(xs, 1), cv: cv(xs) };
  };
  const on = arm(true), off = arm(false);
  const pairs = [...new Set(ok.map((r) => r.pair))].map((p) => {
    const a = ok.find((r) => r.pair === p && r.stats);
    const b = ok.find((r) => r.pair === p && !r.stats);
    return a && b ? a[key] / b[key] : NaN;
  }).filter((x) => Number.isFinite(x));
  return { on, off, ratio: on.mean / off.mean, pair_ratios: pairs,
    pair_ratio_min: quantile(pairs, 0), pair_ratio_max: quantile(pairs, 1),
    pair_ratio_median: quantile(pairs, 0.5) };
}

// cpu: server CPU per viewer-second as measured; relative: the same over
// the load client's CPU of the run, which does the same work in both arms
// and so moves with the machine's speed of the moment
export function summarizeAB(runs) {
  for (const r of runs)
    if (!r.failed_run) r.server_per_client_cpu = r.server_cpu_ms / r.load_cpu_ms;
  return { ...armsOf(runs, 'cpu_ms_per_viewer_s'),
    relative: armsOf(runs, 'server_per_client_cpu') };
}

// o: { size, fixture, viewers, scrapeViewers[], workers, pairs, seconds,
// warmup, rate, threads, reportMs, scrapeHz, log }
export async function statsSection(o) {
  const res = { size: o.size, viewers: o.viewers, workers: o.workers,
    pairs: o.pairs, seconds: o.seconds, warmup: o.warmup,
    report_ms: o.reportMs, scrape_hz: o.scrapeHz, ab: [], scrapes: [] };
  let k = 0;
  for (let p = 0; p < o.pairs; p++) {
    for (const stats of p % 2 ? [false, true] : [true, false]) {
      k++;
      o.log(`bench: stats ${stats ? 'on' : 'off'}, pair ${p + 1}/${o.pairs}, ${o.size} ${o.viewers} viewers ...`);
      try {
        res.ab.push({ ...(await abRun(o, stats, p)), order: k });
      } catch (e) {
        res.ab.push({ stats, pair: p, order: k, asked: o.viewers,
          failed_run: e.message.split('\n')[0] });
        o.log(`bench: stats A/B run failed: ${e.message}`);
      }
    }
  }
  for (const r of res.ab) r.asked = o.viewers;
  res.summary = summarizeAB(res.ab);
  for (const n of o.scrapeViewers) {
    o.log(`bench: stats scrapes, ${o.size} ${n} viewers ...`);
    try {
      res.scrapes.push(...await scrapeRuns(o, n));
    } catch (e) {
      res.scrapes.push({ viewers: n, failed_run: e.message.split('\n')[0] });
      o.log(`bench: stats scrapes failed: ${e.message}`);
    }
  }
  return res;
}
