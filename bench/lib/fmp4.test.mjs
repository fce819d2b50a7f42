// node --test bench/lib/fmp4.test.mjs
import test from 'node:test';
import assert from 'node:assert/strict';
import { boxes, initTracks, fragmentSamples, videoStamps } from './fmp4.mjs';
import { parseMediaPlaylist } from '../hls-ll.mjs';

const be32 = (v) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const be64 = (v) => [...be32(Math.floor(v / 4294967296)), ...be32(v % 4294967296)];
const str = (s) => [...s].map((c) => c.charCodeAt(0));
const box = (type, ...body) => {
  const b = body.flat();
  return [...be32(8 + b.length), ...str(type), ...b];
};
const full = (v, flags) => be32((v << 24) | flags);

// stamp SEI NAL as bench/sei.c writes it (no byte here needs escaping but
// the zeros of wall_us: the test values avoid 00 00 0x runs)
const UUID = str('ngx_ws_stream_bn');
function stampNal(st) {
  const rbsp = [5, 40, ...UUID, ...be64(st.wallUs), ...be32(st.index), ...be32(st.loop),
    ...be64(st.ptsMs), 0x80];
  const out = [6];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) { out.push(3); zeros = 0; }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out;
}
const avcc = (...nals) => nals.flatMap((n) => [...be32(n.length), ...n]);

function trak(id, handler, timescale) {
  return box('trak',
    box('tkhd', full(0, 3), be32(0), be32(0), be32(id), Array(60).fill(0)),
    box('mdia',
      box('mdhd', full(0, 0), be32(0), be32(0), be32(timescale), be32(0), be32(0)),
      box('hdlr', full(0, 0), be32(0), str(handler), Array(13).fill(0))));
}

const INIT = Uint8Array.from([...box('ftyp', str('iso6'), be32(0)),
  ...box('moov', box('mvhd', full(0, 0)), trak(2, 'soun', 48000), trak(1, 'vide', 90000))]);

// one moof + mdat: video track 1 (stamped samples), audio track 2
function part(first, n, { audio = 3, baseDts = 90000 } = {}) {
  const video = [];
  for (let i = 0; i < n; i++) {
    video.push(avcc(stampNal({ wallUs: 1.7e15 + first + i, index: first + i, loop: 1, ptsMs: 40 * i }),
      [0x41, 0x9a, 0x11, 0x22]));
  }
  const aud = Array.from({ length: audio }, (_, i) => Array(10 + i).fill(0xa1));
  const trun = (samples, flagsOf) => box('trun', full(0, 0x000701), be32(samples.length),
    be32(0), samples.flatMap((s, i) => [...be32(3000), ...be32(s.length), ...be32(flagsOf(i))]));
  const traf = (id, samples, flagsOf, dts) => box('traf',
    box('tfhd', full(0, 0x020000), be32(id)),
    box('tfdt', full(1, 0), be64(dts)),
    trun(samples, flagsOf));
  // the data offsets (0 here) are patched once the moof's size is known
  const m = [...box('moof', box('mfhd', full(0, 0), be32(1)),
    traf(1, video, (i) => (i === 0 ? 0x02000000 : 0x01010000), baseDts),
    traf(2, aud, () => 0x02000000, 0))];
  const vData = video.flat(), aData = aud.flat();
  const vOff = m.length + 8, aOff = vOff + vData.length;
  const pos = [];                 // trun data_offset: after its sample count
  for (let i = 0; i + 8 <= m.length; i++) {
    if (String.fromCharCode(m[i + 4], m[i + 5], m[i + 6], m[i + 7]) === 'trun') pos.push(i + 16);
  }
  m.splice(pos[0], 4, ...be32(vOff));
  m.splice(pos[1], 4, ...be32(aOff));
  return [...m, ...box('mdat', vData, aData)];
}

test('init segment tracks', () => {
  assert.deepEqual(initTracks(INIT), [
    { id: 2, kind: 'audio', timescale: 48000 },
    { id: 1, kind: 'video', timescale: 90000 },
  ]);
  assert.deepEqual(initTracks(INIT.subarray(0, 40)), []);
  assert.deepEqual(boxes(INIT).map((b) => b.type), ['ftyp', 'moov']);
});

test('samples and stamps of a part and of a segment of parts', () => {
  const p = Uint8Array.from(part(10, 6));
  const s = fragmentSamples(p);
  assert.equal(s.length, 9);
  assert.deepEqual(s.filter((x) => x.track === 1).map((x) => x.dts),
    [90000, 93000, 96000, 99000, 102000, 105000]);
  const v = videoStamps(p, initTracks(INIT));
  assert.deepEqual(v.map((x) => x.stamp.index), [10, 11, 12, 13, 14, 15]);
  assert.deepEqual(v.map((x) => x.key), [true, false, false, false, false, false]);
  assert.equal(v[2].stamp.wallUs, 1.7e15 + 12);
  // without the init segment: the samples that hold a stamp
  assert.deepEqual(videoStamps(p).map((x) => x.stamp.index), [10, 11, 12, 13, 14, 15]);
  // a segment is its parts one after the other
  const seg = Uint8Array.from([...part(0, 3), ...part(3, 3, { baseDts: 99000 })]);
  assert.deepEqual(videoStamps(seg, initTracks(INIT)).map((x) => x.stamp.index), [0, 1, 2, 3, 4, 5]);
});

test('damaged fragments never throw', () => {
  const p = Uint8Array.from(part(0, 6));
  for (let n = 0; n < p.length; n += 13) {
    const v = videoStamps(p.subarray(0, n), initTracks(INIT));
    assert.ok(v.length <= 6);
  }
  let seed = 7;
  for (let i = 0; i < 500; i++) {
    const d = p.slice();
    for (let k = 0; k < 4; k++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      d[seed % d.length] = seed >>> 24;
    }
    videoStamps(d, initTracks(INIT));
  }
});

test('media playlist: parts, hint, map, part target', () => {
  const text = [
    '#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-PART-INF:PART-TARGET=0.200',
    '#EXT-X-MAP:URI="init-0.mp4"',
    '#EXT-X-PART:DURATION=0.200,URI="1.8.m4s"', '#EXT-X-PART:DURATION=0.200,URI="1.9.m4s"',
    '#EXTINF:2.000,', '1.m4s', '#EXT-X-DISCONTINUITY', '#EXT-X-MAP:URI="init-1.mp4"',
    '#EXT-X-PART:DURATION=0.167,URI="2.0.m4s",INDEPENDENT=YES',
    '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="2.1.m4s"', ''].join('\n');
  const pl = parseMediaPlaylist(text);
  assert.equal(pl.partTarget, 0.2);
  assert.equal(pl.segments, 1);
  assert.deepEqual(pl.parts.map((p) => [p.uri, p.map, p.independent, p.duration]), [
    ['1.8.m4s', 'init-0.mp4', false, 0.2], ['1.9.m4s', 'init-0.mp4', false, 0.2],
    ['2.0.m4s', 'init-1.mp4', true, 0.167]]);
  assert.deepEqual(pl.hint, { uri: '2.1.m4s', map: 'init-1.mp4', name: { msn: 2, part: 1 } });
  assert.equal(parseMediaPlaylist('#EXTM3U\n').hint, null);
});
