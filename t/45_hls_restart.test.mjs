// A publisher that stops and comes back within ws_stream_grace, at another
// resolution: the same playlist goes on after an EXT-X-DISCONTINUITY with a
// new EXT-X-MAP (the next init generation), the msn continues, the new init
// decodes the new parts, the multivariant playlist describes the new stream,
// and once the discontinuity left the window EXT-X-DISCONTINUITY-SEQUENCE
// counts it. 1 s segments, a window of 4.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';
import { hlsConf, hlsBase, get, parseMedia, waitMedia, fetchMedia, fetchBytes, fetchMultivariant, strictParse } from './lib/hls.mjs';
import { probe, decodeErrors, writeFile, codecsMismatches } from './lib/hls_probe.mjs';

const OFFLINE = 'stream is offline or does not exist\n';

describe('45 hls publisher restart within the grace period', () => {
  const env = useNginx({
    tag: 'hls45',
    conf: (p) => hlsConf(p, { hls: 'ws_stream_hls_segment 1s; ws_stream_hls_window 4;', app: 'ws_stream_grace 30s;' }),
  });
  const name = streamName('rs');
  let base, before1, away, after1, disc, prev, oldGen;

  before(async () => {
    base = hlsBase(env, name);
    const pub1 = startPublisher({ port: env.rtmpPort, name, size: '640x360' });
    await waitMedia(base, (x) => x.complete.length >= 2, { what: 'two segments of the first publisher' });
    before1 = await fetchMedia(base);
    oldGen = /^init-(\d+)\.mp4$/.exec(before1.segments[0].map)[1];
    await pub1.stop();
    away = null;
    // the stream is offline: poll until its playlist says so (bounded)
    for (let i = 0; i < 100; i++) {
      const r = await get(`${base}media.m3u8`);
      if (r.status === 404) { away = r; break; }
      await sleep(100);
    }
    startPublisher({ port: env.rtmpPort, name, size: '320x240' });
    after1 = await waitMedia(base, (x) => {
      const d = x.segments.findIndex((s) => s.discontinuity);
      return d > 0 && x.segments.slice(d).filter((s) => s.complete).length >= 2;
    }, { what: 'two complete segments after the discontinuity', timeout: 30000 });
    const d = after1.segments.findIndex((s) => s.discontinuity);
    disc = after1.segments[d];
    prev = after1.segments[d - 1];
  });

  it('while the publisher is away the playlists 404 "stream is offline or does not exist"', () => {
    assert.ok(away && away.status === 404, 'the playlist never went 404 while no publisher was there');
    assert.equal(away.text, OFFLINE);
  });

  it('the first segment of the new publisher: EXT-X-DISCONTINUITY, a new EXT-X-MAP, msn continues', () => {
    const t = after1.text;
    assert.equal(after1.segments.filter((s) => s.discontinuity).length, 1, t);
    assert.equal(disc.msn, prev.msn + 1);
    assert.ok(prev.complete, `the segment before the discontinuity is not complete:\n${t}`);
    assert.ok(disc.msn > before1.complete.at(-1).msn, `msn went back: ${disc.msn} after ${before1.complete.at(-1).msn}`);
    assert.ok(after1.mediaSequence >= before1.mediaSequence, 'MEDIA-SEQUENCE went back');
    assert.notEqual(disc.map, prev.map, `no new EXT-X-MAP after the discontinuity:\n${t}`);
    assert.match(disc.map, /^init-\d+\.mp4$/);
    assert.ok(Number(/\d+/.exec(disc.map)[0]) > Number(oldGen), `${disc.map} after init-${oldGen}.mp4`);
    // DISCONTINUITY, then MAP, then the segment's PDT and parts
    const lines = t.split('\n');
    const i = lines.indexOf('#EXT-X-DISCONTINUITY');
    assert.deepEqual([lines[i + 1], lines[i + 2].split(':')[0]], [`#EXT-X-MAP:URI="${disc.map}"`, '#EXT-X-PROGRAM-DATE-TIME'], t);
    assert.equal(after1.maps.length, 2, t);
    if (disc.parts.length) assert.ok(disc.parts[0].independent, 'the first part after the discontinuity is not INDEPENDENT');
    // the wall clock went on while the publisher was away
    assert.ok(disc.pdt >= prev.pdt + Math.round(prev.duration * 1000) - 1, `PDT ${disc.pdtText} after ${prev.pdtText} + ${prev.duration}`);
    // what the first publisher left is as it was (the segment open at the stop is complete now)
    for (const s of before1.complete) {
      const same = after1.segments.find((x) => x.msn === s.msn);
      if (same) assert.deepEqual([same.uri, same.duration, same.pdt, same.map], [s.uri, s.duration, s.pdt, s.map], `segment ${s.msn}`);
    }
    const cut = after1.segments.find((x) => x.msn === before1.hint.msn);
    if (cut && cut.parts.length) {
      assert.ok(cut.complete, `segment ${cut.msn}, open when the publisher left, is not complete`);
      const sum = cut.parts.reduce((a, q) => a + Math.round(q.duration * 1000), 0);
      assert.ok(Math.abs(sum - Math.round(cut.duration * 1000)) <= 1, `segment ${cut.msn}: EXTINF ${cut.duration}, parts ${sum} ms`);
    }
  });

  it('the new init generation is the next one: init-<gen+1>.mp4, and no init that no playlist names', async () => {
    assert.equal(disc.map, `init-${Number(oldGen) + 1}.mp4`, `after init-${oldGen}.mp4:\n${after1.text}`);
    for (let g = Number(oldGen) + 1; g < Number(/\d+/.exec(disc.map)[0]); g++) {
      const r = await get(`${base}init-${g}.mp4`);
      assert.equal(r.status, 404, `init-${g}.mp4 is served (${r.body.length} bytes) but no playlist names it`);
    }
  });

  it('the new init decodes the new segments at 320x240; the old init still decodes the old ones at 640x360', async () => {
    const newInit = await fetchBytes(base, disc.map);
    const oldInit = await fetchBytes(base, prev.map);
    assert.ok(!newInit.equals(oldInit), 'the init segment did not change with the resolution');
    const news = after1.segments.filter((s) => s.msn >= disc.msn && s.complete);
    const f1 = await writeFile(env.prefix, 'new.mp4', [newInit, ...(await Promise.all(news.map((s) => fetchBytes(base, s.uri))))]);
    assert.equal(await decodeErrors(f1), '');
    const p1 = await probe(f1);
    assert.deepEqual([p1.video.width, p1.video.height], [320, 240]);
    assert.ok(p1.audio && p1.audio.frames > 0, 'no audio after the restart');
    const total = news.reduce((a, s) => a + s.duration, 0);
    assert.ok(Math.abs(p1.video.frames - 30 * total) <= news.length, `${p1.video.frames} frames for ${total} s`);
    // the new init with the new parts
    const fp = await writeFile(env.prefix, 'newparts.mp4', [newInit, ...(await Promise.all(disc.parts.map((q) => fetchBytes(base, q.uri))))]);
    if (disc.parts.length) {
      assert.equal(await decodeErrors(fp), '');
      assert.deepEqual([(await probe(fp)).video.width], [320]);
    }
    const f0 = await writeFile(env.prefix, 'old.mp4', [oldInit, await fetchBytes(base, prev.uri)]);
    assert.equal(await decodeErrors(f0), '');
    const p0 = await probe(f0);
    assert.deepEqual([p0.video.width, p0.video.height], [640, 360]);
  });

  it('the multivariant playlist describes the new stream', async () => {
    const { parsed, text } = await fetchMultivariant(base);
    const v = parsed.variants[0];
    assert.deepEqual(v.resolution, { width: 320, height: 240 }, text);
    const newInit = await fetchBytes(base, disc.map);
    const f = await writeFile(env.prefix, 'codecs.mp4', [newInit, await fetchBytes(base, disc.uri)]);
    assert.deepEqual(codecsMismatches(v.codecs, await probe(f)), [], text);
  });

  it('once the discontinuity left the window: EXT-X-DISCONTINUITY-SEQUENCE:1, one EXT-X-MAP', async () => {
    const pl = await waitMedia(base, (x) => x.segments[0].msn > disc.msn, { what: 'the discontinuity to leave the window', timeout: 30000 });
    assert.equal(pl.dsn, 1, pl.text);
    assert.equal(pl.parsed.discontinuitySequenceBase, 1);
    assert.ok(!pl.tags.includes('#EXT-X-DISCONTINUITY'), pl.text);
    assert.deepEqual(pl.maps, [disc.map], pl.text);
    strictParse(pl.text, 'playlist after the discontinuity', { exact: true });
    assert.ok(pl.tags.indexOf('#EXT-X-DISCONTINUITY-SEQUENCE') < pl.tags.indexOf('#EXT-X-PROGRAM-DATE-TIME'));
  });
});

// Past the grace period the stream's index goes; a new publish makes a new one.
// Caches in front may still hold the old index's files (parts, segments and
// inits are "public, max-age=86400"), so no name may come back with other bytes.
describe('45 hls stream published again after its index is gone (ws_stream_grace 0)', () => {
  const env = useNginx({
    tag: 'hls45b',
    conf: (p) => hlsConf(p, { hls: 'ws_stream_hls_segment 1s; ws_stream_hls_window 4;', app: 'ws_stream_grace 0;' }),
  });
  const name = streamName('ri');
  let base, old, oldFiles, fresh;

  before(async () => {
    base = hlsBase(env, name);
    const pub1 = startPublisher({ port: env.rtmpPort, name, size: '640x360' });
    old = await waitMedia(base, (x) => x.complete.length >= 2, { what: 'two segments of the first index' });
    oldFiles = new Map();
    for (const f of [...new Set(old.segments.map((s) => s.map))].concat(old.complete.map((s) => s.uri)))
      oldFiles.set(f, await fetchBytes(base, f));
    await pub1.stop();
    for (let i = 0; i < 100; i++) {
      if ((await get(`${base}media.m3u8`)).status === 404) break;
      await sleep(100);
    }
    startPublisher({ port: env.rtmpPort, name, size: '320x240' });
    fresh = await waitMedia(base, (x) => x.complete.length >= 1 && x.segments[0].msn > old.hint.msn,
      { what: 'a segment of the new index', timeout: 30000 });
  });

  it('the new index: no discontinuity, its msn after every msn of the old one', () => {
    assert.ok(!fresh.tags.includes('#EXT-X-DISCONTINUITY'), fresh.text);
    assert.equal(fresh.dsn, 0);
    assert.ok(fresh.mediaSequence > old.hint.msn, `new MEDIA-SEQUENCE ${fresh.mediaSequence} after ${old.hint.msn}`);
  });

  it('every playlist of the new index is of the new index (no playlist text of the old one)', async () => {
    for (let i = 0; i < 30; i++) {
      const r = await get(`${base}media.m3u8`);
      assert.equal(r.status, 200);
      const p = parseMedia(r.text);
      assert.ok(p.mediaSequence > old.hint.msn && !p.segments.some((s) => s.pdt < fresh.segments[0].pdt),
        `a playlist of the old index after the new one began:\n${r.text}`);
      await sleep(100);
    }
  });

  it('no file name of the old index comes back with other bytes (init segments included)', async () => {
    const names = [...new Set(fresh.segments.map((s) => s.map))].concat(fresh.complete.map((s) => s.uri));
    const reused = [];
    for (const f of names) {
      if (!oldFiles.has(f)) continue;
      const now = await get(`${base}${f}`);
      if (now.status === 200 && !now.body.equals(oldFiles.get(f)))
        reused.push(`${f}: ${oldFiles.get(f).length} bytes before, ${now.body.length} other bytes now (${now.headers['cache-control']})`);
    }
    assert.deepEqual(reused, [], `the new index reuses names of the old one:\n${fresh.text}`);
  });
});
