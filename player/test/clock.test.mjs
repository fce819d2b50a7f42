// Unit tests of player/clock.js with synthetic pong sequences (a server clock of
// known offset and drift, delays of known shape), and of WsLoader's clock: hello as
// the first sample, loader.offset and loader.clockError, a quick ping after a pong
// that contradicts the estimate. The true offset is known here, so the error is
// measured; on loopback (server and browser on one clock) the estimate is the error.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ClockEstimator } from '../clock.js';
import { WsLoader } from '../loader.js';
import { FakeWebSocket, installFakes, sleep, until, random } from './fakes.mjs';

/**
 * One pong: the ping leaves at local t0, reaches the server `up` ms later (it stamps
 * its clock, local + theta(local)) and comes back `down` ms after.
 */
function pong(t0, up, down, theta) {
  const server = t0 + up + theta(t0 + up);
  const t1 = t0 + up + down, t = (t0 + t1) / 2;
  return { t, offset: server - t, rtt: t1 - t0 };
}

/** Feed pongs every `every` ms from `from` for `n`; delays from delay(i) -> [up, down]. */
function feed(c, { from = 0, every = 2000, n, theta, delay }) {
  const got = [];
  for (let i = 0; i < n; i++) {
    const [up, down] = delay(i);
    got.push(c.add(pong(from + i * every, up, down, theta)));
  }
  return got;
}

const constant = (x) => () => x;

test('ClockEstimator: symmetric delay gives the offset, within half the round trip', () => {
  const c = new ClockEstimator();
  assert.equal(c.offsetAt(0), null);
  assert.equal(c.errorAt(0), null);
  feed(c, { n: 10, theta: constant(1234.5), delay: () => [5, 5] });
  assert.ok(Math.abs(c.offsetAt(20000) - 1234.5) < 1e-6, `offset ${c.offsetAt(20000)}`);
  const err = c.errorAt(18000);
  assert.ok(err >= 5 && err < 6, `error ${err}: half the 10 ms round trip, plus a little for age`);
  assert.equal(c.rttAt(18000), 10);
});

test('ClockEstimator: asymmetric delay: the error is within the bound, and the least round trip wins', () => {
  const c = new ClockEstimator();
  // 2 ms up, 20 ms down: the offset is off by (2 - 20) / 2 = -9 ms, inside the 11 ms bound
  feed(c, { n: 5, theta: constant(0), delay: () => [2, 20] });
  assert.ok(Math.abs(c.offsetAt(10000) + 9) < 1e-6, `offset ${c.offsetAt(10000)}`);
  assert.ok(c.errorAt(10000) >= 11);
  // one sample with a short trip (1 ms each way) is the best estimate: it is taken
  c.add(pong(10000, 1, 1, constant(0)));
  feed(c, { from: 12000, n: 5, theta: constant(0), delay: () => [2, 20] });
  assert.ok(Math.abs(c.offsetAt(22000)) < 0.01, `offset ${c.offsetAt(22000)}`);
  // its bound: 1 ms, plus 500 ppm of age while the drift is not known (the cap)
  assert.ok(Math.abs(c.errorAt(22000) - (1 + 0.5 * 12)) < 0.01, `error ${c.errorAt(22000)}`);
});

test('ClockEstimator: queueing jitter: the min-RTT sample, not the mean, within 1 ms', () => {
  const c = new ClockEstimator(), r = random(7);
  // 10 ms each way plus queueing of up to 60 ms in either direction, at random
  const delay = () => [10 + 60 * r() ** 3, 10 + 60 * r() ** 3];
  const got = feed(c, { n: 60, theta: constant(-5000), delay });
  assert.ok(got.every((x) => x === 'ok'), 'a late pong contradicts nothing');
  const e = c.offsetAt(120000) + 5000;
  assert.ok(Math.abs(e) < 1, `error ${e.toFixed(2)} ms`);
  assert.ok(Math.abs(e) <= c.errorAt(120000), 'within the bound');
  // a pong queued for 300 ms on the way back does not move it
  const before = c.offsetAt(121000);
  c.add(pong(121000, 10, 310, constant(-5000)));
  assert.equal(c.offsetAt(121000), before);
});

test('ClockEstimator: a drifting clock: the drift is measured (capped), an old estimate carried forward', () => {
  const ppm = 200e-6;
  const theta = (t) => 300 + ppm * t;
  const c = new ClockEstimator(), r = random(3);
  feed(c, { n: 90, theta, delay: () => [3 + 2 * r(), 3 + 2 * r()] });   // 3 minutes
  assert.ok(c.driftKnown);
  assert.ok(Math.abs(c.drift - ppm) < 20e-6, `drift ${(c.drift * 1e6).toFixed(1)} ppm`);
  // no pong for a minute (pings lost, a hidden tab): the offset of a minute ago, carried forward
  const t = 178000 + 60000;
  const e = c.offsetAt(t) - theta(t);
  assert.ok(Math.abs(e) < 2, `error ${e.toFixed(2)} ms after a minute (12 ms without the drift)`);
  assert.ok(Math.abs(e) <= c.errorAt(t), `within the bound ${c.errorAt(t).toFixed(2)}`);

  // a slope past the cap (a broken clock, or a bad estimate) is held at 500 ppm
  const d = new ClockEstimator();
  feed(d, { n: 60, theta: (x) => 0.002 * x, delay: () => [1, 1] });
  assert.equal(d.drift, 500e-6);
});

test('ClockEstimator: a clock step is followed after 3 samples, not averaged in', () => {
  const c = new ClockEstimator();
  feed(c, { n: 30, theta: constant(0), delay: () => [4, 4] });
  const step = (t) => (t >= 60000 ? 750 : 0);           // the server's clock set 750 ms on
  const got = feed(c, { from: 60000, n: 4, theta: step, delay: () => [4, 4] });
  assert.deepEqual(got, ['suspect', 'suspect', 'step', 'ok']);
  assert.ok(Math.abs(c.offsetAt(68000) - 750) < 1e-6, `offset ${c.offsetAt(68000)}`);
  assert.ok(c.errorAt(68000) < 5);
  // back again, the other way
  feed(c, { from: 68000, n: 3, theta: constant(0), delay: () => [4, 4] });
  assert.ok(Math.abs(c.offsetAt(74000)) < 1e-6);
  // one stray sample between good ones is dropped
  const d = new ClockEstimator();
  feed(d, { n: 10, theta: constant(0), delay: () => [4, 4] });
  assert.equal(d.add(pong(20000, 4, 4, constant(200))), 'suspect');
  assert.equal(d.add(pong(22000, 4, 4, constant(0))), 'ok');
  assert.ok(Math.abs(d.offsetAt(24000)) < 1e-6);
});

test('ClockEstimator: a new connection keeps the drift, not the samples', () => {
  const c = new ClockEstimator();
  feed(c, { n: 60, theta: (t) => 100e-6 * t, delay: () => [1, 1] });
  const drift = c.drift;
  c.reconnect();
  assert.equal(c.offsetAt(130000), null);
  assert.equal(c.drift, drift);
});

test('WsLoader: hello is the first clock sample, pongs refine it; offset and clockError; a quick ping after a suspect pong', async (t) => {
  installFakes(t);
  const l = new WsLoader('ws://h/ws/live/demo');
  t.after(() => l.close());
  const ws = FakeWebSocket.made[0];
  assert.equal(l.offset, null);
  assert.equal(l.clockError, null);
  await sleep(40);
  ws.open();
  const skew = 60000;                   // the server's clock is a minute ahead of this one
  ws.text({ type: 'hello', version: 1, app: 'live', stream: 'demo', online: true, server_time: Date.now() + skew });
  assert.ok(Math.abs(l.offset - skew) < 30, `offset ${l.offset} from hello`);
  assert.ok(l.clockError >= 20, `error ${l.clockError}: half the handshake, 40 ms or more`);
  const clocks = [];
  l.on('clock', (c) => clocks.push(c));
  await until(() => ws.sent.some((m) => m.type === 'ping'), 1000, 'the first quick ping, at 50 ms');
  const ping = ws.sent.find((m) => m.type === 'ping');
  // answered half way through the round trip
  ws.text({ type: 'pong', id: ping.id, t: ping.t, server_time: performance.timeOrigin + (ping.t + performance.now()) / 2 + skew });
  assert.equal(clocks.length, 1);
  assert.ok(Math.abs(l.offset - skew) < 1, `offset ${l.offset}: the pong's short round trip, not hello's`);
  assert.ok(l.clockError < 1 + 0.5 * (performance.now() - ping.t), `error ${l.clockError}`);
  assert.ok(Math.abs(l.serverNow() - (Date.now() + skew)) < 5);
  // a pong that contradicts it (the server's clock stepped): asked again 250 ms later
  const n = ws.sent.filter((m) => m.type === 'ping').length;
  const p2 = { t: performance.now() - 1 };
  ws.text({ type: 'pong', id: 99, t: p2.t, server_time: performance.timeOrigin + p2.t + skew + 5000 });
  assert.equal(clocks.at(-1).step, false);
  await sleep(300);
  assert.ok(ws.sent.filter((m) => m.type === 'ping').length > n, 'a quick ping after a suspect pong');
});
