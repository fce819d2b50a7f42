// Unit tests of player/mp4-remux.js: boxes checked with mp4box.js, timing rules of the spec.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Mp4Remuxer } from '../mp4-remux.js';
import { demuxVideo, demuxAudio } from '../flv-demux.js';
import { concat } from '../mp4-boxes.js';
import { ErrorCodes, WsStreamError } from '../errors.js';
import { AVC_RECORD, HVCC_RECORD } from './vectors.mjs';
import { parseMp4, sampleEntry, initPaths, SEGMENT_PATHS } from './mp4-check.mjs';

const avc = demuxVideo(new Uint8Array([0x17, 0, 0, 0, 0, ...AVC_RECORD])).config;
const hevc = demuxVideo(new Uint8Array([0x1c, 0, 0, 0, 0, ...HVCC_RECORD])).config;
const aac = demuxAudio(new Uint8Array([0xaf, 0x00, 0x12, 0x10])).config;
const mp3 = demuxAudio(new Uint8Array([0x2f, 0xff, 0xfb, 0x90, 0x64])).config;

const frame = (dts, cts = 0, key = false, n = 4) => ({ dts, cts, key, data: new Uint8Array(n).fill(dts & 0xff) });

function remuxErr(fn) {
  assert.throws(fn, (e) => e instanceof WsStreamError && e.code === ErrorCodes.REMUX);
}

/** tfdt, durations, flags, offsets of every moof. */
function fragments(file) {
  return file.moofs.map((m) => {
    const traf = m.trafs[0];
    const trun = traf.truns[0];
    return {
      seq: m.mfhd.sequence_number, trackId: traf.tfhd.track_id, tfhdFlags: traf.tfhd.flags,
      tfdt: traf.tfdt.baseMediaDecodeTime, tfdtVersion: traf.tfdt.version, trunVersion: trun.version,
      count: trun.sample_count, durations: trun.sample_duration, sizes: trun.sample_size,
      flags: trun.sample_flags, ctos: trun.sample_composition_time_offset,
    };
  });
}

test('AVC init segment: box tree, brands, sample entry, timescale', () => {
  const init = new Mp4Remuxer().initSegment('video', avc);
  const { file, info, paths } = parseMp4(init);
  assert.deepEqual(paths, initPaths('vmhd', ['avc1', 'avc1/avcC']));
  assert.equal(file.ftyp.major_brand, 'isom');
  assert.deepEqual(file.ftyp.compatible_brands, ['isom', 'iso6', 'avc1', 'mp41']);
  const t = info.tracks[0];
  assert.deepEqual([t.codec, t.id, t.timescale, t.video.width, t.video.height, t.track_width, t.track_height],
    ['avc1.64000d', 1, 90000, 320, 180, 320, 180]);
  const entry = sampleEntry(file);
  assert.deepEqual([entry.width, entry.height], [320, 180]);
  assert.equal(entry.avcC.SPS[0].length, 26);
  assert.equal(entry.avcC.lengthSizeMinusOne, 3);
  assert.equal(file.moov.mvex.trexs[0].track_id, 1);
  assert.equal(file.moov.traks[0].mdia.hdlr.handler, 'vide');
  assert.equal(file.moov.traks[0].mdia.minf.stbl.stsz.sample_count, 0);
});

test('HEVC init segment: hvc1 + hvcC, codec string matches the demuxer', () => {
  const { file, info, paths } = parseMp4(new Mp4Remuxer().initSegment('video', hevc));
  assert.deepEqual(paths, initPaths('vmhd', ['hvc1', 'hvc1/hvcC']));
  assert.deepEqual(file.ftyp.compatible_brands, ['isom', 'iso6', 'mp41']);
  assert.equal(info.tracks[0].codec, hevc.codec);
  assert.equal(info.tracks[0].codec, 'hvc1.1.6.L60.90');
  assert.deepEqual([info.tracks[0].video.width, info.tracks[0].video.height], [320, 180]);
});

test('AAC init segment: mp4a + esds with the ASC, timescale = sample rate', () => {
  const { file, info, paths } = parseMp4(new Mp4Remuxer().initSegment('audio', aac));
  assert.deepEqual(paths, initPaths('smhd', ['mp4a', 'mp4a/esds']));
  const t = info.tracks[0];
  assert.deepEqual([t.codec, t.id, t.timescale, t.audio.sample_rate, t.audio.channel_count],
    ['mp4a.40.2', 2, 44100, 44100, 2]);
  const esd = sampleEntry(file).esds.esd;
  const dcd = esd.descs[0];
  assert.equal(dcd.oti, 0x40);
  assert.equal(dcd.streamType, 5);
  assert.deepEqual([...dcd.descs[0].data], [0x12, 0x10]);
  assert.equal(file.moov.traks[0].mdia.hdlr.handler, 'soun');
});

test('MP3 init segment: mp4a with objectTypeIndication 0x6B, no DecoderSpecificInfo', () => {
  const { file, info } = parseMp4(new Mp4Remuxer().initSegment('audio', mp3));
  assert.equal(info.tracks[0].codec.toLowerCase(), 'mp4a.6b');
  assert.equal(info.tracks[0].timescale, 44100);
  const dcd = sampleEntry(file).esds.esd.descs[0];
  assert.equal(dcd.oti, 0x6b);
  assert.equal((dcd.descs || []).filter((d) => d.tag === 5).length, 0);
});

test('video segments: trun v1 with signed composition offsets, flags, tfdt v1, data offset', () => {
  const rx = new Mp4Remuxer();
  const init = rx.initSegment('video', avc);
  const seg1 = rx.mediaSegment('video', [frame(1000, 66, true, 10), frame(1033, -33, false, 7), frame(1066, 0, false, 5)]);
  const seg2 = rx.mediaSegment('video', [frame(1100, 0, true, 3)]);
  const { file, samples, paths } = parseMp4(concat([init, seg1, seg2]));
  assert.deepEqual(paths.slice(-14), [...SEGMENT_PATHS, ...SEGMENT_PATHS]);
  const [f1, f2] = fragments(file);
  assert.deepEqual(f1, {
    seq: 1, trackId: 1, tfhdFlags: 0x020000, tfdt: 90000, tfdtVersion: 1, trunVersion: 1, count: 3,
    durations: [2970, 2970, 2970], sizes: [10, 7, 5], flags: [0x02000000, 0x01010000, 0x01010000],
    ctos: [5940, -2970, 0],
  });
  assert.equal(f2.seq, 2);
  assert.equal(f2.tfdt, 90000 + 3 * 2970, 'continuous: previous tfdt + previous durations');
  assert.deepEqual(f2.durations, [3060], 'last sample: delta to the sample before');
  // sample data lands where trun's data offset says
  assert.deepEqual(samples.map((s) => [s.dts, s.cts, s.is_sync, s.size, s.data[0]]), [
    [90000, 95940, true, 10, 1000 & 0xff], [92970, 90000, false, 7, 1033 & 0xff],
    [95940, 95940, false, 5, 1066 & 0xff], [98910, 98910, true, 3, 1100 & 0xff]]);
});

test('video durations: first sample 1/30 s, then the last known delta; resync beyond 100 ms', () => {
  const rx = new Mp4Remuxer();
  const init = rx.initSegment('video', avc);
  const segs = [
    rx.mediaSegment('video', [frame(0, 0, true)]),          // no previous: 1/30 s
    rx.mediaSegment('video', [frame(40, 0)]),               // delta 40 ms
    rx.mediaSegment('video', [frame(80, 0)]),               // expected 73.3 ms: within 100 ms, keeps going
    rx.mediaSegment('video', [frame(400, 0, true)]),        // 280 ms off: resync to the dts, last delta
    rx.mediaSegment('video', [frame(440, 0), frame(480, 0)]),
  ];
  const f = fragments(parseMp4(concat([init, ...segs])).file);
  assert.deepEqual(f.map((x) => x.tfdt), [0, 3000, 6600, 36000, 39600]);
  assert.deepEqual(f.map((x) => x.durations), [[3000], [3600], [3600], [3600], [3600, 3600]]);
  // reset: next segment resyncs even when close; the last known delta survives
  rx.reset('video');
  const after = rx.mediaSegment('video', [frame(530, 0, true)]);
  const g = fragments(parseMp4(concat([init, after])).file)[0];
  assert.deepEqual([g.tfdt, g.durations, g.seq], [47700, [3600], 6]);
});

test('video durations: non-increasing dts falls back to the last known delta', () => {
  const rx = new Mp4Remuxer();
  const init = rx.initSegment('video', avc);
  const seg = rx.mediaSegment('video', [frame(100, 0, true), frame(120, 0), frame(120, 0), frame(110, 0)]);
  const [f] = fragments(parseMp4(concat([init, seg])).file);
  assert.deepEqual(f.durations, [1800, 1800, 1800, 1800]);
});

test('audio: AAC 1024 and MP3 1152 per frame at timescale = sample rate, continuous tfdt', () => {
  for (const [config, per] of [[aac, 1024], [mp3, 1152]]) {
    const rx = new Mp4Remuxer();
    const init = rx.initSegment('audio', config);
    const segs = [
      rx.mediaSegment('audio', [frame(1000, 0, true), frame(1023, 0, true), frame(1046, 0, true)]),
      rx.mediaSegment('audio', [frame(1070, 0, true)]),          // within 100 ms: continuous
      rx.mediaSegment('audio', [frame(2000, 0, true)]),          // resync
    ];
    const { file, samples } = parseMp4(concat([init, ...segs]));
    const f = fragments(file);
    assert.deepEqual(f.map((x) => x.tfdt), [44100, 44100 + 3 * per, 88200]);
    assert.deepEqual(f.map((x) => x.durations), [[per, per, per], [per], [per]]);
    assert.ok(samples.every((s) => s.is_sync));
    assert.deepEqual(f.map((x) => x.trackId), [2, 2, 2]);
  }
});

test('MP2/MPEG-2 audio timing uses samplesPerFrame from the config (576 for MPEG-2 layer III)', () => {
  const lsf = demuxAudio(new Uint8Array([0x2f, 0xff, 0xf3, 0x84, 0xc4])).config;
  const rx = new Mp4Remuxer();
  const init = rx.initSegment('audio', lsf);
  const [f] = fragments(parseMp4(concat([init, rx.mediaSegment('audio', [frame(0), frame(24)])])).file);
  assert.deepEqual(f.durations, [576, 576]);
});

test('tfdt beyond 32 bits', () => {
  const rx = new Mp4Remuxer();
  const init = rx.initSegment('video', avc);
  const dts = 60 * 60 * 1000 * 20; // 20 h: 6.48e9 at 90 kHz
  const [f] = fragments(parseMp4(concat([init, rx.mediaSegment('video', [frame(dts, 0, true)])])).file);
  assert.equal(f.tfdt, dts * 90);
});

test('misuse -> REMUX errors', () => {
  const rx = new Mp4Remuxer();
  remuxErr(() => rx.mediaSegment('video', [frame(0)]));
  remuxErr(() => rx.initSegment('text', avc));
  remuxErr(() => rx.initSegment('video', null));
  remuxErr(() => rx.initSegment('video', aac));
  remuxErr(() => rx.initSegment('audio', avc));
  rx.initSegment('video', avc);
  remuxErr(() => rx.mediaSegment('video', []));
  remuxErr(() => rx.mediaSegment('video', [{ dts: 0, data: [1, 2] }]));
  remuxErr(() => rx.mediaSegment('video', [{ dts: NaN, data: new Uint8Array(1) }]));
  remuxErr(() => rx.mediaSegment('video', [frame(-50, 0, true)]));
});

test('custom video timescale', () => {
  const rx = new Mp4Remuxer({ videoTimescale: 1000 });
  const init = rx.initSegment('video', avc);
  const { file, info } = parseMp4(concat([init, rx.mediaSegment('video', [frame(5, 40, true), frame(45)])]));
  assert.equal(info.tracks[0].timescale, 1000);
  assert.deepEqual(fragments(file)[0].durations, [40, 40]);
  assert.deepEqual(fragments(file)[0].ctos, [40, 0]);
});
