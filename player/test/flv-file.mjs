// Test helper (not a test): a tiny FLV file reader and fixture utilities.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of a file in player/test/fixtures. */
export function fixturePath(name) {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/**
 * Split an FLV file into tags.
 * @param {Uint8Array} file
 * @returns {Array<{type: number, timestamp: number, body: Uint8Array}>}
 *   type 8 audio, 9 video, 18 script; body is the tag body (what the server sends)
 */
export function readFlvTags(file) {
  if (file.length < 9 || String.fromCharCode(file[0], file[1], file[2]) !== 'FLV') {
    throw new Error('not an FLV file');
  }
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const tags = [];
  let o = dv.getUint32(5) + 4; // header, PreviousTagSize0
  while (o + 11 <= file.length) {
    const type = file[o] & 0x1f;
    const size = (file[o + 1] << 16) | (file[o + 2] << 8) | file[o + 3];
    const timestamp = ((file[o + 7] << 24) | (file[o + 4] << 16) | (file[o + 5] << 8) | file[o + 6]) >>> 0;
    const end = o + 11 + size;
    if (end > file.length) throw new Error(`truncated tag at ${o}`);
    tags.push({ type, timestamp, body: file.subarray(o + 11, end) });
    if (dv.getUint32(end) !== size + 11) throw new Error(`bad PreviousTagSize at ${end}`);
    o = end + 4;
  }
  return tags;
}

/** Tags of the small.flv fixture. */
export function smallFlvTags() {
  return readFlvTags(new Uint8Array(readFileSync(fixturePath('small.flv'))));
}

/**
 * A protocol v1 binary message (docs/protocol.md) of an FLV tag ({type, timestamp, body}),
 * ingested at `ingest` (server ms); AVC/AAC sequence headers get the CONFIG flag.
 */
export function mediaMessage(tag, ingest) {
  const track = tag.type === 9 ? 1 : 2;
  const key = tag.type === 9 && tag.body[0] >> 4 === 1;
  const config = tag.body[1] === 0;
  const m = new Uint8Array(14 + tag.body.length);
  const dv = new DataView(m.buffer);
  m[0] = track | (key ? 0x10 : 0) | (config ? 0x20 : 0);
  dv.setUint32(1, tag.timestamp);
  dv.setUint16(8, Math.floor(ingest / 2 ** 32));
  dv.setUint32(10, ingest % 2 ** 32);
  m.set(tag.body, 14);
  return m;
}
