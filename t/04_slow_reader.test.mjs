// A viewer that stops reading is jumped ahead (skipped notice, then a
// keyframe) without disturbing a viewer that keeps up.
import { describe, it } from 'node:test';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { connectOnline } from './lib/ws.mjs';
import { slowCase } from './lib/slow.mjs';
import { liveConf, streamName } from './lib/common.mjs';

describe('04 slow reader', () => {
  const env = useNginx({
    tag: 'slow',
    conf: (p) => liveConf(p, { app: 'ws_stream_buffer 512k;', listen: 'sndbuf=16k', loc: 'ws_stream_send_timeout 60s;' }),
  });

  // Constant bit rate so 512k of ring is well under a second of stream.
  // GOP inside the ring (3 Mbit/s, 0.5 s GOP ~ 190 KB < 512k), and GOP larger
  // than the ring (6 Mbit/s, 1 s GOP ~ 750 KB > 512k): in both the notice must
  // say how many frames the jump skipped.
  for (const [label, pubOpts] of [
    ['GOP smaller than the ring', { bitrate: '3M', cbr: true, gop: 15 }],
    ['GOP larger than the ring', { bitrate: '6M', cbr: true, gop: 30 }],
  ]) {
    it(`${label}: slow viewer gets skipped + keyframe; fast viewer continuous`, async (t) => {
      const name = streamName('slow');
      const pub = startPublisher({ port: env.rtmpPort, name, ...pubOpts });
      const { viewer: probe } = await connectOnline(env.http('live', name));
      await probe.close();
      await slowCase(env, t, name);
      await pub.stop();
    });
  }
});
