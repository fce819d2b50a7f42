// ws_stream_latency: every viewer of the location is told the shared
// latency target in hello; a location without it sends none.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { connectOnline } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';

describe('66 shared latency target (ws_stream_latency)', () => {
  const env = useNginx({
    tag: 'latency',
    conf: (p) => liveConf(p, { server: 'location /sync/ { ws_stream; ws_stream_latency 400ms; }' }),
  });
  const name = streamName('lat');

  before(() => { startPublisher({ port: env.rtmpPort, name, size: '160x90', bitrate: '100k' }); });

  it('hello carries the location\'s target, and none where it is not set', async () => {
    const { viewer: a, hello: ha } = await connectOnline(env.http('live', name, { loc: 'sync' }));
    assert.equal(ha.json.latency, 400, ha.text);
    const { viewer: b, hello: hb } = await connectOnline(env.http('live', name));
    assert.equal('latency' in hb.json, false, hb.text);
    await a.close();
    await b.close();
  });
});
