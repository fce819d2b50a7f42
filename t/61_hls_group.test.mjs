// A rendition group over LL-HLS: an application with ws_stream_variant
// makes <base>_hi and <base>_lo the renditions of <base>; the group's
// multivariant playlist lists both as they measure, each rendition's media
// playlist reports where the other is, and a player can go to the part a
// report names. A plain stream of the same application stays as it was.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { waitUntil } from './lib/util.mjs';
import { hlsConf, hlsBase, get, strictParse, readMedia, waitMedia, attrs, MPEGURL } from './lib/hls.mjs';
import { streamStats } from './lib/stats.mjs';

describe('61 hls rendition group (ws_stream_variant)', () => {
  const env = useNginx({
    tag: 'hlsgroup',
    conf: (p) => hlsConf(p, {
      rtmp: `application abr { live on; ws_stream live; ws_stream_variant _hi _lo; }`,
      locs: 'location /api/ { ws_stream_api; }',
    }),
  });
  const base = streamName('g');
  const url = (name, file) => `${hlsBase(env, name, { app: 'abr' })}${file}`;

  before(async () => {
    startPublisher({ port: env.rtmpPort, app: 'abr', name: `${base}_hi`, size: '320x180', bitrate: '400k' });
    startPublisher({ port: env.rtmpPort, app: 'abr', name: `${base}_lo`, size: '160x90', bitrate: '100k' });
    for (const r of ['_hi', '_lo']) {
      await waitMedia(hlsBase(env, `${base}${r}`, { app: 'abr' }), (x) => x.complete.length >= 1,
        { what: `a complete segment of ${r}` });
    }
  });

  it('the group\'s multivariant playlist lists every rendition with what it measures', async () => {
    const { parsed, text, res } = await waitUntil(async () => {
      const r = await get(url(base, 'index.m3u8'));
      if (r.status !== 200) return false;
      const p = strictParse(r.text, 'group multivariant playlist');
      return p.variants.length === 2 && { parsed: p, text: r.text, res: r };
    }, { what: 'two variants in the group playlist' });
    assert.equal(res.headers['content-type'], MPEGURL);
    const byUri = Object.fromEntries(parsed.variants.map((v) => [v.uri, v]));
    const hi = byUri[`../${base}_hi/media.m3u8`], lo = byUri[`../${base}_lo/media.m3u8`];
    assert.ok(hi && lo, text);
    assert.deepEqual(hi.resolution, { width: 320, height: 180 }, text);
    assert.deepEqual(lo.resolution, { width: 160, height: 90 }, text);
    for (const v of [hi, lo]) assert.match(v.codecs, /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/, text);
    assert.ok(hi.bandwidth > lo.bandwidth, `BANDWIDTH hi ${hi.bandwidth} lo ${lo.bandwidth}`);
    // the variant URIs resolve to the renditions' own media playlists
    for (const v of [hi, lo]) {
      const m = await get(new URL(v.uri, url(base, 'index.m3u8')).href);
      assert.equal(m.status, 200, v.uri);
      strictParse(m.text, v.uri);
    }
  });

  it('each rendition reports the other, and the reported part is there', async () => {
    for (const [self, other] of [['_hi', '_lo'], ['_lo', '_hi']]) {
      const r = await get(url(`${base}${self}`, 'media.m3u8'));
      assert.equal(r.status, 200);
      strictParse(r.text, `${self} media playlist`);
      const reports = r.text.split('\n').filter((l) => l.startsWith('#EXT-X-RENDITION-REPORT:')).map((l) => attrs(l.slice(24)));
      assert.equal(reports.length, 1, r.text);
      const rep = reports[0];
      assert.equal(rep.URI, `../${base}${other}/media.m3u8`);
      // a blocking request for the reported part answers at once: it exists
      const target = new URL(`${rep.URI}?_HLS_msn=${rep['LAST-MSN']}&_HLS_part=${rep['LAST-PART']}`,
        url(`${base}${self}`, 'media.m3u8')).href;
      const t = await get(target);
      assert.equal(t.status, 200, target);
      const pl = readMedia(t.text);
      const seg = pl.segments.find((s) => s.msn === Number(rep['LAST-MSN']));
      assert.ok(seg && seg.parts.length > Number(rep['LAST-PART']), `part ${rep['LAST-MSN']}.${rep['LAST-PART']} in ${t.text}`);
    }
  });

  it('the statistics name each rendition\'s group; keyframes at the same times are aligned', async (t) => {
    for (const [index, r] of ['_hi', '_lo'].entries()) {
      const st = await waitUntil(async () => {
        const x = await streamStats(env, `${base}${r}`, 'abr');
        return x.video && x.video.keyframes >= 4 && x;
      }, { what: `keyframes of ${r}` });
      t.diagnostic(`${r}: ${st.video.keyframes} keyframes, ${st.video.keyframes_misaligned} misaligned`);
      assert.deepEqual(st.group, { name: base, rendition: r, index });
      // both publishers: one keyframe every 30 frames at 30 fps, from 0
      assert.equal(st.video.keyframes_misaligned, 0);
    }
  });

  it('a group nobody publishes is 404; a plain stream of the application keeps its own playlist', async () => {
    assert.equal((await get(url(streamName('none'), 'index.m3u8'))).status, 404);
    const plain = streamName('plain');
    startPublisher({ port: env.rtmpPort, app: 'abr', name: plain, size: '160x90', bitrate: '100k' });
    const p = await waitUntil(async () => {
      const r = await get(url(plain, 'index.m3u8'));
      return r.status === 200 && strictParse(r.text, 'plain multivariant');
    }, { what: 'the plain stream\'s multivariant playlist' });
    assert.equal(p.variants.length, 1);
    assert.equal(p.variants[0].uri, 'media.m3u8');
    const m = await waitMedia(hlsBase(env, plain, { app: 'abr' }), () => true, { what: 'plain media playlist' });
    assert.ok(m, 'plain media playlist');
    const text = (await get(url(plain, 'media.m3u8'))).text;
    assert.ok(!text.includes('#EXT-X-RENDITION-REPORT'), 'a plain stream reports no renditions');
    assert.equal((await streamStats(env, plain, 'abr')).group, null);
  });
});

describe('61 hls rendition group: keyframes that do not line up', () => {
  const env = useNginx({
    tag: 'hlsalign',
    conf: (p) => hlsConf(p, {
      rtmp: 'application abr { live on; ws_stream live; ws_stream_variant _a _b; }',
      locs: 'location /api/ { ws_stream_api; } location = /metrics { ws_stream_metrics; }',
    }),
  });
  const base = streamName('al');

  it('a rendition with another keyframe interval: counted as misaligned, one warning', async () => {
    startPublisher({ port: env.rtmpPort, app: 'abr', name: `${base}_a`, size: '160x90', bitrate: '100k', gop: 30 });
    startPublisher({ port: env.rtmpPort, app: 'abr', name: `${base}_b`, size: '160x90', bitrate: '100k', gop: 45 });
    for (const r of ['_a', '_b']) {
      await waitUntil(async () => {
        const st = await streamStats(env, `${base}${r}`, 'abr');
        return st && st.video && st.video.keyframes_misaligned > 0;
      }, { timeout: 30000, what: `misaligned keyframes of ${r}` });
    }
    const log = env.nginx.log();
    const warnings = log.split('\n').filter((l) => l.includes('do not line up'));
    assert.ok(warnings.length >= 1 && warnings.length <= 2, warnings.join('\n'));
    assert.ok(warnings.every((l) => l.includes('[warn]')), warnings.join('\n'));
    const m = await fetch(`http://127.0.0.1:${env.ports.http}/metrics`).then((r) => r.text());
    assert.match(m, new RegExp(`ws_stream_keyframes_misaligned_total\\{app="abr",stream="${base}_b"\\} [1-9]`));
  });
});
