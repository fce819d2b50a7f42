// LL-HLS over `listen ... ssl http2` (self-signed certificate): curl --http2
// gets HTTP/2 answers with the headers of HTTP/1.1 and a blocking reload that
// answers when the part is there; node's http2 client shows that a waiting
// request does not hold up the other streams of its connection, and that a
// stream reset while it waits costs nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http2 from 'node:http2';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';
import { hlsConf, pending, parseMedia, orderCheck, hasPart, hasComplete, MPEGURL } from './lib/hls.mjs';
import { run } from './lib/hls_probe.mjs';

const CURL = process.env.WS_STREAM_CURL || 'curl';

// curl --http2 one URL: { version, status, headers, body (Buffer) }
async function curl(url) {
  const r = await run(CURL, ['--http2', '-k', '-sS', '--max-time', '30', '-D', '-',
    '-w', '\n@@%{http_version} %{http_code}', url], { timeout: 40000 });
  if (r.code !== 0) throw new Error(`curl ${url}: exit ${r.code} ${r.stderr}`);
  return r;
}

// curl -D - then the body, then our -w trailer: split them (binary-safe enough for text; bodies via h2get)
function splitCurl(out) {
  const at = out.lastIndexOf('\n@@');
  const [version, status] = out.slice(at + 3).split(' ');
  const rest = out.slice(0, at);
  const end = rest.indexOf('\r\n\r\n');
  const head = rest.slice(0, end);
  const headers = {};
  for (const l of head.split('\r\n').slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { version, status: Number(status), statusLine: head.split('\r\n')[0].trim(), headers, text: rest.slice(end + 4) };
}

function h2get(session, path, { timeout = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path });
    const chunks = [];
    let headers = null;
    const t = setTimeout(() => { req.close(http2.constants.NGHTTP2_CANCEL); reject(new Error(`h2 ${path} timed out`)); }, timeout);
    req.on('response', (h) => { headers = h; });
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      clearTimeout(t);
      const body = Buffer.concat(chunks);
      resolve({ status: headers[':status'], headers, body, text: body.toString('latin1') });
    });
    req.on('error', (e) => { clearTimeout(t); reject(e); });
    req.end();
  });
}

describe('47 hls over HTTP/2 (TLS)', () => {
  const env = useNginx({
    tag: 'hls47',
    tools: { openssl: true },
    setup: async (e) => {
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
        '-days', '1', '-keyout', `${e.prefix}/key.pem`, '-out', `${e.prefix}/cert.pem`], { encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 0, `openssl failed: ${r.stderr}`);
    },
    conf: (p, prefix) => hlsConf(p, {
      listen: 'ssl http2',
      http: `ssl_certificate ${prefix}/cert.pem; ssl_certificate_key ${prefix}/key.pem;`,
      hls: 'ws_stream_hls_segment 1s; ws_stream_hls_window 4;',
    }),
  });
  const name = streamName('h2');
  let url, path, session;
  const h2pl = async () => {
    const r = await h2get(session, `${path}media.m3u8`);
    assert.equal(r.status, 200, r.text);
    return parseMedia(r.text, 'media playlist over h2');
  };

  before(async () => {
    const v = spawnSync(CURL, ['--version'], { encoding: 'utf8' });
    assert.ok(/\bHTTP2\b/.test(v.stdout), `curl without HTTP/2: ${v.stdout}`);
    startPublisher({ port: env.rtmpPort, name });
    path = `/hls/live/${name}/`;
    url = `https://127.0.0.1:${env.ports.http}${path}`;
    // a roomy flow-control window: answers are never held back by it here
    // (the slow-client test below has its own connection with a small one)
    session = http2.connect(`https://127.0.0.1:${env.ports.http}`, { rejectUnauthorized: false,
      settings: { initialWindowSize: 8 << 20 } });
    session.on('error', () => {});
    session.on('connect', () => session.setLocalWindowSize(32 << 20));
    for (let i = 0; i < 200; i++) {
      const r = await h2get(session, `${path}media.m3u8`);
      if (r.status === 200 && parseMedia(r.text).complete.length >= 1) break;
      await sleep(100);
    }
  });

  after(() => { if (session) session.close(); });

  it('curl --http2: HTTP/2 200 for playlists, init, parts and segments, with their headers', async () => {
    const pl = await h2pl();
    const seg = pl.complete.at(-1);
    const files = [['media.m3u8', MPEGURL, 'no-cache'], ['index.m3u8', MPEGURL, 'no-cache'],
      [`media.m3u8?_HLS_msn=${seg.msn}`, MPEGURL, 'public, max-age=6'],
      [seg.map, 'video/mp4', null], [seg.uri, 'video/mp4', null], [seg.parts[0]?.uri ?? `${seg.msn}.0.m4s`, 'video/mp4', null]];
    for (const [f, type, cc] of files) {
      const r = splitCurl((await curl(`${url}${f}`)).stdout);
      assert.equal(r.version, '2', `${f}: HTTP version ${r.version}`);
      assert.equal(r.statusLine, 'HTTP/2 200', f);
      assert.equal(r.headers['content-type'], type, f);
      if (cc) assert.equal(r.headers['cache-control'], cc, f);
      else assert.match(r.headers['cache-control'], /^public, max-age=[1-9]\d*$/, f);
      assert.equal(r.headers['access-control-allow-origin'], '*', f);
      if (type === MPEGURL) {
        if (f.startsWith('media')) parseMedia(r.text, `${f} over curl --http2`);
        else assert.ok(r.text.startsWith('#EXTM3U\n'));
      } else {
        const b = await h2get(session, `${path}${f}`);
        assert.equal(Number(r.headers['content-length']), b.body.length, `${f}: curl and node h2 disagree on its length`);
        assert.ok(r.headers.etag);
      }
    }
    const bad = splitCurl((await curl(`${url}media.m3u8?_HLS_part=1`)).stdout);
    assert.equal(bad.statusLine, 'HTTP/2 400');
    assert.equal(bad.text, '_HLS_part without _HLS_msn');
    const none = splitCurl((await curl(`${url}nope.m3u8`)).stdout);
    assert.equal(none.statusLine, 'HTTP/2 404');
  });

  it('a blocking reload over h2 (curl) answers when the part is in the playlist, not before', async () => {
    for (let attempt = 0; attempt < 4; attempt++) {
      const pl = await h2pl();
      const want = { msn: pl.hint.msn, part: pl.hint.part + 1 };
      const c = pending(curl(`${url}media.m3u8?_HLS_msn=${want.msn}&_HLS_part=${want.part}`));
      const oc = await orderCheck(url, c, (x) => hasPart(x, want.msn, want.part), { fetchPlaylist: h2pl, what: `part ${want.msn}.${want.part}` });
      const r = splitCurl((await c.promise).stdout);
      assert.equal(r.statusLine, 'HTTP/2 200', r.text);
      assert.equal(r.headers['cache-control'], 'public, max-age=6');
      assert.ok(hasPart(parseMedia(r.text), want.msn, want.part), r.text);
      if (oc.absentWhileWaiting > 0) return;
    }
    assert.fail('the awaited part was always there before the first plain playlist');
  });

  it('one h2 connection: waiting requests do not hold up the other streams of the connection', async () => {
    const pl = await h2pl();
    const { msn, part } = pl.hint;
    const wPl = pending(h2get(session, `${path}media.m3u8?_HLS_msn=${msn + 1}`));
    const wPart = pending(h2get(session, `${path}${msn}.${part}.m4s`));
    // other streams of the same connection answer meanwhile (small ones: see
    // the flow-control test below for large answers to waiting requests)
    const [i, m] = await Promise.all([h2get(session, `${path}${pl.segments[0].map}`), h2get(session, `${path}index.m3u8`)]);
    assert.equal(i.status, 200);
    assert.equal(m.status, 200);
    const oc = await orderCheck(url, wPart, (x) => hasPart(x, msn, part), { fetchPlaylist: h2pl, what: `part ${msn}.${part}` });
    const p = await wPart.promise;
    assert.equal(p.status, 200);
    assert.ok(p.body.equals((await h2get(session, `${path}${msn}.${part}.m4s`)).body), `part ${msn}.${part}`);
    await orderCheck(url, wPl, (x) => hasComplete(x, msn + 1), { fetchPlaylist: h2pl, what: `segment ${msn + 1}` });
    const q = await wPl.promise;
    assert.equal(q.status, 200);
    assert.ok(hasComplete(parseMedia(q.text), msn + 1));
    assert.ok(oc.absentWhileWaiting >= 0);
  });

  it('a waiting request whose answer exceeds the h2 flow-control window (a slow client) gets all of it', async () => {
    // a client that grants 4 KB at a time: any part is larger, so nginx cannot
    // send the answer in one go when the part completes
    const slow = http2.connect(`https://127.0.0.1:${env.ports.http}`, { rejectUnauthorized: false,
      settings: { initialWindowSize: 4096 } });
    slow.on('error', () => {});
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const pl = await h2pl();
        const { msn, part } = pl.hint;
        const wPart = pending(h2get(slow, `${path}${msn}.${part}.m4s`));
        const wSeg = pending(h2get(slow, `${path}${msn}.m4s`));
        const wPl = pending(h2get(slow, `${path}media.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`));
        const p = await wPart.promise;
        assert.equal(p.status, 200);
        const want = (await h2get(session, `${path}${msn}.${part}.m4s`)).body;
        assert.ok(want.length > 4096, `part ${msn}.${part} is only ${want.length} bytes`);
        assert.ok(p.body.equals(want), `part ${msn}.${part}: ${p.body.length} bytes, want ${want.length}`);
        const s = await wSeg.promise;
        assert.equal(s.status, 200);
        assert.ok(s.body.equals((await h2get(session, `${path}${msn}.m4s`)).body), `segment ${msn}`);
        const q = await wPl.promise;
        assert.equal(q.status, 200);
        assert.ok(hasPart(parseMedia(q.text), msn, part));
      }
    } finally {
      slow.close();
    }
  });

  it('h2 streams reset while they wait cost nothing; the connection and the stream go on', async () => {
    const pl = await h2pl();
    const { msn, part } = pl.hint;
    const reqs = [];
    for (let k = 0; k < 10; k++) {
      for (const p of [`${path}media.m3u8?_HLS_msn=${msn}&_HLS_part=${part + 1}`, `${path}${msn}.${part + 1}.m4s`]) {
        const r = session.request({ ':path': p });
        r.on('error', () => {});
        r.end();
        reqs.push(r);
      }
    }
    await sleep(50);
    for (const r of reqs) r.close(http2.constants.NGHTTP2_CANCEL);
    const r = await h2get(session, `${path}media.m3u8?_HLS_msn=${msn}&_HLS_part=${part + 2}`);
    assert.equal(r.status, 200);
    assert.ok(hasPart(parseMedia(r.text), msn, part + 2));
    assert.equal((await h2get(session, `${path}index.m3u8`)).status, 200);
  });
});
