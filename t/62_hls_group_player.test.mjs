// hls.js in headless Chromium plays a rendition group's multivariant
// playlist (ws_stream_variant): it sees both renditions as levels with
// their sizes and bitrates, and a switch to the other level changes the
// picture size in place while playback goes on, with no fatal error.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { checkBrowser, launchBrowser, closeAllBrowsers, openPage, pageWait } from './lib/browser.mjs';
import { hlsConf, hlsBase, waitMedia } from './lib/hls.mjs';
import { writePage, pageServer, hlsSnapshot, HLSJS_DIST } from './lib/hls_page.mjs';

describe('62 hls.js on a rendition group', () => {
  const env = useNginx({
    tag: 'hls62',
    ports: ['rtmp', 'http', 'page'],
    setup: async (e) => { await writePage(path.join(e.prefix, 'page')); },
    conf: (p, prefix) => hlsConf(p, {
      rtmp: 'application abr { live on; ws_stream live; ws_stream_variant _hi _lo; }',
      http: pageServer(p.page, path.join(prefix, 'page')),
    }),
  });
  const base = streamName('gp');
  let browser;

  before(async () => {
    assert.ok(fs.existsSync(path.join(HLSJS_DIST, 'hls.min.js')), `${HLSJS_DIST}/hls.min.js missing: npm ci`);
    await checkBrowser();
    startPublisher({ port: env.rtmpPort, app: 'abr', name: `${base}_hi`, size: '640x360', bitrate: '800k' });
    startPublisher({ port: env.rtmpPort, app: 'abr', name: `${base}_lo`, size: '320x180', bitrate: '200k' });
    for (const r of ['_hi', '_lo']) {
      await waitMedia(hlsBase(env, `${base}${r}`, { app: 'abr' }), (x) => x.complete.length >= 1,
        { what: `a first segment of ${r}` });
    }
    browser = await launchBrowser();
  });

  after(async () => { await closeAllBrowsers(); });

  it('two levels; switching level changes the picture size in place and playback goes on', async (t) => {
    const src = `${hlsBase(env, base, { app: 'abr' })}index.m3u8`;
    const { page, problems } = await openPage(browser, `http://127.0.0.1:${env.ports.page}/?src=${encodeURIComponent(src)}`);
    await pageWait(page, () => document.getElementById('v').currentTime > 0.5, null,
      { timeout: 30000, what: 'playback to start' });
    const levels = await page.evaluate(() => window.hls.levels.map((l) => ({ w: l.width, h: l.height, bitrate: l.bitrate })));
    t.diagnostic(`levels ${JSON.stringify(levels)}`);
    assert.equal(levels.length, 2);
    const lo = levels.findIndex((l) => l.h === 180), hi = levels.findIndex((l) => l.h === 360);
    assert.ok(lo >= 0 && hi >= 0, JSON.stringify(levels));
    assert.ok(levels[hi].bitrate > levels[lo].bitrate, JSON.stringify(levels));

    for (const [to, height] of [[lo, 180], [hi, 360]]) {
      const before = await hlsSnapshot(page);
      await page.evaluate((i) => { window.hls.currentLevel = i; }, to);
      await pageWait(page, (h) => document.getElementById('v').videoHeight === h, height,
        { timeout: 30000, what: `the picture at ${height} lines` });
      await pageWait(page, (c) => document.getElementById('v').currentTime > c + 1, before.currentTime,
        { timeout: 30000, what: 'playback going on after the switch' });
      const s = await hlsSnapshot(page);
      assert.ok(s.decoded > before.decoded, `frames decoded across the switch: ${before.decoded} -> ${s.decoded}`);
      assert.deepEqual(s.errors.filter((e) => e.fatal), [], JSON.stringify(s.errors));
    }
    assert.deepEqual(problems.filter((p) => !/favicon/.test(p)), [], problems.join('\n'));
  });
});
