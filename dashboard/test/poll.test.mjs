// Unit tests of dashboard/poll.js with a fake clock and a fake fetch: one
// request in flight at most, one a second, errors told apart, recovery.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Poller, PollError, describeError, fetchJson } from '../poll.js';

// A clock whose timers run when advanced.
function fakeClock() {
  let now = 0, seq = 0;
  const timers = new Map();
  return {
    now: () => now,
    setTimeout: (f, ms) => { const id = ++seq; timers.set(id, { at: now + ms, f }); return id; },
    clearTimeout: (id) => { timers.delete(id); },
    pending: () => timers.size,
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        await flush();
        let next = null;
        for (const [id, t] of timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].f();
      }
      now = end;
      await flush();
    },
  };
}
const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

const json = (body, status = 200) => ({
  ok: status >= 200 && status < 300, status,
  json: async () => (typeof body === 'string' ? JSON.parse(body) : body),
  text: async () => JSON.stringify(body),
});

// fetch whose answers the test releases one by one.
function manualFetch() {
  const calls = [];
  const fn = (url, opts) => new Promise((resolve, reject) => {
    calls.push({ url, opts, resolve, reject });
    opts.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
  });
  return { fn, calls };
}

function setup(extra = {}) {
  const clock = fakeClock();
  const f = manualFetch();
  const got = [];
  const p = new Poller({
    url: () => '/api/streams', fetch: f.fn, now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
    onData: (d, url) => got.push(['data', d, url]), onError: (e, url) => got.push(['error', e, url]), ...extra,
  });
  return { clock, f, got, p };
}

test('one request a second while the server answers at once', async () => {
  const { clock, f, got, p } = setup();
  p.start();
  for (let i = 0; i < 5; i++) {
    await flush();
    assert.equal(f.calls.length, i + 1);
    f.calls[i].resolve(json({ n: i }));
    await clock.advance(1000);
  }
  assert.deepEqual(got.map((g) => g[1].n), [0, 1, 2, 3, 4]);
  assert.equal(got[0][2], '/api/streams');
  assert.equal(f.calls[0].opts.cache, 'no-store');
  p.stop();
  await clock.advance(5000);
  assert.equal(f.calls.length, 6);       // the one started at t = 5 s is never delivered
  assert.equal(got.length, 5);
  assert.equal(clock.pending(), 1);      // its timeout guard only
});

test('a slow server: never two requests in flight, the next one right after', async () => {
  const { clock, f, got, p } = setup();
  p.start();
  await clock.advance(3500);             // the first answer takes 3.5 s
  assert.equal(f.calls.length, 1);
  f.calls[0].resolve(json({}));
  await clock.advance(0);
  assert.equal(f.calls.length, 2, 'the next request starts when the slow one ends');
  await clock.advance(400);
  f.calls[1].resolve(json({}));          // a fast one: the next waits out its second
  await clock.advance(500);
  assert.equal(f.calls.length, 2);
  await clock.advance(100);
  assert.equal(f.calls.length, 3);
  assert.equal(got.length, 2);
  p.stop();
});

test('errors: network, HTTP status, bad JSON, timeout; then recovery', async () => {
  const { clock, f, got, p } = setup({ timeout: 5000 });
  p.start();
  await flush();
  f.calls[0].reject(new TypeError('Failed to fetch'));
  await clock.advance(1000);
  f.calls[1].resolve(json('nope', 503));
  await clock.advance(1000);
  f.calls[2].resolve(json('{"truncated'));
  await clock.advance(1000);
  await clock.advance(5000);             // no answer at all: aborted after the timeout
  await clock.advance(0);
  f.calls[4].resolve(json({ ok: 1 }));
  await flush();
  const kinds = got.map(([k, e]) => (k === 'error' ? e.kind : 'data'));
  assert.deepEqual(kinds, ['network', 'http', 'json', 'timeout', 'data']);
  assert.equal(got[1][1].status, 503);
  assert.deepEqual(got.slice(0, 4).map(([, e]) => describeError(e)),
    ['API unreachable', 'HTTP 503', 'API answer is not JSON', 'API timeout']);
  assert.ok(got.slice(0, 4).every(([, e]) => e instanceof PollError));
  p.stop();
});

test('poke: at once when idle, once more after the request in flight', async () => {
  let url = '/a';
  const { clock, f, got, p } = setup({ url: () => url });
  p.start();
  await flush();
  url = '/b';
  p.poke();
  p.poke();
  assert.equal(f.calls.length, 1, 'no second request while one is in flight');
  f.calls[0].resolve(json({}));
  await clock.advance(0);
  assert.equal(f.calls.length, 2, 'the poked request follows at once');
  assert.equal(f.calls[1].url, '/b');
  assert.equal(got[0][2], '/a', 'the answer comes with the URL it was for');
  f.calls[1].resolve(json({}));
  await clock.advance(200);
  assert.equal(f.calls.length, 2);
  url = '/c';
  p.poke();                              // idle: now, not at the next second
  await flush();
  assert.equal(f.calls.length, 3);
  assert.equal(f.calls[2].url, '/c');
  f.calls[2].resolve(json({}));
  await clock.advance(999);
  assert.equal(f.calls.length, 3);
  await clock.advance(1);
  assert.equal(f.calls.length, 4);
  p.stop();
});

test('url() null: nothing is fetched, asked again a second later', async () => {
  let url = null;
  const { clock, f, p } = setup({ url: () => url });
  p.start();
  await clock.advance(3000);
  assert.equal(f.calls.length, 0);
  url = '/x';
  await clock.advance(1000);
  assert.equal(f.calls.length, 1);
  p.stop();
});

test('a handler that throws does not stop the polling', async () => {
  const seen = [];
  let n = 0;
  const { clock, f, p } = setup({ onData: () => { n++; throw new Error('render bug'); }, report: (e) => seen.push(e) });
  p.start();
  await flush();
  f.calls[0].resolve(json({}));
  await clock.advance(1000);
  assert.equal(f.calls.length, 2);
  assert.equal(n, 1);
  assert.equal(seen.length, 1);
  assert.match(seen[0].message, /render bug/);
  p.stop();
});

test('fetchJson passes the signal and asks for JSON', async () => {
  let opts;
  const d = await fetchJson(async (u, o) => { opts = o; return json({ a: 1 }); }, '/u', 'SIG');
  assert.deepEqual(d, { a: 1 });
  assert.equal(opts.signal, 'SIG');
  assert.equal(opts.headers.Accept, 'application/json');
  await assert.rejects(fetchJson(async () => json({}, 404), '/u'), (e) => e.kind === 'http' && e.status === 404);
});
