// nginx -s reload (SIGHUP) while a stream is published and played over LL-HLS:
// requests waiting in the old worker are answered, the new workers serve the
// same playlist going on (msn continues, no discontinuity, the same init and
// the same bytes), their blocking requests are woken by the publisher that
// stays in the old worker, and a stream published after the reload works.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useNginx, serverPidsByClientPort } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { waitUntil } from './lib/util.mjs';
import {
  hlsConf, hlsBase, get, pending, parseMedia, waitMedia, fetchMedia, fetchBytes, orderCheck, hasPart, hasComplete,
} from './lib/hls.mjs';

describe('46 hls across nginx -s reload', () => {
  const env = useNginx({
    tag: 'hls46',
    tools: { ss: true },
    conf: (p) => hlsConf(p, { hls: 'ws_stream_hls_segment 1s; ws_stream_hls_window 4;' }),
  });
  const name = streamName('rl');
  let base, pub;

  // the worker that serves a request, by ss on a keep-alive connection
  async function servedBy(url) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const r = await get(url, { agent });
      const pid = await waitUntil(() => serverPidsByClientPort(env.ports.http).get(r.localPort), { what: 'connection owner' });
      return { r, pid };
    } finally { agent.destroy(); }
  }

  before(async () => {
    pub = startPublisher({ port: env.rtmpPort, name });
    base = hlsBase(env, name);
    await waitMedia(base, (x) => x.complete.length >= 2, { what: 'two segments' });
  });

  it('reload mid-stream: waiting requests answered, the playlist goes on in the new workers', async (t) => {
    const pl0 = await fetchMedia(base);
    const seg = pl0.complete.at(-1);
    const segBytes = await fetchBytes(base, seg.uri);
    const init = await fetchBytes(base, seg.map);
    const { msn, part } = pl0.hint;
    const waitPl = pending(get(`${base}media.m3u8?_HLS_msn=${msn}&_HLS_part=${part + 1}`));
    const waitPart = pending(get(`${base}${msn}.${part}.m4s`));
    const waitSeg = pending(get(`${base}${msn + 1}.m4s`));

    const { oldWorkers, newWorkers } = await env.nginx.reload();
    t.diagnostic(`old workers ${oldWorkers}, new ${newWorkers}`);

    // what waited in the old worker is answered
    const a = await waitPl.promise;
    assert.equal(a.status, 200, `blocking reload across the reload: ${a.status} ${a.text}`);
    assert.ok(hasPart(parseMedia(a.text), msn, part + 1), a.text);
    const b = await waitPart.promise;
    assert.equal(b.status, 200, `hinted part across the reload: ${b.status} ${b.text}`);
    const c = await waitSeg.promise;
    assert.equal(c.status, 200, `segment across the reload: ${c.status} ${c.text}`);

    // new connections are served by the new workers
    const { r, pid } = await servedBy(`${base}media.m3u8`);
    assert.ok(newWorkers.includes(pid), `served by ${pid}, not a new worker (${newWorkers})`);
    const pl1 = parseMedia(r.text, 'playlist from a new worker');
    assert.ok(pl1.mediaSequence >= pl0.mediaSequence, 'MEDIA-SEQUENCE went back');
    assert.ok(pl1.hint.msn >= msn, `msn went back: ${pl1.hint.msn} after ${msn}`);
    assert.ok(!pl1.tags.includes('#EXT-X-DISCONTINUITY'), `a discontinuity after a reload:\n${pl1.text}`);
    assert.deepEqual(pl1.maps, pl0.maps);
    assert.ok(pub.running, `ffmpeg exited after the reload: ${pub.stderr}`);

    // the playlist goes on: two more segments, the same bytes as before for the old ones
    const pl2 = await waitMedia(base, (x) => hasComplete(x, msn + 2), { what: `segment ${msn + 2} after the reload` });
    for (let m = msn; m <= msn + 2; m++) assert.ok(pl2.segments.some((s) => s.msn === m), `segment ${m} missing:\n${pl2.text}`);
    const again = await servedBy(`${base}${seg.uri}`);
    assert.ok(newWorkers.includes(again.pid));
    assert.ok(again.r.body.equals(segBytes), `segment ${seg.msn} differs after the reload`);
    assert.ok((await fetchBytes(base, seg.map)).equals(init), 'the init segment differs after the reload');
    assert.ok((await fetchBytes(base, `${msn}.${part}.m4s`)).equals(b.body), `part ${msn}.${part}`);
    assert.ok((await fetchBytes(base, `${msn + 1}.m4s`)).equals(c.body), `segment ${msn + 1}`);
  });

  it('a blocking reload in a new worker is woken by the publisher in the old one, when the part is there and not before', async () => {
    for (let attempt = 0; attempt < 4; attempt++) {
      const pl = await fetchMedia(base);
      const want = { msn: pl.hint.msn, part: pl.hint.part + 1 };
      const w = pending(get(`${base}media.m3u8?_HLS_msn=${want.msn}&_HLS_part=${want.part}`));
      const oc = await orderCheck(base, w, (x) => hasPart(x, want.msn, want.part), { what: `part ${want.msn}.${want.part}` });
      const r = await w.promise;
      assert.equal(r.status, 200, r.text);
      assert.ok(hasPart(parseMedia(r.text), want.msn, want.part));
      if (oc.absentWhileWaiting > 0) return;
    }
    assert.fail('the awaited part was always there before the first plain playlist');
  });

  it('a stream published after the reload is served, and a second reload keeps both going', async () => {
    const name2 = streamName('rl2');
    startPublisher({ port: env.rtmpPort, name: name2 });
    const b2 = hlsBase(env, name2);
    const p = await waitMedia(b2, (x) => x.complete.length >= 1, { what: 'a segment of the new stream' });
    assert.equal(p.segments[0].msn, p.mediaSequence);
    assert.equal((await get(`${b2}${p.complete[0].uri}`)).status, 200);

    const before2 = [await fetchMedia(base), await fetchMedia(b2)];
    await env.nginx.reload();
    for (const [i, b] of [base, b2].entries()) {
      const want = before2[i].hint.msn + 1;
      const q = await waitMedia(b, (x) => hasComplete(x, want), { what: `segment ${want} after the second reload` });
      assert.ok(!q.tags.includes('#EXT-X-DISCONTINUITY'), q.text);
    }
    assert.ok(pub.running, `ffmpeg exited after the second reload: ${pub.stderr}`);
  });
});
