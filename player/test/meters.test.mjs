// Unit tests of player/meters.js with a fake clock: throughput, encoded bitrate,
// stall time, startup time.
import test from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter, BitrateMeter, PlaybackMeter } from '../meters.js';

function fakeClock(t = 1000) {
  const c = () => c.t;
  c.t = t;
  c.go = (ms) => { c.t += ms; };
  return c;
}

test('RateMeter: bits/s over the last window of samples; null over less than a quarter window', () => {
  const clock = fakeClock();
  const m = new RateMeter({ window: 1000, now: clock });
  assert.equal(m.bps(0), null, 'no sample');
  let total = 0;
  m.sample(total);
  clock.go(100);
  total += 1000;
  assert.equal(m.bps(total), null, '100 ms is too short');
  // 250 kB/s = 2 Mbit/s, sampled every 250 ms
  for (let i = 0; i < 20; i++) {
    clock.go(250);
    total += 62500;
    m.sample(total);
  }
  assert.equal(m.bps(total), 2e6);
  assert.ok(m.samples.length <= 6, `${m.samples.length} samples kept`);
  // the connection goes quiet: the rate falls to 0 within a window
  for (let i = 0; i < 4; i++) { clock.go(250); m.sample(total); }
  assert.equal(m.bps(total), 0);
  // a burst: 1 MB in the last 500 ms of a 1 s window
  clock.go(250); m.sample(total);
  clock.go(250); total += 1e6; m.sample(total);
  clock.go(250); m.sample(total);
  assert.equal(m.bps(total), 8e6);
});

// a stream of `seconds` at `fps` video frames (keyframe every `gop` frames, `key` bytes,
// others `inter`) and audio frames of `audio` bytes every 1024/44100 s, from t0
function feed(m, { seconds, fps = 30, gop = 30, key = 20000, inter = 5000, audio = 400, t0 = 0 }) {
  const frames = [];
  for (let i = 0; i < seconds * fps; i++) frames.push([t0 + i / fps, i % gop === 0 ? key : inter, i % gop === 0]);
  for (let t = t0; t < t0 + seconds; t += 1024 / 44100) frames.push([t, audio, false]);
  frames.sort((a, b) => a[0] - b[0]);
  for (const [t, n, k] of frames) m.add(t, n, k);
}

test('BitrateMeter: whole GOPs before the playhead, at least the window long', () => {
  const m = new BitrateMeter({ window: 2 });
  assert.equal(m.bps(0), null, 'nothing yet');
  feed(m, { seconds: 10 });
  // a GOP: 20000 + 29 * 5000 bytes of video per second, plus 44100/1024 audio frames of 400 bytes
  const video = (20000 + 29 * 5000) * 8, audio = Math.round(44100 / 1024 * 2) * 400 * 8 / 2;
  for (const p of [3.0, 3.5, 4.99, 7.2]) {
    const b = m.bps(p);
    assert.ok(Math.abs(b - (video + audio)) < 2000, `at ${p} s: ${b} against ${video + audio}`);
  }
  // the keyframe does not make it swing: the same figure anywhere inside a GOP
  assert.equal(m.bps(5.01), m.bps(5.9));
});

test('BitrateMeter: at the start, part of one GOP only once the window is there; long GOPs', () => {
  const m = new BitrateMeter({ window: 2 });
  feed(m, { seconds: 10, gop: 300 });          // one keyframe every 10 s
  assert.equal(m.bps(1.5), null, 'part of a GOP shorter than the window: not known yet');
  const b = m.bps(2.5);                        // [0, 2.5): the keyframe and 74 frames
  const want = ((20000 + 74 * 5000) * 8 + Math.ceil(2.5 * 44100 / 1024) * 400 * 8) / 2.5;
  assert.ok(Math.abs(b - want) < 2000, `${b} against ${want}`);
  const a = new BitrateMeter({ window: 2 });
  feed(a, { seconds: 10, gop: 60 });           // 2 s GOPs: exactly one GOP once past the second keyframe
  const gop2 = ((20000 + 59 * 5000) * 8 + Math.ceil(2 * 44100 / 1024) * 400 * 8) / 2;
  assert.ok(Math.abs(a.bps(2.1) - gop2) < 2000, `${a.bps(2.1)} against ${gop2}`);
  assert.equal(a.bps(0.5), null);
  assert.equal(a.bps(-1), null, 'before the first sample');
});

test('BitrateMeter: audio only (every frame a boundary); old samples are dropped', () => {
  const m = new BitrateMeter({ window: 2, keep: 30 });
  for (let i = 0; i < 44100 / 1024 * 60; i++) m.add(i * 1024 / 44100, 500, true);   // 60 s at ~172 kbit/s
  const want = 500 * 8 * 44100 / 1024;
  assert.ok(Math.abs(m.bps(50) - want) < want * 0.02, `${m.bps(50)} against ${want}`);
  const kept = m.samples[0][0], last = m.samples.at(-1)[0];
  assert.ok(kept >= last - 30 && kept < last - 30 + 1024 / 44100, `kept from ${kept} s, the last at ${last} s`);
});

test('PlaybackMeter: a stall is time in buffering entered from playing, the one going on included', () => {
  const clock = fakeClock();
  const m = new PlaybackMeter(clock);
  assert.equal(m.state('connecting', 'buffering'), false);
  clock.go(700);
  assert.equal(m.state('buffering', 'playing'), false);
  assert.equal(m.stallTime, 0, 'starting is not a stall');
  clock.go(5000);
  assert.equal(m.state('playing', 'buffering'), true);
  assert.equal(m.stalls, 1);
  clock.go(300);
  assert.equal(m.stallTime, 300, 'the stall going on counts');
  clock.go(180);
  m.state('buffering', 'playing');
  clock.go(10000);
  assert.equal(m.stallTime, 480);
  // offline and reconnecting are no stalls; a stall ends when the state changes
  m.state('playing', 'offline');
  clock.go(3000);
  m.state('offline', 'buffering');
  clock.go(400);
  m.state('buffering', 'playing');
  assert.equal(m.stallTime, 480);
  m.state('playing', 'buffering');
  clock.go(250);
  m.state('buffering', 'reconnecting');
  clock.go(2000);
  assert.equal(m.stallTime, 730);
  assert.equal(m.stalls, 2);
});

test('PlaybackMeter: startup from the player start to the first frame of the connection presented', () => {
  const clock = fakeClock();
  const m = new PlaybackMeter(clock);
  assert.equal(m.waiting, false, 'no media yet');
  assert.equal(m.presented(0), false);
  clock.go(120);
  m.media(5.0);                   // the first sample placed: pts 5 s
  m.media(5.033);
  assert.equal(m.firstPts, 5.0);
  assert.equal(m.waiting, true);
  clock.go(200);
  assert.equal(m.presented(4.9), false, 'a frame before this connection');
  assert.equal(m.startup, null);
  assert.equal(m.presented(5.6, clock.t - 10), true, 'presented 10 ms before the callback ran');
  assert.equal(m.startup, 310);
  clock.go(1000);
  assert.equal(m.presented(6.6), false, 'only the first');
  assert.equal(m.startup, 310);
});

test('PlaybackMeter: after a lost connection that had shown a frame, from the loss; failed ones in between count', () => {
  const clock = fakeClock();
  const m = new PlaybackMeter(clock);
  m.media(0);
  clock.go(400);
  m.presented(0.1);
  assert.equal(m.startup, 400);
  clock.go(60000);
  m.lost();                       // the connection is lost: a new attempt starts now
  assert.equal(m.startup, null);
  assert.equal(m.waiting, false);
  clock.go(800);
  m.lost();                       // a connection that never got media
  clock.go(1200);
  m.media(61.0);                  // the next one's first sample
  clock.go(100);
  assert.equal(m.presented(60.8), false, 'buffered frames of the old connection');
  clock.go(150);
  assert.equal(m.presented(61.0), true);
  assert.equal(m.startup, 800 + 1200 + 250);
  // a player that never showed a frame: from its start, whatever was lost on the way
  const n = new PlaybackMeter(clock);
  clock.go(300);
  n.media(0);
  n.lost();
  clock.go(700);
  n.media(0);
  clock.go(100);
  n.presented(0.2);
  assert.equal(n.startup, 1100);
});
