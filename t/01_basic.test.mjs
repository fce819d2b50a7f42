// Basic viewing: hello, codec configuration, keyframe first, monotonic dts,
// audio + video, ingest stamps sane, ping/pong.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { connectOnline, checkStream, isMedia, isConfig, isVideoConfig, isAudioConfig, describeMsg } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';

describe('01 basic', () => {
  const env = useNginx({ tag: 'basic', conf: (p) => liveConf(p) });
  const name = streamName('basic');
  let viewer, hello;

  before(async () => {
    startPublisher({ port: env.rtmpPort, name });
    ({ viewer, hello } = await connectOnline(env.http('live', name)));
  });

  it('hello is the first message and describes the stream', () => {
    assert.equal(viewer.msgs[0], hello);
    assert.equal(hello.type, 'hello');
    assert.equal(hello.json.version, 1);
    assert.equal(hello.json.app, 'live');
    assert.equal(hello.json.stream, name);
    assert.equal(hello.json.online, true);
    assert.equal(typeof hello.json.server_time, 'number');
    assert.ok(Math.abs(hello.json.server_time - Date.now()) < 60000, `server_time ${hello.json.server_time}`);
    assert.equal(viewer.ws.protocol, 'wsstream.1');
  });

  it('codec configuration precedes media, then a video keyframe', async () => {
    const first = await viewer.waitFor(isMedia, { what: 'first media message' });
    const before = viewer.msgs.slice(1, first.i);
    assert.ok(before.some(isVideoConfig), `no AVC sequence header before first media: ${before.map(describeMsg).join('; ')}`);
    assert.ok(before.some(isAudioConfig), `no AAC sequence header before first media: ${before.map(describeMsg).join('; ')}`);
    for (const m of before) assert.ok(isConfig(m), `unexpected message before first media: ${describeMsg(m)}`);
    assert.equal(first.track, 1, `first media is not video: ${describeMsg(first)}`);
    assert.equal(first.key, true, `first media is not a keyframe: ${describeMsg(first)}`);
    assert.equal(first.payload[0], 0x17);
    assert.equal(first.payload[1], 1, 'AVC NALU packet');
  });

  it('about 5 s of media: audio + video, dts monotonic, ingest sane', async () => {
    await sleep(5000);
    const st = checkStream(viewer.msgs, { from: 1, label: 'viewer' });
    assert.ok(st.video > 30, `only ${st.video} video messages`);
    assert.ok(st.audio > 30, `only ${st.audio} audio messages`);
    assert.ok(st.keyframes >= 2, `only ${st.keyframes} keyframes (gop 30 at 30 fps)`);
    const now = Date.now();
    for (const m of viewer.media(1)) {
      assert.ok(Math.abs(m.ingest - now) < 60000, `ingest ${m.ingest} far from now ${now}`);
      assert.ok(m.ingest <= m.at + 5000, `ingest ${m.ingest} after receipt ${m.at}`);
    }
    assert.ok(!viewer.msgs.some((m) => m.kind === 'text' && (m.type === 'offline' || m.type === 'skipped')),
      'unexpected offline/skipped notice');
  });

  it('ping is answered by pong echoing id and t, with server_time', async () => {
    const pong = await viewer.ping(7, 5123.25);
    assert.equal(pong.json.id, 7);
    assert.equal(pong.json.t, 5123.25);
    assert.equal(typeof pong.json.server_time, 'number');
    assert.ok(Math.abs(pong.json.server_time - Date.now()) < 60000);
    const big = await viewer.ping(2 ** 53, -1.5e9);
    assert.equal(big.json.id, 2 ** 53);
    assert.equal(big.json.t, -1.5e9);
    assert.equal(viewer.closeInfo, null);
  });
});
