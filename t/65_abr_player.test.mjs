// The player in Chromium behind a throttled link keeps playing through a
// rendition switch. Chromium runs in a network namespace (a wrapper script
// execs it there; playwright drives it over a pipe, so no port crosses) and
// loads the player page from nginx's address on the veth pair, whose host
// side has a tc token bucket narrower than the top rendition (t/lib/netns.mjs).
// The server moves the viewer down; the picture size changes in place (the
// same video element, currentTime going on, never back) and once the new
// rendition shows, playback does not stall, the player reports no error and
// seeks only as its latency control does. A stall before that is allowed
// (the top rendition does not fit, which is why the viewer is moved): it is
// counted and printed, as are the times. The watch ends early when the
// server tries the top rendition again (a probe the link cannot carry, whose
// failure the server learns from the player's stall report). Then, on the
// free link, setRendition(2), (1), (-1) from the page: the picture follows
// (160, then 320 wide) in place, the events say pin, pin, auto, no stall.
// Needs root (namespaces), chromium and playwright-core (as t/20: missing
// ones are an error, not a skip).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useNginx } from './lib/nginx.mjs';
import { DEFAULT_RENDITIONS, ensureRenditions, publishRenditions } from './lib/renditions.mjs';
import { Viewer, isText } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep, waitUntil } from './lib/util.mjs';
import { makeNetns } from './lib/netns.mjs';
import { api } from './lib/stats.mjs';
import { CHROMIUM, checkBrowser, launchBrowser, closeAllBrowsers, openPage, pageWait, playerConfOpts } from './lib/browser.mjs';

// _hi (1.2 Mbit/s + 64k audio) does not fit, _mid (400k + 64k) does with room to spare
const LINK = '800kbit';
const AFTER = 15000;        // ms watched once the new rendition shows
const SETTLE = 500;         // ms: a stall the player reports this soon after the picture changed began before
const MIN_WATCH = 5000;     // ms: the watch is no test if a higher rendition is tried sooner
const NOMINAL = DEFAULT_RENDITIONS.map((r) => parseInt(r.bitrate, 10) * 1000 + 64000);   // + the AAC track

// Runs in the page before its scripts: records the text messages (but pongs),
// what the page sends (but pings and reports), the player's rendition, state
// and error events, the video element's seeking / resize / waiting events,
// and samples currentTime every 200 ms. All in ms since the page started.
function instrument() {
  const t0 = performance.now();
  const now = () => Math.round(performance.now() - t0);
  const log = window.__abr = {
    msgs: [], media: [], sent: [], renditions: [], states: [], errors: [], seeks: [], resizes: [], waiting: [], samples: [],
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (typeof e.data === 'string') {
          if (!e.data.includes('"type":"pong"')) log.msgs.push([now(), e.data.slice(0, 1500)]);
        } else if (log.media.length < 20000) {
          const d = new DataView(e.data);
          const kind = d.getUint8(0);
          // [ms, track, key, config, dts, bytes]
          log.media.push([now(), kind & 15, (kind >> 4) & 1, (kind >> 5) & 1, d.getUint32(1), d.byteLength]);
        }
      });
    }
    send(d) {
      if (typeof d === 'string' && !/"type":"(ping|report)"/.test(d)) log.sent.push([now(), d]);
      return super.send(d);
    }
  };
  const video = () => document.querySelector('video');
  const jumps = () => (window.player && window.player.latency ? window.player.latency.jumps : null);
  document.addEventListener('seeking', (e) => log.seeks.push({ at: now(), to: e.target.currentTime, jumps: jumps() }), true);
  document.addEventListener('resize', (e) => log.resizes.push({ at: now(), w: e.target.videoWidth, h: e.target.videoHeight, t: e.target.currentTime }), true);
  document.addEventListener('waiting', (e) => log.waiting.push({ at: now(), t: e.target.currentTime }), true);
  let player = null;
  Object.defineProperty(window, 'player', {
    configurable: true,
    get: () => player,
    set: (p) => {
      player = p;
      p.on('rendition', (e) => log.renditions.push({ at: now(), ...e, stalls: p.stalls, t: video() ? video().currentTime : null }));
      p.on('state', (s) => log.states.push([now(), s]));
      p.on('error', (e) => log.errors.push([now(), e.code, e.message, e.fatal]));
    },
  });
  setInterval(() => {
    const v = video();
    if (!v || !player) return;
    log.samples.push([now(), v.currentTime, v.videoWidth, player.state, player.stalls, v.buffered.length, v.readyState]);
  }, 200);
}

// The page's record, and what the player says now.
const record = (page) => page.evaluate(() => {
  const v = document.querySelector('video'), p = window.player;
  return {
    ...window.__abr, now: Math.round(performance.now()), currentTime: v.currentTime, width: v.videoWidth,
    marked: v.__mark === true, state: p && p.state, stats: p && p.lastStats, stalls: p && p.stalls,
    stallTime: p && p.meter.stallTime, jumps: p && p.latency && p.latency.jumps, rendition: p && p.rendition,
    auto: p && p.auto, list: p ? p.renditions : [],
    buffered: ranges(v.buffered), readyState: v.readyState, paused: v.paused,
    tracks: p && p.mse ? Object.fromEntries(['video', 'audio'].map((k) => [k, ranges(p.mse.buffered(k))])) : null,
  };
  function ranges(b) {
    return b ? Array.from({ length: b.length }, (_, k) => [b.start(k), b.end(k)].map((x) => +x.toFixed(3))) : null;
  }
});

const at = (x) => (Array.isArray(x) ? x[0] : x.at);
// the part of a page log from page time `from` to `to`
const between = (list, from, to = Infinity) => list.filter((x) => at(x) >= from && at(x) <= to);
// page time of the newest sample
const pageNow = (page) => page.evaluate(() => window.__abr.samples.at(-1)[0]);

// the widths the picture had, in order (repeats folded)
const widths = (r, from = 0, to = Infinity) =>
  between(r.resizes, from, to).map((x) => x.w).filter((w, k, a) => w > 0 && w !== a[k - 1]);

// currentTime never went back; from `from` to `to` the state stayed 'playing', currentTime
// advanced with the wall clock, and every seek was a jump of the latency controller (or
// came within 2 s of a skip, whose new epoch may leave a gap the player jumps)
// (with `windows`, [from, to] pairs: the state is checked only in those, the moments of the
// switches, so that a stall of a slow machine elsewhere is not taken for one of a switch)
function checkPlayback(r, from, to, label, windows = [[from + SETTLE, to]]) {
  const back = [];
  for (let k = 1; k < r.samples.length; k++) if (r.samples[k][1] < r.samples[k - 1][1] - 1e-3) back.push([r.samples[k - 1], r.samples[k]]);
  assert.deepEqual(back, [], `${label}: currentTime went back in the run [ms, currentTime, width, state, stalls, ranges, readyState]`);
  for (const [a, b] of windows) assert.deepEqual(between(r.states, a, b), [], `${label}: state changes (a stall is 'buffering') from ${a} to ${b} ms`);
  const w = between(r.samples, from + SETTLE, to);
  const wall = (w.at(-1)[0] - w[0][0]) / 1000, media = w.at(-1)[1] - w[0][1];
  assert.equal(w.at(-1)[3], 'playing', `${label}: state at the end of the watch`);
  assert.ok(media >= 0.8 * wall, `${label}: currentTime advanced ${media.toFixed(2)} s in ${wall.toFixed(2)} s`);
  const skips = r.msgs.filter(([, m]) => m.includes('"type":"skipped"') || m.includes('"continuous":false')).map(([t]) => t);
  let jumps = r.seeks.length ? r.seeks[0].jumps : null;
  for (const s of r.seeks) {
    const own = s.jumps !== jumps || skips.some((t) => s.at >= t && s.at - t < 2000);
    jumps = s.jumps;
    if (s.at >= from && s.at <= to && !own)
      assert.fail(`${label}: a seek neither the latency controller's nor after a skip: ${JSON.stringify(s)}; seeks ${JSON.stringify(r.seeks)}`);
  }
  return { wall, media };
}

// video frames whose dts is not one frame (34 ms at most) after the one before: [ms, from, to, key]
function oddSteps(media) {
  const out = [];
  let last = null;
  for (const [at, track, key, config, dts] of media) {
    if (track !== 1 || config) continue;
    if (last !== null && !(dts > last && dts - last <= 34)) out.push([at, last, dts, key]);
    last = dts;
  }
  return out;
}

// around each move: [ms of the notice, ms since the last media message before it,
// ms from it to the next video keyframe, last video dts before, first after]
function arrivals(r) {
  const out = [];
  for (const [at, m] of r.msgs) {
    if (!m.includes('"type":"rendition"') || m.includes('"from":-1')) continue;
    const before = r.media.filter((x) => x[0] <= at), after = r.media.filter((x) => x[0] >= at && x[1] === 1 && x[2] && !x[3]);
    const lastV = before.filter((x) => x[1] === 1 && !x[3]).pop();
    out.push([at, before.length ? at - before.at(-1)[0] : null, after.length ? after[0][0] - at : null,
      lastV ? lastV[4] : null, after.length ? after[0][4] : null]);
  }
  return out;
}

// the renditions' bitrates the first hello gave
function helloRates(r) {
  const m = r.msgs.find(([, x]) => x.includes('"type":"hello"'));
  try { return JSON.stringify(JSON.parse(m[1]).renditions.map((x) => x.bitrate)); } catch { return '?'; }
}

// what the page saw, for the record
function describeRun(t, r) {
  t.diagnostic(`player state ${r.state}; stalls ${r.stalls} (stall time ${Math.round(r.stallTime)} ms in all); switches ${JSON.stringify(r.stats && r.stats.switches)}; ` +
    `latency jumps ${r.jumps}; currentTime ${r.currentTime}, readyState ${r.readyState}${r.paused ? ', paused' : ''}; ` +
    `buffered ${JSON.stringify(r.buffered)} (video ${JSON.stringify(r.tracks && r.tracks.video)}, audio ${JSON.stringify(r.tracks && r.tracks.audio)}); ` +
    `widths seen ${widths(r).join(' -> ')}`);
  t.diagnostic(`rendition events [ms, from, index, reason, auto, stalls then]: ${JSON.stringify(r.renditions.map((e) => [e.at, e.from, e.index, e.reason, e.auto, e.stalls]))}; ` +
    `sent ${JSON.stringify(r.sent)}`);
  t.diagnostic(`resizes ${JSON.stringify(r.resizes)}; seeks ${JSON.stringify(r.seeks)}; waiting ${JSON.stringify(r.waiting)}`);
  t.diagnostic(`states ${JSON.stringify(r.states)}; player errors ${JSON.stringify(r.errors)}`);
  t.diagnostic(`samples once a second [ms, currentTime, width, state, stalls, ranges, readyState]: ` +
    JSON.stringify(r.samples.filter((x, k) => k % 5 === 0).map(([a, c, ...y]) => [a, +c.toFixed(3), ...y])));
  t.diagnostic(`server's text messages ${JSON.stringify(r.msgs.filter(([, m]) => !m.includes('"hello"')))}; ` +
    `bitrates in hello ${helloRates(r)}`);
  t.diagnostic(`video frames ${r.media.filter((m) => m[1] === 1).length}, dts steps not one frame [ms, from, to, key]: ${JSON.stringify(oddSteps(r.media))}`);
  t.diagnostic(`media arrival at each move [notice ms, ms since the last media message, ms to the keyframe, dts before, dts after]: ` +
    JSON.stringify(arrivals(r)));
  for (const [t0] of r.errors)
    t.diagnostic(`video messages [ms, key, config, dts, bytes] around the error at ${t0} ms: ` +
      JSON.stringify(r.media.filter((m) => m[1] === 1 && Math.abs(m[0] - t0) < 300).map(([a, , ...x]) => [a, ...x])));
}

// a shell script that runs chromium (its arguments as given) in the namespace
function netnsChromium(dir, ns) {
  const file = path.join(dir, 'chromium-in-netns');
  fs.writeFileSync(file, `#!/bin/sh\nexec ip netns exec '${ns}' '${CHROMIUM}' "$@"\n`, { mode: 0o755 });
  return file;
}

describe('65 abr player: Chromium behind a throttled link', () => {
  let net = null;
  const conf = playerConfOpts();
  const env = useNginx({
    tag: 'abrpl',
    setup: () => { net = makeNetns('abp'); },
    conf: (p) => liveConf(p, {
      zone: 'zone=live:64m',
      app: 'ws_stream_variant _hi _mid _lo;',
      http: conf.http,
      server: `listen ${net.hostIp}:${p.http}; ${conf.server} location /api/ { ws_stream_api; }`,
    }),
  });
  const base = streamName('abrp');
  let browser = null;
  const pageUrl = () => `http://${net.hostIp}:${env.ports.http}/?stream=live/${base}`;

  before(async () => {
    await checkBrowser();
    const file = await ensureRenditions();
    publishRenditions({ port: env.rtmpPort, base, file });
    browser = await launchBrowser({ executablePath: netnsChromium(env.prefix, net.ns) });
    const probe = await browser.newPage();
    const mse = await probe.evaluate(() =>
      typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported('video/mp4; codecs="avc1.4d401e"'));
    await probe.close();
    assert.ok(mse, 'this chromium cannot play H.264 through MSE');
    // every rendition online and measured near its rate (the server's measure takes a
    // few seconds to fill), so that the server's choices start from true bitrates
    let rates = [];
    await waitUntil(async () => {
      const v = await Viewer.connect(env.http('live', base));
      const hello = await v.next(isText('hello'));
      await v.close();
      rates = hello.json.renditions.map((r) => (r.online ? r.bitrate : 0));
      return rates.length === NOMINAL.length && rates.every((b, k) => b >= 0.8 * NOMINAL[k]);
    }, { timeout: 30000, interval: 500, what: `the renditions measured near ${NOMINAL} bit/s (last ${rates})` });
  });

  after(async () => {
    await closeAllBrowsers();
    if (net) net.remove();
  });

  // the server's view of the namespace's viewer, once a second until stop()
  function watchServer() {
    const seen = [];
    let on = true;
    const loop = (async () => {
      for (let k = 0; on && k < 600; k++) {
        const all = [];
        for (const s of DEFAULT_RENDITIONS.map((r) => r.suffix)) {
          const r = await api(env, `/api/streams/live/${base}${s}/viewers`).catch(() => null);
          if (r && r.json) all.push(...r.json.viewers);
        }
        const x = all.find((y) => y.address === net.nsIp);
        if (x) seen.push([x.lag_ms, x.send_rate_bps, x.acked_bps, x.rendition && x.rendition.index, x.rendition && x.rendition.reason]);
        await sleep(1000);
      }
    })();
    return { seen, stop: async () => { on = false; await loop; } };
  }

  it(`behind ${LINK}: moved down, the picture size changes in place, no stall after the move`, async (t) => {
    net.limit(LINK, { burst: '8kb' });
    const server = watchServer();
    const opened = Date.now();
    const { page, problems } = await openPage(browser, pageUrl(), { init: instrument, timeout: 20000 });
    let r = null;
    try {
      await page.evaluate(() => { document.querySelector('video').__mark = true; });
      await pageWait(page, () => document.querySelector('video').videoWidth > 0, null,
        { timeout: 30000, what: 'first decoded frame' });
      t.diagnostic(`first frame ${Date.now() - opened} ms after the page was opened`);
      const down = await pageWait(page, () => window.__abr.renditions.find((e) => e.from >= 0 && e.index > e.from), null,
        { timeout: 30000, interval: 250, what: 'a rendition notice moving the viewer down' });
      const shown = await pageWait(page, (a) => window.__abr.resizes.find((x) => x.at >= a && x.w > 0 && x.w < 640), down.at,
        { timeout: 15000, what: 'videoWidth below 640 after the move down' });
      // watch AFTER ms, or until the server tries a higher rendition again (a try up
      // on a link near its limit may stall: the probe's documented cost, not the switch's)
      await pageWait(page, ([a, ms]) => window.__abr.samples.at(-1)[0] >= a + ms ||
        window.__abr.renditions.some((e) => e.at > a && e.index < e.from), [shown.at, AFTER],
      { timeout: AFTER + 5000, interval: 250, what: `${AFTER} ms after the new rendition showed` });
      r = await record(page);

      const top = r.renditions.find((e) => e.at > shown.at && e.index < e.from);
      const end = Math.min(shown.at + AFTER, top ? top.at : Infinity);
      const first = r.resizes[0];
      const stallsAt = (ms) => { const x = r.samples.filter((s) => s[0] <= ms).pop(); return x ? x[4] : null; };
      t.diagnostic(`first move down ${down.from}->${down.index} (${down.reason}) at ${down.at} ms page time, ` +
        `${down.at - first.at} ms after the first frame; picture ${shown.w}x${shown.h} ${shown.at - down.at} ms after the notice; ` +
        `stalls: ${down.stalls} at the notice, ${stallsAt(shown.at + SETTLE)} once it showed, ${stallsAt(end)} at the end of the watch (${end - shown.at} ms)` +
        (top ? `; a higher rendition (${top.index}) tried ${top.at - down.at} ms after the move down (${top.reason}), stalls at the end ${r.stalls}` : ''));

      assert.deepEqual(r.errors, [], 'player errors');
      assert.deepEqual(problems, [], 'console errors / page errors');
      assert.equal(first.w, 640, 'starts on the top rendition');
      assert.ok(['backlog', 'emergency', 'stall'].includes(down.reason), `first move down: ${JSON.stringify(down)}`);
      assert.ok(end - shown.at >= MIN_WATCH, `a higher rendition was tried ${end - shown.at} ms after the move down showed`);
      assert.ok(r.marked, 'the same video element (and no reload)');
      const seen = widths(r, 0, end);
      assert.ok(seen.length >= 2 && seen.slice(1).every((w) => w === 320 || w === 160), `widths ${seen}`);
      const { wall, media } = checkPlayback(r, shown.at, end, 'after the move down');
      t.diagnostic(`after the move down showed: currentTime +${media.toFixed(2)} s in ${wall.toFixed(2)} s; widths ${seen.join(' -> ')}`);
      assert.ok(r.stats.switches.down >= 1, `switches ${JSON.stringify(r.stats.switches)}`);
    } finally {
      await server.stop();
      r = r || await record(page).catch(() => null);
      if (r) describeRun(t, r);
      t.diagnostic(`console / page errors ${JSON.stringify(problems)}`);
      t.diagnostic(`server's view each second [lag_ms, send_rate, acked, rendition, reason]: ${JSON.stringify(server.seen)}`);
      await page.close();
    }
  });

  it('on the free link: setRendition(2), (1), (-1) change the picture in place, no stall at a switch', async (t) => {
    net.unlimit();
    const { page, problems } = await openPage(browser, pageUrl(), { init: instrument, timeout: 20000 });
    let r = null;
    try {
      await page.evaluate(() => { document.querySelector('video').__mark = true; });
      await pageWait(page, () => window.player.state === 'playing' && window.player.renditions.length === 3, null,
        { timeout: 30000, what: "state 'playing' on the group" });
      await sleep(2000);
      const start = await record(page), t0 = start.samples.at(-1)[0];
      const steps = [], windows = [];
      for (const [index, width] of [[2, 160], [1, 320]]) {
        const from = await pageNow(page);
        await page.evaluate((i) => window.player.setRendition(i), index);
        const e = await pageWait(page, ([i, a]) => window.__abr.renditions.find((x) => x.at >= a && x.index === i), [index, from],
          { timeout: 10000, what: `the rendition event for the pin of ${index}` });
        const shown = await pageWait(page, ([w, a]) => window.__abr.resizes.find((x) => x.at >= a && x.w === w), [width, e.at],
          { timeout: 10000, what: `videoWidth ${width} after the pin of ${index}` });
        steps.push(e);
        windows.push([e.at - SETTLE, shown.at + 1500]);
        t.diagnostic(`pin ${index}: event ${JSON.stringify([e.from, e.index, e.reason, e.auto])} ${e.at - from} ms after the call, ` +
          `width ${width} ${shown.at - e.at} ms after the event`);
        await sleep(3000);
      }
      const from = await pageNow(page);
      await page.evaluate(() => window.player.setRendition(-1));
      const auto = await pageWait(page, (a) => window.__abr.renditions.find((x) => x.at >= a && x.reason === 'auto'), from,
        { timeout: 10000, what: 'the rendition event back to automatic' });
      t.diagnostic(`automatic: event ${JSON.stringify([auto.from, auto.index, auto.reason, auto.auto])} ${auto.at - from} ms after the call`);
      await sleep(3000);
      r = await record(page);
      const end = r.samples.at(-1)[0];

      assert.deepEqual(r.errors, [], 'player errors');
      assert.deepEqual(problems, [], 'console errors / page errors');
      assert.equal(start.width, 640, 'on the top rendition before the pins');
      assert.deepEqual(steps.map((e) => [e.index, e.reason, e.auto]), [[2, 'pin', false], [1, 'pin', false]]);
      assert.equal(auto.auto, true, JSON.stringify(auto));
      assert.equal(r.auto, true, 'player.auto after setRendition(-1)');
      assert.deepEqual(widths(r, t0).slice(0, 2), [160, 320], `widths ${widths(r)}`);
      assert.ok(r.marked, 'the same video element (and no reload)');
      windows.push([auto.at - SETTLE, auto.at + 1500]);
      const { wall, media } = checkPlayback(r, t0 - SETTLE, end, 'pins', windows);
      t.diagnostic(`pins: currentTime +${media.toFixed(2)} s in ${wall.toFixed(2)} s; stalls ${start.stalls} -> ${r.stalls}`);
    } finally {
      r = r || await record(page).catch(() => null);
      if (r) describeRun(t, r);
      t.diagnostic(`console / page errors ${JSON.stringify(problems)}`);
      await page.close();
    }
  });
});
