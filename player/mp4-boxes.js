// ISO BMFF (fragmented MP4) box writers used by mp4-remux.js.
// Every writer returns a Uint8Array holding one complete box.

const MATRIX = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];

/** Concatenate byte arrays. */
export function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Big-endian fields to bytes: [[bits, value], ...] with bits 8/16/24/32/64. */
function fields(list) {
  let n = 0;
  for (const [bits] of list) n += bits / 8;
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const [bits, v] of list) {
    if (bits === 8) dv.setUint8(o, v);
    else if (bits === 16) dv.setUint16(o, v);
    else if (bits === 24) { dv.setUint8(o, (v >>> 16) & 0xff); dv.setUint16(o + 1, v & 0xffff); }
    else if (bits === 32) dv.setUint32(o, v >>> 0);
    else { dv.setUint32(o, Math.floor(v / 0x100000000)); dv.setUint32(o + 4, v >>> 0); }
    o += bits / 8;
  }
  return out;
}

function ascii(s) {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A box: 32-bit size, 4-char type, then the parts. */
export function box(type, ...parts) {
  const body = concat(parts);
  return concat([fields([[32, body.length + 8]]), ascii(type), body]);
}

/** A full box: box with version and 24-bit flags. */
export function fullBox(type, version, flags, ...parts) {
  return box(type, fields([[8, version], [24, flags]]), ...parts);
}

/** ftyp with major brand isom and the given compatible brands. */
export function ftyp(brands) {
  return box('ftyp', ascii('isom'), fields([[32, 0x200]]), ...brands.map(ascii));
}

function matrix() {
  return fields(MATRIX.map((v) => [32, v]));
}

function mvhd(nextTrackId) {
  return fullBox('mvhd', 0, 0,
    fields([[32, 0], [32, 0], [32, 1000], [32, 0], [32, 0x00010000], [16, 0x0100], [16, 0], [32, 0], [32, 0]]),
    matrix(), new Uint8Array(24), fields([[32, nextTrackId]]));
}

function tkhd(t) {
  const audio = t.handler === 'soun';
  return fullBox('tkhd', 0, 3,
    fields([[32, 0], [32, 0], [32, t.id], [32, 0], [32, 0], [32, 0], [32, 0],
      [16, 0], [16, 0], [16, audio ? 0x0100 : 0], [16, 0]]),
    matrix(), fields([[32, (t.width || 0) * 0x10000], [32, (t.height || 0) * 0x10000]]));
}

function mdhd(timescale) {
  // language 'und' packed as 3 x 5 bits
  return fullBox('mdhd', 0, 0, fields([[32, 0], [32, 0], [32, timescale], [32, 0], [16, 0x55c4], [16, 0]]));
}

function hdlr(handler) {
  const name = handler === 'vide' ? 'VideoHandler' : 'SoundHandler';
  return fullBox('hdlr', 0, 0, fields([[32, 0]]), ascii(handler), new Uint8Array(12), ascii(name), new Uint8Array(1));
}

function dinf() {
  return box('dinf', fullBox('dref', 0, 0, fields([[32, 1]]), fullBox('url ', 0, 1)));
}

function stbl(sampleEntry) {
  return box('stbl',
    fullBox('stsd', 0, 0, fields([[32, 1]]), sampleEntry),
    fullBox('stts', 0, 0, fields([[32, 0]])),
    fullBox('stsc', 0, 0, fields([[32, 0]])),
    fullBox('stsz', 0, 0, fields([[32, 0], [32, 0]])),
    fullBox('stco', 0, 0, fields([[32, 0]])));
}

/**
 * Visual sample entry ('avc1' or 'hvc1') holding the decoder configuration box.
 * @param {string} type 'avc1' | 'hvc1'
 * @param {string} configType 'avcC' | 'hvcC'
 * @param {Uint8Array} record the decoder configuration record
 */
export function visualSampleEntry(type, configType, width, height, record) {
  return box(type,
    new Uint8Array(6), fields([[16, 1], [16, 0], [16, 0], [32, 0], [32, 0], [32, 0],
      [16, width], [16, height], [32, 0x00480000], [32, 0x00480000], [32, 0], [16, 1]]),
    new Uint8Array(32), fields([[16, 0x0018], [16, 0xffff]]),
    box(configType, record));
}

/** MPEG-4 descriptor: tag, expandable size, body. */
function descriptor(tag, ...parts) {
  const body = concat(parts);
  const size = [];
  let n = body.length;
  do { size.unshift(n & 0x7f); n >>>= 7; } while (n > 0);
  for (let i = 0; i < size.length - 1; i++) size[i] |= 0x80;
  return concat([new Uint8Array([tag, ...size]), body]);
}

/**
 * Audio sample entry 'mp4a' with an esds box.
 * @param {number} objectType 0x40 (AAC) or 0x6B (MPEG-1 audio, MP3)
 * @param {Uint8Array|null} asc AudioSpecificConfig (AAC) or null
 */
export function mp4aSampleEntry(channels, sampleRate, objectType, asc) {
  const decoderConfig = descriptor(4,
    fields([[8, objectType], [8, (0x05 << 2) | 1], [24, 0], [32, 0], [32, 0]]),
    asc ? descriptor(5, asc) : new Uint8Array(0));
  const es = descriptor(3, fields([[16, 0], [8, 0]]), decoderConfig, descriptor(6, new Uint8Array([2])));
  return box('mp4a',
    new Uint8Array(6), fields([[16, 1], [32, 0], [32, 0], [16, channels], [16, 16], [16, 0], [16, 0],
      [32, sampleRate <= 0xffff ? sampleRate * 0x10000 : 0]]),
    fullBox('esds', 0, 0, es));
}

/**
 * moov with one trak and mvex/trex.
 * @param {{id: number, handler: 'vide'|'soun', timescale: number, width?: number,
 *   height?: number, sampleEntry: Uint8Array}} t
 */
export function moov(t) {
  const mediaHeader = t.handler === 'vide'
    ? fullBox('vmhd', 0, 1, new Uint8Array(8))
    : fullBox('smhd', 0, 0, new Uint8Array(4));
  const trak = box('trak', tkhd(t),
    box('mdia', mdhd(t.timescale), hdlr(t.handler),
      box('minf', mediaHeader, dinf(), stbl(t.sampleEntry))));
  const mvex = box('mvex', fullBox('trex', 0, 0, fields([[32, t.id], [32, 1], [32, 0], [32, 0], [32, 0]])));
  return box('moov', mvhd(t.id + 1), trak, mvex);
}

/**
 * moof + mdat for one track.
 * @param {number} seq sequence number
 * @param {number} trackId
 * @param {number} baseTime baseMediaDecodeTime (integer, timescale units)
 * @param {Array<{duration: number, size: number, flags: number, cto: number}>} samples
 * @param {Uint8Array[]} data sample payloads, in order
 * @param {boolean} withCto write per-sample composition offsets
 */
export function fragment(seq, trackId, baseTime, samples, data, withCto) {
  const perSample = withCto ? 16 : 12;
  const trunFlags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | (withCto ? 0x000800 : 0);
  const table = new Uint8Array(samples.length * perSample);
  const dv = new DataView(table.buffer);
  samples.forEach((s, i) => {
    const o = i * perSample;
    dv.setUint32(o, s.duration);
    dv.setUint32(o + 4, s.size);
    dv.setUint32(o + 8, s.flags);
    if (withCto) dv.setInt32(o + 12, s.cto);
  });
  const build = (dataOffset) => box('moof',
    fullBox('mfhd', 0, 0, fields([[32, seq]])),
    box('traf',
      fullBox('tfhd', 0, 0x020000, fields([[32, trackId]])),
      fullBox('tfdt', 1, 0, fields([[64, baseTime]])),
      fullBox('trun', 1, trunFlags, fields([[32, samples.length], [32, dataOffset]]), table)));
  const size = build(0).length;
  const moof = build(size + 8);
  let mdatSize = 8;
  for (const d of data) mdatSize += d.length;
  return concat([moof, fields([[32, mdatSize]]), ascii('mdat'), ...data]);
}
