// Rendition groups on the player side (docs/protocol.md, docs/player.md): a move to
// another rendition keeps the timeline (the new init segment carries the new size and
// codec, decode times go on; to or from a rendition without B-frames the presentation
// goes on), with no changeType, before the MediaSource is open; the rendition notice's
// event, switch counts, setRendition and its pin after a reconnect, and reason "skip"
// as a discontinuity. Fake WebSocket, MediaSource and video element, fed the small.flv
// fixture (a second rendition: its frames under another configuration from vectors.mjs).
import test from 'node:test';
import assert from 'node:assert/strict';
import { WsStreamPlayer } from '../ws-stream-player.js';
import { Renditions } from '../renditions.js';
import { concat } from '../mp4-boxes.js';
import { smallFlvTags, mediaMessage } from './flv-file.mjs';
import { FakeVideo, FakeWebSocket, FakeMediaSource, installFakes, ranges, tick, until, collect } from './fakes.mjs';
import { avcRecordWith, SPS_444 } from './vectors.mjs';
import { parseMp4 } from './mp4-check.mjs';

const tags = smallFlvTags().filter((x) => x.type === 8 || x.type === 9);
const configTags = tags.filter((x) => x.body[1] === 0);
const SWITCH = tags.findIndex((x) => x.type === 9 && x.body[0] >> 4 === 1 && x.body[1] === 1 && x.timestamp === 1000);
// another rendition's video configuration: avc1.f4000d (High 4:4:4), 322x182
const OTHER_CONFIG = { type: 9, timestamp: 1000, body: new Uint8Array([0x17, 0, 0, 0, 0, ...avcRecordWith(SPS_444)]) };

const RENDITIONS = [
  { index: 0, name: 'demo_720p', online: true, bitrate: 2400000, width: 1280, height: 720 },
  { index: 1, name: 'demo_360p', online: true, bitrate: 900000, width: 640, height: 360 },
  { index: 2, name: 'demo_180p', online: false, bitrate: 0, width: 0, height: 0 },
];
const hello = (extra) => ({ type: 'hello', version: 1, app: 'live', stream: 'demo', online: true,
  server_time: Date.now(), ...extra });
const groupHello = (renditions = RENDITIONS) => hello({ renditions, auto: true });
const notice = (index, from, reason, extra) => ({ type: 'rendition', index, from, reason, auto: true, ...extra });

let base;   // server ms: the frames before the switch were ingested just before startPlayer
const send = (ws, list, shift = 0) => {
  for (const tag of list) ws.binary(mediaMessage({ ...tag, timestamp: tag.timestamp + shift }, base + tag.timestamp + shift));
};

async function startPlayer(t, { opts, first = groupHello() } = {}) {
  installFakes(t);
  base = Date.now() - tags[SWITCH - 1].timestamp;
  const v = new FakeVideo();
  const p = new WsStreamPlayer(v, 'ws://h/ws/live/demo', { latency: 150, reconnect: { min: 1, max: 1 }, ...opts });
  t.after(() => p.destroy());
  const seen = collect(p);
  seen.renditions = [];
  p.on('rendition', (e) => seen.renditions.push(e));
  await tick();
  const ws = FakeWebSocket.made[0];
  ws.open();
  if (first) ws.text(first);
  return { v, p, ws, seen };
}

// rendition 0 from the start up to the keyframe at 1 s; the player opens MSE and starts
async function playFirstPart(t, opts) {
  const r = await startPlayer(t, opts);
  r.ws.text(notice(0, -1, 'start', { name: 'demo_720p', bitrate: 2400000, width: 320, height: 180 }));
  r.v.buffered = ranges([[0, 1.1]]);
  send(r.ws, tags.slice(0, SWITCH));
  await until(() => r.p.started, 1000, 'the player to start');
  await appended(r.p);
  return r;
}

// every append queued so far is done
const appended = (p) => until(() => p.mse.pending() === 0, 1000, 'appends');

const isInit = (d) => String.fromCharCode(...d.subarray(4, 8)) === 'ftyp';

/**
 * The video SourceBuffer's appends, one entry per init segment: {codec, width, height, frames,
 * segments: [{tfdt, end, sync, count}] (90 kHz), samples: [{dts, pts, sync}] (ms)}.
 */
function videoAppends(sb) {
  const groups = [];
  for (const d of sb.data) if (isInit(d)) groups.push([d]); else groups.at(-1).push(d);
  return groups.map((g) => {
    const { file, info, samples } = parseMp4(concat(g));
    const tr = info.tracks[0];
    let k = 0;
    const segments = file.moofs.map((m) => {
      const traf = m.trafs[0];
      const tfdt = traf.tfdt.baseMediaDecodeTime;
      const n = traf.truns[0].sample_count;
      const sync = samples[k].is_sync;
      k += n;
      return { tfdt, end: tfdt + traf.truns[0].sample_duration.reduce((a, b) => a + b, 0), sync, count: n };
    });
    return { codec: tr.codec, width: tr.video.width, height: tr.video.height, frames: samples.length, segments,
      samples: samples.map((x) => ({ dts: x.dts / 90, pts: x.cts / 90, sync: x.is_sync })) };
  });
}

// the decode times of the video segments follow each other (within the remuxer's jitter bound, 2 ms)
function assertContinuous(segments) {
  for (let i = 1; i < segments.length; i++) {
    const gap = segments[i].tfdt - segments[i - 1].end;
    assert.ok(Math.abs(gap) <= 2 * 90, `segment ${i}: tfdt ${segments[i].tfdt}, previous ends ${segments[i - 1].end}`);
  }
}

test('rendition switch: new init segment with the new size and codec, decode times go on, no seek', async (t) => {
  const { v, p, ws, seen } = await playFirstPart(t);
  const epoch = p.timeline.epoch, at = v.currentTime;
  const ms = FakeMediaSource.made[0];
  const sb = ms.buffers.find((b) => b.mime.startsWith('video/'));
  const audio = ms.buffers.find((b) => b.mime.startsWith('audio/'));
  const audioInits = audio.data.filter(isInit).length;

  ws.text(notice(1, 0, 'backlog', { name: 'demo_360p', bitrate: 900000, width: 322, height: 182 }));
  assert.equal(p.discontinuity, false, 'a rendition notice is no discontinuity');
  ws.binary(mediaMessage(OTHER_CONFIG, base + 1000));
  ws.binary(mediaMessage({ ...configTags.find((x) => x.type === 8), timestamp: 1000 }, base + 1000));   // same audio config
  send(ws, tags.slice(SWITCH));
  await appended(p);

  const [before, after, more] = videoAppends(sb);
  assert.equal(more, undefined, 'one init segment at the switch');
  assert.deepEqual([before.codec, before.width, before.height], ['avc1.64000d', 320, 180]);
  assert.deepEqual([after.codec, after.width, after.height], ['avc1.f4000d', 322, 182]);
  assert.deepEqual(sb.types, ['video/mp4; codecs="avc1.f4000d"'], 'changeType before the new init segment');
  assert.equal(after.segments[0].tfdt, 1000 * 90, 'the first frame after the switch at its dts');
  assert.ok(after.segments[0].sync, 'starts at a keyframe');
  assertContinuous([...before.segments, ...after.segments]);
  assert.deepEqual([before.frames, after.frames], [30, 30], 'every video frame appended');
  assert.equal(audio.data.filter(isInit).length, audioInits, 'the same audio configuration: no new audio init segment');
  assert.equal(FakeMediaSource.made.length, 1, 'no new MediaSource');
  assert.equal(p.timeline.epoch, epoch, 'the same epoch');
  assert.equal(v.currentTime, at, 'no seek');
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.renditions.at(-1), { index: 1, from: 0, reason: 'backlog', auto: true, name: 'demo_360p',
    bitrate: 900000, width: 322, height: 182 });
  assert.deepEqual(p.renditions[1], { index: 1, name: 'demo_360p', online: true, bitrate: 900000, width: 322, height: 182 });
  assert.equal(p.rendition, 1);
});

// the fixture as a rendition without B-frames: every composition offset 0 (the pictures are the fakes' concern)
const noBFrames = (list) => list.map((x) => (x.type !== 9 || x.body[1] !== 1 ? x
  : { ...x, body: Uint8Array.of(...x.body.subarray(0, 2), 0, 0, 0, ...x.body.subarray(5)) }));
const SWITCH2 = tags.findIndex((x) => x.type === 9 && x.body[0] >> 4 === 1 && x.body[1] === 1 && x.timestamp === 1500);

test('rendition switch to and from one without B-frames: the presentation goes on, not the decode time', async (t) => {
  const { p, ws, seen } = await playFirstPart(t);
  const sb = FakeMediaSource.made[0].buffers.find((b) => b.mime.startsWith('video/'));
  // the fixture's keyframes have a composition offset of 67 ms: its pictures at 1.067, 1.567 s
  ws.text(notice(1, 0, 'backlog'));
  ws.binary(mediaMessage(OTHER_CONFIG, base + 1000));
  send(ws, noBFrames(tags.slice(SWITCH, SWITCH2)));
  ws.text(notice(0, 1, 'up'));
  ws.binary(mediaMessage(configTags.find((x) => x.type === 9), base + 1500));
  send(ws, tags.slice(SWITCH2));
  await appended(p);
  const frames = videoAppends(sb).flatMap((g) => g.samples);
  const first = frames.findIndex((f) => f.dts >= 1000 && f.sync), back = frames.findIndex((f) => f.dts >= 1500 && f.sync);
  assert.equal(frames[first].pts, 1067, 'no B-frames: the keyframe where the one with B-frames would be shown');
  assert.equal(frames[first].dts, 1067, '... its decode time 67 ms later');
  assert.equal(frames[back].pts, 1567, 'and back: the pictures go on');
  assert.equal(frames[back].dts, 1500);
  // presentation: every picture a frame (33 ms, the fixture rounds to 1 ms) after the one before, none twice, no gap
  const pts = frames.map((f) => f.pts).sort((x, y) => x - y);
  for (let i = 1; i < pts.length; i++) {
    assert.ok(pts[i] - pts[i - 1] >= 32 && pts[i] - pts[i - 1] <= 35, `pts ${pts[i - 1]} -> ${pts[i]}`);
  }
  assert.equal(frames.length, 60);
  assert.deepEqual(seen.errors, []);
});

test('rendition switch without changeType: a new MediaSource, the timeline goes on', async (t) => {
  const { p, ws, seen } = await playFirstPart(t);
  const end = p.timeline.end;
  FakeMediaSource.changeType = false;   // the next SourceBuffers have none; the first one loses it too
  FakeMediaSource.made[0].buffers.forEach((b) => { b.changeType = undefined; });
  ws.text(notice(1, 0, 'backlog'));
  ws.binary(mediaMessage(OTHER_CONFIG, base + 1000));
  send(ws, tags.slice(SWITCH));
  await until(() => FakeMediaSource.made.length === 2 && FakeMediaSource.made[1].buffers.length, 1000, 'a new MediaSource');
  const ms = FakeMediaSource.made[1];
  await appended(p);
  const [after] = videoAppends(ms.buffers.find((b) => b.mime.startsWith('video/')));
  assert.deepEqual([after.codec, after.width, after.height], ['avc1.f4000d', 322, 182]);
  assert.ok(after.segments[0].sync);
  // a new epoch where the data ended (the audio, 19 ms after the keyframe at 1 s)
  assert.equal(after.segments[0].tfdt, Math.round(end * 90));
  assert.ok(end >= 1000 && end < 1033, `end ${end}`);
  assertContinuous(after.segments);
  assert.deepEqual(seen.errors, []);
});

test('rendition switch before MediaSource opened: the queued frames of the old configuration are dropped', async (t) => {
  const { ws, p } = await startPlayer(t);
  ws.text(notice(0, -1, 'start'));
  send(ws, tags.slice(0, SWITCH));
  ws.text(notice(1, 0, 'emergency'));
  ws.binary(mediaMessage(OTHER_CONFIG, base + 1000));
  send(ws, tags.slice(SWITCH));
  await until(() => p.phase === 'ready', 1000, 'MSE open');
  await appended(p);
  const sb = FakeMediaSource.made[0].buffers.find((b) => b.mime.startsWith('video/'));
  assert.equal(sb.mime, 'video/mp4; codecs="avc1.f4000d"');
  const groups = videoAppends(sb);
  assert.equal(groups.length, 1);
  assert.deepEqual([groups[0].width, groups[0].height], [322, 182]);
  assert.equal(groups[0].segments[0].tfdt, 1000 * 90);
  assert.ok(groups[0].segments[0].sync);
  assert.equal(groups[0].frames, 30, 'the frames from the keyframe at 1 s');
  assert.equal(p.discontinuity, false);
});

test('rendition notices: event fields, renditions updated, switch counts up and down, no discontinuity', async (t) => {
  const { p, ws, seen } = await playFirstPart(t, { opts: { statsInterval: 20 } });
  assert.equal(p.auto, true);
  const steps = [
    [1, 0, 'backlog'], [2, 1, 'stall', { bitrate: 300000, width: 320, height: 180 }], [1, 2, 'up'], [1, 1, 'auto'],
    [0, 1, 'probe_failed'], [2, 0, 'some_future_reason', { auto: false, name: 'demo_180p', bitrate: 0, width: 0, height: 0 }],
  ];
  for (const [index, from, reason, extra] of steps) {
    ws.text(notice(index, from, reason, extra));
    assert.equal(p.discontinuity, false, reason);
    assert.equal(p.rendition, index);
  }
  assert.equal(seen.renditions.length, 1 + steps.length);
  assert.deepEqual(seen.renditions[0], { index: 0, from: -1, reason: 'start', auto: true, name: 'demo_720p',
    bitrate: 2400000, width: 320, height: 180 });
  assert.deepEqual(seen.renditions[2], { index: 2, from: 1, reason: 'stall', auto: true, name: 'demo_180p',
    bitrate: 300000, width: 320, height: 180 });
  assert.deepEqual(seen.renditions.at(-1), { index: 2, from: 0, reason: 'some_future_reason', auto: false,
    name: 'demo_180p', bitrate: 0, width: 0, height: 0 });
  assert.deepEqual(seen.renditions[3], { index: 1, from: 2, reason: 'up', auto: true, name: 'demo_360p',
    bitrate: 900000, width: 640, height: 360 }, 'what the notice lacks, from hello');
  assert.equal(p.auto, false);
  // 0 (not known) does not replace what was known
  assert.deepEqual(p.renditions[2], { index: 2, name: 'demo_180p', online: false, bitrate: 300000, width: 320, height: 180 });
  // malformed notices are ignored
  ws.text({ type: 'rendition', index: 'x' });
  ws.text({ type: 'rendition', index: -1 });
  assert.equal(seen.renditions.length, 1 + steps.length);
  await until(() => seen.stats.length > 0 && seen.stats.at(-1).rendition === 2, 1000, 'stats');
  assert.deepEqual(seen.stats.at(-1).switches, { up: 2, down: 3 });
  assert.deepEqual(seen.errors, []);
});

test('a plain stream: no renditions, rendition -1, setRendition is a no-op', async (t) => {
  const { p, ws } = await startPlayer(t, { first: null });
  p.setRendition(0);   // before hello: nothing known, nothing sent
  ws.text(hello());
  assert.deepEqual(p.renditions, []);
  assert.equal(p.rendition, -1);
  assert.equal(p.auto, false);
  p.setRendition(0);
  p.setRendition(-1);
  assert.throws(() => p.setRendition(0.5), RangeError);
  assert.deepEqual(ws.sent.filter((m) => m.type === 'rendition'), []);
  assert.equal(p._measure().rendition, -1);
  assert.deepEqual(p._measure().switches, { up: 0, down: 0 });
});

test('setRendition: sends the pin or automatic, validates the index', async (t) => {
  const { p, ws } = await startPlayer(t);
  ws.text(notice(0, -1, 'start'));
  p.setRendition(2);
  p.setRendition(-1);
  p.setRendition(0);
  for (const bad of [3, -2, 1.5, NaN, '1', null]) assert.throws(() => p.setRendition(bad), RangeError, String(bad));
  assert.deepEqual(ws.sent.filter((m) => m.type === 'rendition'),
    [{ type: 'rendition', index: 2 }, { type: 'rendition', index: -1 }, { type: 'rendition', index: 0 }]);
  assert.equal(p.auto, true, 'auto is the server\'s word: unchanged until its notice');
  ws.text(notice(0, 0, 'pin', { auto: false }));
  assert.equal(p.auto, false);
});

test('a pin is sent again after hello on a reconnect', async (t) => {
  const { p, ws } = await startPlayer(t);
  ws.text(notice(0, -1, 'start'));
  p.setRendition(2);
  ws.text(notice(2, 0, 'pin', { auto: false }));
  ws.drop();
  await until(() => FakeWebSocket.made.length === 2, 1000, 'a reconnect');
  const ws2 = FakeWebSocket.made[1];
  ws2.open();
  assert.deepEqual(ws2.sent.filter((m) => m.type === 'rendition'), [], 'not before hello');
  ws2.text(groupHello());
  assert.deepEqual(ws2.sent.filter((m) => m.type === 'rendition'), [{ type: 'rendition', index: 2 }]);
  assert.equal(p.rendition, -1, 'nothing known of the new connection yet');
  ws2.text(notice(0, -1, 'start'));         // before the server read the pin
  ws2.text(notice(2, 0, 'pin', { auto: false }));

  // pinned while the connection is down: sent once the next one has said hello
  ws2.drop();
  p.setRendition(1);
  await until(() => FakeWebSocket.made.length === 3, 1000, 'a reconnect');
  const ws3 = FakeWebSocket.made[2];
  ws3.open();
  p.setRendition(1);                        // open, no hello yet: this server may not know the message
  assert.deepEqual(ws3.sent.filter((m) => m.type === 'rendition'), []);
  ws3.text(groupHello());
  assert.deepEqual(ws3.sent.filter((m) => m.type === 'rendition'), [{ type: 'rendition', index: 1 }]);

  // back to automatic: nothing to send after the next reconnect
  p.setRendition(-1);
  ws3.drop();
  await until(() => FakeWebSocket.made.length === 4, 1000, 'a reconnect');
  const ws4 = FakeWebSocket.made[3];
  ws4.open();
  ws4.text(groupHello());
  assert.deepEqual(ws4.sent.filter((m) => m.type === 'rendition'), []);
});

test('pin dropped: when the rendition is gone from the group, or the server let go of it', () => {
  const r = new Renditions();
  assert.equal(r.hello({ renditions: RENDITIONS, auto: true }), null);
  r.request(2);
  assert.equal(r.hello({ renditions: RENDITIONS.slice(0, 2) }), null, 'rendition 2 no longer exists');
  assert.equal(r.pin, -1);
  r.request(1);
  r.notice({ index: 0, from: 1, reason: 'backlog', auto: true });   // an automatic move sent before the pin arrived
  assert.equal(r.pin, 1);
  r.notice({ index: 1, from: 0, reason: 'pin', auto: false });
  assert.equal(r.hello({ renditions: RENDITIONS }), 1, 'a confirmed pin is re-sent');
  r.notice({ index: 1, from: -1, reason: 'start', auto: true });
  r.notice({ index: 1, from: 1, reason: 'pin', auto: false });
  r.notice({ index: 0, from: 1, reason: 'gone', auto: true });      // the server returned the viewer to automatic
  assert.equal(r.pin, -1);
  assert.equal(r.hello({ renditions: RENDITIONS }), null);
  assert.equal(r.hello({ renditions: 'bad' }), null);
  assert.deepEqual(r.list, []);
});

for (const [what, n] of [['reason "skip"', notice(2, 0, 'skip')], ['"continuous": false', notice(2, 0, 'stall', { continuous: false })]]) {
  test(`rendition ${what} is a discontinuity: a new epoch where the data ends`, async (t) => {
    await skipTest(t, n);
  });
}

test('the first rendition notice of a reconnect ("continuous": false) keeps the rejoin to the same stream', async (t) => {
  const { p, ws } = await playFirstPart(t);
  ws.drop();
  await until(() => FakeWebSocket.made.length === 2, 1000, 'a reconnect');
  const ws2 = FakeWebSocket.made[1];
  ws2.open();
  ws2.text(groupHello());
  ws2.text(notice(0, -1, 'start', { continuous: false }));
  assert.equal(p.rejoin, true);
  assert.equal(p.discontinuity, true);
});

async function skipTest(t, n) {
  const { p, ws, seen } = await playFirstPart(t);
  const epoch = p.timeline.epoch, end = p.timeline.end;
  const sb = FakeMediaSource.made[0].buffers.find((b) => b.mime.startsWith('video/'));
  ws.text(n);
  assert.equal(p.discontinuity, true);
  assert.equal(p.rendition, 2);
  // the server jumped this viewer ahead: its dts go on 5 s later
  ws.binary(mediaMessage({ ...OTHER_CONFIG, timestamp: 6000 }, base + 6000));
  send(ws, tags.slice(SWITCH), 5000);
  await appended(p);
  const [, after] = videoAppends(sb);
  assert.notEqual(p.timeline.epoch, epoch, 'a new epoch');
  assert.equal(after.segments[0].tfdt, Math.round(end * 90), 'placed where the data ended, not 5 s later');
  assertContinuous(after.segments);
  assert.deepEqual([after.width, after.height], [322, 182]);
  assert.equal(seen.renditions.at(-1).reason, n.reason);
  assert.deepEqual(seen.errors, []);
}
