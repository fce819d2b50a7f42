// Adaptive bitrate on a real slow link: a viewer of a rendition group in a
// network namespace behind a tc token bucket narrower than the top
// rendition is moved down within a GOP and a few seconds, then receives
// without skips; once the limit is lifted it is moved back up. Every move
// keeps the dts going on. A viewer of the same group on a fast link is
// never moved. The renditions are pre-encoded (aligned keyframes, 1 s GOP)
// and published with -c copy from one ffmpeg.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { ensureRenditions, publishRenditions } from './lib/renditions.mjs';
import { Viewer, isText, isMedia } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep, waitUntil } from './lib/util.mjs';
import { makeNetns, runJson } from './lib/netns.mjs';
import { api } from './lib/stats.mjs';

const SECONDS = 50;
const LIFT = 20;            // s: the limit is lifted then
const LINK = '300kbit';     // _lo (about 190 kbit/s with audio) fits, _mid (470) does not
const FRAME = 34, AUDIO = 22;

function runViewer(net, url) {
  return runJson(net, new URL('./lib/abr_client.mjs', import.meta.url).pathname, [url, SECONDS], SECONDS);
}

describe('64 abr: a viewer on a slow link is moved down, then up again', () => {
  let net = null;
  const env = useNginx({
    tag: 'abrtc',
    setup: () => { net = makeNetns('abr'); net.limit(LINK, { burst: '3kb' }); },
    conf: (p) => liveConf(p, {
      zone: 'zone=live:64m',
      app: 'ws_stream_variant _hi _mid _lo;',
      server: `listen ${net.hostIp}:${p.http}; location /api/ { ws_stream_api; }`,
    }),
  });
  const base = streamName('abr');

  before(async () => {
    const file = await ensureRenditions();
    publishRenditions({ port: env.rtmpPort, base, file });
    // every rendition measured before the viewers come
    await waitUntil(async () => {
      const v = await Viewer.connect(env.http('live', base));
      const hello = await v.next(isText('hello'));
      await v.close();
      return hello.json.renditions.every((r) => r.online && r.bitrate > 0);
    }, { what: 'every rendition online and measured' });
  });

  after(() => { if (net) net.remove(); });

  it('down within a GOP and a few seconds, no skips after, back up once the link is free; dts go on', async (t) => {
    const fast = await Viewer.connect(env.http('live', base));
    const run = runViewer(net, `ws://${net.hostIp}:${env.ports.http}/ws/live/${base}`);
    const seen = [];
    for (let k = 0; k < LIFT; k++) {
      await sleep(1000);
      const page = await api(env, `/api/streams/live/${base}_hi/viewers`).catch(() => null);
      const page2 = await api(env, `/api/streams/live/${base}_lo/viewers`).catch(() => null);
      const all = [...(page ? page.json.viewers : []), ...(page2 ? page2.json.viewers : [])];
      const x = all.find((y) => y.address === net.nsIp);
      if (x) seen.push([x.lag_ms, x.lag_bytes, x.send_rate_bps, x.acked_bps, x.rendition && x.rendition.index]);
    }
    t.diagnostic(`server's view each second [lag_ms, lag_bytes, rate, acked, rendition]: ${JSON.stringify(seen)}`);
    net.unlimit();
    const r = await run;
    t.diagnostic(`notices ${JSON.stringify(r.notices)}`);
    t.diagnostic(`skips ${JSON.stringify(r.skips)}; moves [from, to, video step, audio step, after a skip] ` +
      JSON.stringify(r.moves.map((m) => [m.from, m.index, m.dv, m.da, m.afterSkip])));
    t.diagnostic(`behind live each second (ms): ${r.behind.join(' ')}`);
    assert.equal(r.error, null);

    const [start, ...moves] = r.notices;
    assert.deepEqual([start.index, start.reason], [0, 'start'], 'starts on the highest rendition');
    const firstDown = moves.find((m) => m.index > m.from);
    assert.ok(firstDown, 'moved down');
    assert.ok(firstDown.at < 6000, `first move down after ${firstDown.at} ms (GOP 1 s)`);
    assert.ok(['backlog', 'emergency', 'stall'].includes(firstDown.reason), firstDown.reason);

    // settled on what the link takes, before the lift: on _lo, and no skip after the move down
    const lastDown = moves.filter((m) => m.index > m.from && m.at < LIFT * 1000).pop();
    assert.equal(lastDown.index, 2, 'down to the rendition the link takes');
    const late = r.skips.filter((s) => s.at > firstDown.at);
    assert.equal(late.length, 0, `skips after the first move down: ${JSON.stringify(late)}`);
    // a try up on the slow link (the probe, once the hold-off is over) fails and comes back
    const tries = moves.filter((m) => m.at > lastDown.at && m.at < LIFT * 1000);
    for (let k = 0; k < tries.length; k++) {
      if (tries[k].index < tries[k].from) {
        const back = tries[k + 1] || moves.find((m) => m.at > tries[k].at);
        assert.ok(back && back.reason === 'probe_failed' || tries[k].at > (LIFT - 5) * 1000,
          `a try up at ${tries[k].at} ms on the slow link: ${JSON.stringify(tries)}`);
      }
    }

    // up again after the lift, one step at a time
    const ups = moves.filter((m) => m.at > LIFT * 1000);
    assert.ok(ups.length >= 1, 'moved up after the limit was lifted');
    assert.ok(ups.every((m) => m.index === m.from - 1 && m.reason === 'up'), JSON.stringify(ups));
    assert.ok(r.notices[r.notices.length - 1].index < 2, 'off the lowest rendition at the end');

    // every move: continuous, configuration then a keyframe, dts one frame on
    // (but a move down of a viewer further behind than ws_stream_max_lag, which goes
    // to the newest keyframe rather than be skipped: the emergency one, or one that
    // the lag bound overtook before its cut, such as the way back from a failed try up)
    assert.ok(moves.every((m) => m.continuous === true || m.index > m.from),
      `every move up kept the timeline: ${JSON.stringify(moves)}`);
    assert.ok(r.configFirst, 'configuration before the first frame of each rendition');
    assert.ok(r.keyFirst, 'each rendition (and each skip) starts with a keyframe');
    for (const m of r.moves.filter((x) => !x.afterSkip && x.continuous)) {
      assert.ok(m.dv > 0 && m.dv <= FRAME, `video dts step ${m.dv} at a move ${m.from}->${m.index}`);
      assert.ok(m.da > 0 && m.da <= AUDIO, `audio dts step ${m.da} at a move ${m.from}->${m.index}`);
    }
    assert.deepEqual(r.backwards, [], 'dts never stepped back');

    // the viewer on the fast link: the highest rendition all along, every frame
    const notices = fast.msgs.filter((m) => m.kind === 'text' && (m.type === 'rendition' || m.type === 'skipped'));
    assert.deepEqual(notices.map((m) => [m.json.type, m.json.index, m.json.reason]), [['rendition', 0, 'start']]);
    assert.ok(fast.media().filter((m) => m.track === 1).length > (SECONDS - 2) * 30, 'the fast viewer got every frame');
    await fast.close();
  });
});
