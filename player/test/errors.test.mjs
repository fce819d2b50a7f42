// Unit tests of player/errors.js.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, WsStreamError } from '../errors.js';

test('ErrorCodes: frozen, value = name', () => {
  assert.ok(Object.isFrozen(ErrorCodes));
  assert.deepEqual(Object.keys(ErrorCodes), ['NETWORK', 'PROTOCOL', 'DEMUX', 'REMUX', 'MSE_UNSUPPORTED',
    'MSE_APPEND', 'CODEC_UNSUPPORTED', 'QUOTA', 'MEDIA', 'SWITCH_FAILED']);
  for (const [k, v] of Object.entries(ErrorCodes)) assert.equal(k, v);
});

test('WsStreamError: code, message, fatal, cause', () => {
  const cause = new Error('inner');
  const e = new WsStreamError(ErrorCodes.QUOTA, 'full', { fatal: true, cause });
  assert.ok(e instanceof Error);
  assert.ok(e instanceof WsStreamError);
  assert.deepEqual([e.name, e.code, e.message, e.fatal, e.cause], ['WsStreamError', 'QUOTA', 'full', true, cause]);
  const d = new WsStreamError(ErrorCodes.DEMUX, 'bad');
  assert.deepEqual([d.fatal, 'cause' in d], [false, false]);
  assert.match(String(d), /^WsStreamError: bad$/);
});
