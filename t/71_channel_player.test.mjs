// Channels in the browser: the demo page's player changes stream on its
// open WebSocket (switchStream, `ws_stream_switch on`). The picture changes
// to the other stream's in place (the same video element, the same
// connection), the player says channel and zap (via the switch), and it
// plays on; a refused switch is a non-fatal SWITCH_FAILED and the stream
// plays on; where the location does not allow switching, the player
// reconnects to the other stream instead (zap via reconnect).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { checkBrowser, launchBrowser, closeAllBrowsers, openPage, pageWait, playerConfOpts } from './lib/browser.mjs';

// Runs in the page before its scripts: the player's events and the sockets the page opens.
function watch() {
  window.__ev = [];
  window.__sockets = 0;
  const Ws = window.WebSocket;
  window.WebSocket = class extends Ws {
    constructor(...a) { super(...a); window.__sockets++; }
  };
  const hook = () => {
    if (!window.player) { setTimeout(hook, 20); return; }
    for (const type of ['channel', 'zap', 'error']) {
      window.player.on(type, (e) => window.__ev.push({ type, e: type === 'error' ? { code: e.code, fatal: e.fatal } : e }));
    }
  };
  hook();
}

const width = () => document.querySelector('video').videoWidth;
const advances = async (page, what) => {
  const t0 = await page.evaluate(() => document.querySelector('video').currentTime);
  await pageWait(page, (t) => document.querySelector('video').currentTime > t + 2, t0,
    { timeout: 20000, what: `${what}: currentTime to advance 2 s from ${t0.toFixed(2)}` });
};

describe('71 channels in the player', () => {
  const opts = playerConfOpts();
  const env = useNginx({
    tag: 'chanplay',
    conf: (p) => liveConf(p, {
      ...opts,
      loc: 'ws_stream_switch on;',
      server: `${opts.server} location /fixed/ { ws_stream; }`,
    }),
  });
  const a = streamName('a'), b = streamName('b');
  let browser;

  before(async () => {
    await checkBrowser();
    browser = await launchBrowser();
    startPublisher({ port: env.rtmpPort, name: a, size: '320x180', bitrate: '200k' });
    startPublisher({ port: env.rtmpPort, name: b, size: '160x90', bitrate: '100k' });
  });

  after(async () => {
    await closeAllBrowsers();
  });

  it('switchStream changes the picture on the open connection and plays on; a refusal keeps the stream', async () => {
    const { page, problems } = await openPage(browser, `http://127.0.0.1:${env.ports.http}/?stream=live/${a}`, { init: watch });
    await pageWait(page, width, null, { timeout: 20000, what: 'the first picture' });
    assert.equal(await page.evaluate(width), 320);
    await advances(page, 'a');

    await page.evaluate((s) => window.player.switchStream(s), `live/${b}`);
    await pageWait(page, () => document.querySelector('video').videoWidth === 160, null, { timeout: 15000, what: 'b\'s picture' });
    await advances(page, 'b');
    const ev = await page.evaluate(() => window.__ev);
    const channel = ev.find((x) => x.type === 'channel'), zap = ev.find((x) => x.type === 'zap');
    assert.deepEqual(channel && channel.e, { app: 'live', stream: b, online: true });
    assert.ok(zap && zap.e.via === 'switch' && zap.e.ms > 0, JSON.stringify(zap));
    assert.equal(await page.evaluate(() => window.__sockets), 1, 'one WebSocket all along');

    await page.evaluate(() => window.player.switchStream('nope/x'));
    await pageWait(page, () => window.__ev.some((x) => x.type === 'error'), null, { what: 'the refusal' });
    const err = (await page.evaluate(() => window.__ev)).find((x) => x.type === 'error');
    assert.deepEqual(err.e, { code: 'SWITCH_FAILED', fatal: false });
    await advances(page, 'b after the refusal');
    assert.equal(await page.evaluate(width), 160);
    assert.equal(await page.evaluate(() => window.player.state), 'playing');
    assert.deepEqual(problems, [], 'console errors / page errors');
    await page.close();
  });

  it('where switching is off, switchStream reconnects to the other stream', async () => {
    // the demo page's player stopped, and one of its module made for the location without switching
    const { page, problems } = await openPage(browser, `http://127.0.0.1:${env.ports.http}/?stream=live/${a}`);
    await pageWait(page, width, null, { timeout: 20000, what: 'the demo page playing' });
    const fixed = (s) => `ws://127.0.0.1:${env.ports.http}/fixed/live/${s}`;
    await page.evaluate(async (url) => {
      window.player.destroy();
      const { WsStreamPlayer } = await import('/ws-stream-player.js');
      const video = document.querySelector('video');
      window.__ev = [];
      window.player = new WsStreamPlayer(video, url);
      window.player.on('zap', (e) => window.__ev.push(e));
    }, fixed(a));
    await pageWait(page, () => window.player.state === 'playing' && document.querySelector('video').videoWidth === 320, null,
      { timeout: 20000, what: 'a through /fixed/' });
    await page.evaluate((s) => window.player.switchStream(s), `live/${b}`);
    await pageWait(page, () => document.querySelector('video').videoWidth === 160, null, { timeout: 15000, what: 'b\'s picture' });
    await advances(page, 'b');
    const zap = (await page.evaluate(() => window.__ev))[0];
    assert.ok(zap && zap.via === 'reconnect' && zap.ms > 0, JSON.stringify(zap));
    assert.equal(await page.evaluate(() => window.player.url), fixed(b));
    assert.deepEqual(problems, [], 'console errors / page errors');
    await page.close();
  });
});
