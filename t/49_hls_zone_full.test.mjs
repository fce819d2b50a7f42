// A zone too small for a stream's HLS window: the publisher keeps
// publishing, WebSocket viewers keep getting every frame, the stream's
// oldest segments leave early (said once, in a warning) and the playlist
// goes on, shorter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { connectOnline, checkStream, isMedia } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';

describe('49 HLS with a full zone', () => {
  // 6 MiB: the 4 MiB ring and the HLS index fit, two playlist windows of
  // 4 Mbit/s parts (about 20 s, 10 MB) do not
  const env = useNginx({
    tag: 'hlsfull',
    conf: (p) => liveConf(p, {
      zone: 'zone=live:6m',
      server: 'location /hls/ { ws_stream_hls; ws_stream_hls_segment 1s; }',
    }),
  });

  it('drops old segments early with one warning, loses no WebSocket frame', async (t) => {
    const name = streamName('full');
    const pub = startPublisher({ port: env.rtmpPort, name, bitrate: '4M', cbr: true });
    const { viewer: v } = await connectOnline(env.http('live', name));
    await v.waitFor(isMedia, { what: 'media' });

    const base = `http://127.0.0.1:${env.ports.http}/hls/live/${name}`;
    const early = /\[warn\].*HLS segments of "live\/[^"]+" are dropped before their time/;
    const playlist = async () => {
      const r = await fetch(`${base}/media.m3u8`);
      const text = await r.text();
      assert.equal(r.status, 200, text);
      const seq = Number((text.match(/#EXT-X-MEDIA-SEQUENCE:(\d+)/) || [])[1]);
      const segs = (text.match(/#EXTINF:/g) || []).length;
      const last = (text.match(/URI="(\d+)\.(\d+)\.m4s"/g) || []).pop();
      return { seq, segs, last };
    };

    for (let i = 0; i < 60 && !early.test(env.nginx.log()); i++) await sleep(500);
    const lines = env.nginx.log().split('\n').filter((l) => early.test(l));
    assert.equal(lines.length, 1, 'one warning about early dropped segments');
    t.diagnostic(`error.log: ${lines[0]}`);

    // the playlist goes on, shorter than its window of 7
    const a = await playlist();
    await sleep(3000);
    const b = await playlist();
    t.diagnostic(`playlist: ${JSON.stringify(a)} then ${JSON.stringify(b)}`);
    assert.ok(b.seq > a.seq, 'the oldest listed segment moves on');
    assert.ok(b.segs < 7, `${b.segs} segments listed`);
    assert.notEqual(a.last, b.last, 'new parts are listed');
    assert.ok(!/no room for a \d+-byte HLS part/.test(env.nginx.log()), 'a part was refused');
    assert.equal(env.nginx.log().split('\n').filter((l) => early.test(l)).length, 1,
      'the warning is not repeated');

    // WebSocket viewers lost nothing
    assert.ok(pub.running, 'the publisher was not refused');
    const st = checkStream(v.msgs, { from: 1, maxDtsGap: 1000, label: 'viewer' });
    assert.ok(!v.msgs.some((m) => m.kind === 'text' && ['skipped', 'offline'].includes(m.type)),
      'viewer got skipped/offline');
    assert.ok(st.video > 100, JSON.stringify(st));
    await pub.stop();
    await v.close();
  });
});
