// Blocking playlist reloads, preload hints and delta updates (1 s segments,
// 200 ms parts, a window of 8). "Answered when it appears and not before" is
// checked by order, never by time: while the waiting request is open, plain
// playlists fetched meanwhile must not yet show what it waits for, and once it
// answered, its answer and every later playlist do.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';
import {
  hlsConf, hlsBase, get, pending, parseMedia, waitMedia, fetchMedia, fetchBytes,
  orderCheck, hasPart, hasComplete, lastPart, MPEGURL,
} from './lib/hls.mjs';

// Run `attempt` until its order check saw the awaited thing absent at least
// once while the request waited (on a slow machine it may already be there).
async function withWait(attempt, tries = 4) {
  let last;
  for (let i = 0; i < tries; i++) {
    last = await attempt();
    if (last.absentWhileWaiting > 0) return last;
  }
  assert.fail(`in ${tries} tries the awaited part was always there before the first plain playlist: ${JSON.stringify(last)}`);
}

describe('42 hls blocking reload, preload hints, delta updates', () => {
  const env = useNginx({
    tag: 'hls42',
    ports: ['rtmp', 'http', 'slow'],
    // `slow`: the same server with a 4 KB socket send buffer, so that nginx
    // cannot write a part in one go (as for a client that reads slowly)
    conf: (p) => hlsConf(p, { hls: 'ws_stream_hls_segment 1s; ws_stream_hls_window 8;',
      server: `listen 127.0.0.1:${p.slow} sndbuf=4k;` }),
  });
  const name = streamName('bl');
  let base;

  before(async () => {
    startPublisher({ port: env.rtmpPort, name });
    base = hlsBase(env, name);
    await waitMedia(base, (x) => x.segments.length >= 1 && lastPart(x), { what: 'a first part' });
  });

  it('_HLS_skip=YES on a playlist shorter than the skip boundary: the whole playlist, version 6', async () => {
    const p = await fetchMedia(base);
    const total = p.complete.reduce((a, s) => a + s.duration, 0);
    assert.ok(total < 6, `already ${total} s of segments: this test must run first`);
    const r = await get(`${base}media.m3u8?_HLS_skip=YES`);
    assert.equal(r.status, 200, r.text);
    const d = parseMedia(r.text, 'skip request');
    assert.equal(d.skip, null, r.text);
    assert.equal(d.version, 6);
    assert.equal(d.segments[0].msn, d.mediaSequence);
  });

  it('_HLS_msn + _HLS_part for a part to come: answered when it is in the playlist, not before', async () => {
    const res = await withWait(async () => {
      const pl = await fetchMedia(base);
      const want = { msn: pl.hint.msn, part: pl.hint.part + 1 };
      const b = pending(get(`${base}media.m3u8?_HLS_msn=${want.msn}&_HLS_part=${want.part}`));
      const oc = await orderCheck(base, b, (x) => hasPart(x, want.msn, want.part), { what: `part ${want.msn}.${want.part}` });
      const r = await b.promise;
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['content-type'], MPEGURL);
      assert.equal(r.headers['cache-control'], 'public, max-age=6');
      const got = parseMedia(r.text, 'blocking reload');
      assert.ok(hasPart(got, want.msn, want.part), `the answer lacks ${want.msn}.${want.part}:\n${r.text}`);
      return { ...oc, want };
    });
    assert.ok(res.absentWhileWaiting > 0);
  });

  it('_HLS_msn + _HLS_part for a part already there: answered at once with it', async () => {
    const pl = await fetchMedia(base);
    const l = lastPart(pl);
    const r = await get(`${base}media.m3u8?_HLS_msn=${l.msn}&_HLS_part=${l.part}`);
    assert.equal(r.status, 200);
    assert.ok(hasPart(parseMedia(r.text), l.msn, l.part));
    const old = await get(`${base}media.m3u8?_HLS_msn=${pl.segments[0].msn}&_HLS_part=0`);
    assert.equal(old.status, 200, 'a part of the first listed segment');
  });

  it('_HLS_msn alone: answered when that segment is complete, not before', async () => {
    await withWait(async () => {
      const pl = await fetchMedia(base);
      const msn = pl.hint.msn;   // the open segment (or the one to come)
      const b = pending(get(`${base}media.m3u8?_HLS_msn=${msn}`));
      const oc = await orderCheck(base, b, (x) => hasComplete(x, msn), { what: `segment ${msn} complete` });
      const r = await b.promise;
      assert.equal(r.status, 200, r.text);
      const got = parseMedia(r.text);
      const s = got.segments.find((x) => x.msn === msn);
      assert.ok(s && s.complete && s.duration > 0, `segment ${msn} is not complete in the answer:\n${r.text}`);
      return oc;
    });
  });

  it('the hinted part: its GET waits, answered when it is complete, with the bytes of a later plain fetch', async () => {
    await withWait(async () => {
      const pl = await fetchMedia(base);
      const { msn, part } = pl.hint;
      const h = pending(get(`${base}${msn}.${part}.m4s`));
      const oc = await orderCheck(base, h, (x) => hasPart(x, msn, part), { what: `part ${msn}.${part}` });
      const r = await h.promise;
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['content-type'], 'video/mp4');
      assert.equal(r.body.subarray(4, 8).toString('latin1'), 'moof');
      assert.equal(Number(r.headers['content-length']), r.body.length);
      const later = await fetchBytes(base, `${msn}.${part}.m4s`);
      assert.ok(later.equals(r.body), `the hinted part ${msn}.${part} differs from a later fetch`);
      return oc;
    });
  });

  it('part 0 of the next segment and the open segment itself wait too, with the right bytes', async () => {
    const pl = await fetchMedia(base);
    const open = pl.hint.msn;
    const seg = pending(get(`${base}${open}.m4s`));
    const next0 = pending(get(`${base}${open + 1}.0.m4s`));
    const oc = await orderCheck(base, seg, (x) => hasComplete(x, open), { what: `segment ${open}` });
    const s = await seg.promise;
    assert.equal(s.status, 200, s.text);
    assert.ok(s.body.equals(await fetchBytes(base, `${open}.m4s`)), `segment ${open}`);
    const done = await waitMedia(base, (x) => hasPart(x, open + 1, 0), { what: `part ${open + 1}.0` });
    const n = await next0.promise;
    assert.equal(n.status, 200, n.text);
    assert.ok(n.body.equals(await fetchBytes(base, `${open + 1}.0.m4s`)), `part ${open + 1}.0`);
    // the segment's bytes are its parts', as the playlist that completed it lists them
    const parts = done.segments.find((x) => x.msn === open).parts;
    if (parts.length) {
      const cat = Buffer.concat(await Promise.all(parts.map((q) => fetchBytes(base, q.uri))));
      assert.ok(cat.equals(s.body), `segment ${open} is not its parts`);
    }
    assert.ok(oc.absentWhileWaiting >= 0);
  });

  it('a client behind a small send buffer: waiting part and segment requests get all their bytes', async () => {
    const slow = hlsBase(env, name, { port: env.ports.slow });
    // answered at once: nginx's usual path for a large body
    const pl = await fetchMedia(base);
    const done = pl.complete.at(-1);
    assert.ok((await get(`${slow}${done.uri}`)).body.equals(await fetchBytes(base, done.uri)), `segment ${done.msn} on the slow port`);
    for (let attempt = 0; attempt < 2; attempt++) {
      const p = await fetchMedia(base);
      const { msn, part } = p.hint;
      const wPart = pending(get(`${slow}${msn}.${part}.m4s`));
      const wSeg = pending(get(`${slow}${msn}.m4s`));
      const wPl = pending(get(`${slow}media.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`));
      const a = await wPart.promise;
      assert.equal(a.status, 200, a.text);
      const want = await fetchBytes(base, `${msn}.${part}.m4s`);
      assert.ok(a.body.equals(want), `part ${msn}.${part}: ${a.body.length} bytes, want ${want.length}`);
      const b = await wSeg.promise;
      assert.equal(b.status, 200, b.text);
      assert.ok(b.body.equals(await fetchBytes(base, `${msn}.m4s`)), `segment ${msn}`);
      const c = await wPl.promise;
      assert.equal(c.status, 200);
      assert.ok(hasPart(parseMedia(c.text), msn, part));
    }
  });

  it('twenty waiting requests for the same part get the same playlist; requests for later parts answer in turn', async () => {
    const pl = await fetchMedia(base);
    const { msn, part } = pl.hint;
    const same = [];
    for (let i = 0; i < 20; i++) same.push(get(`${base}media.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`));
    const later = [1, 2, 3].map((k) => ({ k, p: get(`${base}media.m3u8?_HLS_msn=${msn}&_HLS_part=${part + k}`) }));
    const rs = await Promise.all(same);
    for (const r of rs) assert.equal(r.status, 200, r.text);
    const texts = new Set(rs.map((r) => r.text));
    assert.equal(texts.size, 1, `different answers to the same blocking reload:\n${[...texts].join('\n----\n')}`);
    assert.ok(hasPart(parseMedia(rs[0].text), msn, part));
    for (const { k, p } of later) {
      const r = await p;
      assert.equal(r.status, 200, r.text);
      assert.ok(hasPart(parseMedia(r.text), msn, part + k), `the answer for ${msn}.${part + k} lacks it`);
    }
  });

  it('clients that leave while they wait cost nothing: the stream and other waiting requests go on', async () => {
    const pl = await fetchMedia(base);
    const { msn, part } = pl.hint;
    const reqs = [];
    for (let i = 0; i < 10; i++) {
      for (const path of [`media.m3u8?_HLS_msn=${msn}&_HLS_part=${part + 1}`, `${msn}.${part + 1}.m4s`, `${msn + 1}.m4s`]) {
        const req = http.get(`${base}${path}`, { agent: false });
        req.on('error', () => {});
        reqs.push(req);
      }
    }
    const stay = pending(get(`${base}media.m3u8?_HLS_msn=${msn}&_HLS_part=${part + 1}`));
    await sleep(50);
    for (const r of reqs) r.destroy();
    const r = await stay.promise;
    assert.equal(r.status, 200);
    assert.ok(hasPart(parseMedia(r.text), msn, part + 1));
    // the stream goes on past the parts the gone clients waited for
    await waitMedia(base, (x) => hasComplete(x, msn + 1), { what: `segment ${msn + 1}` });
    const after = await get(`${base}media.m3u8?_HLS_msn=${msn + 1}`);
    assert.equal(after.status, 200);
  });

  it('_HLS_skip=YES once the playlist is longer than CAN-SKIP-UNTIL: a delta update (EXT-X-SKIP, version 9)', async () => {
    // the full playlist and the delta woken by the same part: the same index
    const pl = await waitMedia(base, (x) => x.complete.reduce((a, s) => a + s.duration, 0) >= 7.5,
      { what: 'a playlist over 7.5 s', timeout: 30000 });
    const skipUntil = Number(pl.serverControl['CAN-SKIP-UNTIL']);
    assert.equal(skipUntil, 6);
    const { msn, part } = pl.hint;
    const q = `_HLS_msn=${msn}&_HLS_part=${part + 1}`;
    const [fr, dr] = await Promise.all([get(`${base}media.m3u8?${q}`), get(`${base}media.m3u8?${q}&_HLS_skip=YES`)]);
    assert.equal(fr.status, 200, fr.text);
    assert.equal(dr.status, 200, dr.text);
    assert.equal(dr.headers['cache-control'], 'public, max-age=6');
    const full = parseMedia(fr.text, 'full playlist');
    const delta = parseMedia(dr.text, 'delta update');
    assert.equal(full.version, 6);
    assert.equal(full.skip, null);
    assert.equal(delta.version, 9, dr.text);
    assert.ok(delta.skip >= 1, `no EXT-X-SKIP in the delta update:\n${dr.text}`);
    assert.equal(delta.parsed.skip, delta.skip, 'hls-parser reads SKIPPED-SEGMENTS');
    assert.equal(delta.tags.filter((t) => t === '#EXT-X-SKIP').length, 1);
    assert.ok(delta.tags.indexOf('#EXT-X-SKIP') < delta.tags.indexOf('#EXT-X-PROGRAM-DATE-TIME'), dr.text);
    assert.equal(delta.mediaSequence, full.mediaSequence);
    assert.equal(delta.dsn, full.dsn);
    assert.deepEqual(delta.serverControl, full.serverControl);

    // what is listed is the full playlist without its first n segments
    const n = delta.skip;
    const strip = (s) => ({ msn: s.msn, uri: s.uri, duration: s.duration, pdt: s.pdt, parts: s.parts.map((x) => x.uri + x.duration),
      discontinuity: s.discontinuity, map: s.map });
    assert.deepEqual(delta.segments.map(strip), full.segments.slice(n).map(strip),
      `delta (skip ${n}):\n${dr.text}\nfull:\n${fr.text}`);
    assert.deepEqual(delta.hint, full.hint);

    // no skipped segment ends within CAN-SKIP-UNTIL of the playlist's end
    const ms = (x) => Math.round(x * 1000);
    const end = full.segments.reduce((a, s) => a + (s.complete ? ms(s.duration) : s.parts.reduce((b, x) => b + ms(x.duration), 0)), 0);
    let at = 0;
    for (let i = 0; i < n; i++) {
      at += ms(full.segments[i].duration);
      assert.ok(end - at >= skipUntil * 1000, `skipped segment ${full.segments[i].msn} ends ${end - at} ms before the end`);
      assert.equal(full.segments[i].parts.length, 0, 'a skipped segment lists parts');
    }

    // and without blocking
    const plain = await get(`${base}media.m3u8?_HLS_skip=YES`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['cache-control'], 'no-cache');
    assert.ok(parseMedia(plain.text).skip >= 1, plain.text);
  });
});
