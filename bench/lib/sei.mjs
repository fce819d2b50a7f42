// Stamp SEI reader (benchmark): finds the publisher's user_data_unregistered
// SEI ("ngx_ws_stream_bn" + u64 wall_us, u32 index, u32 loop, u64 pts_ms, all
// big-endian) in H.264 access units. Works in node and in browsers: only
// Uint8Array and DataView.
//
//   findStampAvcc(u8)   4-byte length-prefixed NAL units (FLV / avcC)
//   findStampAnnexB(u8) start-code delimited NAL units (MPEG-TS PES payload)
//
// Both return { wallUs, index, loop, ptsMs } (Numbers) for the first stamp
// found, or null. Malformed or truncated input never throws: it yields null
// (or the stamp found before the damage).

const UUID = [0x6e, 0x67, 0x78, 0x5f, 0x77, 0x73, 0x5f, 0x73,
  0x74, 0x72, 0x65, 0x61, 0x6d, 0x5f, 0x62, 0x6e]; // "ngx_ws_stream_bn"
const STAMP_SIZE = 16 + 24;
const SEI_USER_DATA_UNREGISTERED = 5;

// RBSP of a NAL unit: bytes [start, end) of u8 without emulation prevention
// bytes (every 0x03 following two zero bytes).
function unescape(u8, start, end) {
  const out = new Uint8Array(end - start);
  let n = 0, zeros = 0;
  for (let i = start; i < end; i++) {
    const b = u8[i];
    if (zeros >= 2 && b === 0x03) { zeros = 0; continue; }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

const u64 = (dv, off) => dv.getUint32(off) * 4294967296 + dv.getUint32(off + 4);

// Walks the SEI messages of one SEI RBSP (after the NAL header byte).
function stampInSei(rbsp) {
  let i = 0;
  const n = rbsp.length;
  for (let msg = 0; msg < 64 && i < n; msg++) {
    if (rbsp[i] === 0x80 && i === n - 1) return null; // rbsp trailing bits
    let type = 0, size = 0;
    while (i < n && rbsp[i] === 0xff) { type += 255; i++; }
    if (i >= n) return null;
    type += rbsp[i++];
    while (i < n && rbsp[i] === 0xff) { size += 255; i++; }
    if (i >= n) return null;
    size += rbsp[i++];
    if (i + size > n) return null; // truncated message
    if (type === SEI_USER_DATA_UNREGISTERED && size >= STAMP_SIZE) {
      let ok = true;
      for (let k = 0; k < 16; k++) if (rbsp[i + k] !== UUID[k]) { ok = false; break; }
      if (ok) {
        const dv = new DataView(rbsp.buffer, rbsp.byteOffset + i + 16, 24);
        return { wallUs: u64(dv, 0), index: dv.getUint32(8), loop: dv.getUint32(12), ptsMs: u64(dv, 16) };
      }
    }
    i += size;
  }
  return null;
}

function stampInNal(u8, start, end) {
  if (end - start < 2 || (u8[start] & 0x1f) !== 6) return null;
  return stampInSei(unescape(u8, start + 1, end));
}

/** Stamp in 4-byte length-prefixed NAL units (an FLV AVC NALU packet's data). */
export function findStampAvcc(u8) {
  if (!(u8 instanceof Uint8Array)) return null;
  let i = 0;
  while (i + 4 <= u8.length) {
    const len = ((u8[i] << 24) | (u8[i + 1] << 16) | (u8[i + 2] << 8) | u8[i + 3]) >>> 0;
    i += 4;
    if (len === 0) continue;
    if (i + len > u8.length) return null; // malformed: NAL runs past the end
    const st = stampInNal(u8, i, i + len);
    if (st) return st;
    i += len;
  }
  return null;
}

/** Stamp in Annex-B NAL units (00 00 01 / 00 00 00 01 start codes). */
export function findStampAnnexB(u8) {
  if (!(u8 instanceof Uint8Array)) return null;
  const n = u8.length;
  // next start code at or after i: index of its 00 00 01, or n
  const next = (i) => {
    for (let k = i; k + 2 < n; k++) {
      if (u8[k + 2] > 1) { k += 2; continue; } // fast skip
      if (u8[k] === 0 && u8[k + 1] === 0 && u8[k + 2] === 1) return k;
    }
    return n;
  };
  let sc = next(0);
  while (sc < n) {
    const start = sc + 3;
    const nx = next(start);
    let end = nx;
    // trailing zero bytes belong to the next (4-byte) start code / padding
    while (end > start && u8[end - 1] === 0) end--;
    if ((u8[start] & 0x1f) === 6) {
      const st = stampInNal(u8, start, end);
      if (st) return st;
    }
    sc = nx;
  }
  return null;
}
