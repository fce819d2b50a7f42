// node --test bench/lib/sei.test.mjs
import test from 'node:test';
import assert from 'node:assert/strict';
import { findStampAvcc, findStampAnnexB } from './sei.mjs';

const UUID = new TextEncoder().encode('ngx_ws_stream_bn');

// Emulation prevention over a RBSP: insert 0x03 after two zeros before 0..3.
function escape(rbsp) {
  const out = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) { out.push(3); zeros = 0; }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out;
}

const be64 = (v) => { const b = []; const hi = Math.floor(v / 4294967296), lo = v % 4294967296;
  for (const w of [hi, lo]) b.push((w >>> 24) & 255, (w >>> 16) & 255, (w >>> 8) & 255, w & 255); return b; };
const be32 = (v) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const ffCoded = (v) => { const b = []; while (v >= 255) { b.push(255); v -= 255; } b.push(v); return b; };

function message(type, payload) { return [...ffCoded(type), ...ffCoded(payload.length), ...payload]; }
function stampPayload(st) { return [...UUID, ...be64(st.wallUs), ...be32(st.index), ...be32(st.loop), ...be64(st.ptsMs)]; }
// A whole SEI NAL (header 0x06 + escaped RBSP) from a list of messages.
function seiNal(messages) { return [0x06, ...escape([...messages.flat(), 0x80])]; }
const stampNal = (st) => seiNal([message(5, stampPayload(st))]);
const avcc = (...nals) => Uint8Array.from(nals.flatMap((n) => [...be32(n.length), ...n]));
const annexb = (...nals) => Uint8Array.from(nals.flatMap((n, i) => [...(i ? [0, 0, 1] : [0, 0, 0, 1]), ...n]));

const IDR = [0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01, 0xff, 0x10];
const SLICE = [0x41, 0x9a, 0x00, 0x00, 0x03, 0x01, 0x22]; // with an escaped 00 00 01
const ST = { wallUs: 1754000000123456, index: 899, loop: 7, ptsMs: 123456789 };

test('round trip avcc and annex-b', () => {
  assert.deepEqual(findStampAvcc(avcc(stampNal(ST), IDR)), ST);
  assert.deepEqual(findStampAvcc(avcc(SLICE, stampNal(ST))), ST);
  assert.deepEqual(findStampAnnexB(annexb(stampNal(ST), IDR)), ST);
  assert.deepEqual(findStampAnnexB(annexb([0x09, 0xf0], stampNal(ST), SLICE)), ST);
});

test('emulation prevention is removed', () => {
  // zeros everywhere: 00 00 00 .. in wall_us / index / loop / pts
  for (const st of [{ wallUs: 0, index: 0, loop: 0, ptsMs: 0 },
    { wallUs: 0x10000000003, index: 0x00000001, loop: 0x00000300, ptsMs: 0x0000000000000002 },
    { wallUs: 2 ** 52 + 3, index: 256, loop: 65536, ptsMs: 3 }]) {
    const nal = stampNal(st);
    assert.deepEqual(findStampAvcc(avcc(nal)), st);
    assert.deepEqual(findStampAnnexB(annexb(nal, IDR)), st);
  }
  const zero = stampNal({ wallUs: 0, index: 0, loop: 0, ptsMs: 0 });
  assert.ok(zero.length > 1 + 2 + 40 + 1, 'the builder inserted 0x03 bytes');
});

test('several messages, 0xFF-extended type and size, other UUIDs ignored', () => {
  const other = message(5, [...new TextEncoder().encode('some_other_uuid!'), 1, 2, 3]);
  const big = message(300, new Array(600).fill(0x11)); // type and size both > 255
  const nal = seiNal([other, big, message(5, stampPayload(ST))]);
  assert.deepEqual(findStampAvcc(avcc(nal)), ST);
  assert.deepEqual(findStampAnnexB(annexb(nal)), ST);
  // a SEI NAL without ours
  assert.equal(findStampAvcc(avcc(seiNal([other, big]), IDR)), null);
  // payloadType 5 but too short for a stamp with our uuid
  assert.equal(findStampAvcc(avcc(seiNal([message(5, [...UUID, 1, 2])]))), null);
  // stamp in a second SEI NAL
  assert.deepEqual(findStampAvcc(avcc(seiNal([other]), stampNal(ST), IDR)), ST);
});

test('no stamp', () => {
  assert.equal(findStampAvcc(avcc(IDR)), null);
  assert.equal(findStampAnnexB(annexb(IDR, SLICE)), null);
  assert.equal(findStampAvcc(new Uint8Array(0)), null);
  assert.equal(findStampAnnexB(new Uint8Array(0)), null);
  assert.equal(findStampAvcc(null), null);
});

test('truncation and garbage never throw', () => {
  const a = avcc(SLICE, stampNal(ST), IDR);
  const b = annexb(SLICE, stampNal(ST), IDR);
  for (let n = 0; n <= a.length; n++) {
    const r = findStampAvcc(a.subarray(0, n));
    assert.ok(r === null || r.index === ST.index);
  }
  for (let n = 0; n <= b.length; n++) {
    const r = findStampAnnexB(b.subarray(0, n));
    assert.ok(r === null || r.index === ST.index);
  }
  // a truncated annex-b stamp NAL is not read as a stamp
  const nal = stampNal(ST);
  assert.equal(findStampAnnexB(annexb(nal.slice(0, 30))), null);
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 24; };
  for (let k = 0; k < 2000; k++) {
    const buf = Uint8Array.from({ length: k % 97 }, rnd);
    if (k % 3 === 0 && buf.length > 5) { buf[4] = 6; }
    findStampAvcc(buf);
    findStampAnnexB(buf);
  }
  // corrupt length prefix
  const c = a.slice(); c[0] = 0xff;
  assert.equal(findStampAvcc(c), null);
});

test('subarray views with a byteOffset', () => {
  const inner = avcc(stampNal(ST));
  const outer = new Uint8Array(inner.length + 13);
  outer.set(inner, 13);
  assert.deepEqual(findStampAvcc(outer.subarray(13)), ST);
});
