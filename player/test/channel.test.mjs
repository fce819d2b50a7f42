// Channels on one connection (docs/protocol.md, docs/player.md): switchStream() sends a
// switch when hello allowed it, else reconnects to the new stream's URL; a channel
// notice starts a new epoch at the new stream's keyframe (its configuration first, an
// init segment when it differs; frames before its keyframe dropped) and jumps there,
// with the 'channel' and 'zap' events; switch_failed keeps playing; an offline channel
// waits. Fake WebSocket, MediaSource and video element, fed the small.flv fixture (the
// other stream: the same frames at another dts origin, another video configuration).
import test from 'node:test';
import assert from 'node:assert/strict';
import { WsStreamPlayer } from '../ws-stream-player.js';
import { streamUrl, parseStreamPath, ZapMeter } from '../channel.js';
import { ErrorCodes } from '../errors.js';
import { smallFlvTags, mediaMessage } from './flv-file.mjs';
import { FakeVideo, FakeWebSocket, FakeMediaSource, installFakes, ranges, tick, until, collect } from './fakes.mjs';
import { avcRecordWith, SPS_444 } from './vectors.mjs';

const tags = smallFlvTags().filter((x) => x.type === 8 || x.type === 9);
const LAST = tags.at(-1).timestamp;
const isConfig = (x) => x.body[1] === 0;
const isKey = (x) => x.type === 9 && x.body[0] >> 4 === 1 && !isConfig(x);
// the other stream's video configuration: avc1.f4000d (High 4:4:4), 322x182
const OTHER_VIDEO = { type: 9, timestamp: 0, body: new Uint8Array([0x17, 0, 0, 0, 0, ...avcRecordWith(SPS_444)]) };
const hello = (extra) => ({ type: 'hello', version: 1, app: 'live', stream: 'demo', online: true,
  server_time: Date.now(), ...extra });

/** The fixture at dts origin `shift`, its last frame ingested now; `list` to send a part of it. */
function send(ws, { shift = 0, list = tags } = {}) {
  const base = Date.now() - LAST;
  for (const tag of list) ws.binary(mediaMessage({ ...tag, timestamp: tag.timestamp + shift }, base + tag.timestamp));
}

const appended = (p) => until(() => p.mse.pending() === 0, 1000, 'appends');

// connect (hello with `extra`), the fixture; the player starts and a frame is shown
async function playing(t, { extra = {}, url = 'ws://h/ws/live/demo?token=x', opts = { latency: 150 } } = {}) {
  installFakes(t);
  const v = new FakeVideo({ frameCallbacks: true });
  const p = new WsStreamPlayer(v, url, { reportInterval: 60000, reconnect: { min: 1, max: 1 }, ...opts });
  t.after(() => p.destroy());
  const seen = collect(p);
  seen.channels = [];
  seen.zaps = [];
  p.on('channel', (c) => seen.channels.push(c));
  p.on('zap', (z) => seen.zaps.push(z));
  await tick();
  const ws = FakeWebSocket.made[0];
  ws.open();
  ws.text(hello(extra));
  v.buffered = ranges([[0, 2.1]]);
  send(ws);
  await until(() => p.started, 1000, 'the player to start');
  await appended(p);
  v.present(v.currentTime);
  return { v, p, ws, seen };
}

test('streamUrl and parseStreamPath: the last two segments replaced, the query kept', () => {
  assert.equal(streamUrl('ws://h:8080/ws/live/demo?token=x', 'live', 'other'), 'ws://h:8080/ws/live/other?token=x');
  assert.equal(streamUrl('wss://h/a/b/ws/live/demo', 'tv', 'n x'), 'wss://h/a/b/ws/tv/n%20x');
  assert.equal(streamUrl('ws://h/live/demo/', 'x', 'y'), 'ws://h/x/y');
  assert.deepEqual(parseStreamPath('live/other'), ['live', 'other']);
  for (const bad of ['live', 'live/', '/other', 'a/b/c', '', null, 7]) assert.throws(() => parseStreamPath(bad), TypeError);
});

test('ZapMeter: from start() to the first frame at or after the new stream\'s first sample', () => {
  let now = 1000;
  const z = new ZapMeter(() => now);
  assert.equal(z.presented(5), null, 'no switch going on');
  z.start('switch');
  z.media(10);
  z.media(11);
  now = 1250;
  assert.equal(z.presented(9.9), null, 'a frame of the old stream');
  assert.deepEqual(z.presented(10, 1240), { ms: 240, via: 'switch' });
  assert.equal(z.last, 240);
  assert.equal(z.presented(10.1), null, 'once');
  z.start('reconnect');
  z.cancel();
  z.media(20);
  assert.equal(z.presented(20), null, 'cancelled');
});

test('channel: switch on the connection; config first, keyframe first, a new epoch jumped to at once, zap', async (t) => {
  const { v, p, ws, seen } = await playing(t, { extra: { switch: true }, opts: {} });
  const ms = FakeMediaSource.made[0];
  const sb = ms.buffers.find((b) => b.mime.startsWith('video/'));
  const inits = sb.data.filter((d) => String.fromCharCode(...d.subarray(4, 8)) === 'ftyp').length;
  const epoch = p.timeline.epoch, end = p.timeline.end;
  p.switchStream('live/other');
  assert.deepEqual(ws.sent.at(-1), { type: 'switch', stream: 'live/other' });
  assert.equal(FakeWebSocket.made.length, 1, 'no new connection');
  assert.equal(p.url, 'ws://h/ws/live/demo?token=x', 'the URL changes when the server answers');

  ws.text({ type: 'channel', app: 'live', stream: 'other', online: true, server_time: Date.now(), latency: 200 });
  assert.deepEqual(seen.channels, [{ app: 'live', stream: 'other', online: true }]);
  assert.equal(p.url, 'ws://h/ws/live/other?token=x');
  assert.equal(p.loader.url, p.url, 'reconnects go to the new stream');
  assert.equal(p.sharedTarget, 200, 'the channel\'s latency');
  const shift = 70000;                        // another stream: another dts origin
  ws.binary(mediaMessage(OTHER_VIDEO, Date.now()));
  send(ws, { shift, list: tags.filter((x) => x.type === 8 && isConfig(x)) });
  // a frame before the new stream's keyframe would have no decodable reference: dropped
  const first = tags.findIndex(isKey), media = tags.filter((x) => !isConfig(x));
  send(ws, { shift, list: [tags.find((x) => x.type === 9 && !isKey(x) && !isConfig(x))] });
  assert.equal(p.timeline.epoch, epoch, 'no epoch before the keyframe');
  // once the new data is buffered the playhead jumps into it, past the old tail
  v.buffered = ranges([[0, end / 1000 + 2.1]]);
  send(ws, { shift, list: media.filter((x) => x.timestamp >= tags[first].timestamp) });
  assert.notEqual(p.timeline.epoch, epoch, 'a new epoch');
  assert.equal(p.timeline.epoch.start, end, 'placed where the old stream\'s data ends');
  await appended(p);
  assert.deepEqual(sb.types, ['video/mp4; codecs="avc1.f4000d"'], 'changeType for the new configuration');
  assert.equal(sb.data.filter((d) => String.fromCharCode(...d.subarray(4, 8)) === 'ftyp').length, inits + 1,
    'one init segment, before its frames');
  await until(() => p.started, 1000, 'the jump');
  assert.ok(v.currentTime >= end / 1000, `currentTime ${v.currentTime} in the new stream (from ${end / 1000})`);
  v.present(end / 1000 - 0.5);
  assert.deepEqual(seen.zaps, [], 'a frame of the old stream is no zap');
  v.present(v.currentTime);
  assert.equal(seen.zaps.length, 1);
  assert.equal(seen.zaps[0].via, 'switch');
  assert.ok(seen.zaps[0].ms > 0 && seen.zaps[0].ms < 1000, `zap ${seen.zaps[0].ms} ms`);
  await until(() => seen.stats.length > 0, 1500, 'a stats event');
  assert.equal(seen.stats.at(-1).zap_ms, Math.round(seen.zaps[0].ms));
  assert.deepEqual(seen.errors, []);
});

test('channel: old frames in flight before the notice are played on; after it, a new epoch', async (t) => {
  const { p, ws } = await playing(t, { extra: { switch: true } });
  p.switchStream('live/other');
  const end = p.timeline.end, epoch = p.timeline.epoch;
  // the old stream's next frames, sent before the server moved this viewer: its epoch goes on
  send(ws, { shift: LAST + 33, list: tags.filter((x) => !isConfig(x)).slice(0, 6) });
  assert.equal(p.timeline.epoch, epoch);
  assert.ok(p.timeline.end > end, 'placed after what was there');
  ws.text({ type: 'channel', app: 'live', stream: 'other', online: true, server_time: Date.now() });
  assert.equal(p.discontinuity, true, 'what follows starts a new epoch, at its keyframe');
  assert.equal(p.started, false, 'the playhead waits for the new stream\'s data, then jumps');
});

test('channel: switch_failed keeps the stream playing, a non-fatal SWITCH_FAILED error', async (t) => {
  const { v, p, ws, seen } = await playing(t, { extra: { switch: true } });
  const at = v.currentTime, epoch = p.timeline.epoch;
  p.switchStream('nope/x');
  ws.text({ type: 'switch_failed', stream: 'nope/x', status: 404, reason: 'no such application' });
  assert.equal(seen.errors.length, 1);
  const e = seen.errors[0];
  assert.deepEqual([e.code, e.fatal], [ErrorCodes.SWITCH_FAILED, false]);
  assert.match(e.message, /nope\/x.*404/);
  assert.equal(p.url, 'ws://h/ws/live/demo?token=x');
  assert.equal(p.started, true);
  assert.equal(p.timeline.epoch, epoch);
  assert.equal(v.currentTime, at);
  assert.equal(p.discontinuity, false, 'the stream goes on');
  v.present(at + 0.1);
  assert.deepEqual(seen.zaps, []);
  assert.notEqual(p.state, 'error');
});

test('channel: without hello\'s switch, switchStream reconnects to the new URL (query kept) and zaps', async (t) => {
  const { v, p, ws, seen } = await playing(t);
  const end = p.timeline.end;
  p.switchStream('live/other');
  assert.ok(!ws.sent.some((m) => m.type === 'switch'), 'no switch message to a server that did not offer it');
  assert.equal(p.url, 'ws://h/ws/live/other?token=x');
  await until(() => FakeWebSocket.made.length === 2, 1000, 'a new connection');
  const ws2 = FakeWebSocket.made[1];
  assert.equal(ws2.url, 'ws://h/ws/live/other?token=x');
  ws2.open();
  ws2.text(hello({ stream: 'other' }));
  v.buffered = ranges([[0, end / 1000 + 2.1]]);
  send(ws2, { shift: 500 });                  // dts that fall inside the old mapping: still a new epoch
  assert.equal(p.timeline.epoch.start, end, 'a new epoch, not a rejoin');
  await until(() => p.started, 1000, 'the jump');
  assert.ok(v.currentTime >= end / 1000);
  v.present(v.currentTime);
  assert.equal(seen.zaps.length, 1);
  assert.equal(seen.zaps[0].via, 'reconnect');
  assert.deepEqual(seen.channels, [], 'no channel notice on this path');
  assert.equal(FakeMediaSource.made.length, 1, 'the same MediaSource and video element');
});

test('channel: a stream with no publisher yet: offline on the connection, then it plays when one comes', async (t) => {
  const { v, p, ws, seen } = await playing(t, { extra: { switch: true, renditions: [{ index: 0, name: 'demo_720p' }] } });
  assert.equal(p.renditions.length, 1);
  p.switchStream('live/later');
  ws.text({ type: 'channel', app: 'live', stream: 'later', online: false, server_time: Date.now() });
  assert.deepEqual(seen.channels, [{ app: 'live', stream: 'later', online: false }]);
  assert.equal(p.state, 'offline');
  assert.deepEqual(p.renditions, [], 'a plain stream now');
  assert.equal(p.rendition, -1);
  const end = p.timeline.end;
  ws.text({ type: 'online' });
  assert.equal(p.state, 'buffering');
  v.buffered = ranges([[0, end / 1000 + 2.1]]);
  send(ws, { shift: 90000 });
  await until(() => p.started, 1000, 'the jump');
  assert.ok(v.currentTime >= end / 1000);
  v.present(v.currentTime);
  assert.deepEqual(seen.zaps, [], 'waiting for a publisher is no zap time');
  assert.deepEqual(seen.errors, []);
});
