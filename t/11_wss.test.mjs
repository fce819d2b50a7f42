// wss:// behind `listen ... ssl` with a self-signed certificate.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { connectOnline, checkStream, isMedia, isVideoConfig, describeMsg } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';

describe('11 wss', () => {
  const env = useNginx({
    tag: 'wss',
    tools: { openssl: true },
    setup: async (e) => {
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
        '-days', '1', '-keyout', `${e.prefix}/key.pem`, '-out', `${e.prefix}/cert.pem`],
      { encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 0, `openssl failed: ${r.stderr}`);
    },
    conf: (p, prefix) => liveConf(p, {
      listen: 'ssl',
      http: `ssl_certificate ${prefix}/cert.pem; ssl_certificate_key ${prefix}/key.pem;`,
    }),
  });
  const name = streamName('tls');

  before(() => { startPublisher({ port: env.rtmpPort, name }); });

  it('wss viewer gets hello, config, keyframe-first media', async () => {
    const url = env.http('live', name, { scheme: 'wss' });
    const { viewer, hello } = await connectOnline(url, { wsOptions: { rejectUnauthorized: false } });
    assert.equal(hello.json.version, 1);
    assert.equal(viewer.ws.protocol, 'wsstream.1');
    const first = await viewer.waitFor(isMedia, { what: 'first media' });
    assert.ok(viewer.msgs.slice(1, first.i).some(isVideoConfig), 'AVC config before media');
    assert.ok(first.track === 1 && first.key, describeMsg(first));
    await sleep(3000);
    const st = checkStream(viewer.msgs, { from: 1, label: 'wss viewer' });
    assert.ok(st.video > 30 && st.audio > 30, JSON.stringify(st));
    const pong = await viewer.ping(3, 4.5);
    assert.equal(pong.json.t, 4.5);
  });
});
