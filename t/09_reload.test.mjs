// nginx -s reload (SIGHUP) while a stream is published and viewed.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, connectOnline, checkStream, isMedia, describeMsg } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';

describe('09 reload mid-stream', () => {
  const env = useNginx({ tag: 'reload', conf: (p) => liveConf(p) });
  const name = streamName('rl');
  let pub, A;

  before(async () => {
    pub = startPublisher({ port: env.rtmpPort, name });
    ({ viewer: A } = await connectOnline(env.http('live', name)));
    await A.waitFor(isMedia, { what: 'A media' });
    await sleep(1000);
  });

  it('reload: publisher keeps going, new viewer gets keyframe-first media, A continues or gets 1001', async (t) => {
    const beforeReload = A.msgs.length;
    const { oldWorkers, newWorkers } = await env.nginx.reload();
    t.diagnostic(`old workers ${oldWorkers}, new ${newWorkers}`);
    await sleep(3000);
    assert.ok(pub.running, `ffmpeg exited after reload: ${pub.stderr}`);

    const B = await Viewer.connect(env.http('live', name));
    const hb = await B.waitFor(() => true, { what: 'B hello' });
    assert.equal(hb.type, 'hello');
    assert.equal(hb.json.online, true, `viewer after reload: ${hb.text}`);
    const fb = await B.waitFor(isMedia, { what: 'B first media' });
    assert.ok(fb.track === 1 && fb.key, describeMsg(fb));
    await sleep(2000);
    const sb = checkStream(B.msgs, { from: 1, label: 'B' });
    assert.ok(sb.video > 10 && sb.audio > 10, JSON.stringify(sb));

    if (A.closeInfo) {
      assert.equal(A.closeInfo.code, 1001, `A closed with ${A.closeInfo.code} ${A.closeInfo.reason}`);
      t.diagnostic('viewer A was closed with 1001; reconnecting');
      const { viewer: A2 } = await connectOnline(env.http('live', name));
      const f = await A2.waitFor(isMedia, { what: 'A2 media' });
      assert.ok(f.track === 1 && f.key, describeMsg(f));
    } else {
      const after = A.msgs.slice(beforeReload).filter(isMedia).length;
      t.diagnostic(`viewer A stayed open, ${after} media messages since reload`);
      assert.ok(after > 30, `A neither closed nor received media after reload (${after})`);
      checkStream(A.msgs, { from: 1, label: 'A' });
    }
    assert.ok(pub.running, `ffmpeg exited: ${pub.stderr}`);
  });

  it('a new publish after the reload is viewable', async () => {
    const name2 = streamName('rl2');
    startPublisher({ port: env.rtmpPort, name: name2 });
    const { viewer } = await connectOnline(env.http('live', name2));
    const f = await viewer.waitFor(isMedia, { what: 'media of new stream' });
    assert.ok(f.track === 1 && f.key, describeMsg(f));
    await sleep(2000);
    const st = checkStream(viewer.msgs, { from: 1, label: 'new stream' });
    assert.ok(st.video > 10 && st.audio > 10, JSON.stringify(st));
  });

  it('a second reload with everything running', async () => {
    await env.nginx.reload();
    await sleep(2000);
    assert.ok(pub.running, `ffmpeg exited after second reload: ${pub.stderr}`);
    const { viewer } = await connectOnline(env.http('live', name));
    const f = await viewer.waitFor(isMedia, { what: 'media after 2nd reload' });
    assert.ok(f.track === 1 && f.key, describeMsg(f));
  });
});
