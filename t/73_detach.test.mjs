// A viewer leaves nginx's HTTP request once the 101 is out
// (ngx_ws_stream_close.c): the access log line is written at the upgrade,
// the request's headers the statistics keep were copied, stub_status no
// longer counts the viewer as a request being written, the end of the
// connection is logged at info level, and viewers that go away abruptly,
// many at once, in and out of a coalescing batch, leave nothing behind
// (counts back to zero, no alert, no sanitizer report).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { connectOnline, Viewer } from './lib/ws.mjs';
import { RawWs } from './lib/rawws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { viewersPage, streamStats } from './lib/stats.mjs';
import { sleep, waitUntil } from './lib/util.mjs';

const readText = (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } };

// stub_status on a connection of its own, closed after (no keepalive
// connection of an earlier request counted): { active, reading, writing, waiting }
function stubStatus(port) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/status', agent: false,
      headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        const m = /Active connections: (\d+)[\s\S]*Reading: (\d+) Writing: (\d+) Waiting: (\d+)/.exec(text);
        if (!m) reject(new Error(`stub_status: ${text}`));
        else resolve({ active: +m[1], reading: +m[2], writing: +m[3], waiting: +m[4], text });
      });
    }).on('error', reject);
  });
}

describe('73 viewer leaves the request after the 101', () => {
  const env = useNginx({
    tag: 'detach',
    conf: (p, prefix) => liveConf(p, {
      zone: 'zone=live:64m',
      http: `log_format wsl '$status $request_time $bytes_sent "$http_user_agent" "$http_x_pad"';`,
      loc: `access_log ${prefix}/ws.log wsl; ws_stream_trusted_proxy 127.0.0.0/8;`,
      server: `location /wsc/ { ws_stream; ws_stream_coalesce 100ms; }
        location /api/ { ws_stream_api; }
        location = /status { stub_status; }`,
    }),
  });
  const name = streamName('detach');
  const wsLog = () => readText(path.join(env.prefix, 'ws.log'));

  before(async () => {
    startPublisher({ port: env.rtmpPort, name });
    const { viewer } = await connectOnline(env.http('live', name));
    await viewer.close();
  });

  it('the access log line is written at the upgrade, with status 101', async () => {
    const pad = 'p'.repeat(3000);   // past client_header_buffer_size: a large header buffer
    const ws = await RawWs.open(env.ports.http, `/ws/live/${name}`,
      { extra: `User-Agent: detach-test/1\r\nX-Forwarded-For: 198.51.100.9\r\nX-Pad: ${pad}\r\n` });
    await ws.waitFrame((f) => f.opcode === 1 && f.json?.type === 'hello', { what: 'hello' });
    await ws.waitFrame((f) => f.opcode === 2, { what: 'media' });
    // logged while the connection is open
    await waitUntil(() => wsLog().includes('"detach-test/1"'), { what: 'the access log line' });
    const line = wsLog().split('\n').find((l) => l.includes('"detach-test/1"'));
    assert.match(line, /^101 \d+\.\d{3} \d+ "detach-test\/1" "p{3000}"$/, line);
    assert.ok(!ws.ended, 'the viewer is still connected');

    // the statistics kept what they copied of the request's headers
    const page = await viewersPage(env, name);
    const rec = page.viewers.find((x) => x.user_agent === 'detach-test/1');
    assert.ok(rec, `no viewer record with the user agent: ${JSON.stringify(page.viewers)}`);
    assert.equal(rec.forwarded_for, '198.51.100.9');

    // stub_status: the viewer is a connection, not a request being written
    // (Writing counts only the status request itself)
    const st = await stubStatus(env.ports.http);
    assert.equal(st.writing, 1, st.text);
    assert.ok(st.waiting >= 1, st.text);

    ws.sock.destroy();
    // with the client's address: a plain viewer's log and address text
    // outlive the connection's pool, which it frees
    await waitUntil(() => /ws_stream: viewer closed, [1-9]\d* bytes sent in \d+ ms(?:, |\s[^\n]*, )client: 127\.0\.0\.1/
      .test(env.nginx.log()), { what: 'the "viewer closed" info line, with the client' });
    await waitUntil(async () => (await streamStats(env, name)).viewers.websocket === 0,
      { what: 'the viewer gone from the statistics' });
  });

  it('a closing handshake still ends with our close frame and lingering', async () => {
    const ws = await RawWs.open(env.ports.http, `/ws/live/${name}`);
    await ws.waitFrame((f) => f.opcode === 1 && f.json?.type === 'hello', { what: 'hello' });
    const n = ws.frames.length;
    ws.sendFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) });
    const close = await ws.waitFrame((f) => f.opcode === 8, { from: n, what: 'close frame' });
    assert.equal(close.code, 1000);
    assert.ok(await ws.waitEnd({ timeout: 5000 }), 'the server closed the TCP connection');
  });

  for (const loc of ['ws', 'wsc']) {
    it(`viewers that go away at once, many times (/${loc}/)`, async () => {
      for (let round = 0; round < 5; round++) {
        const vs = await Promise.all(Array.from({ length: 20 },
          () => Viewer.connect(env.http('live', name, { loc }))));
        await sleep(150 + 50 * round);
        // some close cleanly, most just vanish (in a batch, mid-frame, ...)
        await Promise.all(vs.map((v, i) => (i % 4 === 0 ? v.close() : v.ws.terminate())));
      }
      await waitUntil(async () => (await streamStats(env, name)).viewers.websocket === 0,
        { what: 'every viewer gone from the statistics' });
      // the connections are closed too, not only out of the statistics:
      // left are the status request and the API's keepalive connection
      await waitUntil(async () => (await stubStatus(env.ports.http)).active <= 3,
        { what: 'the viewers\' connections closed' });
    });
  }
});
