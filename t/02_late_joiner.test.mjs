// Late joiners: viewers that connect while the publisher has been running
// for a while still get hello, configuration, keyframe first.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, connectOnline, checkStream, isMedia, isConfig, isVideoConfig, isAudioConfig, describeMsg } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';

describe('02 late joiner', () => {
  const env = useNginx({ tag: 'late', conf: (p) => liveConf(p) });
  const name = streamName('late');

  before(async () => {
    startPublisher({ port: env.rtmpPort, name });
    const { viewer } = await connectOnline(env.http('live', name));   // stream is up
    await viewer.close();
    await sleep(4000);
  });

  // Joins at different phases of the GOP.
  for (const delay of [0, 370, 820, 1290]) {
    it(`viewer joining ${4 + delay / 1000} s in gets hello, config, keyframe first`, async () => {
      await sleep(delay);
      const v = await Viewer.connect(env.http('live', name));
      const hello = await v.waitFor(() => true, { what: 'first message' });
      assert.equal(hello.type, 'hello', `first message: ${describeMsg(hello)}`);
      assert.equal(hello.json.online, true);
      assert.equal(hello.json.stream, name);
      const first = await v.waitFor(isMedia, { what: 'first media' });
      const pre = v.msgs.slice(1, first.i);
      for (const m of pre) assert.ok(isConfig(m), `non-config before first media: ${describeMsg(m)}`);
      assert.ok(pre.some(isVideoConfig), 'AVC config before first media');
      assert.ok(pre.some(isAudioConfig), 'AAC config before first media');
      assert.ok(first.track === 1 && first.key, `first media: ${describeMsg(first)}`);
      await sleep(2000);
      const st = checkStream(v.msgs, { from: 1, label: `late+${delay}` });
      assert.ok(st.video > 10 && st.audio > 10, JSON.stringify(st));
      await v.close();
    });
  }
});
