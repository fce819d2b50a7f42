// A worker killed with SIGKILL: the viewers of a stream whose publisher it
// held are told offline and keep their connection; the stream comes back
// with a new publisher; the dead worker's viewer counts do not pin the
// zone (streams=2: both slots are usable again afterwards).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx, serverPidsByClientPort, badLines } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, connectOnline, checkStream, isMedia, describeMsg } from './lib/ws.mjs';
import { streamName } from './lib/common.mjs';
import { sleep, waitUntil } from './lib/util.mjs';

const isType = (t) => (m) => m.kind === 'text' && m.type === t;

describe('13 worker killed', () => {
  const env = useNginx({
    tag: 'kill',
    tools: { ss: true },
    conf: (p) => ({
      workers: 2,
      rtmp: `    server {
        listen 127.0.0.1:${p.rtmp};
        application live { live on; ws_stream live; ws_stream_grace 30s; }
    }`,
      http: `    ws_stream_zone zone=live:32m streams=2;
    server { listen 127.0.0.1:${p.http} reuseport; location /ws/ { ws_stream; } }`,
    }),
  });

  it('publisher worker killed: viewers told offline, stream resumes with a new publisher', async (t) => {
    const name = streamName('k');
    const pub = startPublisher({ port: env.rtmpPort, name });
    const viewers = [];
    const connect = async () => {
      const { viewer } = await connectOnline(env.http('live', name));
      await viewer.waitFor(isMedia, { what: 'media' });
      viewers.push(viewer);
    };
    for (let i = 0; i < 6; i++) await connect();

    // the worker that holds the RTMP connection
    const rtmpOwner = serverPidsByClientPort(env.rtmpPort);
    const pids = [...new Set(rtmpOwner.values())];
    assert.equal(pids.length, 1, `publisher owner: ${JSON.stringify([...rtmpOwner])}`);
    const victim = pids[0];
    // reuseport spreads connections by their ports: six can all land on
    // the victim (1 in 64); more are connected until one is elsewhere
    const elsewhere = () => {
      const wsOwner = serverPidsByClientPort(env.ports.http);
      return viewers.filter((v) => wsOwner.get(v.ws._socket.localPort) !== victim);
    };
    while (elsewhere().length === 0 && viewers.length < 40) await connect();
    const survivors = elsewhere();
    t.diagnostic(`killing worker ${victim}; ${survivors.length} of ${viewers.length} viewers on other workers`);
    assert.ok(survivors.length > 0,
      `all ${viewers.length} viewers landed on the publisher worker; cannot check`);

    env.nginx.newLog();
    process.kill(victim, 'SIGKILL');
    // the master's [alert] about the killed worker is expected: take it
    // out of the teardown check, and nothing else
    await waitUntil(() => env.nginx.log().includes(`${victim} exited on signal 9`),
      { what: 'master noticed the killed worker' });
    const bad = badLines(env.nginx.newLog()).filter((l) => !l.includes(`${victim} exited on signal 9`));
    assert.deepEqual(bad, []);
    for (const v of survivors) {
      await v.waitFor(isType('offline'), { what: 'offline after the publisher worker died' });
    }
    await pub.exited;
    await waitUntil(() => !env.nginx.workerPids().includes(victim), { what: 'worker gone' });
    await waitUntil(() => env.nginx.workerPids().length === 2, { what: 'worker respawned' });

    const pub2 = startPublisher({ port: env.rtmpPort, name });
    for (const v of survivors) {
      const on = await v.waitFor(isType('online'), { what: 'online after a new publisher', timeout: 20000 });
      const f = await v.waitFor(isMedia, { from: on.i + 1, what: 'media after online' });
      assert.ok(f.track === 1 && f.key, describeMsg(f));
      assert.equal(v.closeInfo, null);
    }
    await sleep(1500);
    for (const v of survivors) checkStream(v.msgs, { from: 1, label: 'survivor' });

    // streams=2: one slot is this stream; the other must be free although
    // the dead worker had viewers and a publisher.
    const other = streamName('k2');
    startPublisher({ port: env.rtmpPort, name: other });
    const { viewer } = await connectOnline(env.http('live', other));
    const f = await viewer.waitFor(isMedia, { what: 'media of a second stream' });
    assert.ok(f.track === 1 && f.key, describeMsg(f));
    await pub2.stop();
  });
});
