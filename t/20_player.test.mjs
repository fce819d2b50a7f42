// The browser player (player/index.html) in headless chromium against nginx:
// picture size, real-time playback, audio, latency, publisher restart and
// resolution change without a reload, offline -> online, no console errors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';
import { checkBrowser, launchBrowser, closeAllBrowsers, openPage, pageWait, snapshot, playerConfOpts } from './lib/browser.mjs';

// Functional bound, not a benchmark: the latency the player reports settles
// under its target plus this margin.
const LATENCY_MARGIN = 1000;

const playing = () => window.player && window.player.state === 'playing' &&
  document.getElementById('status').dataset.state === 'playing';

// currentTime advances by `secs` (bounded), from the value when called.
async function advances(page, secs, what, timeout = 20000) {
  const t0 = await page.evaluate(() => document.querySelector('video').currentTime);
  await pageWait(page, ([t, s]) => document.querySelector('video').currentTime >= t + s, [t0, secs],
    { timeout, what: `${what}: currentTime to advance ${secs} s from ${t0.toFixed(2)}` });
}

function noProblems(problems, label) {
  assert.deepEqual(problems, [], `${label}: console errors / page errors`);
}

describe('20 browser player', () => {
  const env = useNginx({ tag: 'player', conf: (p) => liveConf(p, { app: 'ws_stream_grace 30s;', ...playerConfOpts() }) });
  let browser;
  let main = null;   // { page, problems, name, pub } shared by the first tests

  before(async () => {
    await checkBrowser();
    browser = await launchBrowser();
    const probe = await (await browser.newPage()).evaluate(() =>
      typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001e"'));
    assert.ok(probe, 'this chromium cannot play H.264 through MSE');
  });

  after(async () => {
    await closeAllBrowsers();
  });

  const pageUrl = (name, extra = '') => `http://127.0.0.1:${env.ports.http}/?stream=live/${name}${extra}`;

  it('plays a live stream: 640x360, real time, audio, latency near the target', async () => {
    const name = streamName('play');
    const pub = startPublisher({ port: env.rtmpPort, name, size: '640x360' });
    const { page, problems } = await openPage(browser, pageUrl(name));
    main = { page, problems, name, pub };
    await page.evaluate(() => { window.__noReload = true; });

    await pageWait(page, () => document.querySelector('video').videoWidth > 0, null,
      { timeout: 20000, what: 'first decoded frame' });
    let s = await snapshot(page);
    assert.equal(s.width, 640, JSON.stringify(s));
    assert.equal(s.height, 360, JSON.stringify(s));
    await pageWait(page, playing, null, { timeout: 15000, what: "state 'playing'" });

    // real time: currentTime advances >= 80% of wall time over 10 s
    const a = await snapshot(page);
    await sleep(10000);
    const b = await snapshot(page);
    const wall = (b.now - a.now) / 1000, media = b.currentTime - a.currentTime;
    assert.ok(media >= 0.8 * wall, `currentTime advanced ${media.toFixed(2)} s in ${wall.toFixed(2)} s wall`);

    // audio: the audio SourceBuffer has data and the decoder consumed audio
    assert.ok(b.audioBuffered > 0, `no audio buffered: ${JSON.stringify(b)}`);
    assert.ok(b.audioBytes === null || b.audioBytes > 0, `no audio decoded: ${JSON.stringify(b)}`);

    // latency settles: three stats in a row under target + margin (within 30 s)
    const target = await page.evaluate(() => window.player.latencyTarget);
    const bound = target + LATENCY_MARGIN;
    let ok = 0, seen = [];
    for (let i = 0; i < 30 && ok < 3; i++) {
      s = await snapshot(page);
      const l = s.stats && s.stats.latency;
      seen.push(l);
      ok = typeof l === 'number' && l < bound ? ok + 1 : 0;
      if (ok < 3) await sleep(1000);
    }
    assert.equal(ok, 3, `latency did not settle under ${bound} ms (target ${target}): ${seen.join(', ')}`);
    assert.ok(s.status.latency !== '', 'status line shows the latency');
    noProblems(problems, 'playback');
  });

  it('survives a publisher restart without a reload', async () => {
    assert.ok(main, 'needs the first test');
    const { page, problems, name } = main;
    await main.pub.stop();
    await pageWait(page, () => window.player.state === 'offline', null, { timeout: 15000, what: "state 'offline'" });
    main.pub = startPublisher({ port: env.rtmpPort, name, size: '640x360' });
    await pageWait(page, playing, null, { timeout: 20000, what: "state 'playing' after the restart" });
    await advances(page, 3, 'after the restart');
    const s = await snapshot(page);
    assert.equal(s.width, 640);
    assert.ok(await page.evaluate(() => window.__noReload === true), 'the page was reloaded');
    noProblems(problems, 'restart');
  });

  it('a restart at another resolution switches the picture size in place', async () => {
    assert.ok(main, 'needs the first test');
    const { page, problems, name } = main;
    await main.pub.stop();
    await pageWait(page, () => window.player.state === 'offline', null, { timeout: 15000, what: "state 'offline'" });
    main.pub = startPublisher({ port: env.rtmpPort, name, size: '320x240' });
    await pageWait(page, () => document.querySelector('video').videoWidth === 320, null,
      { timeout: 20000, what: 'videoWidth 320 after the resolution change' });
    await advances(page, 3, 'after the resolution change');
    const s = await snapshot(page);
    assert.equal(s.height, 240, JSON.stringify(s));
    assert.equal(s.state, 'playing', JSON.stringify(s));
    assert.ok(await page.evaluate(() => window.__noReload === true), 'the page was reloaded');
    await main.pub.stop();
    await page.close();
    noProblems(problems, 'resolution change');
  });

  it('an offline stream shows offline, then plays when a publisher starts', async () => {
    const name = streamName('late');
    const { page, problems } = await openPage(browser, pageUrl(name));
    await pageWait(page, () => document.getElementById('status').dataset.state === 'offline', null,
      { timeout: 15000, what: "status 'offline'" });
    await sleep(1000);
    assert.equal(await page.evaluate(() => window.player.state), 'offline');
    const pub = startPublisher({ port: env.rtmpPort, name, size: '640x360' });
    await pageWait(page, playing, null, { timeout: 20000, what: "state 'playing' once published" });
    await advances(page, 2, 'after going online');
    const s = await snapshot(page);
    assert.equal(s.width, 640);
    assert.equal(s.height, 360);
    await pub.stop();
    await page.close();
    noProblems(problems, 'offline then online');
  });
});
