// Self-test of the harness with Debian's nginx + ngx_rtmp_module only (no
// ws_stream module): start, ports, workers, ffmpeg publishing, reload, teardown.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx, serverPidsByClientPort } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { rawRequest } from './lib/rawws.mjs';
import { sleep, waitUntil } from './lib/util.mjs';
import net from 'node:net';

describe('harness (rtmp module only)', () => {
  const env = useNginx({
    tag: 'harness',
    tools: { module: false, ss: true },
    conf: (p) => ({
      workers: 2,
      loadModule: false,
      rtmp: `server { listen 127.0.0.1:${p.rtmp}; application live { live on; } }`,
      http: `server { listen 127.0.0.1:${p.http} reuseport; location / { return 200 "ok\\n"; } }`,
    }),
  });

  it('serves http on its port and runs 2 workers', async () => {
    const r = await rawRequest(env.ports.http, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200);
    assert.equal(env.nginx.workerPids().length, 2);
  });

  it('ss maps client ports to worker pids', async () => {
    const socks = [];
    for (let i = 0; i < 8; i++) {
      socks.push(await new Promise((res, rej) => {
        const s = net.connect(env.ports.http, '127.0.0.1', () => res(s)); s.on('error', rej);
      }));
    }
    try {
      const workers = new Set(env.nginx.workerPids());
      const map = await waitUntil(() => {
        const m = serverPidsByClientPort(env.ports.http);
        return socks.every((s) => m.has(s.localPort)) && m;
      }, { what: 'ss entries' });
      for (const s of socks) assert.ok(workers.has(map.get(s.localPort)));
    } finally { for (const s of socks) s.destroy(); }
  });

  it('ffmpeg publishes to plain nginx-rtmp and stops cleanly', async () => {
    const pub = startPublisher({ port: env.ports.rtmp, name: 'h' });
    await sleep(3000);
    assert.ok(pub.running, `ffmpeg exited: ${pub.stderr}`);
    const r = await pub.stop();
    assert.ok(r.code === 0 || r.code === 255 || r.signal === 'SIGINT', `ffmpeg exit ${JSON.stringify(r)} ${pub.stderr}`);
  });

  it('reload starts new workers', async () => {
    const { newWorkers } = await env.nginx.reload({ expectWorkers: 2 });
    assert.equal(newWorkers.length, 2);
    const r = await rawRequest(env.ports.http, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200);
  });
});
