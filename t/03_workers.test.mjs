// Several worker processes (listen reuseport): viewers on every worker get the
// stream published into whichever worker took the RTMP connection.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx, serverPidsByClientPort } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, connectOnline, checkStream, isMedia } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep, waitUntil } from './lib/util.mjs';
import os from 'node:os';

for (const workers of ['2', 'auto']) {
  describe(`03 workers: worker_processes ${workers}`, () => {
    const env = useNginx({
      tag: `workers${workers}`,
      tools: { ss: true },
      conf: (p) => liveConf(p, { workers, listen: 'reuseport' }),
    });
    const name = streamName('w');

    before(async () => {
      startPublisher({ port: env.rtmpPort, name });
      const { viewer } = await connectOnline(env.http('live', name));
      await viewer.close();
    });

    it('16 viewers spread over the workers all get keyframe-first media', async (t) => {
      const wp = env.nginx.workerPids();
      const expected = workers === 'auto' ? os.availableParallelism?.() ?? os.cpus().length : 2;
      assert.equal(wp.length, expected, `worker pids ${wp}`);
      if (wp.length < 2) { t.diagnostic('only one CPU: auto gives one worker; spread not checked'); }
      const viewers = [];
      for (let i = 0; i < 16; i++) viewers.push(await Viewer.connect(env.http('live', name)));
      const map = await waitUntil(() => {
        const m = serverPidsByClientPort(env.ports.http);
        return viewers.every((v) => m.has(v.ws._socket.localPort)) && m;
      }, { what: 'every viewer connection in ss -tnp' });
      const owner = viewers.map((v) => map.get(v.ws._socket.localPort));
      for (const pid of owner) assert.ok(wp.includes(pid), `connection owned by ${pid}, not a worker (${wp})`);
      const used = new Set(owner);
      t.diagnostic(`viewers per worker: ${JSON.stringify(wp.map((p) => [p, owner.filter((o) => o === p).length]))}`);
      if (wp.length >= 2) assert.ok(used.size >= 2, `all 16 viewers on one worker (${[...used]})`);

      await Promise.all(viewers.map((v) => v.waitFor(isMedia, { what: 'first media' })));
      await sleep(3000);
      viewers.forEach((v, i) => {
        const hello = v.msgs[0];
        assert.equal(hello.type, 'hello', `viewer ${i}: first message ${hello.text}`);
        assert.equal(hello.json.online, true, `viewer ${i} (worker ${owner[i]}) hello online`);
        const st = checkStream(v.msgs, { from: 1, label: `viewer ${i} on worker ${owner[i]}` });
        assert.ok(st.video > 10 && st.audio > 10 && st.keyframes >= 1,
          `viewer ${i} on worker ${owner[i]}: ${JSON.stringify(st)}`);
      });
      await Promise.all(viewers.map((v) => v.close()));
    });
  });
}
