// Real encoder output: fixtures/small.flv (ffmpeg: 2 s testsrc2 320x180 @ 30 fps, libx264
// High -g 15 -bf 2, AAC-LC 44.1 kHz stereo) -> demux -> remux, checked with mp4box.js and ffprobe.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demuxVideo, demuxAudio } from '../flv-demux.js';
import { Mp4Remuxer } from '../mp4-remux.js';
import { concat } from '../mp4-boxes.js';
import { ErrorCodes, WsStreamError } from '../errors.js';
import { smallFlvTags, fixturePath } from './flv-file.mjs';
import { parseMp4, initPaths, SEGMENT_PATHS } from './mp4-check.mjs';

const tags = smallFlvTags();
const videoTags = tags.filter((t) => t.type === 9);
const audioTags = tags.filter((t) => t.type === 8);

/** Demux one track: its config and frames as remuxer samples ({dts, cts, key, data, flvKey}). */
function demuxTrack(list, demux) {
  let config = null;
  const frames = [];
  for (const t of list) {
    const r = demux(t.body);
    if (r.type === 'config') config = r.config;
    else if (r.type === 'frame') {
      frames.push({ dts: t.timestamp, cts: r.cts ?? 0, key: r.key ?? true, data: r.data, flvKey: t.body[0] >> 4 === 1 });
    }
  }
  return { config, frames };
}

const video = demuxTrack(videoTags, demuxVideo);
const audio = demuxTrack(audioTags, demuxAudio);

/** Remux frames in segments: a new one at every keyframe (video) or every `n` frames. */
function remux(track, config, frames, { perSegment = 0 } = {}) {
  const rx = new Mp4Remuxer();
  const init = rx.initSegment(track, config);
  const groups = [];
  for (const f of frames) {
    const start = perSegment ? groups.length === 0 || groups[groups.length - 1].length === perSegment : f.key;
    if (start || groups.length === 0) groups.push([]);
    groups[groups.length - 1].push(f);
  }
  return { init, groups, segments: groups.map((g) => rx.mediaSegment(track, g)) };
}

/** MD5 of every decoded picture/audio frame, in output order. */
function frameHashes(path, map) {
  const out = execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-map', map, '-f', 'framemd5', '-']);
  return out.toString().split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').pop().trim());
}

function ffprobe(bytes, name, check = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wsstream-remux-'));
  try {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-of', 'json', path]);
    // a full decode must not report a single error
    const dec = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-f', 'null', '-']);
    assert.equal(dec.status, 0);
    assert.equal(dec.stderr.toString(), '', 'ffmpeg decode errors');
    check(path);
    return JSON.parse(out.toString()).streams;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('fixture demux: one config per track, every tag a frame', () => {
  assert.deepEqual([video.config.codec, video.config.width, video.config.height, video.config.kind],
    ['avc1.64000d', 320, 180, 'avc']);
  assert.deepEqual([audio.config.codec, audio.config.sampleRate, audio.config.channels], ['mp4a.40.2', 44100, 2]);
  assert.equal(video.frames.length, 60);
  assert.equal(audio.frames.length, 88);
  assert.deepEqual(video.frames.map((f) => f.key), video.frames.map((f) => f.flvKey));
  assert.equal(video.frames.filter((f) => f.key).length, 4);
  assert.ok(video.frames.some((f) => f.cts > 0), 'B-frames: composition offsets exist');
});

test('fixture video remux (one segment per GOP) checked with mp4box.js', () => {
  const { init, groups, segments } = remux('video', video.config, video.frames);
  const { file, info, samples, paths } = parseMp4(concat([init, ...segments]));
  assert.deepEqual(paths, [...initPaths('vmhd', ['avc1', 'avc1/avcC']), ...segments.flatMap(() => SEGMENT_PATHS)]);
  const t = info.tracks[0];
  assert.deepEqual([t.codec, t.video.width, t.video.height, t.timescale], ['avc1.64000d', 320, 180, 90000]);
  assert.equal(file.moofs.length, 4);
  let expectNext = 0;
  file.moofs.forEach((moof, i) => {
    const traf = moof.trafs[0];
    const trun = traf.truns[0];
    const g = groups[i];
    assert.equal(trun.sample_count, g.length, `segment ${i} sample count`);
    assert.equal(moof.mfhd.sequence_number, i + 1);
    assert.equal(traf.tfdt.baseMediaDecodeTime, expectNext, `segment ${i} tfdt continuous`);
    assert.equal(traf.tfdt.baseMediaDecodeTime, g[0].dts * 90, `segment ${i} tfdt = first dts`);
    trun.sample_duration.forEach((d, k) => {
      const want = k + 1 < g.length ? g[k + 1].dts - g[k].dts : g[k].dts - (k > 0 ? g[k - 1] : groups[i - 1].at(-1)).dts;
      assert.equal(d, want * 90, `segment ${i} sample ${k} duration`);
    });
    expectNext = traf.tfdt.baseMediaDecodeTime + trun.sample_duration.reduce((a, b) => a + b, 0);
  });
  assert.equal(samples.length, 60);
  samples.forEach((s, i) => {
    const f = video.frames[i];
    assert.equal(s.dts, f.dts * 90, `sample ${i} dts`);
    assert.equal(s.cts - s.dts, f.cts * 90, `sample ${i} composition offset`);
    assert.equal(s.is_sync, f.flvKey, `sample ${i} sync`);
    assert.deepEqual(s.data, f.data, `sample ${i} data`);
  });
});

test('fixture video remux, one sample per segment (as the player flushes): tfdt stays continuous', () => {
  const { init, segments } = remux('video', video.config, video.frames, { perSegment: 1 });
  const { file, samples } = parseMp4(concat([init, ...segments]));
  assert.equal(file.moofs.length, 60);
  let next = null;
  file.moofs.forEach((moof, i) => {
    const traf = moof.trafs[0];
    if (next !== null) assert.equal(traf.tfdt.baseMediaDecodeTime, next, `segment ${i}`);
    next = traf.tfdt.baseMediaDecodeTime + traf.truns[0].sample_duration[0];
    // backward deltas telescope: decode time never drifts from the dts by more than a frame jitter
    assert.ok(Math.abs(traf.tfdt.baseMediaDecodeTime - video.frames[i].dts * 90) <= 2 * 90, `segment ${i} drift`);
  });
  assert.deepEqual(samples.map((s) => s.is_sync), video.frames.map((f) => f.flvKey));
});

test('fixture audio remux checked with mp4box.js', () => {
  const { init, groups, segments } = remux('audio', audio.config, audio.frames, { perSegment: 10 });
  const { file, info, samples, paths } = parseMp4(concat([init, ...segments]));
  assert.deepEqual(paths, [...initPaths('smhd', ['mp4a', 'mp4a/esds']), ...segments.flatMap(() => SEGMENT_PATHS)]);
  const t = info.tracks[0];
  assert.deepEqual([t.codec, t.timescale, t.audio.sample_rate, t.audio.channel_count], ['mp4a.40.2', 44100, 44100, 2]);
  let next = Math.round(audio.frames[0].dts * 44.1);
  file.moofs.forEach((moof, i) => {
    const traf = moof.trafs[0];
    assert.equal(traf.truns[0].sample_count, groups[i].length);
    assert.equal(traf.tfdt.baseMediaDecodeTime, next, `segment ${i} tfdt continuous`);
    assert.ok(traf.truns[0].sample_duration.every((d) => d === 1024));
    next += 1024 * groups[i].length;
  });
  assert.equal(samples.length, 88);
  assert.ok(samples.every((s, i) => s.is_sync && s.size === audio.frames[i].data.length));
});

test('ffprobe decodes the remuxed video: h264 320x180, every frame', () => {
  const { init, segments } = remux('video', video.config, video.frames);
  const [s] = ffprobe(concat([init, ...segments]), 'video.mp4', (path) => {
    const want = frameHashes(fixturePath('small.flv'), '0:v');
    assert.equal(want.length, 60);
    assert.deepEqual(frameHashes(path, '0:v'), want, 'decoded pictures identical to the FLV source');
  });
  assert.deepEqual([s.codec_name, s.width, s.height, Number(s.nb_read_frames)], ['h264', 320, 180, videoTags.length - 2]);
  assert.equal(Number(s.nb_read_frames), video.frames.length);
});

test('ffprobe decodes the remuxed audio: aac 44100 Hz stereo, every frame', () => {
  const { init, segments } = remux('audio', audio.config, audio.frames, { perSegment: 20 });
  const [s] = ffprobe(concat([init, ...segments]), 'audio.mp4');
  assert.deepEqual([s.codec_name, Number(s.sample_rate), s.channels, Number(s.nb_read_frames)],
    ['aac', 44100, 2, audio.frames.length]);
  assert.equal(audio.frames.length, audioTags.length - 1);
});

test('fixture tags truncated at every length -> DEMUX or a valid result', () => {
  const samplesOf = [videoTags[0], videoTags[1], videoTags[2], audioTags[0], audioTags[1]];
  for (const t of samplesOf) {
    const demux = t.type === 9 ? demuxVideo : demuxAudio;
    for (let len = 0; len < t.body.length; len++) {
      try {
        const r = demux(t.body.slice(0, len));
        assert.ok(['frame', 'skip', 'config'].includes(r.type));
        if (r.type === 'config') assert.ok(Number.isFinite(r.config.width ?? r.config.sampleRate));
      } catch (e) {
        assert.ok(e instanceof WsStreamError && e.code === ErrorCodes.DEMUX, `${len}: ${e}`);
      }
    }
  }
});
