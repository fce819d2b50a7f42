// A viewer that connects before anyone publishes waits, then gets the stream.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, checkStream, isMedia, isConfig, isVideoConfig, isAudioConfig, describeMsg } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';

describe('06 viewer before publisher', () => {
  const env = useNginx({ tag: 'first', conf: (p) => liveConf(p) });

  it('hello online:false + offline, then online, config, keyframe', async () => {
    const name = streamName('early');
    const v = await Viewer.connect(env.http('live', name));
    const hello = await v.waitFor(() => true, { what: 'hello' });
    assert.equal(hello.type, 'hello', describeMsg(hello));
    assert.equal(hello.json.online, false);
    assert.equal(hello.json.stream, name);
    assert.equal(hello.json.app, 'live');
    const off = await v.waitFor((m) => m.kind === 'text' && m.type === 'offline', { what: 'offline notice' });
    for (const m of v.msgs.slice(1, off.i)) assert.fail(`unexpected message before offline: ${describeMsg(m)}`);
    await sleep(1500);
    assert.equal(v.closeInfo, null);
    assert.equal(v.msgs.length, 2, `messages while offline: ${v.msgs.map(describeMsg).join('; ')}`);

    startPublisher({ port: env.rtmpPort, name });
    const on = await v.waitFor((m) => m.kind === 'text' && m.type === 'online', { what: 'online notice', timeout: 20000 });
    const first = await v.waitFor(isMedia, { from: on.i + 1, what: 'first media' });
    const between = v.msgs.slice(on.i + 1, first.i);
    for (const m of between) assert.ok(isConfig(m), `non-config before media: ${describeMsg(m)}`);
    assert.ok(between.some(isVideoConfig), 'AVC config');
    assert.ok(between.some(isAudioConfig), 'AAC config');
    assert.ok(first.track === 1 && first.key, describeMsg(first));
    await sleep(2000);
    const st = checkStream(v.msgs, { from: on.i, label: 'viewer' });
    assert.ok(st.video > 10 && st.audio > 10, JSON.stringify(st));
    const pong = await v.ping(1, 2);
    assert.equal(pong.json.t, 2);
  });
});
