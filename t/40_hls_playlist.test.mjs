// LL-HLS playlists with the default settings (2 s segments, 200 ms parts, a
// window of 7): the multivariant and media playlists parsed by hls-parser in
// strict mode and read line by line; the values a player relies on; the HTTP
// headers of playlists and media (types, caching, validators, ranges, HEAD,
// CORS and its preflight); gzip through nginx's own filter.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import {
  hlsConf, hlsBase, get, request, gunzip, parseMedia, strictParse, waitMedia, fetchMedia,
  fetchMultivariant, lastPart, hasPart, MPEGURL,
} from './lib/hls.mjs';

const ms = (s) => Math.round(s * 1000);

describe('40 hls playlists (defaults: 2 s segments, 200 ms parts, window 7)', () => {
  const env = useNginx({
    tag: 'hls40',
    conf: (p) => hlsConf(p, {
      locs: `location /gz/ { ws_stream_hls; gzip on; gzip_types ${MPEGURL}; gzip_min_length 1; }`,
    }),
  });
  const name = streamName('pl');
  let base, pl, t0, t1, first;

  before(async () => {
    t0 = Date.now();
    startPublisher({ port: env.rtmpPort, name });
    base = hlsBase(env, name);
    // two complete segments and parts of the open one
    first = await waitMedia(base, () => true, { what: 'a first playlist' });
    t1 = Date.now();
    pl = await waitMedia(base, (x) => x.complete.length >= 2 && x.segments.at(-1).parts.length >= 2,
      { what: 'two complete segments' });
  });

  it('multivariant playlist: one variant with BANDWIDTH, AVERAGE-BANDWIDTH, CODECS, RESOLUTION, FRAME-RATE', async () => {
    const media = await fetchMedia(base);
    const { parsed, text, res } = await fetchMultivariant(base);
    assert.equal(res.headers['content-type'], MPEGURL);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(parsed.variants.length, 1, text);
    const v = parsed.variants[0];
    assert.equal(v.uri, 'media.m3u8', text);
    assert.match(v.codecs, /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/, text);
    assert.deepEqual(v.resolution, { width: 640, height: 360 }, text);
    assert.ok(Math.abs(v.frameRate - 30) < 0.1, `FRAME-RATE ${v.frameRate}: ${text}`);
    assert.ok(v.averageBandwidth > 0 && v.averageBandwidth <= v.bandwidth, text);

    // BANDWIDTH is the peak segment bit rate, AVERAGE-BANDWIDTH the mean: in
    // the range of what the complete segments weigh (the window may move)
    const rates = [];
    let bytes = 0, secs = 0;
    for (const s of media.complete) {
      const h = await request(`${base}${s.uri}`, { method: 'HEAD' });
      assert.equal(h.status, 200, `HEAD ${s.uri}`);
      const len = Number(h.headers['content-length']);
      rates.push((len * 8) / s.duration);
      bytes += len; secs += s.duration;
    }
    const peak = Math.max(...rates), avg = (bytes * 8) / secs;
    assert.ok(v.bandwidth >= 0.5 * peak && v.bandwidth <= 2 * peak,
      `BANDWIDTH ${v.bandwidth} vs the segments' peak ${Math.round(peak)} b/s`);
    assert.ok(v.averageBandwidth >= 0.5 * avg && v.averageBandwidth <= 2 * avg,
      `AVERAGE-BANDWIDTH ${v.averageBandwidth} vs the segments' mean ${Math.round(avg)} b/s`);
  });

  it('media playlist: strict parse, version, target duration, server control, part target, map', async () => {
    const r = await get(`${base}media.m3u8`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], MPEGURL);
    assert.equal(r.headers['cache-control'], 'no-cache');
    const p = parseMedia(r.text);
    assert.equal(p.lines[0], '#EXTM3U');
    assert.equal(p.version, 6, r.text);
    assert.equal(p.target, 2, r.text);
    assert.equal(p.partTarget, 0.2, r.text);
    assert.deepEqual(p.serverControl, {
      'CAN-BLOCK-RELOAD': 'YES', 'CAN-SKIP-UNTIL': '12.000', 'PART-HOLD-BACK': '0.600', 'HOLD-BACK': '6.000',
    }, r.text);
    assert.deepEqual(p.parsed.lowLatencyCompatibility,
      { canBlockReload: true, canSkipUntil: 12, holdBack: 6, partHoldBack: 0.6 });
    assert.equal(p.parsed.partTargetDuration, 0.2);
    assert.equal(p.parsed.targetDuration, 2);
    assert.equal(p.parsed.endlist, false);
    // a new index numbers its segments from twice the wall clock in seconds
    // (docs/hls.md); nothing has left the window of 7 x 2 s yet
    const msn0 = first.mediaSequence;
    assert.ok(msn0 >= Math.floor(t0 / 500) && msn0 <= Math.ceil(t1 / 500),
      `first msn ${msn0}, the clock said ${Math.floor(t0 / 500)}..${Math.ceil(t1 / 500)}`);
    assert.equal(p.mediaSequence, msn0, r.text);
    assert.equal(p.segments[0].uri, `${msn0}.m4s`, r.text);
    // one init segment, named before the first segment
    assert.equal(p.maps.length, 1, r.text);
    assert.match(p.maps[0], /^init-\d+\.mp4$/, r.text);
    assert.ok(p.segments.every((x) => x.map === p.maps[0]), r.text);
    assert.ok(p.tags.indexOf('#EXT-X-MAP') < p.tags.indexOf('#EXT-X-PROGRAM-DATE-TIME'), r.text);
    assert.ok(!p.tags.includes('#EXT-X-SKIP') && !p.tags.includes('#EXT-X-ENDLIST'), r.text);
    assert.ok(!p.tags.includes('#EXT-X-DISCONTINUITY'), r.text);
  });

  it('segments: URIs by msn, PROGRAM-DATE-TIME on each, EXTINF = sum of its parts, parts within PART-TARGET', async () => {
    const p = await fetchMedia(base);
    const target = p.partTarget;
    let prev = null;
    for (const s of p.segments) {
      const label = `segment ${s.msn}`;
      assert.ok(s.pdt !== null && Number.isFinite(s.pdt), `${label} has no valid PROGRAM-DATE-TIME:\n${p.text}`);
      assert.match(s.pdtText, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, label);
      assert.ok(s.pdt <= Date.now() + 1000 && s.pdt > Date.now() - 120000, `${label} PDT ${s.pdtText} is not now-ish`);
      if (s.complete) {
        assert.equal(s.uri, `${s.msn}.m4s`, label);
        assert.ok(s.duration > 0 && Math.round(s.duration) <= p.target, `${label} EXTINF ${s.duration}`);
      }
      s.parts.forEach((q, k) => {
        assert.equal(q.uri, `${s.msn}.${k}.m4s`, `${label} part ${k}`);
        assert.ok(q.duration > 0 && q.duration <= target, `${label} part ${k} DURATION ${q.duration} > PART-TARGET ${target}`);
      });
      // a complete segment whose parts are listed: all of them, adding up
      if (s.parts.length && s.complete) {
        const sum = s.parts.reduce((a, q) => a + ms(q.duration), 0);
        assert.ok(Math.abs(sum - ms(s.duration)) <= 1, `${label}: EXTINF ${s.duration} but its parts sum to ${sum} ms`);
        assert.ok(s.parts[0].independent, `${label}: part 0 is not INDEPENDENT=YES`);
      }
      if (prev && prev.complete) {
        // PDT follows the media clock (re-anchored only past 1 s of drift)
        const step = s.pdt - prev.pdt;
        assert.ok(step >= 0, `PDT goes back from ${prev.msn} to ${s.msn}`);
        assert.ok(Math.abs(step - ms(prev.duration)) <= 1001,
          `PDT step ${step} ms from ${prev.msn} to ${s.msn}, EXTINF ${prev.duration}`);
      }
      prev = s;
    }
    const withParts = p.segments.filter((s) => s.parts.length);
    assert.ok(withParts.length >= 2, `parts listed for the last complete and the open segment:\n${p.text}`);
    assert.ok(p.complete.at(-1).parts.length > 0, 'the last complete segment lists its parts');
  });

  it('parts: at least 85% of PART-TARGET but INDEPENDENT ones and the last of a segment (rfc8216bis 4.4.4.9)', async () => {
    const p = await fetchMedia(base);
    const short = [];
    for (const s of p.segments) {
      s.parts.forEach((q, k) => {
        const last = s.complete && k === s.parts.length - 1;
        if (!last && !q.independent && ms(q.duration) < Math.ceil(0.85 * ms(p.partTarget)))
          short.push(`${q.uri} ${q.duration}`);
      });
    }
    assert.deepEqual(short, [], `parts under 85% of PART-TARGET:\n${p.text}`);
  });

  it('preload hint: TYPE=PART, the part after the last one listed', async () => {
    const p = await fetchMedia(base);
    assert.ok(p.hint, `no EXT-X-PRELOAD-HINT:\n${p.text}`);
    assert.equal(p.hint.type, 'PART');
    assert.equal(p.tags.filter((t) => t === '#EXT-X-PRELOAD-HINT').length, 1);
    const last = lastPart(p);
    const open = p.segments.at(-1);
    if (open.complete) assert.deepEqual([p.hint.msn, p.hint.part], [open.msn + 1, 0], p.text);
    else assert.deepEqual([p.hint.msn, p.hint.part], [last.msn, last.part + 1], p.text);
    assert.equal(p.hint.uri, `${p.hint.msn}.${p.hint.part}.m4s`);
  });

  it('playlist headers: blocking reloads are cacheable for 6 target durations, CORS', async () => {
    const p = await fetchMedia(base);
    const done = p.complete.at(-1).msn;
    const r = await get(`${base}media.m3u8?_HLS_msn=${done}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['content-type'], MPEGURL);
    assert.equal(r.headers['cache-control'], 'public, max-age=12');
    parseMedia(r.text, 'blocking reload');
    for (const file of ['media.m3u8', 'index.m3u8']) {
      const h = (await get(`${base}${file}`)).headers;
      assert.equal(h['access-control-allow-origin'], '*', file);
      const expose = (h['access-control-expose-headers'] || '').split(/\s*,\s*/).map((x) => x.toLowerCase());
      for (const want of ['age', 'date']) assert.ok(expose.includes(want), `${file} exposes ${h['access-control-expose-headers']}`);
    }
  });

  it('media headers: video/mp4, public max-age, ETag + Last-Modified, 304, Range 206, HEAD', async () => {
    const p = await fetchMedia(base);
    const seg = p.complete.at(-1);
    const files = [seg.map, seg.uri, seg.parts[0].uri];
    for (const file of files) {
      const r = await get(`${base}${file}`);
      assert.equal(r.status, 200, `${file}: ${r.text}`);
      const h = r.headers;
      assert.equal(h['content-type'], 'video/mp4', file);
      assert.match(h['cache-control'] || '', /^public, max-age=(\d+)$/, file);
      assert.ok(Number(/max-age=(\d+)/.exec(h['cache-control'])[1]) > 0, file);
      assert.ok(h.etag && /^"[^"]+"$/.test(h.etag), `${file} ETag ${h.etag}`);
      assert.ok(h['last-modified'] && Number.isFinite(Date.parse(h['last-modified'])), `${file} Last-Modified`);
      assert.equal(Number(h['content-length']), r.body.length, file);
      assert.equal(h['access-control-allow-origin'], '*', file);
      assert.equal(r.body.subarray(4, 8).toString('latin1'), file.startsWith('init') ? 'ftyp' : 'moof', file);

      // the same bytes again, and a validator that matches gives 304 without a body
      const again = await get(`${base}${file}`);
      assert.ok(again.body.equals(r.body), `${file} changed between two fetches`);
      assert.equal(again.headers.etag, h.etag, file);
      const nm = await get(`${base}${file}`, { headers: { 'If-None-Match': h.etag } });
      assert.equal(nm.status, 304, `${file} If-None-Match`);
      assert.equal(nm.body.length, 0);
      const other = await get(`${base}${file}`, { headers: { 'If-None-Match': '"something-else"' } });
      assert.equal(other.status, 200, `${file} If-None-Match with another tag`);
      const ims = await get(`${base}${file}`, { headers: { 'If-Modified-Since': h['last-modified'] } });
      assert.equal(ims.status, 304, `${file} If-Modified-Since its Last-Modified`);
      assert.equal(ims.body.length, 0);

      // ranges
      const rg = await get(`${base}${file}`, { headers: { Range: 'bytes=0-99' } });
      assert.equal(rg.status, 206, `${file} Range`);
      assert.equal(rg.headers['content-range'], `bytes 0-99/${r.body.length}`, file);
      assert.ok(rg.body.equals(r.body.subarray(0, 100)), `${file} range bytes`);
      const tail = await get(`${base}${file}`, { headers: { Range: 'bytes=-16' } });
      assert.equal(tail.status, 206);
      assert.ok(tail.body.equals(r.body.subarray(r.body.length - 16)), `${file} suffix range bytes`);
      const bad = await get(`${base}${file}`, { headers: { Range: `bytes=${r.body.length + 10}-` } });
      assert.equal(bad.status, 416, `${file} unsatisfiable range`);

      // HEAD: the headers of GET, no body
      const hd = await request(`${base}${file}`, { method: 'HEAD' });
      assert.equal(hd.status, 200);
      assert.equal(hd.body.length, 0);
      assert.equal(Number(hd.headers['content-length']), r.body.length, `${file} HEAD Content-Length`);
      assert.equal(hd.headers.etag, h.etag);
    }
    // the segment is its parts, in order
    const parts = [];
    for (const q of seg.parts) parts.push((await get(`${base}${q.uri}`)).body);
    assert.ok(Buffer.concat(parts).equals((await get(`${base}${seg.uri}`)).body),
      `segment ${seg.msn} is not the concatenation of its ${seg.parts.length} parts`);
  });

  it('HEAD on a playlist, OPTIONS preflight 204 with Allow-Methods/Headers, other methods 405', async () => {
    const hd = await request(`${base}media.m3u8`, { method: 'HEAD' });
    assert.equal(hd.status, 200);
    assert.equal(hd.body.length, 0);
    assert.equal(hd.headers['content-type'], MPEGURL);
    assert.ok(Number(hd.headers['content-length']) > 100);

    const f1 = (await fetchMedia(base)).complete[0];
    for (const file of ['media.m3u8', 'index.m3u8', f1.map, f1.uri]) {
      const o = await request(`${base}${file}`, { method: 'OPTIONS', headers: {
        Origin: 'http://player.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range',
      } });
      assert.equal(o.status, 204, `OPTIONS ${file}`);
      assert.equal(o.body.length, 0);
      assert.equal(o.headers['access-control-allow-origin'], '*');
      const methods = (o.headers['access-control-allow-methods'] || '').split(/\s*,\s*/);
      for (const m of ['GET', 'HEAD']) assert.ok(methods.includes(m), `Allow-Methods ${o.headers['access-control-allow-methods']}`);
      assert.ok(/(^|,\s*)range(\s*,|$)/i.test(o.headers['access-control-allow-headers'] || ''),
        `Allow-Headers ${o.headers['access-control-allow-headers']}`);
    }
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await request(`${base}media.m3u8`, { method });
      assert.equal(r.status, 405, method);
    }
  });

  it('once the first (short, INDEPENDENT) part is no longer listed, hls-parser strict needs no exception', async () => {
    const msn0 = first.mediaSequence;
    const p = await waitMedia(base, (x) => !x.segments.some((s) => s.msn === msn0 && s.parts.length),
      { what: `the parts of segment ${msn0} to leave the playlist`, timeout: 30000 });
    strictParse(p.text, 'media playlist', { exact: true });
    strictParse((await get(`${base}media.m3u8?_HLS_msn=${p.complete.at(-1).msn}`)).text, 'blocking reload', { exact: true });
  });

  it('gzip: playlists compressed by nginx when asked, media and uncompressed requests not', async () => {
    const gz = hlsBase(env, name, { loc: 'gz' });
    const seg = (await fetchMedia(base)).complete.at(-1);
    const ae = { 'Accept-Encoding': 'gzip' };
    for (const q of ['media.m3u8', `media.m3u8?_HLS_msn=${seg.msn}`, 'index.m3u8']) {
      const r = await get(`${gz}${q}`, { headers: ae });
      assert.equal(r.status, 200, q);
      assert.equal(r.headers['content-encoding'], 'gzip', `${q}: ${JSON.stringify(r.headers)}`);
      assert.equal(r.headers['content-type'], MPEGURL);
      const text = gunzip(r.body).toString('latin1');
      if (q.startsWith('media')) parseMedia(text, `gzipped ${q}`);
      else assert.ok(strictParse(text).isMasterPlaylist);
      const plain = await get(`${gz}${q}`);
      assert.equal(plain.headers['content-encoding'], undefined, `${q} without Accept-Encoding`);
      assert.ok(plain.text.startsWith('#EXTM3U'));
      // this location has no ws_stream_hls_cors
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
    // a waiting request answered later goes through the gzip filter too
    const pl = await fetchMedia(base);
    const w = await get(`${gz}media.m3u8?_HLS_msn=${pl.hint.msn}&_HLS_part=${pl.hint.part + 1}`, { headers: ae });
    assert.equal(w.status, 200);
    assert.equal(w.headers['content-encoding'], 'gzip');
    assert.ok(hasPart(parseMedia(gunzip(w.body).toString('latin1'), 'gzipped blocking reload'), pl.hint.msn, pl.hint.part + 1));
    for (const f of [seg.uri, seg.parts[0].uri, seg.map]) {
      const r = await get(`${gz}${f}`, { headers: ae });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], undefined, `${f} must not be gzipped`);
      assert.ok(r.body.equals((await get(`${base}${f}`)).body), `${f}: the same bytes from both locations`);
    }
  });
});
