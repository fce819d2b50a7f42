// The data channel in the browser: the publisher's captions (ffmpeg's
// onTextData from subtitles) reach the page as the player's 'data' events
// when the frame of their time is shown. The page watches the frames
// presented (requestVideoFrameCallback) and, at each event, notes the
// newest one: the caption's time and the picture's agree within two frame
// intervals (the event is fired from the frame callback of its frame, or of
// the one after when callbacks run in the other order). Every caption comes
// once, in order, with its text.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useNginx } from './lib/nginx.mjs';
import { spawnPublisher } from './lib/publish.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { checkBrowser, launchBrowser, closeAllBrowsers, openPage, pageWait, playerConfOpts } from './lib/browser.mjs';

const FRAME = 1 / 30;
const CAPTIONS = [4, 5.5, 7, 8.5, 10, 11.5];     // s of the publisher's clock
const srtTime = (s) => `00:00:${String(Math.floor(s)).padStart(2, '0')},${String(Math.round((s % 1) * 1000)).padStart(3, '0')}`;
const SRT = CAPTIONS.map((t, k) => `${k + 1}\n${srtTime(t)} --> ${srtTime(t + 1)}\ncaption ${k + 1}\n`).join('\n');

// Runs in the page before its scripts: the frames presented, and the data
// events with the newest frame at the moment of each.
function watch() {
  window.__cues = [];
  window.__frame = null;
  const v = () => document.querySelector('video');
  const onFrame = (now, meta) => {
    window.__frame = meta.mediaTime;
    v().requestVideoFrameCallback(onFrame);
  };
  const hook = () => {
    if (!window.player || !v()) { setTimeout(hook, 20); return; }
    v().requestVideoFrameCallback(onFrame);
    window.player.on('data', (e) => window.__cues.push({ name: e.name, value: e.value, pts: e.pts,
      frame: window.__frame, at: v().currentTime }));
  };
  hook();
}

describe('70 data channel in the player', () => {
  const env = useNginx({ tag: 'dataplay', conf: (p) => liveConf(p, playerConfOpts()) });
  let browser;

  before(async () => {
    await checkBrowser();
    browser = await launchBrowser();
  });

  after(async () => {
    await closeAllBrowsers();
  });

  it('each caption is a data event shown with the frame of its time', async (t) => {
    const name = streamName('cues');
    const srt = path.join(env.prefix, 'cues.srt');
    fs.writeFileSync(srt, SRT);
    const pub = spawnPublisher(['-hide_banner', '-nostdin', '-loglevel', 'error',
      '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30:duration=14', '-i', srt,
      '-map', '0:v', '-map', '1:s', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30',
      '-pix_fmt', 'yuv420p', '-c:s', 'text', '-f', 'flv', `rtmp://127.0.0.1:${env.rtmpPort}/live/${name}`], { name });
    const { page, problems } = await openPage(browser, `http://127.0.0.1:${env.ports.http}/?stream=live/${name}`,
      { init: watch });
    await pageWait(page, (n) => window.__cues && window.__cues.length >= n, CAPTIONS.length,
      { timeout: 30000, what: `${CAPTIONS.length} data events` });
    const cues = await page.evaluate(() => window.__cues);
    t.diagnostic(cues.map((c) => `${c.value && c.value.text}: pts ${c.pts.toFixed(3)} frame ${c.frame && c.frame.toFixed(3)}`).join('; '));
    assert.deepEqual(cues.map((c) => c.name), CAPTIONS.map(() => 'onTextData'));
    assert.deepEqual(cues.map((c) => c.value && c.value.text), CAPTIONS.map((_, k) => `caption ${k + 1}`));
    for (let k = 1; k < cues.length; k++) {
      assert.ok(Math.abs(cues[k].pts - cues[k - 1].pts - (CAPTIONS[k] - CAPTIONS[k - 1])) < 0.05,
        `captions ${k} and ${k + 1} are ${(cues[k].pts - cues[k - 1].pts).toFixed(3)} s apart on the player's timeline`);
    }
    for (const c of cues) {
      assert.ok(c.frame !== null && Math.abs(c.frame - c.pts) <= 2 * FRAME + 0.001,
        `${c.value.text} (pts ${c.pts.toFixed(3)}) came with frame ${c.frame} on the screen`);
    }
    assert.deepEqual(problems, [], 'console errors / page errors');
    await page.close();
    await pub.stop();
  });
});
