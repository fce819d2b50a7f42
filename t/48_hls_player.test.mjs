// hls.js (lowLatencyMode) in headless Chromium plays the LL-HLS media playlist
// from a page on another origin (CORS): frames are decoded and currentTime
// advances, no fatal hls.js error, hls.js uses blocking reloads and parts, and
// reports a finite latency (logged, bounded only loosely); it goes on across a
// publisher restart (discontinuity, new init segment).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';
import { checkBrowser, launchBrowser, closeAllBrowsers, openPage, pageWait } from './lib/browser.mjs';
import { hlsConf, hlsBase, waitMedia } from './lib/hls.mjs';
import { writePage, pageServer, hlsSnapshot, HLSJS_DIST } from './lib/hls_page.mjs';

const fatal = (s) => s.errors.filter((e) => e.fatal);

// currentTime advances by `secs` from now (bounded)
async function advances(page, secs, what, timeout = 30000) {
  const t0 = await page.evaluate(() => document.getElementById('v').currentTime);
  await pageWait(page, ([t, s]) => document.getElementById('v').currentTime >= t + s, [t0, secs],
    { timeout, what: `${what}: currentTime to advance ${secs} s from ${t0.toFixed(2)}` });
}

describe('48 hls.js (low-latency mode) in Chromium', () => {
  const env = useNginx({
    tag: 'hls48',
    ports: ['rtmp', 'http', 'page'],
    setup: async (e) => { await writePage(path.join(e.prefix, 'page')); },
    conf: (p, prefix) => hlsConf(p, { app: 'ws_stream_grace 30s;', http: pageServer(p.page, path.join(prefix, 'page')) }),
  });
  const name = streamName('pj');
  let browser, page, problems, pub, base;

  before(async () => {
    assert.ok(fs.existsSync(path.join(HLSJS_DIST, 'hls.min.js')), `${HLSJS_DIST}/hls.min.js missing: npm ci`);
    await checkBrowser();
    pub = startPublisher({ port: env.rtmpPort, name });
    base = hlsBase(env, name);
    browser = await launchBrowser();
    await waitMedia(base, (x) => x.complete.length >= 1, { what: 'a first segment' });
  });

  after(async () => { await closeAllBrowsers(); });

  it('plays media.m3u8 from another origin: frames decoded, currentTime advances, no fatal error, finite latency', async (t) => {
    const src = `${base}media.m3u8`;
    ({ page, problems } = await openPage(browser, `http://127.0.0.1:${env.ports.page}/?src=${encodeURIComponent(src)}`));
    assert.ok(await page.evaluate(() => typeof Hls === 'function' && Hls.isSupported()), 'hls.js not loaded or MSE unsupported');
    await pageWait(page, () => document.getElementById('v').readyState >= 2 && document.getElementById('v').currentTime > 0, null,
      { timeout: 30000, what: 'playback to start' });
    const a = await hlsSnapshot(page);
    await advances(page, 3, 'playback');
    const b = await hlsSnapshot(page);
    t.diagnostic(`hls.js latency ${b.latency?.toFixed?.(3)} s (target ${b.targetLatency}), decoded ${b.decoded}, ` +
      `rVFC ${b.rvfc}, parts loaded ${b.events.partsLoaded}, errors ${JSON.stringify(b.errors)}`);
    assert.deepEqual([b.width, b.height], [640, 360], JSON.stringify(b));
    assert.ok(b.decoded > a.decoded, `no frames decoded while playing: ${a.decoded} -> ${b.decoded}`);
    assert.ok(b.rvfc === 0 ? b.decoded > 0 : b.rvfc > a.rvfc, `requestVideoFrameCallback saw no new frames: ${a.rvfc} -> ${b.rvfc}`);
    assert.ok(b.audioBytes === null || b.audioBytes > 0, 'no audio decoded');
    assert.deepEqual(fatal(b), [], `fatal hls.js errors: ${JSON.stringify(b.errors)}`);
    assert.equal(b.error, null);
    assert.equal(b.lowLatencyMode, true);
    assert.ok(b.details && b.details.live && b.details.canBlockReload, `hls.js level details: ${JSON.stringify(b.details)}`);
    assert.ok(b.details.partTarget === 0.2, JSON.stringify(b.details));
    assert.ok(Number.isFinite(b.latency) && b.latency > 0 && b.latency < 10, `hls.js latency ${b.latency}`);
    // hls.js used what LL-HLS offers: blocking reloads and parts
    // what the browser asked for (the test's own node requests send no User-Agent)
    const log = fs.readFileSync(path.join(env.prefix, 'access.log'), 'utf8').split('\n')
      .filter((l) => l.includes(`/${name}/`) && /Mozilla/.test(l));
    const blocking = log.filter((l) => /media\.m3u8\?_HLS_msn=\d+(&_HLS_part=\d+)?/.test(l));
    const parts = log.filter((l) => /\/\d+\.\d+\.m4s HTTP/.test(l));
    assert.ok(blocking.length > 0, 'hls.js made no blocking playlist reload');
    assert.ok(parts.length > 0, 'hls.js loaded no parts');
    const failed = log.filter((l) => / (4\d\d|5\d\d) \d+ "/.test(l) && !/ 499 /.test(l));
    t.diagnostic(`access.log: ${log.length} requests, ${blocking.length} blocking reloads, ${parts.length} parts, ${failed.length} errors`);
    assert.deepEqual(failed, [], 'requests hls.js made that failed');
    assert.deepEqual(problems, [], 'console errors');
  });

  it('goes on across a publisher restart (discontinuity, new init segment)', async (t) => {
    assert.ok(page, 'needs the first test');
    await pub.stop();
    await sleep(500);
    pub = startPublisher({ port: env.rtmpPort, name, size: '640x360' });
    await waitMedia(base, (x) => x.segments.some((s) => s.discontinuity && s.complete),
      { what: 'a complete segment after the discontinuity', timeout: 30000 });
    // more than what was buffered before the restart (about the latency)
    await advances(page, 3, 'after the restart', 40000);
    const s = await hlsSnapshot(page);
    t.diagnostic(`after the restart: latency ${s.latency?.toFixed?.(3)} s, errors ${JSON.stringify(s.errors.slice(-6))}`);
    assert.deepEqual(fatal(s), [], `fatal hls.js errors after the restart: ${JSON.stringify(s.errors)}`);
    assert.ok(Number.isFinite(s.latency) && s.latency < 10, `latency ${s.latency}`);
  });
});
