// A small fragmented-MP4 reader (benchmark): the boxes of an init segment
// and of moof+mdat fragments (LL-HLS parts and segments), enough to find
// the publisher's stamp SEI in every video sample. Works in node and in
// browsers: only Uint8Array and DataView.
//
//   boxes(u8, start, end)   [{ type, start, size, body }] of one level
//   initTracks(u8)          [{ id, kind: 'video'|'audio'|..., timescale }]
//   fragmentSamples(u8)     [{ track, dts, size, offset, key }] of every
//                           moof in u8 (offset: of the sample in u8)
//   videoStamps(u8, tracks) [{ stamp, dts, key, size }] per video sample
//                           (stamp: lib/sei.mjs's, or null)
//
// Malformed or truncated input never throws: a box that runs past the end
// ends the walk, a sample outside the buffer is left out.
import { findStampAvcc } from './sei.mjs';

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex',
  'moof', 'traf', 'edts', 'dinf']);

const u8of = (d) => (d instanceof Uint8Array ? d : new Uint8Array(d));
const dvOf = (u8) => new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
const type4 = (u8, o) => String.fromCharCode(u8[o], u8[o + 1], u8[o + 2], u8[o + 3]);
const u64 = (dv, o) => dv.getUint32(o) * 4294967296 + dv.getUint32(o + 4);

/** The boxes of one level of u8 between start and end (default: all). */
export function boxes(data, start = 0, end) {
  const u8 = u8of(data);
  const dv = dvOf(u8);
  const stop = Math.min(end ?? u8.length, u8.length);
  const out = [];
  let o = start;
  while (o + 8 <= stop) {
    let size = dv.getUint32(o), hdr = 8;
    if (size === 1) {
      if (o + 16 > stop) break;
      size = u64(dv, o + 8);
      hdr = 16;
    } else if (size === 0) {
      size = stop - o;              // to the end
    }
    if (size < hdr || o + size > stop) break;
    out.push({ type: type4(u8, o + 4), start: o, size, body: o + hdr });
    o += size;
  }
  return out;
}

// the first box of each type along path (['moov', 'trak', ...]), all levels
function find(u8, path, start = 0, end = u8.length) {
  let level = boxes(u8, start, end);
  for (let i = 0; i < path.length; i++) {
    const hits = level.filter((b) => b.type === path[i]);
    if (i === path.length - 1) return hits;
    const b = hits[0];
    if (!b || !CONTAINERS.has(b.type)) return [];
    level = boxes(u8, b.body, b.start + b.size);
  }
  return [];
}

/** Tracks of an init segment (ftyp + moov). */
export function initTracks(data) {
  const u8 = u8of(data);
  const dv = dvOf(u8);
  const tracks = [];
  for (const trak of find(u8, ['moov', 'trak'])) {
    const end = trak.start + trak.size;
    const tkhd = find(u8, ['tkhd'], trak.body, end)[0];
    const mdia = find(u8, ['mdia'], trak.body, end)[0];
    if (!tkhd || !mdia) continue;
    const mend = mdia.start + mdia.size;
    const mdhd = find(u8, ['mdhd'], mdia.body, mend)[0];
    const hdlr = find(u8, ['hdlr'], mdia.body, mend)[0];
    if (!mdhd || !hdlr || hdlr.size < 24) continue;
    const v1 = u8[tkhd.body] === 1;
    const id = dv.getUint32(tkhd.body + (v1 ? 20 : 12));
    const timescale = dv.getUint32(mdhd.body + (u8[mdhd.body] === 1 ? 20 : 12));
    const h = type4(u8, hdlr.body + 8);
    const kind = h === 'vide' ? 'video' : h === 'soun' ? 'audio' : h;
    tracks.push({ id, kind, timescale });
  }
  return tracks;
}

// ISO/IEC 14496-12 8.8.7 / 8.8.8 flags
const TFHD_BASE = 0x1, TFHD_DESC = 0x2, TFHD_DUR = 0x8, TFHD_SIZE = 0x10,
  TFHD_FLAGS = 0x20;
const TRUN_OFF = 0x1, TRUN_FIRST = 0x4, TRUN_DUR = 0x100, TRUN_SIZE = 0x200,
  TRUN_FLAGS = 0x400, TRUN_CTO = 0x800;
const NON_SYNC = 0x10000;

/** Samples of every track fragment of every moof in u8, in trun order. */
export function fragmentSamples(data) {
  const u8 = u8of(data);
  const dv = dvOf(u8);
  const out = [];
  for (const moof of boxes(u8).filter((b) => b.type === 'moof')) {
    const mend = moof.start + moof.size;
    for (const traf of find(u8, ['traf'], moof.body, mend)) {
      const tend = traf.start + traf.size;
      const tfhd = find(u8, ['tfhd'], traf.body, tend)[0];
      if (!tfhd || tfhd.size < 16) continue;
      const tf = dv.getUint32(tfhd.body) & 0xffffff;
      const track = dv.getUint32(tfhd.body + 4);
      let p = tfhd.body + 8;
      let base = moof.start;
      if (tf & TFHD_BASE) { base = u64(dv, p); p += 8; }
      if (tf & TFHD_DESC) p += 4;
      let defDur = 0, defSize = 0, defFlags = 0;
      if (tf & TFHD_DUR) { defDur = dv.getUint32(p); p += 4; }
      if (tf & TFHD_SIZE) { defSize = dv.getUint32(p); p += 4; }
      if (tf & TFHD_FLAGS) { defFlags = dv.getUint32(p); p += 4; }
      const tfdt = find(u8, ['tfdt'], traf.body, tend)[0];
      let dts = 0;
      if (tfdt) dts = u8[tfdt.body] === 1 ? u64(dv, tfdt.body + 4) : dv.getUint32(tfdt.body + 4);
      let next = base;                 // a trun without an offset follows on
      for (const trun of find(u8, ['trun'], traf.body, tend)) {
        const rend = trun.start + trun.size;
        const rf = dv.getUint32(trun.body) & 0xffffff;
        const count = dv.getUint32(trun.body + 4);
        let q = trun.body + 8;
        let off = next;
        if (rf & TRUN_OFF) { off = base + dv.getInt32(q); q += 4; }
        let first = null;
        if (rf & TRUN_FIRST) { first = dv.getUint32(q); q += 4; }
        const per = 4 * [TRUN_DUR, TRUN_SIZE, TRUN_FLAGS, TRUN_CTO]
          .filter((f) => rf & f).length;
        for (let i = 0; i < count && q + per <= rend; i++) {
          let dur = defDur, size = defSize, flags = defFlags;
          if (rf & TRUN_DUR) { dur = dv.getUint32(q); q += 4; }
          if (rf & TRUN_SIZE) { size = dv.getUint32(q); q += 4; }
          if (rf & TRUN_FLAGS) { flags = dv.getUint32(q); q += 4; }
          if (rf & TRUN_CTO) q += 4;
          if (i === 0 && first !== null) flags = first;
          if (off + size <= u8.length)
            out.push({ track, dts, size, offset: off, key: (flags & NON_SYNC) === 0 });
          off += size;
          dts += dur;
        }
        next = off;
      }
    }
  }
  return out;
}

/**
 * Stamps of the video samples of fragments in u8. tracks: initTracks() of
 * the init segment; without it every sample is tried (an audio sample
 * never holds our SEI UUID). dts is in the track's timescale.
 */
export function videoStamps(data, tracks = null) {
  const u8 = u8of(data);
  const video = tracks ? new Set(tracks.filter((t) => t.kind === 'video').map((t) => t.id)) : null;
  const out = [];
  for (const s of fragmentSamples(u8)) {
    if (video && !video.has(s.track)) continue;
    const stamp = findStampAvcc(u8.subarray(s.offset, s.offset + s.size));
    if (!video && !stamp) continue;
    out.push({ stamp, dts: s.dts, key: s.key, size: s.size, track: s.track });
  }
  return out;
}
