// Unit tests of player/flv-demux.js on hand-made FLV tag bodies.
import test from 'node:test';
import assert from 'node:assert/strict';
import { demuxVideo, demuxAudio, parseMediaHeader } from '../flv-demux.js';
import { ErrorCodes, WsStreamError } from '../errors.js';
import { AVC_RECORD, HVCC_RECORD, SPS_INTERLACED, SPS_444, fromHex, avcRecordWith } from './vectors.mjs';

const b = (...xs) => new Uint8Array(xs.flat());
const ascii = (s) => [...s].map((c) => c.charCodeAt(0));

function throwsCode(fn, code) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof WsStreamError, `expected WsStreamError, got ${e && e.name}: ${e && e.message}`);
    assert.equal(e.code, code);
    return true;
  });
}

// --- hand-made tags ---------------------------------------------------------
const TAGS = {
  avcSeq: b(0x17, 0x00, 0, 0, 0, [...AVC_RECORD]),
  avcKeyPosCts: b(0x17, 0x01, 0x00, 0x00, 0x43, 0, 0, 0, 3, 0x65, 0x88, 0x84),
  avcInterNegCts: b(0x27, 0x01, 0xff, 0xff, 0xdf, 0, 0, 0, 2, 0x41, 0x9a, 0, 0, 0, 1, 0x06),
  avcEos: b(0x17, 0x02, 0, 0, 0),
  hevcLegacySeq: b(0x1c, 0x00, 0, 0, 0, [...HVCC_RECORD]),
  hevcLegacyFrame: b(0x2c, 0x01, 0x00, 0x00, 0x21, 0, 0, 0, 2, 0x02, 0x01),
  exAvcSeq: b(0x90, ascii('avc1'), [...AVC_RECORD]),
  exAvcFrames: b(0x91, ascii('avc1'), 0xff, 0xff, 0xbe, 0, 0, 0, 2, 0x65, 0x88),
  exHvcSeq: b(0x90, ascii('hvc1'), [...HVCC_RECORD]),
  exHvcFrames: b(0x91, ascii('hvc1'), 0x00, 0x00, 0x64, 0, 0, 0, 2, 0x26, 0x01),
  exHvcFramesX: b(0xa3, ascii('hvc1'), 0, 0, 0, 2, 0x02, 0x01),
  exHvcEnd: b(0x92, ascii('hvc1')),
  exModEx: b(0x97, 0x00, 0xaa, 0x01, ascii('avc1'), 0x00, 0x00, 0x21, 0, 0, 0, 1, 0x41),
  aacSeq: b(0xaf, 0x00, 0x12, 0x10),
  aacRaw: b(0xaf, 0x01, 0x21, 0x10, 0x04),
  mp3: b(0x2f, 0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0),
  mp3Lsf: b(0x2f, 0xff, 0xf3, 0x84, 0xc4, 0, 0),
};

test('AVC sequence header: codec string and size from the SPS (emulation prevention, cropping)', () => {
  const r = demuxVideo(TAGS.avcSeq);
  assert.equal(r.type, 'config');
  assert.deepEqual({ ...r.config, record: [...r.config.record] }, {
    codec: 'avc1.64000d', width: 320, height: 180, record: [...AVC_RECORD], kind: 'avc', nalLengthSize: 4,
  });
});

test('AVC SPS: interlaced (frame_mbs_only = 0) and 4:4:4 with odd cropping', () => {
  // sizes as ffprobe reports them for the streams these SPS come from
  let c = demuxVideo(b(0x17, 0, 0, 0, 0, [...avcRecordWith(SPS_INTERLACED)])).config;
  assert.deepEqual([c.codec, c.width, c.height], ['avc1.640015', 320, 180]);
  c = demuxVideo(b(0x17, 0, 0, 0, 0, [...avcRecordWith(SPS_444)])).config;
  assert.deepEqual([c.codec, c.width, c.height], ['avc1.f4000d', 322, 182]);
});

test('AVC frames: key flag, positive and negative composition time, data view', () => {
  assert.deepEqual(demuxVideo(TAGS.avcKeyPosCts), { type: 'frame', key: true, cts: 67, data: b(0, 0, 0, 3, 0x65, 0x88, 0x84) });
  const r = demuxVideo(TAGS.avcInterNegCts);
  assert.deepEqual(r, { type: 'frame', key: false, cts: -33, data: TAGS.avcInterNegCts.subarray(5) });
  assert.equal(r.data.buffer, TAGS.avcInterNegCts.buffer, 'frame data is a view, not a copy');
  assert.equal(demuxVideo(b(0x27, 1, 0x7f, 0xff, 0xff, 0, 0, 0, 1, 1)).cts, 8388607);
  assert.equal(demuxVideo(b(0x27, 1, 0x80, 0x00, 0x00, 0, 0, 0, 1, 1)).cts, -8388608);
});

test('AVC end of sequence, command frames, empty frames -> skip', () => {
  assert.deepEqual(demuxVideo(TAGS.avcEos), { type: 'skip' });
  assert.deepEqual(demuxVideo(b(0x57, 0x00)), { type: 'skip' });
  assert.deepEqual(demuxVideo(b(0x27, 0x01, 0, 0, 0)), { type: 'skip' });
});

test('NAL unit lengths are checked against the frame (4-byte default, configurable)', () => {
  throwsCode(() => demuxVideo(b(0x27, 1, 0, 0, 0, 0, 0, 0, 5, 1, 2)), ErrorCodes.DEMUX);
  throwsCode(() => demuxVideo(b(0x27, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0)), ErrorCodes.DEMUX);
  const r = demuxVideo(b(0x27, 1, 0, 0, 0, 0, 2, 9, 9, 0, 1, 7), { nalLengthSize: 2 });
  assert.deepEqual(r.data, b(0, 2, 9, 9, 0, 1, 7));
});

test('HEVC legacy codec id 12: config and frames', () => {
  const r = demuxVideo(TAGS.hevcLegacySeq);
  assert.equal(r.type, 'config');
  // codec string as mp4box.js reports it for the ffmpeg/x265 file the record comes from
  assert.deepEqual([r.config.codec, r.config.width, r.config.height, r.config.kind], ['hvc1.1.6.L60.90', 320, 180, 'hevc']);
  assert.deepEqual(r.config.record, HVCC_RECORD);
  assert.deepEqual(demuxVideo(TAGS.hevcLegacyFrame), { type: 'frame', key: false, cts: 33, data: b(0, 0, 0, 2, 2, 1) });
});

test('Enhanced RTMP: SequenceStart, CodedFrames (cts), CodedFramesX, SequenceEnd, ModEx', () => {
  assert.deepEqual(demuxVideo(TAGS.exAvcSeq), demuxVideo(TAGS.avcSeq));
  assert.deepEqual(demuxVideo(TAGS.exAvcFrames), { type: 'frame', key: true, cts: -66, data: b(0, 0, 0, 2, 0x65, 0x88) });
  assert.deepEqual(demuxVideo(TAGS.exHvcSeq), demuxVideo(TAGS.hevcLegacySeq));
  assert.deepEqual(demuxVideo(TAGS.exHvcFrames), { type: 'frame', key: true, cts: 100, data: b(0, 0, 0, 2, 0x26, 0x01) });
  assert.deepEqual(demuxVideo(TAGS.exHvcFramesX), { type: 'frame', key: false, cts: 0, data: b(0, 0, 0, 2, 0x02, 0x01) });
  assert.deepEqual(demuxVideo(TAGS.exHvcEnd), { type: 'skip' });
  assert.deepEqual(demuxVideo(TAGS.exModEx), { type: 'frame', key: true, cts: 33, data: b(0, 0, 0, 1, 0x41) });
  assert.deepEqual(demuxVideo(b(0x94, ascii('hvc1'), 2, 0, 0)), { type: 'skip' }, 'metadata packet');
  assert.deepEqual(demuxVideo(b(0xd1, ascii('avc1'))), { type: 'skip' }, 'command frame');
});

test('unsupported codecs -> CODEC_UNSUPPORTED', () => {
  throwsCode(() => demuxVideo(b(0x12, 0)), ErrorCodes.CODEC_UNSUPPORTED);
  throwsCode(() => demuxVideo(b(0x90, ascii('av01'), 0x81)), ErrorCodes.CODEC_UNSUPPORTED);
  throwsCode(() => demuxAudio(b(0x6f, 0)), ErrorCodes.CODEC_UNSUPPORTED);
});

test('malformed video -> DEMUX', () => {
  throwsCode(() => demuxVideo(new Uint8Array(0)), ErrorCodes.DEMUX);
  throwsCode(() => demuxVideo(b(0x17, 0x03, 0, 0, 0)), ErrorCodes.DEMUX);
  throwsCode(() => demuxVideo(b(0x17, 0, 0, 0, 0, 2, 0x64, 0, 0x0d, 0xff, 0xe1)), ErrorCodes.DEMUX); // version 2
  throwsCode(() => demuxVideo(b(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x0d, 0xff, 0xe0, 0)), ErrorCodes.DEMUX); // no SPS
  throwsCode(() => demuxVideo(b(0x95, ascii('avc1'))), ErrorCodes.DEMUX); // packet type 5
  throwsCode(() => demuxVideo('not a buffer'), ErrorCodes.DEMUX);
  // SPS of all zero bits: Exp-Golomb code longer than 32 bits
  throwsCode(() => demuxVideo(b(0x17, 0, 0, 0, 0, [...avcRecordWith(b(0x67, 0x64, 0, 0x0d, 0, 0, 0, 0, 0, 0))])), ErrorCodes.DEMUX);
});

test('AAC sequence header: AudioSpecificConfig variants', () => {
  assert.deepEqual(demuxAudio(TAGS.aacSeq), { type: 'config', config: {
    codec: 'mp4a.40.2', sampleRate: 44100, channels: 2, asc: b(0x12, 0x10), kind: 'aac', samplesPerFrame: 1024 } });
  const cfg = (flv, ...asc) => demuxAudio(b(flv, 0, asc)).config;
  const pick = (c) => [c.codec, c.sampleRate, c.channels];
  assert.deepEqual(pick(cfg(0xaf, 0x2b, 0x11, 0x88, 0x00)), ['mp4a.40.5', 24000, 2], 'HE-AAC explicit: core rate');
  assert.deepEqual(pick(cfg(0xaf, 0xeb, 0x09, 0x88, 0x00)), ['mp4a.40.29', 24000, 2], 'HE-AACv2: mono core, stereo out');
  assert.deepEqual(pick(cfg(0xaf, 0xf9, 0x5e, 0x01, 0x77, 0x00, 0x20)), ['mp4a.40.42', 48000, 1], 'escaped object type, explicit rate');
  assert.deepEqual(pick(cfg(0xaf, 0x12, 0x00)), ['mp4a.40.2', 44100, 2], 'channels in PCE: FLV stereo flag');
  assert.deepEqual(pick(cfg(0xae, 0x12, 0x00)), ['mp4a.40.2', 44100, 1], 'channels in PCE: FLV mono flag');
  throwsCode(() => cfg(0xaf, 0x16, 0x90), ErrorCodes.DEMUX);
  throwsCode(() => cfg(0xaf, 0x12, 0x40), ErrorCodes.DEMUX);
  throwsCode(() => cfg(0xaf, 0x00, 0x00), ErrorCodes.DEMUX);
  throwsCode(() => cfg(0xaf, 0xf9), ErrorCodes.DEMUX);
});

test('AAC raw frame', () => {
  const r = demuxAudio(TAGS.aacRaw);
  assert.deepEqual(r, { type: 'frame', data: b(0x21, 0x10, 0x04) });
  assert.equal(r.data.buffer, TAGS.aacRaw.buffer);
  throwsCode(() => demuxAudio(b(0xaf, 0x01)), ErrorCodes.DEMUX);
  throwsCode(() => demuxAudio(b(0xaf, 0x02, 1)), ErrorCodes.DEMUX);
});

test('MP3 frames carry their config from the frame header', () => {
  assert.deepEqual(demuxAudio(TAGS.mp3), { type: 'frame', data: TAGS.mp3.subarray(1),
    config: { codec: 'mp3', sampleRate: 44100, channels: 2, kind: 'mp3', samplesPerFrame: 1152 } });
  assert.deepEqual(demuxAudio(TAGS.mp3Lsf).config,
    { codec: 'mp3', sampleRate: 24000, channels: 1, kind: 'mp3', samplesPerFrame: 576 });
  assert.equal(demuxAudio(b(0xef, 0xff, 0xe3, 0x88, 0xc0)).config.sampleRate, 8000, 'MPEG 2.5, format 14');
  throwsCode(() => demuxAudio(b(0x2f, 0xff, 0xfb, 0xf0, 0x64)), ErrorCodes.DEMUX); // bitrate index 15
  throwsCode(() => demuxAudio(b(0x2f, 0xff, 0xfb, 0x9c, 0x64)), ErrorCodes.DEMUX); // rate index 3
  throwsCode(() => demuxAudio(b(0x2f, 0xff, 0xeb, 0x90, 0x64)), ErrorCodes.DEMUX); // version 01
  throwsCode(() => demuxAudio(b(0x2f, 0x12, 0x34, 0x56, 0x78)), ErrorCodes.DEMUX); // no sync
});

/** Every number in a result must be finite: catches silent reads past the end (undefined -> NaN). */
function assertSane(r, where) {
  const walk = (v, path) => {
    if (typeof v === 'number') assert.ok(Number.isFinite(v), `${where}: ${path} = ${v}`);
    else if (v && typeof v === 'object' && !(v instanceof Uint8Array)) for (const k of Object.keys(v)) walk(v[k], `${path}.${k}`);
  };
  walk(r, 'result');
  assert.ok(['config', 'frame', 'skip'].includes(r.type), `${where}: type ${r.type}`);
}

function demuxOrDemuxError(fn, input, where) {
  let r;
  try {
    r = fn(input);
  } catch (e) {
    assert.ok(e instanceof WsStreamError, `${where}: ${e && e.name}: ${e && e.message}`);
    assert.ok(e.code === ErrorCodes.DEMUX || e.code === ErrorCodes.CODEC_UNSUPPORTED, `${where}: code ${e.code}`);
    return e.code;
  }
  assertSane(r, where);
  return null;
}

test('truncated tags at every length -> DEMUX or a valid result', () => {
  for (const [name, tag] of Object.entries(TAGS)) {
    const fn = name.startsWith('aac') || name.startsWith('mp3') ? demuxAudio : demuxVideo;
    for (let len = 0; len < tag.length; len++) {
      const code = demuxOrDemuxError(fn, tag.slice(0, len), `${name}[0..${len})`);
      assert.notEqual(code, ErrorCodes.CODEC_UNSUPPORTED, `${name}[0..${len})`);
    }
  }
  // configs cut anywhere must not yield a config
  for (const name of ['avcSeq', 'hevcLegacySeq', 'exAvcSeq', 'exHvcSeq', 'aacSeq']) {
    const tag = TAGS[name];
    const fn = name.startsWith('aac') ? demuxAudio : demuxVideo;
    // (the 4 trailing bytes of the AVC record are the optional High profile extension)
    const min = name === 'aacSeq' ? 4 : name.includes('Avc') || name === 'avcSeq' ? tag.length - 4 : tag.length;
    for (let len = 0; len < min; len++) assert.throws(() => fn(tag.slice(0, len)), WsStreamError, `${name} ${len}`);
  }
});

test('random corruption never escapes as TypeError/RangeError', () => {
  let seed = 12345;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  for (const [name, tag] of Object.entries(TAGS)) {
    const fn = name.startsWith('aac') || name.startsWith('mp3') ? demuxAudio : demuxVideo;
    for (let i = 0; i < 300; i++) {
      const t = tag.slice();
      for (let k = 1 + rnd(3); k > 0; k--) t[rnd(t.length)] ^= 1 << rnd(8);
      demuxOrDemuxError(fn, t.subarray(0, rnd(t.length + 1)), `${name} corrupted #${i}`);
    }
  }
  for (let i = 0; i < 2000; i++) {
    const t = new Uint8Array(rnd(40));
    for (let k = 0; k < t.length; k++) t[k] = rnd(256);
    demuxOrDemuxError(demuxVideo, t, `random video #${i}`);
    demuxOrDemuxError(demuxAudio, t, `random audio #${i}`);
  }
});

test('parseMediaHeader: fields, views, ArrayBuffer input', () => {
  const msg = b(0x31, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x17, 0x02);
  const want = { track: 1, key: true, config: true, dts: 256, cts: -2, ingest: 0x010203040506, payload: b(0x17, 0x02) };
  assert.deepEqual(parseMediaHeader(msg), want);
  assert.deepEqual(parseMediaHeader(msg.buffer), want);
  const big = b(0x02, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  assert.deepEqual(parseMediaHeader(big), {
    track: 2, key: false, config: false, dts: 0xffffffff, cts: 8388607, ingest: 2 ** 48 - 1, payload: b() });
  const framed = new Uint8Array(20);
  framed.set(msg, 3);
  const r = parseMediaHeader(framed.subarray(3, 3 + msg.length));
  assert.deepEqual(r.payload, b(0x17, 0x02));
  assert.equal(r.payload.byteOffset, 17);
  assert.deepEqual(parseMediaHeader(fromHex('2300000000000000000000000000')).track, 3);
});

test('parseMediaHeader: short or non-buffer input -> PROTOCOL', () => {
  for (let n = 0; n < 14; n++) throwsCode(() => parseMediaHeader(new Uint8Array(n)), ErrorCodes.PROTOCOL);
  throwsCode(() => parseMediaHeader(null), ErrorCodes.PROTOCOL);
  throwsCode(() => parseMediaHeader('abc'), ErrorCodes.PROTOCOL);
});
