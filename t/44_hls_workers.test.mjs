// worker_processes 2 (listen reuseport): the publisher's worker cuts and
// muxes the parts into the zone; the other worker serves playlists, inits,
// parts and segments from there, and its blocking requests are woken by the
// publisher's worker. Which worker serves a request is made sure of by ss:
// keep-alive connections (one socket per agent) whose server side is owned by
// the other worker carry all the requests, and every answer is checked to have
// come over that same connection.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useNginx, serverPidsByClientPort } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { waitUntil } from './lib/util.mjs';
import {
  hlsConf, hlsBase, get, pending, parseMedia, strictParse, waitMedia, orderCheck, hasPart, lastPart,
} from './lib/hls.mjs';

// A keep-alive connection to nginx whose server side one known worker owns.
class Conn {
  constructor(agent, port, pid) { Object.assign(this, { agent, port, pid }); }
  async get(url, opts = {}) {
    const r = await get(url, { ...opts, agent: this.agent });
    assert.equal(r.localPort, this.port, `${url} went over another connection (${r.localPort}, not ${this.port})`);
    return r;
  }
  close() { this.agent.destroy(); }
}

describe('44 hls with 2 workers: publisher on one, requests on the other', () => {
  const env = useNginx({
    tag: 'hls44',
    tools: { ss: true },
    conf: (p) => hlsConf(p, { workers: 2, listen: 'reuseport', hls: 'ws_stream_hls_segment 1s; ws_stream_hls_window 4;' }),
  });
  const name = streamName('wk');
  let base, pubPid, other = [], mine = [];

  before(async () => {
    startPublisher({ port: env.rtmpPort, name });
    base = hlsBase(env, name);
    await waitMedia(base, (x) => x.complete.length >= 1, { what: 'a first segment' });
    const workers = env.nginx.workerPids();
    assert.equal(workers.length, 2, `worker pids ${workers}`);
    const rtmp = await waitUntil(() => { const m = serverPidsByClientPort(env.ports.rtmp); return m.size === 1 && m; },
      { what: 'the publisher connection in ss' });
    pubPid = [...rtmp.values()][0];
    assert.ok(workers.includes(pubPid), `publisher connection owned by ${pubPid}, not a worker (${workers})`);

    // open connections until 4 are on the other worker and 2 on the publisher's
    const spare = [];
    for (let i = 0; i < 64 && (other.length < 4 || mine.length < 2); i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const r = await get(`${base}index.m3u8`, { agent });
      assert.equal(r.status, 200);
      const owner = await waitUntil(() => serverPidsByClientPort(env.ports.http).get(r.localPort),
        { what: `the owner of connection ${r.localPort}` });
      const c = new Conn(agent, r.localPort, owner);
      if (owner !== pubPid && other.length < 4) other.push(c);
      else if (owner === pubPid && mine.length < 2) mine.push(c);
      else spare.push(c);
    }
    spare.forEach((c) => c.close());
    assert.equal(other.length, 4, 'in 64 connections, not 4 on the worker without the publisher');
    assert.equal(mine.length, 2, "in 64 connections, not 2 on the publisher's worker");
  });

  after(() => { for (const c of [...other, ...mine]) c.close(); });

  it('the other worker serves the playlists, init, parts and segments, the same bytes as the publisher\'s worker', async () => {
    const [o] = other, [m] = mine;
    const mv = await o.get(`${base}index.m3u8`);
    assert.equal(mv.status, 200);
    const v = strictParse(mv.text).variants[0];
    assert.deepEqual(v.resolution, { width: 640, height: 360 });
    const pr = await o.get(`${base}media.m3u8`);
    assert.equal(pr.status, 200);
    const pl = parseMedia(pr.text, 'media playlist from the other worker');
    const seg = pl.complete.at(-1);
    const files = [seg.map, seg.uri, ...seg.parts.map((q) => q.uri)];
    assert.ok(seg.parts.length > 0, pr.text);
    for (const f of files) {
      const a = await o.get(`${base}${f}`), b = await m.get(`${base}${f}`);
      assert.equal(a.status, 200, `${f} on the other worker: ${a.text}`);
      assert.equal(b.status, 200, `${f} on the publisher's worker`);
      assert.ok(a.body.equals(b.body), `${f} differs between the workers`);
      assert.equal(a.headers.etag, b.headers.etag, `${f} ETag differs between the workers`);
    }
    const cat = Buffer.concat(await Promise.all(seg.parts.map(async (q) => (await other[1].get(`${base}${q.uri}`)).body)));
    assert.ok(cat.equals((await o.get(`${base}${seg.uri}`)).body), 'segment = its parts, on the other worker');
    // the playlists of both workers agree on what they both list
    const mp = parseMedia((await m.get(`${base}media.m3u8`)).text);
    for (const s of pl.complete) {
      const t = mp.segments.find((x) => x.msn === s.msn);
      if (t) assert.deepEqual([t.uri, t.duration, t.pdt], [s.uri, s.duration, s.pdt], `segment ${s.msn} in both workers' playlists`);
    }
  });

  it('a blocking reload on the other worker is woken by the publisher\'s worker, when the part is there and not before', async () => {
    const [poll, wait] = other;
    for (let attempt = 0; attempt < 4; attempt++) {
      const pl = parseMedia((await poll.get(`${base}media.m3u8`)).text);
      const want = { msn: pl.hint.msn, part: pl.hint.part + 1 };
      const b = pending(wait.get(`${base}media.m3u8?_HLS_msn=${want.msn}&_HLS_part=${want.part}`));
      const oc = await orderCheck(base, b, (x) => hasPart(x, want.msn, want.part), { agent: poll.agent, what: `part ${want.msn}.${want.part}` });
      const r = await b.promise;
      assert.equal(r.status, 200, r.text);
      assert.ok(hasPart(parseMedia(r.text), want.msn, want.part), r.text);
      if (oc.absentWhileWaiting > 0) return;
    }
    assert.fail('the awaited part was always there before the first plain playlist');
  });

  it('the hinted part and segment requested on the other worker: answered when complete, same bytes as on the publisher\'s worker', async () => {
    const [poll, wp, ws] = other;
    const pl = parseMedia((await poll.get(`${base}media.m3u8`)).text);
    const { msn, part } = pl.hint;
    const hp = pending(wp.get(`${base}${msn}.${part}.m4s`));
    const hs = pending(ws.get(`${base}${msn}.m4s`));
    await orderCheck(base, hp, (x) => hasPart(x, msn, part), { agent: poll.agent, what: `part ${msn}.${part}` });
    const a = await hp.promise;
    assert.equal(a.status, 200, a.text);
    assert.ok(a.body.equals((await mine[0].get(`${base}${msn}.${part}.m4s`)).body), `part ${msn}.${part}`);
    const s = await hs.promise;
    assert.equal(s.status, 200, s.text);
    assert.ok(s.body.equals((await mine[0].get(`${base}${msn}.m4s`)).body), `segment ${msn}`);
  });

  it('waiting requests on both workers for the same part all get it', async () => {
    const pl = parseMedia((await other[0].get(`${base}media.m3u8`)).text);
    const { msn, part } = pl.hint;
    const q = `${base}media.m3u8?_HLS_msn=${msn}&_HLS_part=${part + 1}`;
    const rs = await Promise.all([...other, ...mine].map((c) => c.get(q)));
    for (const r of rs) {
      assert.equal(r.status, 200, r.text);
      assert.ok(hasPart(parseMedia(r.text), msn, part + 1));
    }
    const l = lastPart(parseMedia(rs[0].text));
    assert.ok(l.msn > msn || l.part >= part + 1);
  });
});
