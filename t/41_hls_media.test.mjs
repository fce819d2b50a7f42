// The fMP4 media of the LL-HLS location, decoded by ffmpeg/ffprobe: init +
// parts and init + segments of two complete segments decode without a word
// from ffmpeg, with the frames the playlist promises (30 fps x EXTINF), audio,
// the published resolution, INDEPENDENT=YES exactly on parts that start with
// a keyframe, continuous timestamps; CODECS against ffprobe's profile/level.
// Also audio-only and video-only publishes.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { hlsConf, hlsBase, waitMedia, fetchBytes, fetchMultivariant } from './lib/hls.mjs';
import { probe, decodeErrors, packets, writeFile, codecsMismatches } from './lib/hls_probe.mjs';

const FPS = 30;

describe('41 hls media decodes (defaults)', () => {
  const env = useNginx({ tag: 'hls41', conf: (p) => hlsConf(p) });
  const name = streamName('md');
  const aname = streamName('ao');
  const vname = streamName('vo');
  let base, pl, segs, init, dir;

  before(async () => {
    startPublisher({ port: env.rtmpPort, name });
    startPublisher({ port: env.rtmpPort, name: aname, video: false });
    startPublisher({ port: env.rtmpPort, name: vname, audio: false });
    base = hlsBase(env, name);
    dir = env.prefix;
    // two complete segments with their parts listed
    pl = await waitMedia(base, (x) => x.complete.filter((s) => s.parts.length).length >= 2,
      { what: 'two complete segments with parts', timeout: 30000 });
    segs = pl.complete.filter((s) => s.parts.length).slice(-2);
    init = await fetchBytes(base, segs[0].map);
    for (const s of segs) {
      s.bytes = await fetchBytes(base, s.uri);
      s.partBytes = [];
      for (const q of s.parts) s.partBytes.push(await fetchBytes(base, q.uri));
    }
  });

  it('a segment is the concatenation of its parts, byte for byte', () => {
    for (const s of segs) assert.ok(Buffer.concat(s.partBytes).equals(s.bytes), `segment ${s.msn}`);
  });

  it('init + parts and init + segments decode without errors, with the same frames, video and audio', async () => {
    const fParts = await writeFile(dir, 'parts.mp4', [init, ...segs.flatMap((s) => s.partBytes)]);
    const fSegs = await writeFile(dir, 'segs.mp4', [init, ...segs.map((s) => s.bytes)]);
    for (const f of [fParts, fSegs]) assert.equal(await decodeErrors(f), '', `ffmpeg on ${f}`);
    const a = await probe(fParts), b = await probe(fSegs);
    for (const [label, p] of [['parts', a], ['segments', b]]) {
      assert.ok(p.video, `${label}: no video stream`);
      assert.equal(p.video.codec_name, 'h264');
      assert.equal(p.video.width, 640, label);
      assert.equal(p.video.height, 360, label);
      assert.ok(p.audio, `${label}: no audio stream`);
      assert.equal(p.audio.codec_name, 'aac');
      assert.equal(Number(p.audio.sample_rate), 44100);
      assert.ok(p.audio.frames > 0, `${label}: no audio frames`);
    }
    assert.equal(a.video.frames, b.video.frames, 'video frames: parts vs segments');
    assert.equal(a.audio.frames, b.audio.frames, 'audio frames: parts vs segments');
    const secs = segs.reduce((x, s) => x + s.duration, 0);
    assert.ok(Math.abs(b.video.frames - FPS * secs) <= segs.length,
      `${b.video.frames} video frames for EXTINF total ${secs} s`);
    // AAC: 1024 samples at 44.1 kHz; parts cut on video, audio follows
    const aacFrames = (secs * 44100) / 1024;
    assert.ok(Math.abs(b.audio.frames - aacFrames) <= 3, `${b.audio.frames} AAC frames for ${secs} s (${aacFrames.toFixed(1)})`);
  });

  it('each segment: 30 fps x EXTINF video frames (within 1); each part: its DURATION in frames (samples), the sum its segment', async () => {
    for (const s of segs) {
      const f = await writeFile(dir, `seg${s.msn}.mp4`, [init, s.bytes]);
      assert.equal(await decodeErrors(f), '', `segment ${s.msn}`);
      const p = await probe(f);
      assert.ok(Math.abs(p.video.frames - FPS * s.duration) <= 1, `segment ${s.msn}: ${p.video.frames} frames, EXTINF ${s.duration}`);
      let sum = 0;
      for (let k = 0; k < s.parts.length; k++) {
        const fp = await writeFile(dir, `part${s.msn}.${k}.mp4`, [init, s.partBytes[k]]);
        const pp = await probe(fp);
        // a part that starts without a keyframe does not decode alone: count its samples
        const n = pp.video ? pp.video.packets : 0;
        assert.ok(Math.abs(n - FPS * s.parts[k].duration) <= 1,
          `part ${s.msn}.${k}: ${n} frames, DURATION ${s.parts[k].duration}`);
        sum += n;
      }
      assert.equal(p.video.packets, p.video.frames, `segment ${s.msn}: every stored frame decodes`);
      assert.equal(sum, p.video.frames, `segment ${s.msn}: frames of its parts`);
    }
  });

  it('INDEPENDENT=YES exactly on the parts whose first video frame is a keyframe', async () => {
    const wrong = [];
    for (const s of segs) {
      for (let k = 0; k < s.parts.length; k++) {
        const fp = await writeFile(dir, `kpart${s.msn}.${k}.mp4`, [init, s.partBytes[k]]);
        const v = (await packets(fp)).filter((x) => x.type === 'video');
        assert.ok(v.length > 0, `part ${s.msn}.${k} has no video`);
        const key = v[0].key;
        if (key !== s.parts[k].independent) wrong.push(`${s.msn}.${k}: first frame key=${key}, INDEPENDENT=${s.parts[k].independent}`);
        if (k === 0) assert.ok(key, `segment ${s.msn} does not start with a keyframe`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('timestamps run on across parts and segments: no gap, no overlap', async () => {
    const f = await writeFile(dir, 'ts.mp4', [init, ...segs.map((s) => s.bytes)]);
    const all = await packets(f);
    for (const [type, maxStep] of [['video', 0.040], ['audio', 0.030]]) {
      const t = all.filter((x) => x.type === type).map((x) => x.dts).sort((x, y) => x - y);
      for (let i = 1; i < t.length; i++) {
        const d = t[i] - t[i - 1];
        assert.ok(d > 0 && d <= maxStep, `${type} dts step ${d.toFixed(4)} s at ${t[i - 1]} -> ${t[i]}`);
      }
    }
    // the second segment starts where the first ends (video, within 1 ms)
    const v = all.filter((x) => x.type === 'video').map((x) => x.dts);
    const n1 = (await probe(await writeFile(dir, 'first.mp4', [init, segs[0].bytes]))).video.frames;
    assert.ok(Math.abs(v[n1] - v[0] - segs[0].duration) <= 0.0011,
      `segment ${segs[1].msn} starts ${(v[n1] - v[0]).toFixed(4)} s after segment ${segs[0].msn}, EXTINF ${segs[0].duration}`);
  });

  it('CODECS, RESOLUTION and FRAME-RATE of the multivariant playlist match what ffprobe reads', async () => {
    const { parsed, text } = await fetchMultivariant(base);
    const v = parsed.variants[0];
    const p = await probe(await writeFile(dir, 'codecs.mp4', [init, segs[0].bytes]));
    assert.deepEqual(codecsMismatches(v.codecs, p), [], `${text}\nffprobe: ${JSON.stringify(p.streams)}`);
    assert.deepEqual(v.resolution, { width: p.video.width, height: p.video.height });
    assert.ok(Math.abs(v.frameRate - FPS) < 0.1, text);
  });

  it('audio-only publish: CODECS mp4a only, no RESOLUTION, segments decode with audio only', async () => {
    const b = hlsBase(env, aname);
    const p = await waitMedia(b, (x) => x.complete.length >= 1, { what: 'an audio-only segment', timeout: 30000 });
    const { parsed, text } = await fetchMultivariant(b);
    const v = parsed.variants[0];
    assert.equal(v.codecs, 'mp4a.40.2', text);
    assert.equal(v.resolution, undefined, text);
    const s = p.complete.at(-1);
    // parts cut on audio frames: within PART-TARGET, at least 85% of it but the last of a segment
    for (const seg of p.segments) {
      seg.parts.forEach((q, k) => {
        assert.ok(q.duration <= p.partTarget, `audio-only part ${q.uri} ${q.duration}`);
        if (!(seg.complete && k === seg.parts.length - 1))
          assert.ok(q.duration >= 0.85 * p.partTarget, `audio-only part ${q.uri} ${q.duration}: under 85% of PART-TARGET`);
        assert.ok(q.independent, `audio-only part ${q.uri} is not INDEPENDENT`);
      });
    }
    const f = await writeFile(dir, 'audio.mp4', [await fetchBytes(b, s.map), await fetchBytes(b, s.uri)]);
    assert.equal(await decodeErrors(f), '');
    const pr = await probe(f);
    assert.equal(pr.video, null, 'audio-only: a video stream');
    assert.ok(pr.audio && pr.audio.frames > 0);
    assert.ok(Math.abs(pr.audio.frames - (s.duration * 44100) / 1024) <= 2, `${pr.audio.frames} AAC frames, EXTINF ${s.duration}`);
    assert.deepEqual(codecsMismatches(v.codecs, pr), []);
  });

  it('video-only publish: CODECS avc1 only, segments decode with video only', async () => {
    const b = hlsBase(env, vname);
    const p = await waitMedia(b, (x) => x.complete.length >= 1, { what: 'a video-only segment', timeout: 30000 });
    const { parsed, text } = await fetchMultivariant(b);
    const v = parsed.variants[0];
    assert.match(v.codecs, /^avc1\.[0-9a-f]{6}$/, text);
    assert.deepEqual(v.resolution, { width: 640, height: 360 });
    const s = p.complete.at(-1);
    const f = await writeFile(dir, 'video.mp4', [await fetchBytes(b, s.map), await fetchBytes(b, s.uri)]);
    assert.equal(await decodeErrors(f), '');
    const pr = await probe(f);
    assert.equal(pr.audio, null, 'video-only: an audio stream');
    assert.ok(Math.abs(pr.video.frames - FPS * s.duration) <= 1);
    assert.deepEqual(codecsMismatches(v.codecs, pr), []);
  });
});
