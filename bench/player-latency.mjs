// Measures the browser player on loopback: time from page load to the first
// frame, and the latency it holds (median, p95, drift) over a run. Starts its
// own nginx (build/ngx_ws_stream_module.so) and ffmpeg test publisher, and
// headless chromium. Prints figures; asserts nothing.
//
//   node bench/player-latency.mjs [--seconds=60] [--latency=<target ms>] [--runs=1]
//        [--coalesce=<ms>]   (ws_stream_coalesce in the WebSocket location)
//
// Latency here is the player's own measure for the frame being presented:
// server wall clock now (ping/pong-synced) - ingest stamp of the frame at
// video.currentTime, sampled every 250 ms after a 10 s warm-up.
import { Nginx, makePrefix, buildConf, freePorts, checkTools } from '../t/lib/nginx.mjs';
import { startPublisher, stopAllPublishers } from '../t/lib/publish.mjs';
import { liveConf } from '../t/lib/common.mjs';
import { checkBrowser, launchBrowser, closeAllBrowsers, playerConfOpts } from '../t/lib/browser.mjs';
import fsp from 'node:fs/promises';
import { quantile, slope } from './lib/stats.mjs';

const arg = (name, def) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
};
const SECONDS = Number(arg('seconds', 60));
const TARGET = arg('latency', '');
const RUNS = Number(arg('runs', 1));
const COALESCE = Number(arg('coalesce', 0));
const WARMUP = 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Recorded in the page before its scripts run: the first presented frame.
function firstFrameHook() {
  document.addEventListener('DOMContentLoaded', () => {
    const v = document.querySelector('video');
    if (!v) return;
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback((now) => { window.__firstFrame = now; });
  });
  document.addEventListener('playing', () => { window.__playing ??= performance.now(); }, true);
}

async function run(browser, ports, n) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(firstFrameHook);
  const q = TARGET ? `&latency=${TARGET}` : '';
  await page.goto(`http://127.0.0.1:${ports.http}/?stream=live/bench${q}`, { waitUntil: 'load' });
  const deadline = Date.now() + 20000;
  let ff = null;
  while (Date.now() < deadline && ff === null) {
    ff = await page.evaluate(() => window.__firstFrame ?? null);
    if (ff === null) await sleep(50);
  }
  const playingAt = await page.evaluate(() => window.__playing ?? null);
  const target = await page.evaluate(() => window.player.latencyTarget);
  await sleep(WARMUP * 1000);
  const q0 = await page.evaluate(() => { const q = window.player.video.getVideoPlaybackQuality(); return { totalVideoFrames: q.totalVideoFrames, droppedVideoFrames: q.droppedVideoFrames }; });
  const stalls0 = await page.evaluate(() => window.player.stalls);
  const samples = [];
  const rates = [];
  const t0 = Date.now();
  while (Date.now() - t0 < SECONDS * 1000) {
    const s = await page.evaluate(() => ({ l: window.player.latency.measure(), b: window.player.bufferAhead(),
      r: window.player.video.playbackRate, state: window.player.state }));
    if (typeof s.l === 'number' && s.state === 'playing') samples.push([(Date.now() - t0) / 1000, s.l, s.b]);
    rates.push(s.r);
    await sleep(250);
  }
  const q1 = await page.evaluate(() => { const q = window.player.video.getVideoPlaybackQuality(); return { totalVideoFrames: q.totalVideoFrames, droppedVideoFrames: q.droppedVideoFrames }; });
  const stalls1 = await page.evaluate(() => window.player.stalls);
  const jumps = await page.evaluate(() => window.player.latency.jumps);
  await context.close();
  const lat = samples.map((s) => s[1]), buf = samples.map((s) => s[2]);
  const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
  console.log(`run ${n}: target ${target} ms; first frame ${f(ff)} ms after navigation start ` +
    `('playing' at ${f(playingAt)} ms)`);
  console.log(`  latency over ${SECONDS} s (${samples.length} samples): median ${f(quantile(lat, 0.5))} ms, ` +
    `p95 ${f(quantile(lat, 0.95))} ms, min ${f(Math.min(...lat))}, max ${f(Math.max(...lat))}; ` +
    `drift ${slope(samples.map((s) => [s[0], s[1]])).toFixed(1)} ms/min`);
  console.log(`  buffer ahead: median ${f(quantile(buf, 0.5))} ms; playbackRate range ` +
    `${Math.min(...rates).toFixed(3)}..${Math.max(...rates).toFixed(3)}; stalls ${stalls1 - stalls0}; ` +
    `jumps ${jumps}; frames decoded ${q1.totalVideoFrames - q0.totalVideoFrames}, ` +
    `dropped ${q1.droppedVideoFrames - q0.droppedVideoFrames}; console errors ${errors.length}`);
  return { ff, median: quantile(lat, 0.5), p95: quantile(lat, 0.95) };
}

checkTools();
await checkBrowser();
const ports = await freePorts(['rtmp', 'http']);
const prefix = await makePrefix('bench');
const nginx = new Nginx(prefix, buildConf(prefix, liveConf(ports, {
  ...playerConfOpts(), loc: COALESCE ? `ws_stream_coalesce ${COALESCE}ms;` : '' })), ports);
let browser;
try {
  await nginx.start();
  startPublisher({ port: ports.rtmp, name: 'bench', size: '640x360' });
  await sleep(2000);
  browser = await launchBrowser();
  console.log(`chromium ${browser.version()}, 640x360 30 fps H.264 + AAC from ffmpeg on loopback`);
  for (let i = 1; i <= RUNS; i++) await run(browser, ports, i);
} finally {
  await closeAllBrowsers();
  await stopAllPublishers();
  await nginx.stop();
  await fsp.rm(prefix, { recursive: true, force: true });
}
