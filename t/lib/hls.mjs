// LL-HLS test helpers: nginx config with an HLS location, a plain HTTP client
// (node:http, no automatic decompression, optional agent per connection),
// a strict playlist reader (hls-parser strict mode + our own line reader for
// exact tags and their order), bounded polling, and publisher pause/resume.
import http from 'node:http';
import zlib from 'node:zlib';
import * as HLS from 'hls-parser';
import { liveConf } from './common.mjs';
import { sleep, WAIT } from './util.mjs';

HLS.setOptions({ strictMode: true, silent: true });

export const MPEGURL = 'application/vnd.apple.mpegurl';

// liveConf() plus `location /hls/ { ws_stream_hls; ws_stream_hls_cors *; <hls> }`.
// `locs` are more locations of the server (e.g. a gzip one).
export function hlsConf(p, { hls = '', cors = '*', zone = 'zone=live:64m', locs = '', server = '', ...rest } = {}) {
  const corsLine = cors ? `ws_stream_hls_cors ${cors};` : '';
  return liveConf(p, {
    zone,
    ...rest,
    server: `location /hls/ { ws_stream_hls; ${corsLine} ${hls} }\n        ${locs}\n        ${server}`,
  });
}

export function hlsBase(env, name, { app = 'live', loc = 'hls', port = env.ports.http, host = '127.0.0.1' } = {}) {
  return `http://${host}:${port}/${loc}/${app}/${name}/`;
}

/**
 * One HTTP request. Resolves { status, headers, body (Buffer), text, localPort }
 * (headers with lower-case names; body as sent, not decompressed). Bounded:
 * rejects after `timeout` ms. `agent`: e.g. a keep-alive agent with one socket.
 */
export function request(url, { method = 'GET', headers = {}, timeout = WAIT, agent } = {}) {
  return new Promise((resolve, reject) => {
    let localPort = null;
    const req = http.request(url, { method, headers, agent: agent ?? false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body, text: body.toString('latin1'),
          localPort, httpVersion: res.httpVersion });
      });
      res.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${timeout} ms: ${method} ${url}`));
    }, timeout);
    req.on('socket', (s) => {
      if (s.localPort) localPort = s.localPort;
      else s.once('connect', () => { localPort = s.localPort; });
    });
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end();
  });
}

export const get = (url, opts) => request(url, opts);

/** A request whose settling can be looked at without awaiting it. */
export function pending(promise) {
  const p = { settled: false, value: undefined, error: undefined };
  p.promise = promise.then((v) => { p.settled = true; p.value = v; return v; },
    (e) => { p.settled = true; p.error = e; throw e; });
  p.promise.catch(() => {});
  return p;
}

export function gunzip(buf) { return zlib.gunzipSync(buf); }

// ---------------------------------------------------------------- playlists

const RULE_85 = '85% of PART-TARGET';

/**
 * hls-parser in strict mode: throws on anything it finds invalid, with one
 * narrow exception. hls-parser 0.16 applies the 2020 preliminary rule "every
 * part but the last of a segment lasts at least 85% of PART-TARGET";
 * rfc8216bis 4.4.4.9 also exempts parts with INDEPENDENT=YES (a stream's first
 * part, cut before the frame rate is known, is one). Only when that rule is
 * what it rejects, the INDEPENDENT=YES parts under 85% get DURATION=PART-TARGET
 * in a copy given to hls-parser again (strict: any other fault still throws);
 * our own check of the current rule is in 40_hls_playlist. `exact: true`
 * allows no exception.
 */
export function strictParse(text, label = 'playlist', { exact = false } = {}) {
  try {
    return HLS.parse(text);
  } catch (e) {
    if (exact || !String(e.message).includes(RULE_85))
      throw new Error(`hls-parser (strict) rejects the ${label}: ${e.message}\n${text}`);
  }
  const pt = /#EXT-X-PART-INF:PART-TARGET=([\d.]+)/.exec(text);
  const target = pt ? Number(pt[1]) : NaN;
  const copy = text.split('\n').map((l) => {
    if (!l.startsWith('#EXT-X-PART:') || !/,INDEPENDENT=YES(,|$)/.test(l)) return l;
    return l.replace(/DURATION=([\d.]+)/, (all, d) => (Number(d) < 0.85 * target ? `DURATION=${pt[1]}` : all));
  }).join('\n');
  try {
    return HLS.parse(copy);
  } catch (e) {
    throw new Error(`hls-parser (strict) rejects the ${label}: ${e.message}\n${text}`);
  }
}

/** KEY=VALUE,KEY="quoted, value" -> { KEY: 'VALUE' } (quotes removed). */
export function attrs(s) {
  const out = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(,|$)/g;
  let m;
  while ((m = re.exec(s)) !== null) {
    out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
    if (m.index === re.lastIndex) re.lastIndex++;
  }
  return out;
}

const num = (v) => (v === undefined ? undefined : Number(v));

/**
 * Our own reader of a media playlist, exact about tags and their order.
 * segments: [{ msn, discontinuity, map, pdt (ms), parts: [{ uri, duration,
 * independent }], duration (EXTINF, null while open), uri (null while open) }];
 * hint: { uri, msn, part }; the last entry of segments may be the open one.
 */
export function readMedia(text) {
  const lines = text.split('\n');
  if (lines[0] !== '#EXTM3U') throw new Error(`not a playlist: ${text.slice(0, 200)}`);
  const pl = { text, lines, tags: [], segments: [], hint: null, skip: null, dsn: 0, maps: [] };
  let cur = null;
  let map = null;
  const open = () => {
    if (!cur) cur = { discontinuity: false, map, pdt: null, parts: [], duration: null, uri: null };
    return cur;
  };
  for (const line of lines) {
    if (line === '') continue;
    if (!line.startsWith('#')) {
      const s = open();
      s.uri = line;
      pl.segments.push(s);
      cur = null;
      continue;
    }
    const i = line.indexOf(':');
    const tag = i < 0 ? line : line.slice(0, i);
    const val = i < 0 ? '' : line.slice(i + 1);
    pl.tags.push(tag);
    switch (tag) {
      case '#EXT-X-VERSION': pl.version = Number(val); break;
      case '#EXT-X-TARGETDURATION': pl.target = Number(val); break;
      case '#EXT-X-MEDIA-SEQUENCE': pl.mediaSequence = Number(val); break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE': pl.dsn = Number(val); break;
      case '#EXT-X-SERVER-CONTROL': pl.serverControl = attrs(val); break;
      case '#EXT-X-PART-INF': pl.partTarget = num(attrs(val)['PART-TARGET']); break;
      case '#EXT-X-SKIP': pl.skip = num(attrs(val)['SKIPPED-SEGMENTS']); break;
      case '#EXT-X-DISCONTINUITY': open().discontinuity = true; break;
      case '#EXT-X-MAP': map = attrs(val).URI; pl.maps.push(map); if (cur) cur.map = map; break;
      case '#EXT-X-PROGRAM-DATE-TIME': open().pdt = Date.parse(val); open().pdtText = val; break;
      case '#EXT-X-PART': {
        const a = attrs(val);
        open().parts.push({ uri: a.URI, duration: Number(a.DURATION), independent: a.INDEPENDENT === 'YES', attrs: a });
        break;
      }
      case '#EXTINF': open().duration = Number(val.split(',')[0]); break;
      case '#EXT-X-PRELOAD-HINT': {
        const a = attrs(val);
        const m = /^(\d+)\.(\d+)\.m4s$/.exec(a.URI || '');
        pl.hint = { type: a.TYPE, uri: a.URI, msn: m ? Number(m[1]) : null, part: m ? Number(m[2]) : null };
        break;
      }
      default: break;
    }
  }
  if (cur && (cur.parts.length || cur.pdt !== null)) pl.segments.push(cur);   // the open segment
  else if (cur) pl.next = cur;   // tags for the segment to come (before its first part)
  const first = pl.mediaSequence + (pl.skip || 0);
  pl.segments.forEach((s, k) => { s.msn = first + k; s.complete = s.uri !== null; });
  pl.complete = pl.segments.filter((s) => s.complete);
  return pl;
}

/** Strict parse, then our reader; `label` names it in errors. */
export function parseMedia(text, label = 'media playlist') {
  const parsed = strictParse(text, label);
  if (parsed.isMasterPlaylist) throw new Error(`${label} parsed as a multivariant playlist`);
  const pl = readMedia(text);
  pl.parsed = parsed;
  return pl;
}

/** (msn, part) of the last part listed, or null. */
export function lastPart(pl) {
  for (let i = pl.segments.length - 1; i >= 0; i--) {
    const s = pl.segments[i];
    if (s.parts.length) return { msn: s.msn, part: s.parts.length - 1 };
  }
  return null;
}

/** Whether the playlist lists part `part` of segment `msn` (or that segment complete). */
export function hasPart(pl, msn, part) {
  const s = pl.segments.find((x) => x.msn === msn);
  if (s && (s.complete || s.parts.length > part)) return true;
  return pl.segments.length > 0 && pl.segments[pl.segments.length - 1].msn > msn;
}

export function hasComplete(pl, msn) {
  return pl.segments.some((s) => s.msn >= msn && s.complete);
}

/** Next (msn, part) after the hint, `ahead` parts further (0: the hint itself). */
export function partAfterHint(pl, ahead = 0) {
  return { msn: pl.hint.msn, part: pl.hint.part + ahead };
}

/**
 * Poll a media playlist until pred(pl) is truthy (bounded); returns the
 * playlist. Playlists that are not 200 are retried (e.g. not yet published).
 */
export async function waitMedia(base, pred = () => true, { timeout = WAIT * 2, interval = 150, what = 'media playlist',
  query = '', agent } = {}) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (let i = 0; i < 100000; i++) {
    const r = await get(`${base}media.m3u8${query}`, { agent }).catch((e) => ({ status: 0, text: String(e) }));
    if (r.status === 200) {
      last = parseMedia(r.text);
      if (pred(last)) return last;
    } else {
      last = { status: r.status, text: r.text };
    }
    if (Date.now() >= deadline) break;
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}; last:\n${last && last.text}`);
}

/** Fetch and parse once; asserts 200. */
export async function fetchMedia(base, query = '', opts = {}) {
  const r = await get(`${base}media.m3u8${query}`, opts);
  if (r.status !== 200) throw new Error(`media.m3u8${query}: ${r.status} ${r.text}`);
  return parseMedia(r.text);
}

/** Bytes of a media file; asserts 200. */
export async function fetchBytes(base, file, opts = {}) {
  const r = await get(`${base}${file}`, opts);
  if (r.status !== 200) throw new Error(`${file}: ${r.status} ${r.text}`);
  return r.body;
}

/**
 * The order check of a waiting request: while `pend` has not answered, every
 * plain playlist fetched shows `present(pl)` false; a plain playlist fetched
 * after `pend` answered shows it true. Checked race-free: whether `pend` had
 * settled is read before each plain fetch is sent. Returns how many plain
 * playlists showed it absent while `pend` was still waiting. `fetchPlaylist`
 * (a parsed plain playlist) replaces the HTTP/1.1 fetch, e.g. over HTTP/2.
 */
export async function orderCheck(base, pend, present, { what = 'the awaited part', timeout = WAIT * 2, agent,
  fetchPlaylist = () => fetchMedia(base, '', { agent }) } = {}) {
  const deadline = Date.now() + timeout;
  let absentWhileWaiting = 0;
  for (let i = 0; i < 100000; i++) {
    const settledBefore = pend.settled;
    const pl = await fetchPlaylist();
    const here = present(pl);
    if (settledBefore && !here)
      throw new Error(`the waiting request answered before ${what} was in the playlist:\n${pl.text}`);
    if (!here && !settledBefore) absentWhileWaiting++;
    if (settledBefore) return { absentWhileWaiting, after: pl };
    if (here) {
      await pend.promise.catch(() => {});
      return { absentWhileWaiting, after: pl };
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(30);
  }
  throw new Error('unreachable');
}

/** Multivariant playlist, strictly parsed. */
export async function fetchMultivariant(base, opts = {}) {
  const r = await get(`${base}index.m3u8`, opts);
  if (r.status !== 200) throw new Error(`index.m3u8: ${r.status} ${r.text}`);
  const parsed = strictParse(r.text, 'multivariant playlist');
  if (!parsed.isMasterPlaylist) throw new Error(`index.m3u8 is not a multivariant playlist:\n${r.text}`);
  return { parsed, text: r.text, res: r };
}

// ---------------------------------------------------------------- publisher

/** Stop the ffmpeg process (SIGSTOP): the RTMP connection stays, no data flows. */
export function pausePublisher(pub) { pub.proc.kill('SIGSTOP'); pub.paused = true; }
export function resumePublisher(pub) { if (pub.paused) { pub.proc.kill('SIGCONT'); pub.paused = false; } }

/** Wait until two playlists fetched `gap` ms apart are the same text (bounded). */
export async function waitFrozen(base, { gap = 400, timeout = WAIT } = {}) {
  const deadline = Date.now() + timeout;
  let a = await fetchMedia(base);
  for (let i = 0; i < 1000; i++) {
    await sleep(gap);
    const b = await fetchMedia(base);
    if (b.text === a.text) return b;
    if (Date.now() >= deadline) break;
    a = b;
  }
  throw new Error(`the playlist did not stop changing within ${timeout} ms`);
}
