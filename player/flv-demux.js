// FLV tag body demuxer (video: AVC, HEVC legacy id 12 and Enhanced RTMP;
// audio: AAC, MP3) and the protocol v1 media header parser. Stateless, no
// dependencies, Uint8Array/DataView only: runs in browsers and node.
import { ErrorCodes, WsStreamError } from './errors.js';

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const AAC_CHANNELS = [0, 1, 2, 3, 4, 5, 6, 8, -1, -1, -1, 7, 8, 24, 8];
const MP3_RATES = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };
// H.264 profiles whose SPS carries chroma_format_idc and friends
const AVC_HIGH_PROFILES = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];
const MAX_DIMENSION = 16384;

function demuxError(message) {
  return new WsStreamError(ErrorCodes.DEMUX, message);
}

function need(buf, end, what) {
  if (end > buf.length) throw demuxError(`truncated ${what}: need ${end} bytes, have ${buf.length}`);
}

function u16(b, o) { return (b[o] << 8) | b[o + 1]; }
function s24(b, o) { return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8)) >> 8; }
function u32(b, o) { return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0; }
function hex2(n) { return n.toString(16).padStart(2, '0'); }

function toU8(buf) {
  if (buf instanceof Uint8Array) return buf;
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return null;
}

/**
 * Parse the 14-byte header of a protocol v1 binary message.
 * @param {ArrayBuffer|Uint8Array} buf the whole binary WebSocket message
 * @returns {{track: number, key: boolean, config: boolean, dts: number, cts: number,
 *   ingest: number, payload: Uint8Array}} payload is a view into buf (no copy)
 * @throws {WsStreamError} PROTOCOL when buf is not a buffer or shorter than 14 bytes
 */
export function parseMediaHeader(buf) {
  const b = toU8(buf);
  if (!b) throw new WsStreamError(ErrorCodes.PROTOCOL, 'binary message is not a buffer');
  if (b.length < 14) throw new WsStreamError(ErrorCodes.PROTOCOL, `binary message of ${b.length} bytes, header needs 14`);
  return {
    track: b[0] & 0x0f,
    key: (b[0] & 0x10) !== 0,
    config: (b[0] & 0x20) !== 0,
    dts: u32(b, 1),
    cts: s24(b, 5),
    ingest: u16(b, 8) * 0x100000000 + u32(b, 10),
    payload: b.subarray(14),
  };
}

/** MSB-first bit reader that throws DEMUX instead of reading past the end. */
class BitReader {
  constructor(bytes, what) { this.b = bytes; this.pos = 0; this.what = what; }
  bit() {
    if (this.pos >= this.b.length * 8) throw demuxError(`truncated ${this.what}`);
    const v = (this.b[this.pos >> 3] >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return v;
  }
  bits(n) { let v = 0; for (let i = 0; i < n; i++) v = v * 2 + this.bit(); return v; }
  skip(n) { for (let i = 0; i < n; i++) this.bit(); }
  ue() {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw demuxError(`bad Exp-Golomb code in ${this.what}`);
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se() { const k = this.ue(); return k & 1 ? (k + 1) / 2 : -k / 2; }
}

/** NAL unit payload without emulation prevention bytes (00 00 03 -> 00 00). */
function unescapeRbsp(nal) {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const x = nal[i];
    if (zeros >= 2 && x === 3) { zeros = 0; continue; }
    zeros = x === 0 ? zeros + 1 : 0;
    out[n++] = x;
  }
  return out.subarray(0, n);
}

function checkSize(width, height, what) {
  if (!(width > 0 && height > 0 && width <= MAX_DIMENSION && height <= MAX_DIMENSION)) {
    throw demuxError(`${what}: bad picture size ${width}x${height}`);
  }
  return { width, height };
}

/** Crop units per chroma_format_idc (ChromaArrayType 0 when separate planes). */
function cropUnits(chroma, separatePlanes) {
  if (chroma === 0 || separatePlanes) return [1, 1];
  return [chroma === 3 ? 1 : 2, chroma === 1 ? 2 : 1];
}

function skipScalingList(r, size) {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Picture size from an H.264 SPS NAL unit (with its 1-byte header). */
function avcSpsSize(nal) {
  const r = new BitReader(unescapeRbsp(nal), 'H.264 SPS');
  r.skip(8);
  const profile = r.bits(8);
  r.skip(16); // constraint flags, level
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  let separate = 0;
  if (AVC_HIGH_PROFILES.includes(profile)) {
    chroma = r.ue();
    if (chroma > 3) throw demuxError('H.264 SPS: bad chroma_format_idc');
    if (chroma === 3) separate = r.bit();
    r.ue(); r.ue(); r.skip(1); // bit depths, qpprime_y_zero_transform_bypass
    if (r.bit()) {
      for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) {
    r.ue();
  } else if (pocType === 1) {
    r.skip(1); r.se(); r.se();
    const n = r.ue();
    if (n > 255) throw demuxError('H.264 SPS: bad num_ref_frames_in_pic_order_cnt_cycle');
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); r.skip(1); // max_num_ref_frames, gaps_in_frame_num_value_allowed_flag
  const mbW = r.ue() + 1;
  const mapH = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.skip(1); // mb_adaptive_frame_field_flag
  r.skip(1); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (r.bit()) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const [cx, cy0] = cropUnits(chroma, separate);
  const cy = cy0 * (2 - frameMbsOnly);
  return checkSize(mbW * 16 - cx * (crop[0] + crop[1]),
    (2 - frameMbsOnly) * mapH * 16 - cy * (crop[2] + crop[3]), 'H.264 SPS');
}

/** Picture size from an HEVC SPS NAL unit (with its 2-byte header). */
function hevcSpsSize(nal) {
  const r = new BitReader(unescapeRbsp(nal), 'HEVC SPS');
  r.skip(16 + 4); // NAL header, sps_video_parameter_set_id
  const subLayers = r.bits(3);
  r.skip(1 + 96); // temporal_id_nesting, general profile_tier_level
  const present = [];
  for (let i = 0; i < subLayers; i++) present.push([r.bit(), r.bit()]);
  if (subLayers > 0) r.skip(2 * (8 - subLayers));
  for (const [profile, level] of present) r.skip((profile ? 88 : 0) + (level ? 8 : 0));
  r.ue(); // sps_seq_parameter_set_id
  const chroma = r.ue();
  if (chroma > 3) throw demuxError('HEVC SPS: bad chroma_format_idc');
  const separate = chroma === 3 ? r.bit() : 0;
  const w = r.ue();
  const h = r.ue();
  let crop = [0, 0, 0, 0];
  if (r.bit()) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const [cx, cy] = cropUnits(chroma, separate);
  return checkSize(w - cx * (crop[0] + crop[1]), h - cy * (crop[2] + crop[3]), 'HEVC SPS');
}

/** Parse an AVCDecoderConfigurationRecord. */
function avcConfig(rec) {
  need(rec, 6, 'AVCDecoderConfigurationRecord');
  if (rec[0] !== 1) throw demuxError(`AVCDecoderConfigurationRecord version ${rec[0]}`);
  const numSps = rec[5] & 0x1f;
  if (numSps < 1) throw demuxError('AVCDecoderConfigurationRecord without SPS');
  let o = 6;
  let sps = null;
  for (let i = 0; i < numSps; i++) {
    need(rec, o + 2, 'AVC SPS length');
    const len = u16(rec, o);
    need(rec, o + 2 + len, 'AVC SPS');
    if (!sps) sps = rec.subarray(o + 2, o + 2 + len);
    o += 2 + len;
  }
  need(rec, o + 1, 'AVC PPS count');
  const numPps = rec[o++];
  for (let i = 0; i < numPps; i++) {
    need(rec, o + 2, 'AVC PPS length');
    o += 2 + u16(rec, o);
    need(rec, o, 'AVC PPS');
  }
  if (sps.length < 4) throw demuxError('AVC SPS too short');
  const { width, height } = avcSpsSize(sps);
  const codec = `avc1.${hex2(rec[1])}${hex2(rec[2])}${hex2(rec[3])}`;
  return { codec, width, height, record: rec.slice(), kind: 'avc', nalLengthSize: (rec[4] & 3) + 1 };
}

function reverseBits32(x) {
  let v = 0;
  for (let i = 0; i < 32; i++) v = v * 2 + ((x >>> i) & 1);
  return v;
}

/** Parse an HEVCDecoderConfigurationRecord. */
function hevcConfig(rec) {
  need(rec, 23, 'HEVCDecoderConfigurationRecord');
  if (rec[0] !== 1) throw demuxError(`HEVCDecoderConfigurationRecord version ${rec[0]}`);
  let o = 23;
  let sps = null;
  for (let a = 0, n = rec[22]; a < n; a++) {
    need(rec, o + 3, 'hvcC array');
    const type = rec[o] & 0x3f;
    const count = u16(rec, o + 1);
    o += 3;
    for (let i = 0; i < count; i++) {
      need(rec, o + 2, 'hvcC NAL length');
      const len = u16(rec, o);
      need(rec, o + 2 + len, 'hvcC NAL unit');
      if (type === 33 && !sps) sps = rec.subarray(o + 2, o + 2 + len);
      o += 2 + len;
    }
  }
  if (!sps) throw demuxError('HEVCDecoderConfigurationRecord without SPS');
  const { width, height } = hevcSpsSize(sps);
  const space = ['', 'A', 'B', 'C'][rec[1] >> 6];
  const tier = rec[1] & 0x20 ? 'H' : 'L';
  let codec = `hvc1.${space}${rec[1] & 0x1f}.${reverseBits32(u32(rec, 2)).toString(16).toUpperCase()}.${tier}${rec[12]}`;
  let last = 11;
  while (last >= 6 && rec[last] === 0) last--;
  for (let i = 6; i <= last; i++) codec += `.${rec[i].toString(16).toUpperCase()}`;
  return { codec, width, height, record: rec.slice(), kind: 'hevc', nalLengthSize: (rec[21] & 3) + 1 };
}

/** Frame result after checking the length-prefixed NAL unit structure. */
function videoFrame(key, cts, data, nalLengthSize) {
  if (data.length === 0) return { type: 'skip' };
  let o = 0;
  while (o < data.length) {
    need(data, o + nalLengthSize, 'NAL unit length');
    let len = 0;
    for (let i = 0; i < nalLengthSize; i++) len = len * 256 + data[o + i];
    o += nalLengthSize + len;
    need(data, o, 'NAL unit');
  }
  return { type: 'frame', key, cts, data };
}

/** Enhanced RTMP video tag (IsExHeader bit set). */
function demuxExVideo(p, nalLengthSize) {
  const frameType = (p[0] >> 4) & 7;
  let packetType = p[0] & 0x0f;
  let o = 1;
  while (packetType === 7) { // ModEx: skip the modifier data, the real type follows
    need(p, o + 1, 'ModEx size');
    let size = p[o++] + 1;
    if (size === 256) { need(p, o + 2, 'ModEx size'); size = u16(p, o) + 1; o += 2; }
    o += size;
    need(p, o + 1, 'ModEx type');
    packetType = p[o++] & 0x0f;
  }
  need(p, o + 4, 'Enhanced RTMP FourCC');
  const fourcc = String.fromCharCode(p[o], p[o + 1], p[o + 2], p[o + 3]);
  o += 4;
  if (packetType === 6) return { type: 'skip' }; // multitrack: not supported, ignored
  if (fourcc !== 'avc1' && fourcc !== 'hvc1') {
    throw new WsStreamError(ErrorCodes.CODEC_UNSUPPORTED, `Enhanced RTMP video codec '${fourcc}'`);
  }
  if (frameType === 5 || packetType === 2 || packetType === 4) return { type: 'skip' };
  if (packetType === 0) {
    const record = p.subarray(o);
    return { type: 'config', config: fourcc === 'avc1' ? avcConfig(record) : hevcConfig(record) };
  }
  let cts = 0;
  if (packetType === 1) {
    need(p, o + 3, 'Enhanced RTMP composition time');
    cts = s24(p, o);
    o += 3;
  } else if (packetType !== 3) {
    throw demuxError(`Enhanced RTMP video packet type ${packetType}`);
  }
  return videoFrame(frameType === 1, cts, p.subarray(o), nalLengthSize);
}

/**
 * Demux an FLV video tag body.
 * @param {Uint8Array} payload the tag body (VideoTagHeader + data)
 * @param {{nalLengthSize?: number}} [opts] NAL length field size of the stream (default 4)
 * @returns {{type: 'config', config: {codec: string, width: number, height: number,
 *     record: Uint8Array, kind: 'avc'|'hevc', nalLengthSize: number}}
 *   | {type: 'frame', key: boolean, cts: number, data: Uint8Array}
 *   | {type: 'skip'}}
 * @throws {WsStreamError} DEMUX on malformed or truncated input,
 *   CODEC_UNSUPPORTED for a well-formed tag of another codec
 */
export function demuxVideo(payload, { nalLengthSize = 4 } = {}) {
  const p = toU8(payload);
  if (!p) throw demuxError('video payload is not a buffer');
  need(p, 1, 'video tag header');
  if (p[0] & 0x80) return demuxExVideo(p, nalLengthSize);
  const frameType = p[0] >> 4;
  const codecId = p[0] & 0x0f;
  if (frameType === 5) return { type: 'skip' }; // video info / command frame
  if (codecId !== 7 && codecId !== 12) {
    throw new WsStreamError(ErrorCodes.CODEC_UNSUPPORTED, `FLV video codec id ${codecId}`);
  }
  need(p, 5, 'AVC video tag header');
  const packetType = p[1];
  if (packetType === 0) {
    const record = p.subarray(5);
    return { type: 'config', config: codecId === 7 ? avcConfig(record) : hevcConfig(record) };
  }
  if (packetType === 2) return { type: 'skip' }; // end of sequence
  if (packetType !== 1) throw demuxError(`AVC packet type ${packetType}`);
  return videoFrame(frameType === 1, s24(p, 2), p.subarray(5), nalLengthSize);
}

/** Parse an AAC AudioSpecificConfig; sampleRate is the core (AAC-LC) rate. */
function aacConfig(asc, stereo) {
  if (asc.length < 2) throw demuxError('truncated AudioSpecificConfig');
  const r = new BitReader(asc, 'AudioSpecificConfig');
  const objectType = () => { const t = r.bits(5); return t === 31 ? 32 + r.bits(6) : t; };
  const rate = () => {
    const i = r.bits(4);
    if (i === 15) return r.bits(24);
    if (i >= AAC_RATES.length) throw demuxError(`AAC sampling frequency index ${i}`);
    return AAC_RATES[i];
  };
  const aot = objectType();
  if (aot === 0) throw demuxError('AAC audio object type 0');
  const sampleRate = rate();
  const chanConfig = r.bits(4);
  let channels = AAC_CHANNELS[chanConfig];
  if (channels === undefined || channels < 0) throw demuxError(`AAC channel configuration ${chanConfig}`);
  if (channels === 0) channels = stereo ? 2 : 1; // defined in a PCE: trust the FLV header
  if (aot === 29) channels = 2; // parametric stereo
  if (sampleRate <= 0) throw demuxError('AAC sampling frequency 0');
  return { codec: `mp4a.40.${aot}`, sampleRate, channels, asc: asc.slice(), kind: 'aac', samplesPerFrame: 1024 };
}

/** Config from an MPEG audio frame header. */
function mp3Config(d) {
  need(d, 4, 'MP3 frame header');
  if (d[0] !== 0xff || (d[1] & 0xe0) !== 0xe0) throw demuxError('MP3 frame without sync word');
  const version = (d[1] >> 3) & 3;
  const layer = (d[1] >> 1) & 3;
  const bitrateIndex = d[2] >> 4;
  const rateIndex = (d[2] >> 2) & 3;
  if (version === 1 || layer === 0 || bitrateIndex === 15 || rateIndex === 3) {
    throw demuxError('bad MP3 frame header');
  }
  const samplesPerFrame = layer === 3 ? 384 : (layer === 1 && version !== 3 ? 576 : 1152);
  const channels = (d[3] >> 6) === 3 ? 1 : 2;
  return { codec: 'mp3', sampleRate: MP3_RATES[version][rateIndex], channels, kind: 'mp3', samplesPerFrame };
}

/**
 * Demux an FLV audio tag body.
 * @param {Uint8Array} payload the tag body (AudioTagHeader + data)
 * @returns {{type: 'config', config: {codec: string, sampleRate: number, channels: number,
 *     asc: Uint8Array, kind: 'aac', samplesPerFrame: number}}
 *   | {type: 'frame', data: Uint8Array, config?: {codec: 'mp3', sampleRate: number,
 *     channels: number, kind: 'mp3', samplesPerFrame: number}}}
 * @throws {WsStreamError} DEMUX on malformed or truncated input,
 *   CODEC_UNSUPPORTED for other sound formats
 */
export function demuxAudio(payload) {
  const p = toU8(payload);
  if (!p) throw demuxError('audio payload is not a buffer');
  need(p, 1, 'audio tag header');
  const format = p[0] >> 4;
  if (format === 10) {
    need(p, 2, 'AAC packet type');
    if (p[1] === 0) return { type: 'config', config: aacConfig(p.subarray(2), (p[0] & 1) === 1) };
    if (p[1] !== 1) throw demuxError(`AAC packet type ${p[1]}`);
    if (p.length === 2) throw demuxError('empty AAC frame');
    return { type: 'frame', data: p.subarray(2) };
  }
  if (format === 2 || format === 14) {
    const data = p.subarray(1);
    return { type: 'frame', data, config: mp3Config(data) };
  }
  throw new WsStreamError(ErrorCodes.CODEC_UNSUPPORTED, `FLV sound format ${format}`);
}
