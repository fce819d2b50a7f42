// What the LL-HLS location refuses, and how: 400 with the reason for bad
// blocking-reload arguments, the exact limits (_HLS_msn last + 2, the Advance
// Part Limit) while the publisher is paused, 503 for waits that time out
// (3 target durations), 404 for unknown streams, apps, file names and what
// is not (or no longer) in the window, an offline stream. 1 s segments,
// 200 ms parts, a window of 4.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';
import {
  hlsConf, hlsBase, get, pending, parseMedia, waitMedia, fetchMedia, fetchBytes, hasPart, lastPart,
  pausePublisher, resumePublisher, waitFrozen,
} from './lib/hls.mjs';

const OFFLINE = 'stream is offline or does not exist\n';
const NO_FILE = 'no such HLS file\n';
const NOT_IN_WINDOW = "not in the stream's HLS window\n";
const TIMED_OUT = 'what was asked for did not come in 3 target durations\n';

describe('43 hls errors: 400, 404, 503', () => {
  const env = useNginx({
    tag: 'hls43',
    conf: (p) => hlsConf(p, { hls: 'ws_stream_hls_segment 1s; ws_stream_hls_window 4;', app: 'ws_stream_grace 30s;' }),
  });
  const name = streamName('er');
  let base, pub, f0, seg0, part00;   // the first segment of the stream

  before(async () => {
    pub = startPublisher({ port: env.rtmpPort, name });
    base = hlsBase(env, name);
    const pl = await waitMedia(base, (x) => x.complete.length >= 1, { what: 'a first segment' });
    f0 = pl.segments[0].msn;
    assert.equal(f0, pl.mediaSequence);
    seg0 = await fetchBytes(base, `${f0}.m4s`);
    part00 = await fetchBytes(base, `${f0}.0.m4s`);
  });

  it('400 with the reason as text for malformed or impossible blocking-reload arguments', async () => {
    const pl = await fetchMedia(base);
    const open = pl.hint.msn;
    const cases = [
      ['_HLS_part=1', '_HLS_part without _HLS_msn'],
      [`_HLS_msn=${open + 100}`, '_HLS_msn is more than 2 past the last segment'],
      [`_HLS_msn=${open + 100}&_HLS_part=0`, '_HLS_msn is more than 2 past the last segment'],
      [`_HLS_msn=${open}&_HLS_part=1000`, '_HLS_part is more than the Advance Part Limit past the last'],
      [`_HLS_msn=${open + 1}&_HLS_part=1000`, '_HLS_part is more than the Advance Part Limit past the last'],
      ['_HLS_msn=abc', '_HLS_msn or _HLS_part is not a decimal-integer'],
      ['_HLS_msn=', '_HLS_msn or _HLS_part is not a decimal-integer'],
      ['_HLS_msn', '_HLS_msn or _HLS_part is not a decimal-integer'],
      ['_HLS_msn=-1', '_HLS_msn or _HLS_part is not a decimal-integer'],
      ['_HLS_msn=1.5', '_HLS_msn or _HLS_part is not a decimal-integer'],
      ['_HLS_msn=1e3', '_HLS_msn or _HLS_part is not a decimal-integer'],
      ['_HLS_msn=%31', '_HLS_msn or _HLS_part is not a decimal-integer'],
      ['_HLS_msn=18446744073709551616', '_HLS_msn or _HLS_part is not a decimal-integer'],
      [`_HLS_msn=${open}&_HLS_part=x`, '_HLS_msn or _HLS_part is not a decimal-integer'],
      ['_HLS_msn=1&_HLS_msn=1', 'an _HLS_ argument is repeated'],
      ['_HLS_msn=1&_HLS_part=0&_HLS_part=0', 'an _HLS_ argument is repeated'],
      ['_HLS_skip=v2', '_HLS_skip=v2 needs CAN-SKIP-DATERANGES, which is not offered'],
      [`_HLS_msn=${open}&_HLS_skip=v2`, '_HLS_skip=v2 needs CAN-SKIP-DATERANGES, which is not offered'],
      ['_HLS_skip=yes', '_HLS_skip is not YES or v2'],
      ['_HLS_skip=', '_HLS_skip is not YES or v2'],
      ['_HLS_skip=YES&_HLS_skip=YES', '_HLS_skip is repeated'],
    ];
    const wrong = [];
    for (const [q, why] of cases) {
      const r = await get(`${base}media.m3u8?${q}`);
      if (r.status !== 400 || r.text !== why || r.headers['content-type'] !== 'text/plain')
        wrong.push(`?${q}: ${r.status} ${r.headers['content-type']} ${JSON.stringify(r.text.slice(0, 120))}, want 400 ${JSON.stringify(why)}`);
    }
    assert.deepEqual(wrong, []);
    // other arguments are not ours: ignored
    for (const q of ['foo=bar', '_HLS_x=1', '_hls_msn=zz', 'HLS_msn=1&x']) {
      const r = await get(`${base}media.m3u8?${q}`);
      assert.equal(r.status, 200, `?${q}: ${r.text}`);
      assert.equal(r.headers['cache-control'], 'no-cache', `?${q} is not a blocking request`);
    }
  });

  it('paused publisher: the exact limits, and waits answered 503 after 3 target durations', async () => {
    pausePublisher(pub);
    try {
      const pl = await waitFrozen(base);
      const { msn: m, part: k } = pl.hint;   // open segment m, k parts so far
      const last = k > 0 ? m : m - 1;         // the last segment shown
      const waits = {
        [`media.m3u8?_HLS_msn=${last + 2}`]: null,
        [`media.m3u8?_HLS_msn=${m}&_HLS_part=${k}`]: null,
        [`media.m3u8?_HLS_msn=${m}&_HLS_part=${k + 14}`]: null,
        [`media.m3u8?_HLS_msn=${m + 1}&_HLS_part=14`]: null,
        [`${m}.${k}.m4s`]: null,
        [`${m}.${k + 14}.m4s`]: null,
        [`${m}.m4s`]: null,
        [`${m + 1}.0.m4s`]: null,
        [`${m + 1}.m4s`]: null,
      };
      for (const q of Object.keys(waits)) waits[q] = pending(get(`${base}${q}`));

      const refused = [
        [`media.m3u8?_HLS_msn=${last + 3}`, 400],
        [`media.m3u8?_HLS_msn=${m}&_HLS_part=${k + 15}`, 400],
        [`media.m3u8?_HLS_msn=${m + 1}&_HLS_part=15`, 400],
        [`${m}.${k + 15}.m4s`, 404],
        [`${last + 3}.m4s`, 404],
        [`${last + 3}.0.m4s`, 404],
      ];
      for (const [q, status] of refused) {
        const r = await get(`${base}${q}`);
        assert.equal(r.status, status, `${q}: ${r.text}`);
      }
      // answered at once: a past part, the playlist
      const lp = lastPart(pl);
      const now = await get(`${base}media.m3u8?_HLS_msn=${lp.msn}&_HLS_part=${lp.part}`);
      assert.equal(now.status, 200, `the last part ${lp.msn}.${lp.part}: ${now.text}`);
      assert.ok((await fetchMedia(base)).text === pl.text, 'the playlist moved while paused');
      for (const [q, p] of Object.entries(waits)) assert.equal(p.settled, false, `${q} answered while nothing came`);

      for (const [q, p] of Object.entries(waits)) {
        const r = await p.promise;
        assert.equal(r.status, 503, `${q}: ${r.status} ${r.text}`);
        assert.equal(r.text, TIMED_OUT, q);
        assert.equal(r.headers['content-type'], 'text/plain', q);
        assert.equal(r.headers['cache-control'], 'no-cache', `${q}: a 503 must not be cached`);
      }
      assert.equal((await fetchMedia(base)).text, pl.text, 'the playlist moved while paused');
    } finally {
      resumePublisher(pub);
    }
    // the stream goes on where it stood
    const pl = await fetchMedia(base);
    const after = await waitMedia(base, (x) => hasPart(x, pl.hint.msn, pl.hint.part), { what: 'the hinted part after resume' });
    assert.ok(after.segments.length > 0);
    assert.equal((await get(`${base}${pl.hint.msn}.${pl.hint.part}.m4s`)).status, 200);
  });

  it('404 for unknown streams and apps, with their bodies', async () => {
    const nobody = hlsBase(env, streamName('nobody'));
    for (const f of ['media.m3u8', 'index.m3u8', 'media.m3u8?_HLS_msn=0&_HLS_part=0', 'init-0.mp4', '0.m4s', '0.0.m4s']) {
      const r = await get(`${nobody}${f}`);
      assert.equal(r.status, 404, `never published: ${f}`);
      assert.equal(r.text, OFFLINE, `never published: ${f}`);
      assert.equal(r.headers['content-type'], 'text/plain');
    }
    for (const app of ['nope', 'other']) {
      // `other` is an RTMP application without ws_stream
      const b = hlsBase(env, name, { app });
      for (const f of ['media.m3u8', 'index.m3u8', '0.m4s']) {
        const r = await get(`${b}${f}`);
        assert.equal(r.status, 404, `app ${app}: ${f}`);
        assert.equal(r.text, 'no such application\n', `app ${app}: ${f}`);
      }
    }
  });

  it('404 "no such HLS file" for names that are not ours', async () => {
    const names = ['foo.m3u8', 'INDEX.m3u8', 'Media.m3u8', 'media.m3u', 'media.m3u8x', 'index.m3u8.gz', '01.m4s', '1.01.m4s',
      '1.2.3.m4s', 'x.m4s', '.m4s', '1..m4s', '1.m4s.bak', '-1.m4s', 'init-00.mp4', 'init-x.mp4', 'init-.mp4', 'init-0.m4s',
      'init0.mp4', '18446744073709551616.m4s', '0.4294967296.m4s', 'init-4294967296.mp4', ''];
    const wrong = [];
    for (const f of names) {
      const r = await get(`${base}${f}`);
      if (r.status !== 404 || r.text !== NO_FILE) wrong.push(`${JSON.stringify(f)}: ${r.status} ${JSON.stringify(r.text.slice(0, 60))}`);
    }
    assert.deepEqual(wrong, []);
    // a name too short to have a stream folder
    for (const u of ['/hls/media.m3u8', '/hls/live/media.m3u8', `/hls/live/${name}`]) {
      const r = await get(`http://127.0.0.1:${env.ports.http}${u}`);
      assert.equal(r.status, 404, u);
    }
  });

  it('404 "not in the window" for parts, segments and inits that are not there and will not come', async () => {
    const pl = await fetchMedia(base);
    const c = pl.complete.at(-1);
    const count = c.parts.length;
    assert.ok(count > 0);
    for (const f of [`${c.msn}.${count}.m4s`, `${c.msn}.${count + 20}.m4s`, `${pl.hint.msn + 50}.m4s`,
      `${pl.hint.msn + 50}.0.m4s`, 'init-1.mp4', 'init-99.mp4']) {
      const r = await get(`${base}${f}`);
      assert.equal(r.status, 404, `${f}: ${r.text}`);
      assert.equal(r.text, NOT_IN_WINDOW, f);
    }
  });

  it('a segment that left the playlist is served for its duration + the playlist duration, then 404', async () => {
    const dur = new Map();   // msn -> ms, from every playlist seen
    const ms = (x) => Math.round(x * 1000);
    const uri = `${f0}.m4s`;
    let servedAfterLeaving = 0, first404 = null;
    for (let i = 0; i < 2000 && !first404; i++) {
      const pl = await fetchMedia(base);
      for (const s of pl.complete) dur.set(s.msn, ms(s.duration));
      const r = await get(`${base}${uri}`);
      if (r.status === 200) {
        assert.ok(r.body.equals(seg0), `segment ${f0} changed`);
        if (pl.mediaSequence > f0) servedAfterLeaving++;
      } else {
        assert.equal(r.status, 404, r.text);
        assert.equal(r.text, NOT_IN_WINDOW);
        // a playlist fetched after the 404: the timeline has not grown more than this since
        const after = await fetchMedia(base);
        for (const s of after.complete) dur.set(s.msn, ms(s.duration));
        first404 = after;
        break;
      }
      if (pl.mediaSequence > f0 + 40) break;
      await sleep(100);
    }
    assert.ok(first404, `segment ${f0} never expired`);
    assert.ok(servedAfterLeaving > 0, `segment ${f0} was never seen served after it left the playlist`);
    // it left when segment f0 + 4 completed (a window of 4); since then the
    // timeline grew by at least its duration + a playlist that held it
    const end = (p) => {
      let t = 0;
      for (let m = f0 + 5; m < p.hint.msn; m++) {
        assert.ok(dur.has(m), `duration of segment ${m} not seen`);
        t += dur.get(m);
      }
      const open = p.segments.find((s) => s.msn === p.hint.msn);
      return t + (open ? open.parts.reduce((a, q) => a + ms(q.duration), 0) : 0);
    };
    const grown = end(first404);
    const held = [0, 1, 2, 3].reduce((a, k) => a + dur.get(f0 + k), 0);   // the 4 complete segments of a playlist with it
    assert.ok(grown >= dur.get(f0) + held,
      `segment ${f0} was gone ${grown} ms after it left the playlist; wanted at least ${dur.get(f0)} + ${held} ms`);
    for (const f of [`${f0}.0.m4s`, uri]) {
      const r = await get(`${base}${f}`);
      assert.equal(r.status, 404, f);
      assert.equal(r.text, NOT_IN_WINDOW);
    }
    assert.ok(part00.length > 0);
    // a blocking reload for a gone segment answers at once with the current playlist
    const r = await get(`${base}media.m3u8?_HLS_msn=${f0}`);
    assert.equal(r.status, 200);
    assert.ok(parseMedia(r.text).mediaSequence > f0);
    // and so does one for a segment from before the stream began
    const r0 = await get(`${base}media.m3u8?_HLS_msn=0`);
    assert.equal(r0.status, 200);
    const g = await get(`${base}0.m4s`);
    assert.equal(g.status, 404);
    assert.equal(g.text, NOT_IN_WINDOW);
  });

  it('offline: once the publisher stopped, the playlists 404 "stream is offline or does not exist"', async (t) => {
    const pl = await fetchMedia(base);
    const waiting = pending(get(`${base}media.m3u8?_HLS_msn=${pl.hint.msn + 1}`));
    await pub.stop();
    const r0 = await waiting.promise;
    t.diagnostic(`a blocking reload waiting when the publisher left: ${r0.status} ${JSON.stringify(r0.text.slice(0, 40))}`);
    assert.ok([404, 503].includes(r0.status) || (r0.status === 200 && parseMedia(r0.text)),
      `a waiting request after the publisher left: ${r0.status} ${r0.text}`);
    if (r0.status === 404) assert.equal(r0.text, OFFLINE);
    for (const f of ['media.m3u8', 'index.m3u8', `media.m3u8?_HLS_msn=${pl.hint.msn}`, 'media.m3u8?_HLS_skip=YES']) {
      const r = await get(`${base}${f}`);
      assert.equal(r.status, 404, `${f} after the publisher stopped: ${r.text}`);
      assert.equal(r.text, OFFLINE, f);
    }
    const seg = await get(`${base}${pl.complete.at(-1).uri}`);
    t.diagnostic(`a segment of the offline stream (within the grace period): ${seg.status}`);
  });
});
