// Unit tests of dashboard/format.js: display text of API values, text safety,
// the API's URLs, paging; and that the page never writes API data as markup.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  DASH, printable, truncate, fmtText, fmtCount, fmtBitrate, fmtBytes, fmtDuration, fmtMs, fmtHz, fmtFps,
  fmtChannels, fmtRate, fmtSize, fmtOnline, fmtClock, getPath, streamKey, apiBase, streamsUrl, viewersUrl,
  pageRange, clampOffset,
} from '../format.js';

const every = [fmtText, fmtCount, fmtBitrate, fmtBytes, fmtDuration, fmtMs, fmtHz, fmtFps, fmtChannels, fmtRate, fmtClock];

test('null, undefined and non-finite figures show a dash', () => {
  for (const f of every) {
    for (const v of [null, undefined, NaN, Infinity]) assert.equal(f(v), DASH, `${f.name}(${v})`);
  }
  assert.equal(fmtText(''), DASH);
  assert.equal(fmtSize(null, 360), DASH);
  assert.equal(fmtSize(640, undefined), DASH);
});

test('counts, bitrates, bytes', () => {
  assert.deepEqual([0, 7, 1234, 1234567].map(fmtCount), ['0', '7', '1,234', '1,234,567']);
  assert.deepEqual([0, 850, 999, 1000, 85000, 850000, 999600, 1234567, 12345678, 2.5e9].map(fmtBitrate),
    ['0 bit/s', '850 bit/s', '999 bit/s', '1.00 kbit/s', '85.0 kbit/s', '850 kbit/s', '1.00 Mbit/s', '1.23 Mbit/s',
      '12.3 Mbit/s', '2.50 Gbit/s']);
  assert.deepEqual([0, 512, 1500, 99960, 12345678, 4e9, 7e15].map(fmtBytes),
    ['0 B', '512 B', '1.50 kB', '100 kB', '12.3 MB', '4.00 GB', '7.00 PB']);
});

test('delays and durations', () => {
  assert.deepEqual([0, 0.05, 4.24, 9.96, 12.4, 420.5, 999.4, 999.6, 1234, 12345, 59999].map(fmtMs),
    ['0.0 ms', '0.1 ms', '4.2 ms', '10 ms', '12 ms', '421 ms', '999 ms', '1.00 s', '1.23 s', '12.3 s', '60.0 s']);
  assert.equal(fmtMs(65000), '1 min 05 s');
  assert.deepEqual([0, 999, 42000, 185000, 7380000, 273600000, -5].map(fmtDuration),
    ['0 s', '0 s', '42 s', '3 min 05 s', '2 h 03 min', '3 d 04 h', '0 s']);
});

test('rates, channels, sizes, state', () => {
  assert.deepEqual([44100, 48000, 22050, 800].map(fmtHz), ['44.1 kHz', '48 kHz', '22.05 kHz', '800 Hz']);
  assert.deepEqual([30, 29.97, 25.0001, 59.94006].map(fmtFps), ['30 fps', '29.97 fps', '25 fps', '59.94 fps']);
  assert.deepEqual([1, 2, 6].map(fmtChannels), ['mono', 'stereo', '6 ch']);
  assert.equal(fmtRate(1), '1.00\u00d7');
  assert.equal(fmtRate(1.024), '1.02\u00d7');
  assert.equal(fmtSize(640, 360), '640\u00d7360');
  assert.deepEqual([true, false, null].map(fmtOnline), ['online', 'offline', 'offline']);
  const t = new Date(2024, 0, 2, 3, 4, 5).getTime();
  assert.equal(fmtClock(t), '03:04:05');
});

test('printable: controls and bidi overrides cannot hide or reorder text', () => {
  assert.equal(printable('live/demo'), 'live/demo');
  assert.equal(printable('a\u202eb\u2066c\u200fd'), 'a\ufffdb\ufffdc\ufffdd');
  assert.equal(printable('x\u0000y\ny\u001b[31m\u007f\u0085'), 'x\ufffdy\ufffdy\ufffd[31m\ufffd\ufffd');
  assert.equal(printable('\u2028\u2029\ufeff'), '\ufffd\ufffd\ufffd');
  // markup stays text: nothing is removed or rewritten, the page sets textContent
  assert.equal(printable('<img src=x onerror=alert(1)>&"\''), '<img src=x onerror=alert(1)>&"\'');
  assert.equal(printable('caf\u00e9 \u4e2d \ud83d\ude00 \ufffd'), 'caf\u00e9 \u4e2d \ud83d\ude00 \ufffd');
  assert.equal(fmtText(12), '12');
});

test('truncate counts code points and never splits a surrogate pair', () => {
  assert.equal(truncate('short', 10), 'short');
  assert.equal(truncate('exactly10!', 10), 'exactly10!');
  assert.equal(truncate('Mozilla/5.0 (X11; Linux x86_64)', 10), 'Mozilla/5\u2026');
  assert.equal(truncate('\ud83d\ude00\ud83d\ude01\ud83d\ude02', 2), '\ud83d\ude00\u2026');
  assert.equal(Array.from(truncate('x'.repeat(500), 40)).length, 40);
});

test('getPath and streamKey', () => {
  const s = { app: 'live', stream: 'demo', latency_ms: { avg: 12.5, min: null }, video: null };
  assert.equal(getPath(s, 'latency_ms.avg'), 12.5);
  assert.equal(getPath(s, 'latency_ms.min'), null);
  assert.equal(getPath(s, 'video.width'), undefined);
  assert.equal(getPath(s, 'nothing.at.all'), undefined);
  assert.equal(streamKey(s), 'live/demo');
});

test('apiBase: ../api/ beside the page, ?api= overrides, always ends in /', () => {
  assert.equal(apiBase('', 'http://h:8080/stats/'), 'http://h:8080/api/');
  assert.equal(apiBase('', 'http://h:8080/stats/index.html?x=1#y'), 'http://h:8080/api/');
  assert.equal(apiBase('?api=/other/api', 'http://h/stats/'), 'http://h/other/api/');
  assert.equal(apiBase('?api=https%3A%2F%2Fstats.example%2Fv1%2F%3Fq%3D1', 'http://h/stats/'), 'https://stats.example/v1/');
  assert.equal(apiBase('?api=../x/', 'http://h/a/b/'), 'http://h/a/x/');
  assert.throws(() => apiBase('?api=javascript:alert(1)', 'http://h/stats/'), /http\(s\)/);
  assert.throws(() => apiBase('?api=data:text/html,x', 'http://h/stats/'), /http\(s\)/);
});

test('URLs: names are percent-encoded into one path segment each', () => {
  const api = 'http://h/api/';
  assert.equal(streamsUrl(api), 'http://h/api/streams');
  assert.equal(viewersUrl(api, 'live', 'demo', 50, 50), 'http://h/api/streams/live/demo/viewers?offset=50&limit=50');
  const u = new URL(viewersUrl(api, 'a b', '../x?y#z/%', 0, 50));
  assert.equal(u.pathname, '/api/streams/a%20b/..%2Fx%3Fy%23z%2F%25/viewers');
  assert.equal(u.search, '?offset=0&limit=50');
  assert.equal(u.hash, '');
});

test('paging: range text and offset after viewers left', () => {
  assert.equal(pageRange(0, 50, 5000), '1\u201350 of 5,000');
  assert.equal(pageRange(4950, 50, 5000), '4,951\u20135,000 of 5,000');
  assert.equal(pageRange(0, 0, 0), '0 of 0');
  assert.equal(clampOffset(0, 0, 50), 0);
  assert.equal(clampOffset(100, 120, 50), 100);
  assert.equal(clampOffset(100, 100, 50), 50);
  assert.equal(clampOffset(150, 20, 50), 0);
  assert.equal(clampOffset(150, 0, 50), 0);
});

test('the page writes API data as text only', () => {
  const dir = new URL('../', import.meta.url);
  for (const f of ['dashboard.js', 'format.js', 'groups.js', 'history.js', 'poll.js', 'index.html']) {
    const src = fs.readFileSync(new URL(f, dir), 'utf8');
    assert.doesNotMatch(src, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, f);
    assert.doesNotMatch(src, /console\.(log|warn|error|info|debug)/, f);
  }
});
