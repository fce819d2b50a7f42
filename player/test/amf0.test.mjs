// The AMF0 reader of the player's data events: the values encoders send.
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeData } from '../amf0.js';

const str = (s) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]); };
const num = (x) => { const b = Buffer.alloc(9); b[0] = 0; b.writeDoubleBE(x, 1); return b; };
const sval = (s) => Buffer.concat([Buffer.from([2]), str(s)]);
const end = Buffer.from([0, 0, 9]);

test('amf0: onTextData with an ECMA array (ffmpeg), onCuePoint with an object and a nested array', () => {
  const text = Buffer.concat([sval('onTextData'), Buffer.from([8, 0, 0, 0, 2]),
    str('text'), sval('first caption'), str('trackid'), num(1), end]);
  assert.deepEqual(decodeData(new Uint8Array(text)), { name: 'onTextData', value: { text: 'first caption', trackid: 1 } });
  const cue = Buffer.concat([sval('onCuePoint'), Buffer.from([3]), str('name'), sval('ad'), str('time'), num(12.5),
    str('ok'), Buffer.from([1, 1]), str('list'), Buffer.from([10, 0, 0, 0, 2]), num(1), Buffer.from([5]),
    str('when'), Buffer.from([11]), num(1000).subarray(1), Buffer.from([0, 0]), end]);
  const d = decodeData(new Uint8Array(cue));
  assert.equal(d.name, 'onCuePoint');
  assert.deepEqual({ ...d.value, when: d.value.when.getTime() }, { name: 'ad', time: 12.5, ok: true, list: [1, null], when: 1000 });
  assert.deepEqual(decodeData(new Uint8Array(sval('onFI'))), { name: 'onFI', value: undefined });
});

test('amf0: malformed data throws (truncated, no name, unknown type, too deep, a lying array count)', () => {
  const text = Buffer.concat([sval('onTextData'), Buffer.from([8, 0, 0, 0, 1]), str('text'), sval('abc'), end]);
  // every cut but the one right after the name (a name alone is whole)
  for (let n = 1; n < text.length; n++) {
    if (n !== sval('onTextData').length) assert.throws(() => decodeData(new Uint8Array(text.subarray(0, n))), /AMF0/, `cut at ${n}`);
  }
  assert.throws(() => decodeData(new Uint8Array(num(1))), /without a name/);
  assert.throws(() => decodeData(new Uint8Array(Buffer.concat([sval('x'), Buffer.from([17])]))), /type 17/);
  const deep = Buffer.concat([sval('x'), ...Array(20).fill(Buffer.concat([Buffer.from([3]), str('a')]))]);
  assert.throws(() => decodeData(new Uint8Array(deep)), /deep|truncated/);
  assert.throws(() => decodeData(new Uint8Array(Buffer.concat([sval('x'), Buffer.from([10, 0xff, 0xff, 0xff, 0xff])]))), /longer/);
});
