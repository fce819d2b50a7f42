// node --test bench/g2g/stamps.test.mjs
import test from 'node:test';
import assert from 'node:assert/strict';
import { oursParser, flvParser, stampFromHlsUserdata } from './stamps.js';

const UUID = [...new TextEncoder().encode('ngx_ws_stream_bn')];
const be32 = (v) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const be24 = (v) => [(v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const be64 = (v) => [...be32(Math.floor(v / 4294967296)), ...be32(v % 4294967296)];
const payload = (st) => [...be64(st.wallUs), ...be32(st.index), ...be32(st.loop), ...be64(st.ptsMs)];
// escaping is covered by bench/lib/sei.test.mjs: these stamps need none
const seiNal = (st) => [0x06, 5, 40, ...UUID, ...payload(st), 0x80];
const videoBody = (st, key = false) => {
  const nals = [seiNal(st), [0x41, 0x9a, 0x11, 0x22]];
  return [key ? 0x17 : 0x27, 1, 0, 0, 0, ...nals.flatMap((n) => [...be32(n.length), ...n])];
};
const tag = (type, body, ts) => [type, ...be24(body.length), ...be24(ts), 0, 0, 0, 0, ...body, ...be32(11 + body.length)];
const stamp = (i) => ({ wallUs: 1754000000000000 + i * 33333, index: i, loop: 1, ptsMs: 30000 + i * 33 });

test('ours: protocol v1 media messages', () => {
  const got = [];
  const feed = oursParser((s) => got.push(s));
  const hdr = (kind) => [kind, 0, 0, 0, 33, 0, 0, 0, 0, 0, 1, 2, 3, 4];
  feed('{"type":"hello"}');
  feed(Uint8Array.from([...hdr(0x21), 0x17, 0, 0, 0, 0, 1, 2, 3]).buffer); // config: skipped
  feed(Uint8Array.from([...hdr(0x02), 0xaf, 1, 1, 2, 3, 4]).buffer);       // audio
  feed(Uint8Array.from([...hdr(0x11), ...videoBody(stamp(0), true)]).buffer);
  feed(Uint8Array.from([...hdr(0x01), ...videoBody(stamp(1))]).buffer);
  assert.deepEqual(got, [stamp(0), stamp(1)]);
});

test('flv: stream split at every possible point', () => {
  const flv = [0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0,
    ...tag(18, [2, 0, 10, ...new TextEncoder().encode('onMetaData')], 0),
    ...tag(9, [0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f], 0),
    ...tag(8, [0xaf, 1, 0x21, 0x22], 0),
    ...tag(9, videoBody(stamp(5), true), 0),
    ...tag(9, videoBody(stamp(6)), 33)];
  const bytes = Uint8Array.from(flv);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const got = [];
    const feed = flvParser((s) => got.push(s));
    feed(bytes.slice(0, cut).buffer);
    feed(bytes.slice(cut).buffer);
    assert.deepEqual(got, [stamp(5), stamp(6)], `cut at ${cut}`);
  }
  const got = [];
  const feed = flvParser((s) => got.push(s));
  for (const b of bytes) feed(Uint8Array.of(b).buffer); // one byte at a time
  assert.deepEqual(got, [stamp(5), stamp(6)]);
});

test('hls.js userdata sample', () => {
  const uuid = '6e67785f-7773-5f73-7472-65616d5f626e';
  const userDataBytes = Uint8Array.from(payload(stamp(7)));
  assert.deepEqual(stampFromHlsUserdata({ payloadType: 5, uuid, userDataBytes }), stamp(7));
  assert.equal(stampFromHlsUserdata({ payloadType: 5, uuid: uuid.replace('6e', '00'), userDataBytes }), null);
  assert.equal(stampFromHlsUserdata({ payloadType: 4, bytes: [] }), null);
});
