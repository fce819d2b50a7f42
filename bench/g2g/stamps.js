// Stamp extraction from what a player receives (benchmark page, also usable
// in node). Each parser calls onStamp(stamp) for every video frame whose
// stamp SEI it finds; stamp = { wallUs, index, loop, ptsMs } (lib/sei.mjs).
import { findStampAvcc } from '../lib/sei.mjs';

const u8of = (data) => (data instanceof Uint8Array ? data : new Uint8Array(data));

// FLV video tag body (VideoTagHeader + data): stamp of an AVC NALU packet.
function stampInVideoTag(body) {
  if (body.length < 6) return null;
  if ((body[0] & 0x80) !== 0) return null;           // enhanced RTMP: not used by the fixture
  if ((body[0] & 0x0f) !== 7 || body[1] !== 1) return null; // AVC, AVCPacketType 1
  return findStampAvcc(body.subarray(5));
}

/**
 * ngx_ws_stream protocol v1: one binary WebSocket message = 14-byte header
 * (kind, dts, cts, ingest) + FLV tag body. Returns feed(messageData).
 */
export function oursParser(onStamp) {
  return (data) => {
    if (typeof data === 'string') return;
    const m = u8of(data);
    if (m.length < 14 + 6) return;
    if ((m[0] & 0x0f) !== 1 || (m[0] & 0x20) !== 0) return; // video media, not config
    const st = stampInVideoTag(m.subarray(14));
    if (st) onStamp(st);
  };
}

/**
 * Streaming FLV byte parser (HTTP-FLV / WS-FLV): the bytes may be split
 * anywhere across messages. Returns feed(chunk).
 */
export function flvParser(onStamp) {
  let buf = new Uint8Array(0);
  let headerDone = false;
  const append = (chunk) => {
    if (!buf.length) { buf = chunk.slice(); return; }
    const b = new Uint8Array(buf.length + chunk.length);
    b.set(buf, 0);
    b.set(chunk, buf.length);
    buf = b;
  };
  return (data) => {
    if (typeof data === 'string') return;
    append(u8of(data));
    let i = 0;
    if (!headerDone) {
      if (buf.length < 9) return;
      if (buf[0] !== 0x46 || buf[1] !== 0x4c || buf[2] !== 0x56) {
        headerDone = true;                  // no FLV header: assume tags
      } else {
        const hlen = ((buf[5] << 24) | (buf[6] << 16) | (buf[7] << 8) | buf[8]) >>> 0;
        if (buf.length < hlen + 4) return;
        i = hlen + 4;                       // header + PreviousTagSize0
        headerDone = true;
      }
    }
    for (let guard = 0; guard < 100000; guard++) {
      if (buf.length - i < 11) break;
      const type = buf[i] & 0x1f;
      const size = (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3];
      if (buf.length - i < 11 + size + 4) break;
      if (type === 9) {
        const st = stampInVideoTag(buf.subarray(i + 11, i + 11 + size));
        if (st) onStamp(st);
      }
      i += 11 + size + 4;
    }
    buf = i >= buf.length ? new Uint8Array(0) : buf.slice(i);
  };
}

const OUR_UUID = '6e67785f-7773-5f73-7472-65616d5f626e'; // "ngx_ws_stream_bn" as hls.js prints it

/**
 * hls.js FRAG_PARSING_USERDATA sample ({payloadType, uuid, userDataBytes}):
 * the stamp, or null if it is not ours.
 */
export function stampFromHlsUserdata(sample) {
  if (!sample || sample.payloadType !== 5 || sample.uuid !== OUR_UUID) return null;
  const b = sample.userDataBytes;
  if (!b || b.length < 24) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const u64 = (o) => dv.getUint32(o) * 4294967296 + dv.getUint32(o + 4);
  return { wallUs: u64(0), index: dv.getUint32(8), loop: dv.getUint32(12), ptsMs: u64(16) };
}
