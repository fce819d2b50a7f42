// A publish that nginx-rtmp refuses after our hook (access rules) leaves no
// trace: nothing viewable, and with streams=1 the only zone slot stays free.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, connectOnline, checkStream, isMedia } from './lib/ws.mjs';
import { streamName } from './lib/common.mjs';
import { sleep, settlesWithin } from './lib/util.mjs';

describe('12 publish refused after ws_stream', () => {
  const env = useNginx({
    tag: 'deny',
    conf: (p) => ({
      workers: 1,
      rtmp: `    server {
        listen 127.0.0.1:${p.rtmp};
        application closed { live on; ws_stream live; ws_stream_grace 0; deny publish all; }
        application live { live on; ws_stream live; }
    }`,
      http: `    ws_stream_zone zone=live:16m streams=1;
    server { listen 127.0.0.1:${p.http}; location /ws/ { ws_stream; } }`,
    }),
  });

  it('denied publishers are refused, leak nothing, and the slot serves the next stream', async (t) => {
    for (let i = 0; i < 3; i++) {
      const name = streamName('deny');
      const p = startPublisher({ port: env.rtmpPort, app: 'closed', name });
      const ended = await settlesWithin(p.exited, 10000);
      assert.ok(ended, 'ffmpeg kept publishing to an app that denies publishing');
      assert.notEqual((await p.exited).code, 0, 'ffmpeg reported success for a denied publish');
    }
    // Nothing of the denied streams is online (a viewer takes the one slot
    // while it waits, and gives it back when it leaves).
    const v = await Viewer.connect(env.http('closed', streamName('deny')));
    const hello = await v.waitFor(() => true, { what: 'hello' });
    assert.equal(hello.json.online, false, hello.text);
    await sleep(1000);
    assert.ok(!v.msgs.some(isMedia));
    await v.close();

    // streams=1: had a denied publish kept its entry, this one would fail.
    await sleep(1500);
    const name = streamName('ok');
    const pub = startPublisher({ port: env.rtmpPort, name });
    const { viewer } = await connectOnline(env.http('live', name));
    await viewer.waitFor(isMedia, { what: 'media of the allowed stream' });
    await sleep(1500);
    const st = checkStream(viewer.msgs, { from: 1, label: 'allowed stream' });
    t.diagnostic(JSON.stringify(st));
    assert.ok(st.video > 10 && st.audio > 10);
    assert.ok(pub.running);
  });
});
