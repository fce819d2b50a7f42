// Unit tests of dashboard/history.js: the time-bounded ring buffer and the
// plots' path data.
import test from 'node:test';
import assert from 'node:assert/strict';
import { History, HISTORY_MS, niceMax, runs, plotPaths } from '../history.js';

const ts = (h) => h.samples().map((s) => s.t);

test('History keeps 5 minutes by default, oldest first', () => {
  const h = new History();
  assert.equal(h.windowMs, HISTORY_MS);
  assert.equal(HISTORY_MS, 300000);
  assert.equal(h.last(), null);
  for (let t = 0; t <= 400000; t += 1000) h.add(t, { v: t / 1000 });
  const s = h.samples();
  assert.equal(s.length, 301);
  assert.equal(s[0].t, 100000);
  assert.equal(s[300].t, 400000);
  assert.deepEqual(h.last(), { t: 400000, v: 400 });
});

test('History drops what is older than the window, across wrap-around', () => {
  const h = new History({ windowMs: 10, capacity: 4 });
  h.add(0, {}); h.add(5, {}); h.add(10, {});
  assert.deepEqual(ts(h), [0, 5, 10]);
  h.add(11, {});
  assert.deepEqual(ts(h), [5, 10, 11]);
  h.add(12, {}); h.add(13, {});      // capacity 4: the oldest goes
  assert.deepEqual(ts(h), [10, 11, 12, 13]);
  h.add(40, {});                     // a gap longer than the window
  assert.deepEqual(ts(h), [40]);
  for (let t = 41; t < 60; t++) h.add(t, {});
  assert.deepEqual(ts(h), [56, 57, 58, 59]);
  h.prune(100);
  assert.deepEqual(ts(h), []);
  assert.equal(h.size, 0);
});

test('History starts anew when the clock goes back; equal times are kept', () => {
  const h = new History({ windowMs: 1000, capacity: 8 });
  h.add(500, { v: 1 }); h.add(500, { v: 2 });
  assert.deepEqual(h.samples().map((s) => s.v), [1, 2]);
  h.add(100, { v: 3 });
  assert.deepEqual(h.samples(), [{ t: 100, v: 3 }]);
});

test('History holds no references to dropped samples', () => {
  const h = new History({ windowMs: 2, capacity: 3 });
  for (let t = 0; t < 10; t++) h.add(t, {});
  assert.equal(h.buf.filter((x) => x !== undefined).length, h.size);
});

test('niceMax: 1, 2, 5 steps, a floor', () => {
  assert.deepEqual([0, 0.3, 1, 1.01, 2, 3, 7, 10, 11, 420, 5000, 5001].map((v) => niceMax(v)),
    [1, 1, 1, 2, 2, 5, 10, 10, 20, 500, 5000, 10000]);
  assert.equal(niceMax(12, 100), 100);
  assert.equal(niceMax(null, 100), 100);
});

test('runs: nulls and gaps break a line', () => {
  const s = [{ t: 0, v: 1 }, { t: 1000, v: 2 }, { t: 2000, v: null }, { t: 3000, v: 3 }, { t: 4000, v: 4 },
    { t: 9000, v: 5 }, { t: 10000 }];
  assert.deepEqual(runs(s, ['v'], 3500).map((r) => r.map((x) => x.t)), [[0, 1000], [3000, 4000], [9000]]);
  assert.deepEqual(runs([], ['v'], 1000), []);
});

test('plotPaths: a line in the window, scaled to a nice maximum', () => {
  const t1 = 1_000_000;
  const samples = [{ t: t1 - 400000, v: 9 }, { t: t1 - 300000, v: 0 }, { t: t1 - 150000, v: 2 }, { t: t1, v: 4 }];
  const p = plotPaths(samples, { key: 'v', t1, width: 300, height: 60, maxGap: 200000 });
  assert.equal(p.yMax, 5);           // the sample outside the window does not count
  assert.equal(p.line, 'M0 60L150 36L300 12');
  assert.equal(p.band, '');
});

test('plotPaths: a min-max band per run, the line over the average', () => {
  const t1 = 300000;
  const s = [
    { t: 0, avg: 100, min: 50, max: 200 },
    { t: 150000, avg: 150, min: 100, max: 250 },
    { t: 200000, avg: null, min: null, max: null },
    { t: 300000, avg: 300, min: 200, max: 400 },
  ];
  const p = plotPaths(s, { key: 'avg', band: ['min', 'max'], t1, width: 300, height: 50, floor: 100, maxGap: 200000 });
  assert.equal(p.yMax, 500);
  assert.equal(p.line, 'M0 40L150 35M300 20');
  assert.equal(p.band, 'M0 30L150 25L150 40L0 45ZM300 10L300 30Z');
});

test('plotPaths: nothing to draw, values over the scale are clamped', () => {
  assert.deepEqual(plotPaths([], { key: 'v', t1: 0, width: 10, height: 10 }), { line: '', band: '', yMax: 1 });
  const p = plotPaths([{ t: 0, v: 3, hi: 3, lo: 1 }], { key: 'v', band: ['lo', 'hi'], t1: 0, windowMs: 10, width: 10, height: 10, floor: 1 });
  assert.equal(p.yMax, 5);
  assert.equal(p.line, 'M10 4');
});
