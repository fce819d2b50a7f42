// Synchronized playback (issue 11). First the relay the sync benchmark puts
// between browser and server (t/lib/relay.mjs): chunks delayed with jitter
// still arrive in order, complete, and the relay closes with its sockets.
//
// Then two of our players (the player the demo page serves) in one
// Chromium page (bench/sync/: one clock, one compositor for both) of one
// live stream that ffmpeg publishes from the barcoded bench fixture: every
// frame each player presents is identified by its barcode
// (requestVideoFrameCallback), and at every moment one of them presents a
// frame, the frames the two show then are compared. They must show the same
// frame within TOLERANCE at p95, once they played a while, and again after
// the page held one player's WebSocket messages back for 1.5 s (a stalled
// link: nothing lost, all handed on at once) and it played again.
//
// TOLERANCE: the product's goal is p95 within one frame interval (33 ms at
// 30 fps, issue 11). A moment is a vsync (60 Hz here) and each player shows
// a frame for two of them, so two players half a frame apart in time
// already differ by one frame at half the moments: one frame is the floor
// of this measure. Two frames (67 ms) at p95 is that goal plus one frame of
// room for a loaded machine (the suite also runs under ASan); it is what the
// sync controller promises. Today's player (each one its own latency
// control, a dead band of 80 ms) is not expected to meet it.
// Needs chromium and playwright-core (as t/20: missing ones are an error).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { useNginx, REPO, FFMPEG } from './lib/nginx.mjs';
import { spawnPublisher } from './lib/publish.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep, waitUntil } from './lib/util.mjs';
import { startRelay } from './lib/relay.mjs';
import { compare, freezes, FRAME_MS } from './lib/sync_frames.mjs';
import { PLAYER_ROOT, checkBrowser, launchBrowser, closeAllBrowsers, openPage, pageWait, playerConfOpts } from './lib/browser.mjs';

const TOLERANCE = 2;        // frames, p95 of the difference between the two players
const SETTLE = 10000;       // ms played before a comparison (start-up and recovery are not judged)
const WINDOW = 10000;       // ms compared
const WINDOWS = 3;          // windows measured at most, while a player stalls in one
const HOLD = 1500;          // ms one player's messages are held back
// the bench's 360p fixture (bench/fixtures.sh; make integration builds it), made here if missing
const FIXTURE = path.join(REPO, 'build', 'bench', 'fixture-360p.flv');

function ensureFixture() {
  if (fs.existsSync(FIXTURE)) return FIXTURE;
  fs.mkdirSync(path.dirname(FIXTURE), { recursive: true });
  const r = spawnSync('sh', [path.join(REPO, 'bench', 'fixtures.sh'), '360p', FIXTURE],
    { encoding: 'utf8', timeout: 300000, env: { ...process.env, FFMPEG } });
  assert.equal(r.status, 0, `bench/fixtures.sh 360p: ${r.stderr}`);
  return FIXTURE;
}

// --- the relay ---------------------------------------------------------------

// bytes 0, 1, 2 ... (mod 251) in chunks of 1 to 3000 bytes
function sequence(total) {
  const b = Buffer.alloc(total);
  for (let i = 0; i < total; i++) b[i] = i % 251;
  return b;
}

// writes `data` in small chunks with pauses between some, then ends
async function writeChunks(sock, data) {
  for (let i = 0, k = 0; i < data.length; k++) {
    const n = 1 + ((k * 7919) % 3000);
    sock.write(data.subarray(i, i + n));
    i += n;
    if (k % 4 === 0) await sleep(1);
  }
  sock.end();
}

const collect = (sock) => new Promise((resolve, reject) => {
  const parts = [];
  sock.on('data', (d) => parts.push(d));
  sock.on('end', () => resolve(Buffer.concat(parts)));
  sock.on('error', reject);
});

describe('68 sync: the delaying relay', () => {
  let target = null;
  const got = [];            // what the target received, per connection
  const down = sequence(400000), up = sequence(120000).reverse();

  before(async () => {
    target = net.createServer({ allowHalfOpen: true }, (s) => {
      got.push(collect(s));
      writeChunks(s, down);
    });
    await new Promise((r) => target.listen(0, '127.0.0.1', r));
  });

  after(() => new Promise((r) => target.close(r)));

  for (const direction of ['down', 'both']) {
    it(`delay 20 +/- 15 ms ${direction}: every byte, in order, both ways; closes with its sockets`, async () => {
      let flip = 0;   // the jitter's two extremes in turn: without the order rule, every other chunk would overtake
      const relay = await startRelay({ port: target.address().port, delay: 20, jitter: 15, direction,
        random: () => (flip++ % 2), lifetime: 60000 });
      try {
        const c = net.connect({ port: relay.port, host: '127.0.0.1', allowHalfOpen: true });
        await new Promise((r, j) => { c.once('connect', r); c.once('error', j); });
        const received = collect(c);
        await writeChunks(c, up);
        const mine = await received;
        assert.ok(mine.equals(down), `server -> client: ${mine.length} of ${down.length} bytes, first difference at ${
          mine.findIndex((x, i) => x !== down[i])}`);
        const theirs = await got.at(-1);
        assert.ok(theirs.equals(up), `client -> server: ${theirs.length} of ${up.length} bytes`);
        assert.ok(relay.stats.chunks.down > 10, `the data came in chunks: ${JSON.stringify(relay.stats)}`);
        await waitUntil(() => relay.connections === 0, { timeout: 10000, what: 'the relay to close the connection' });
        assert.equal(relay.stats.open, 0);
      } finally {
        await relay.stop();
      }
      await relay.stopped;
    });
  }

  it('stop() ends open connections and the relay stops by itself after its lifetime', async () => {
    const idle = net.createServer(() => {});   // a target that sends nothing and never closes
    await new Promise((r) => idle.listen(0, '127.0.0.1', r));
    try {
      const relay = await startRelay({ port: idle.address().port, delay: 5, lifetime: 60000 });
      const c = net.connect(relay.port, '127.0.0.1');
      c.on('data', () => {});
      c.on('error', () => {});
      const closed = new Promise((r) => c.once('close', r));
      await waitUntil(() => relay.connections === 1, { timeout: 5000, what: 'a relayed connection' });
      await relay.stop();
      assert.equal(relay.connections, 0);
      await closed;
    } finally {
      idle.close();
    }
    const short = await startRelay({ port: target.address().port, lifetime: 200 });
    await short.stopped;
    await assert.rejects(new Promise((resolve, reject) => {
      const s = net.connect(short.port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', reject);
    }), 'the relay still listens after its lifetime');
  });
});

// --- two players -------------------------------------------------------------

describe('68 sync: two players of one stream show the same frame', () => {
  const conf = playerConfOpts();
  const env = useNginx({
    tag: 'sync',
    conf: (p) => liveConf(p, {
      http: conf.http,
      server: `location /player/ { alias ${PLAYER_ROOT}/; } location /sync/ { alias ${REPO}/bench/sync/; } ` +
        `location /lib/ { alias ${REPO}/bench/lib/; }`,
    }),
  });
  const name = streamName('sync');
  let browser = null, page = null, problems = null;

  before(async () => {
    await checkBrowser();
    const file = ensureFixture();
    spawnPublisher(['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file,
      '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${env.rtmpPort}/live/${name}`], { name });
    browser = await launchBrowser();
  });

  after(async () => {
    await closeAllBrowsers();
  });

  // both players' frames from page time `from` for WINDOW ms, compared
  async function compareWindow(from) {
    await sleep(WINDOW);
    const d = await page.evaluate((f) => window.__sync.dump(f), from);
    const c = compare(d.map((p) => p.frames), { from, to: from + WINDOW });
    return { d, c };
  }

  function report(t, label, { d, c }) {
    const ms = (x) => (x === null ? 'n/a' : `${(x * FRAME_MS).toFixed(0)} ms`);
    t.diagnostic(`${label}: ${c.moments} moments; difference p50 ${c.pairs.p50} / p95 ${c.pairs.p95} / max ${c.pairs.max} frames ` +
      `(${ms(c.pairs.p50)} / ${ms(c.pairs.p95)} / ${ms(c.pairs.max)}); worst moment [spread, ms, frames shown] ${JSON.stringify(c.worst)}`);
    t.diagnostic(`${label}: per player [frames, bad reads, freezes > 150 ms, dropped, state, stalls, latency target, sockets]: ` +
      JSON.stringify(d.map((p) => [p.frames.length, p.bad, freezes(p.frames).length, p.dropped, p.state, p.stalls, p.latencyTarget, p.sockets])));
  }

  function check({ d, c }, label) {
    for (const p of d) {
      assert.ok(p.frames.length >= WINDOW / FRAME_MS / 2, `${label}: player ${p.k} presented ${p.frames.length} frames in ${WINDOW} ms`);
      assert.ok(p.bad <= p.frames.length / 10 + 5, `${label}: player ${p.k}: ${p.bad} barcodes did not read`);
      assert.deepEqual(p.errors, [], `${label}: player ${p.k} errors`);
    }
    assert.ok(c.moments >= WINDOW / FRAME_MS / 2, `${label}: ${c.moments} moments compared`);
    assert.ok(c.pairs.p95 <= TOLERANCE, `${label}: the two players' frames differ by ${c.pairs.p95} frames at p95 ` +
      `(p50 ${c.pairs.p50}, max ${c.pairs.max}; tolerance ${TOLERANCE}); worst moment [spread, ms, frames shown] ${JSON.stringify(c.worst)}`);
  }

  it('after playing a while', async (t) => {
    const q = new URLSearchParams({ player: 'ours', n: '2', lib: '/player/', url: env.http('live', name) });
    ({ page, problems } = await openPage(browser, `http://127.0.0.1:${env.ports.http}/sync/index.html?${q}`));
    await pageWait(page, () => window.__sync.players.length === 2 && window.__sync.players.every((p) => p.frames.length > 30), null,
      { timeout: 30000, what: 'both players presenting frames' });
    await sleep(SETTLE);
    // a player that stalls (two shared cores, a loaded CI machine) raises
    // its own latency target a step above the shared one: the window
    // measured the stall, not the sync, and is measured again, at most
    // WINDOWS times; every window is reported
    let r = null;
    for (let w = 1; w <= WINDOWS; w++) {
      const stalls = (await page.evaluate(() => window.__sync.dump(performance.now()))).map((p) => p.stalls);
      r = await compareWindow(await page.evaluate(() => performance.now()));
      report(t, `playing (window ${w})`, r);
      const stalled = r.d.filter((p, k) => p.stalls !== stalls[k]).map((p) => p.k);
      if (!stalled.length) break;
      t.diagnostic(`playing (window ${w}): player(s) ${stalled} stalled in the window`);
    }
    check(r, 'playing');
    assert.deepEqual(problems, [], 'console errors / page errors');
  });

  it('after one of them stalled for 1.5 s', async (t) => {
    assert.ok(page, 'needs the first test');
    const held = await page.evaluate((ms) => window.__sync.hold(1, ms), HOLD);
    // the stall was real: player 1 showed no new frame for most of the hold
    await pageWait(page, (h) => window.__sync.players[1].frames.at(-1)[0] > h, held + HOLD,
      { timeout: 20000, what: 'player 1 presenting again after the hold' });
    const d = await page.evaluate((h) => window.__sync.dump(h - 500), held);
    const frozen = freezes(d[1].frames, { ms: HOLD / 2 });
    t.diagnostic(`held player 1 from ${Math.round(held)} ms: ${d[1].heldMessages} messages held; ` +
      `freezes [ms, length]: ${JSON.stringify(frozen)}; player 0: ${JSON.stringify(freezes(d[0].frames))}`);
    assert.ok(frozen.length >= 1, `player 1 never froze for ${HOLD / 2} ms around the hold`);
    await sleep(SETTLE);
    const r = await compareWindow(await page.evaluate(() => performance.now()));
    report(t, 'after the stall', r);
    check(r, 'after the stall');
    assert.deepEqual(problems, [], 'console errors / page errors');
  });
});
