// A viewer behind a link slower than the stream (a network namespace with a
// tc token bucket) is held within ws_stream_max_lag of live by skips to the
// newest keyframe, however large the buffer; without the bound it falls
// further behind every second, and the statistics say how far. A viewer on
// a fast link on the same stream is never skipped.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { connectOnline, isMedia } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';
import { makeNetns, runJson } from './lib/netns.mjs';
import { api } from './lib/stats.mjs';

const SECONDS = 20;

function runViewer(net, url) {
  return runJson(net, new URL('./lib/lag_client.mjs', import.meta.url).pathname, [url, SECONDS], SECONDS);
}

describe('60 lag bound: a viewer on a slow link', () => {
  let net = null;
  const env = useNginx({
    tag: 'lag',
    setup: () => { net = makeNetns('lag'); net.limit('500kbit'); },
    conf: (p) => liveConf(p, {
      zone: 'zone=live:64m',
      app: 'ws_stream_buffer 16m;',
      server: `listen ${net.hostIp}:${p.http};
        location /unbounded/ { ws_stream; ws_stream_max_lag 0; ws_stream_send_lowat 0; }
        location /api/ { ws_stream_api; }`,
    }),
  });
  const name = streamName('lag');

  before(async () => {
    // about 1.4 Mbit/s against a 500 kbit/s link
    startPublisher({ port: env.rtmpPort, name, bitrate: '1300k', gop: 30 });
    const { viewer } = await connectOnline(env.http('live', name));
    await viewer.close();
  });

  after(() => { if (net) net.remove(); });

  it('ws_stream_max_lag (default 2s): skipped ahead, keyframe first, never far behind; a fast viewer never', async (t) => {
    const { viewer: fast } = await connectOnline(env.http('live', name));
    const r = await runViewer(net, `ws://${net.hostIp}:${env.ports.http}/ws/live/${name}`);
    t.diagnostic(`bounded: ${JSON.stringify(r)}`);
    assert.equal(r.error, null);
    assert.ok(r.video > 0);
    assert.ok(r.skips.length >= 1, 'the slow viewer was skipped ahead');
    assert.ok(r.skips.every((s) => s === 'behind'), `reasons ${r.skips}`);
    assert.ok(r.keyAfterSkip, 'every skip is followed by a keyframe');
    // the bound, with room for a keyframe in flight on the slow link
    assert.ok(r.behindMax < 8000, `at worst ${r.behindMax} ms behind live`);
    const skipped = fast.msgs.filter((m) => m.kind === 'text' && m.type === 'skipped');
    assert.equal(skipped.length, 0, 'the viewer on the fast link was not skipped');
    assert.ok(fast.media().length > SECONDS * 30, 'the fast viewer got every frame');
    await fast.close();
  });

  it('without the bound the viewer falls behind, and the statistics show its lag', async (t) => {
    const run = runViewer(net, `ws://${net.hostIp}:${env.ports.http}/unbounded/live/${name}`);
    await sleep((SECONDS - 6) * 1000);
    // the send rate is the kernel's delivery rate sample of that second,
    // which a burst through tbf can lift past the link once: the median
    // of three seconds
    const rates = [];
    let v = null;
    for (let i = 0; i < 3; i++) {
      if (i) await sleep(1000);
      const page = await api(env, `/api/streams/live/${name}/viewers`);
      v = page.json.viewers.find((x) => x.address === net.nsIp) || v;
      if (v) rates.push(v.send_rate_bps);
    }
    const r = await run;
    t.diagnostic(`unbounded: ${JSON.stringify(r)}; stats lag ${v && v.lag_ms} ms, ${v && v.lag_bytes} bytes`);
    assert.equal(r.skips.length, 0);
    assert.ok(r.behindEnd > 8000, `only ${r.behindEnd} ms behind without the bound`);
    assert.ok(v, 'the slow viewer is listed');
    assert.ok(v.lag_ms > 5000 && v.lag_bytes > 500000, `stats: lag ${v.lag_ms} ms, ${v.lag_bytes} bytes`);
    const rate = rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)];
    assert.ok(rate < 1000000, `send rate ${rate} bps (median of ${rates}) on a 500 kbit/s link`);
  });
});
