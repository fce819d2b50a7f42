// The adaptive bitrate section of make bench: what ws_stream_abr does for a
// viewer on a slow link, and what it costs the server per viewer.
//
// The stream: a rendition group (`ws_stream_variant _hi _mid _lo;`) of
// three pre-encoded renditions of one picture with aligned keyframes (1 s
// GOP): _hi 640x360 1.2 Mbit/s, _mid 320x180 400k, _lo 160x90 120k, each
// with 64k AAC (t/lib/renditions.mjs), published from one ffmpeg with
// stream copy. Viewers ask for the group's name; ABR off is
// `ws_stream_abr off;` in a second WebSocket location of the same nginx
// (the viewer stays on the rendition it started on, the highest, and only
// the skip-ahead of ws_stream_max_lag keeps it near live).
//
// 1. Throttled link. Per repetition, two viewers at the same time, each in
//    its own network namespace behind its own tc token bucket of the same
//    rate (server -> viewer), one with ABR on and one with ABR off (which
//    namespace gets which swaps every repetition); `lift` s after they
//    connect both limits are lifted, and they go on `after` s more. A third
//    viewer of the group (ABR on) on loopback, without a limit, runs
//    alongside and should never be moved. Each viewer is a Node client
//    (lib/abr_viewer.mjs) that records its notices and every video frame's
//    arrival and ingest stamp; from those:
//    - first down: connect to the first `rendition` notice to a lower one;
//    - skips: `skipped` notices (ws_stream_max_lag, 2 s);
//    - behind live: at every 100 ms, now minus the ingest stamp of the
//      newest video frame received so far; the time it was over 1 s;
//    - the playback model (playback() below): a player with a fixed
//      latency target, as a WebRTC-style jitter buffer does it: it starts
//      the first keyframe `target` ms (500) after it arrived, and from then
//      on shows every frame at its ingest stamp + that same latency. A
//      frame that arrives after that moment is late and not shown, and
//      neither is any frame after it until the next keyframe that is on
//      time (they depend on it); a frame never sent (skipped) is not shown
//      either. A stall is a run of frame times with nothing shown: the
//      picture frozen for more than 100 ms (3 frames; the publisher's own
//      jitter leaves gaps of up to about 60 ms between ingest stamps, the
//      same for every viewer); stalled seconds are their total, counted on
//      each side of the lift, a stall counted where it starts. Video only;
//      no rebuffering, no speed-up: it counts what a viewer holding a
//      steady latency would lose, not what a given player does.
//    - after the lift: ABR on, the time to the top rendition (0 if already
//      there); both, the time until it is within 1 s of live for good (the
//      last moment it was more than 1 s behind, the run's end excluded);
//    - switches up and down (notices after the first).
//    The server decides from its own signals only: these viewers send no
//    `report` (no stall counts from a player).
// 2. CPU per viewer. One nginx (1 worker by default) and the same group;
//    the load client (build/bench/ws-stream-load) connects N viewers on
//    loopback, all fast, so nobody is moved: ABR on (the group, the once a
//    second decision in the statistics tick for every viewer), ABR off (the
//    group, no decisions), and plain (the top rendition's own name: no
//    group at all). Rounds of the three arms, the order reversed every
//    round (on off plain, plain off on, ...) so a drift of the machine
//    falls on every arm alike; server CPU-ms per viewer-second as the load
//    client measures it from /proc (the nginx processes over the measured
//    window), and the rendition switches the server counted in the run
//    (/metrics), which should be 0. Beside them the TCP segments the host
//    sent per second over the whole run (/proc/net/snmp: anything else
//    running counts too), which says whether an arm writes the same bytes
//    in other pieces.
//    How far to trust it: on 2 cores the load client and nginx (each about
//    a third of a core at 1,000 viewers of 1.3 Mbit/s) share the machine
//    with whatever else runs, and on loopback much of the TCP work of one
//    side is done, and counted, in the other's context: the server's CPU
//    moves with the client's. The runs of one arm spread by 8 to 28 %
//    (max - min over the mean) here, pairs of on and off by -8 to +18 %;
//    the server's CPU over the client's (the same work in every arm, as in
//    the stats section) spreads by 3 to 7 %. The decision tick is one call
//    a second per viewer against some 77 messages a second of fan-out, so
//    a difference within the CV is "not measurable here", not "zero".
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNginx, sleep } from './servers.mjs';
import { runLoad, badLog } from './loadclient.mjs';
import { Scraper } from './scrape.mjs';
import { quantile } from './stats.mjs';
import { summarizeAB } from './statsbench.mjs';
import { ensureRenditions, publishRenditions, DEFAULT_RENDITIONS }
  from '../../t/lib/renditions.mjs';
import { makeNetns, runJson } from '../../t/lib/netns.mjs';
import { Viewer, isText } from '../../t/lib/ws.mjs';

const VIEWER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'abr_viewer.mjs');
const BASE = 'abr';
const SUFFIXES = DEFAULT_RENDITIONS.map((r) => r.suffix);
const APP_CONF = `ws_stream_variant ${SUFFIXES.join(' ')};`;
const FIXED_LOC = 'location /wsfixed/ { ws_stream bench; ws_stream_abr off; }';
const ARMS = ['on', 'off', 'plain'];
const STEP = 100;                 // ms, the behind-live grid
const STALL = 100;                // ms: a frozen picture longer is a stall

const wsUrl = (srv, host, { abr = true, name = BASE } = {}) =>
  `ws://${host}:${srv.httpPort}/${abr ? 'ws' : 'wsfixed'}/live/${name}`;

// ---- network namespaces: removed in any case, also on exit ----

const nets = new Set();
process.on('exit', () => { for (const n of nets) n.remove(); });

// a namespace whose /24 no other interface of the host has (other tests may
// run their own namespaces meanwhile)
function netns(tag) {
  for (let i = 0; i < 8; i++) {
    const n = makeNetns(tag);
    nets.add(n);
    const net = n.hostIp.replace(/\.1$/, '.');
    const addrs = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout || '';
    const clash = addrs.split('\n').some((l) => l.includes(` ${net}`)
      && (l.split(/\s+/)[1] || '').split('@')[0] !== n.host);
    if (!clash) return n;
    dropNetns(n);
  }
  throw new Error('no free 10.251.x.0/24 for a network namespace');
}

function dropNetns(n) {
  n.remove();
  nets.delete(n);
}

// ---- the group: nginx, publisher, every rendition measured ----

// hello of the group once every rendition publishes and has a bitrate,
// not before `notBefore` (the server measures bitrates over 5 s: a bitrate
// of the first seconds is low)
async function waitMeasured(url, { notBefore = 0, ms = 25000 } = {}) {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    try {
      const v = await Viewer.connect(url, { timeout: 3000 });
      try {
        const h = await v.next(isText('hello'), { timeout: 3000 });
        last = h.text;
        const r = h.json.renditions || [];
        if (r.length === SUFFIXES.length && r.every((x) => x.online && x.bitrate > 0)
          && Date.now() >= notBefore) return h.json;
      } finally { await v.close(); }
    } catch (e) { last = e.message; }
    await sleep(500);
  }
  throw new Error(`the group ${url} did not come online and measured: ${last.slice(0, 300)}`);
}

async function withGroup({ workers = 1, listen = [], tag }, fn) {
  const file = await ensureRenditions();
  const srv = await startNginx({ workers, api: true, tag, appConf: APP_CONF,
    locs: FIXED_LOC, listen });
  let pub;
  try {
    pub = publishRenditions({ port: srv.rtmpPort, base: BASE, file });
    const hello = await waitMeasured(wsUrl(srv, '127.0.0.1'),
      { notBefore: Date.now() + 6000 });
    return await fn(srv, hello, pub);
  } finally {
    if (pub) await pub.stop();
    await srv.stop();
  }
}

// ---- analysis of one viewer's record ----

// The playback model (see the top): returns the latency target, late
// frames, and the stalls as [from, to] ms on this machine's clock.
export function playback(video, tEnd, { target = 500 } = {}) {
  if (!video.length) return null;
  const latency = video[0][0] - video[0][1] + target;
  const steps = [];
  for (let i = 1; i < video.length; i++) {
    const d = video[i][2] - video[i - 1][2];
    if (d > 0 && d < 1000) steps.push(d);
  }
  const iv = quantile(steps, 0.5) || 1000 / 30;
  const shown = [];
  let late = 0, decodable = true;
  for (const [arrival, ingest, , key] of video) {
    const due = ingest + latency;
    if (arrival > due) { late++; decodable = false; continue; }
    if (key) decodable = true;
    if (decodable && due <= tEnd) shown.push(due);
  }
  const stalls = [];
  let prev = shown[0];
  const gap = (a, b) => { if (b - a - iv > STALL) stalls.push([a + iv, b]); };
  for (const due of shown) {
    if (due <= prev) continue;
    gap(prev, due);
    prev = due;
  }
  gap(prev, tEnd);
  return { latency_ms: latency, frame_ms: iv, frames: video.length, late, stalls };
}

// stalls and their seconds before and after t (each stall's part on each side)
function stallsAround(stalls, t) {
  const side = (lo, hi) => {
    const parts = stalls.map(([a, b]) => Math.max(0, Math.min(b, hi) - Math.max(a, lo)));
    return { count: stalls.filter(([a]) => a >= lo && a < hi).length,
      seconds: parts.reduce((x, y) => x + y, 0) / 1000 };
  };
  return { before: side(-Infinity, t), after: side(t, Infinity) };
}

// how far behind live, every STEP ms from the first frame: [t, ms]
function behindLive(video, from, to) {
  const pts = [];
  let k = 0, newest = -Infinity;
  for (let t = from; t <= to; t += STEP) {
    while (k < video.length && video[k][0] <= t) newest = Math.max(newest, video[k++][1]);
    pts.push([t, t - newest]);
  }
  return pts;
}

export function analyse(rec, tLift, { target = 500 } = {}) {
  const t0 = rec.t_open, v = rec.video;
  const rel = (t) => (t === null || t === undefined ? null : (t - t0) / 1000);
  const moves = rec.notices.filter((n) => n.from >= 0);
  const downs = moves.filter((m) => m.index > m.from);
  const ups = moves.filter((m) => m.index < m.from);
  const out = {
    error: rec.error, error_s: rel(rec.error_at), frames: v.length, mbit_s: rec.bytes * 8 / (rec.t_end - t0) / 1000,
    lift_s: rel(tLift), start_index: rec.notices[0]?.index ?? null,
    first_down_s: downs.length ? rel(downs[0].at) : null,
    first_down_reason: downs[0]?.reason ?? null,
    switches_down: downs.length, switches_up: ups.length,
    moves: moves.map((m) => ({ at_s: rel(m.at), from: m.from, to: m.index,
      reason: m.reason, continuous: m.continuous })),
    skips: rec.skips.length,
    skips_after_lift: rec.skips.filter((s) => s.at >= tLift).length,
    skips_s: rec.skips.map((s) => rel(s.at)),
  };
  if (!v.length || t0 === null) return out;
  const pts = behindLive(v, v[0][0], rec.t_end);
  const over = (p) => p[1] > 1000;
  out.behind_over_1s = { before: pts.filter((p) => p[0] < tLift && over(p)).length * STEP / 1000,
    after: pts.filter((p) => p[0] >= tLift && over(p)).length * STEP / 1000 };
  out.behind_max_ms = { before: Math.max(0, ...pts.filter((p) => p[0] < tLift).map((p) => p[1])),
    after: Math.max(0, ...pts.filter((p) => p[0] >= tLift).map((p) => p[1])) };
  const lastOver = pts.filter((p) => p[0] >= tLift && over(p)).pop();
  out.live_after_lift_s = !lastOver ? 0
    : lastOver === pts[pts.length - 1] ? null : (lastOver[0] + STEP - tLift) / 1000;
  const atLift = rec.notices.filter((n) => n.at <= tLift).pop();
  const top = rec.notices.find((n) => n.at > tLift && n.index === 0);
  out.index_at_lift = atLift?.index ?? null;
  out.top_after_lift_s = atLift?.index === 0 ? 0 : top ? (top.at - tLift) / 1000 : null;
  const pb = playback(v, rec.t_end, { target });
  const around = stallsAround(pb.stalls, tLift);
  out.playback = { latency_ms: pb.latency_ms, frame_ms: pb.frame_ms, late: pb.late,
    stalls: { before: around.before.count, after: around.after.count },
    stalled_s: { before: around.before.seconds, after: around.after.seconds },
    list_s: pb.stalls.map(([a, b]) => [rel(a), (b - a) / 1000]) };
  return out;
}

// ---- 1. throttled link ----

const local = { spawn: (cmd, args, opts) => spawn(cmd, args, opts) };

function viewer(net, url, seconds, at) {
  return runJson(net, VIEWER, [url, seconds, at], seconds + 2)
    .catch((e) => ({ failed_run: e.message.split('\n')[0].slice(0, 300) }));
}

async function throttleRep(o, srv, pair, rate, rep) {
  const arms = rep % 2 ? ['off', 'on'] : ['on', 'off'];
  const seconds = o.lift + o.after;
  for (const n of pair) n.limit(rate, { burst: o.burst });
  let recs, fast, tLift;
  try {
    const at = Date.now() + 1500;    // the three connect together
    const runs = arms.map((arm, k) =>
      viewer(pair[k], wsUrl(srv, pair[k].hostIp, { abr: arm === 'on' }), seconds, at));
    const fastRun = viewer(local, wsUrl(srv, '127.0.0.1'), seconds, at);
    await sleep(at + o.lift * 1000 - Date.now());
    tLift = Date.now();
    for (const n of pair) n.unlimit();
    recs = await Promise.all(runs);
    fast = await fastRun;
  } finally {
    for (const n of pair) n.unlimit();
  }
  const row = (arm, rec, extra = {}) => ({ rate, rep, arm, ...extra,
    ...(rec.failed_run ? { failed_run: rec.failed_run }
      : analyse(rec, tLift, { target: o.target })) });
  return [
    ...arms.map((arm, k) => row(arm, recs[k], { netns: k })),
    row('fast', fast),
  ];
}

async function throttleSection(o, log) {
  if (process.getuid?.() !== 0) return { skipped: 'network namespaces need root' };
  const pair = [netns('aba'), netns('abb')];
  try {
    return await withGroup({ tag: 'abr-link', listen: pair.map((n) => n.hostIp) },
      async (srv, hello, pub) => {
        const rows = [];
        for (const rate of o.rates) {
          for (let rep = 0; rep < o.reps; rep++) {
            log(`bench: abr throttled ${rate}, repetition ${rep + 1}/${o.reps} `
              + `(${o.lift} s limited, ${o.after} s free) ...`);
            try {
              rows.push(...await throttleRep(o, srv, pair, rate, rep));
            } catch (e) {
              rows.push({ rate, rep, arm: 'on', failed_run: e.message.split('\n')[0] },
                { rate, rep, arm: 'off', failed_run: e.message.split('\n')[0] });
              log(`bench: abr throttled run failed: ${e.message}`);
            }
            await sleep(1000);
          }
        }
        return { renditions: hello.renditions, rows, publisher_alive: pub.running,
          server_bad_log: badLog(srv).slice(0, 5) };
      });
  } finally {
    for (const n of pair) dropNetns(n);
  }
}

// mean, min and max of a figure over the repetitions of (rate, arm)
export function summarizeThrottle(rows) {
  const out = [];
  const keys = [...new Set(rows.map((r) => `${r.rate}\t${r.arm}`))];
  const pick = {
    first_down_s: (r) => r.first_down_s,
    skips: (r) => r.skips,
    behind_over_1s: (r) => r.behind_over_1s?.before,
    stalls: (r) => r.playback?.stalls.before,
    stalled_s: (r) => r.playback?.stalled_s.before,
    stalls_after: (r) => r.playback?.stalls.after,
    stalled_s_after: (r) => r.playback?.stalled_s.after,
    top_after_lift_s: (r) => r.top_after_lift_s,
    live_after_lift_s: (r) => r.live_after_lift_s,
    switches_down: (r) => r.switches_down,
    switches_up: (r) => r.switches_up,
  };
  for (const k of keys) {
    const [rate, arm] = k.split('\t');
    const ok = rows.filter((r) => r.rate === rate && r.arm === arm && !r.failed_run);
    const s = { rate, arm, runs: ok.length, errors: ok.filter((r) => r.error).length };
    for (const [name, f] of Object.entries(pick)) {
      const xs = ok.map(f);
      const vals = xs.filter((x) => Number.isFinite(x));
      s[name] = { mean: vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : NaN,
        min: quantile(vals, 0), max: quantile(vals, 1), missing: xs.length - vals.length };
    }
    out.push(s);
  }
  return out;
}

// ---- 2. CPU per viewer ----

// the rendition switches the server has counted so far
export function switchesOf(metrics) {
  let n = 0;
  for (const m of metrics.matchAll(/^ws_stream_rendition_switches_total\{[^}]*\} (\S+)$/gm))
    n += Number(m[1]);
  return n;
}

// TCP segments this host has sent (all interfaces, loopback included)
export function tcpOutSegs(text = fs.readFileSync('/proc/net/snmp', 'utf8')) {
  const [head, vals] = text.split('\n').filter((l) => l.startsWith('Tcp:'))
    .map((l) => l.split(/\s+/));
  return Number(vals[head.indexOf('OutSegs')]);
}

function slim(r) {
  const { client_log: _c, server_pids: _p, ...rest } = r;
  return rest;
}

async function cpuSection(o, log) {
  return withGroup({ tag: 'abr-cpu', workers: o.workers }, async (srv, hello, pub) => {
    const sc = new Scraper(srv.httpPort);
    const urls = { on: wsUrl(srv, '127.0.0.1'), off: wsUrl(srv, '127.0.0.1', { abr: false }),
      plain: wsUrl(srv, '127.0.0.1', { name: `${BASE}${SUFFIXES[0]}` }) };
    const switches = async () => switchesOf((await sc.get('/metrics')).body.toString());
    const runs = [];
    let k = 0;
    try {
      for (let p = 0; p < o.rounds; p++) {
        for (const arm of p % 2 ? [...ARMS].reverse() : ARMS) {
          k++;
          log(`bench: abr CPU ${arm}, round ${p + 1}/${o.rounds}, ${o.viewers} viewers ...`);
          try {
            const before = await switches();
            const segs = tcpOutSegs(), t = Date.now();
            const r = await runLoad({ mode: 'ws', url: urls[arm], n: o.viewers,
              seconds: o.seconds, warmup: o.warmup, pids: srv.pids(), rate: o.rate,
              threads: o.threads });
            runs.push({ ...slim(r), arm, pair: p, order: k, asked: o.viewers,
              loadavg_1m: os.loadavg()[0],
              tcp_segs_per_s: (tcpOutSegs() - segs) / ((Date.now() - t) / 1000),
              switches: (await switches()) - before,
              server_per_client_cpu: r.server_cpu_ms / r.load_cpu_ms });
          } catch (e) {
            runs.push({ arm, pair: p, order: k, asked: o.viewers,
              failed_run: e.message.split('\n')[0] });
            log(`bench: abr CPU run failed: ${e.message}`);
          }
          await sleep(1000);      // the last run's viewers gone
        }
      }
    } finally {
      sc.close();
    }
    // two arms at a time, as the stats section compares on and off
    const vs = (a, b) => summarizeAB(runs.filter((r) => r.arm === a || r.arm === b)
      .map((r) => ({ ...r, stats: r.arm === a })));
    return { viewers: o.viewers, workers: o.workers, rounds: o.rounds,
      seconds: o.seconds, warmup: o.warmup, renditions: hello.renditions, runs,
      summary: { on_off: vs('on', 'off'), off_plain: vs('off', 'plain'),
        on_plain: vs('on', 'plain') },
      publisher_alive: pub.running, server_bad_log: badLog(srv).slice(0, 5) };
  });
}

// o: { rates[], reps, lift, after, burst, target, viewers, workers, rounds,
// seconds, warmup, rate, threads, log }
export async function abrSection(o) {
  const res = { rates: o.rates, reps: o.reps, lift_s: o.lift, after_s: o.after,
    burst: o.burst, target_ms: o.target, throttle: null, cpu: null };
  try {
    res.throttle = await throttleSection(o, o.log);
    if (res.throttle.rows) res.throttle.summary = summarizeThrottle(res.throttle.rows);
  } catch (e) {
    res.throttle = { failed_run: e.message.split('\n')[0] };
    o.log(`bench: abr throttled section failed: ${e.message}`);
  }
  try {
    res.cpu = await cpuSection(o, o.log);
  } catch (e) {
    res.cpu = { failed_run: e.message.split('\n')[0] };
    o.log(`bench: abr CPU section failed: ${e.message}`);
  }
  return res;
}
