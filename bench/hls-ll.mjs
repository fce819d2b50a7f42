// An LL-HLS client that does what hls.js in low-latency mode does, and times
// when each stamped frame becomes available: blocking playlist reloads for
// the next part (_HLS_msn/_HLS_part of the last playlist's
// EXT-X-PRELOAD-HINT), and, in parallel as players do, the request for the
// hinted part, which the server answers once the part is complete. Every
// new part is fetched, its moof/mdat walked (lib/fmp4.mjs) and the stamp
// SEI of each video sample read, so per stamped frame:
//
//   listed   = arrival of the first playlist response listing its part
//              - the wall clock at which the publisher sent the frame
//   complete = arrival of the preload-hint response carrying its part
//              - the same send time
//
// (wall clock: performance.timeOrigin + performance.now(), µs resolution,
// on the publisher's clock: same machine). Parts listed by the first
// playlist are not measured: when they became available is unknown.
//
//   node bench/hls-ll.mjs --url http://127.0.0.1:PORT/llhls/live/NAME/media.m3u8
//        [--seconds 60] [--no-hint] [--json]
//
// Prints figures; asserts nothing.
import http from 'node:http';
import { initTracks, videoStamps } from './lib/fmp4.mjs';
import { mean, summary } from './lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const wall = () => performance.timeOrigin + performance.now();

// GET url on agent: { status, body (Buffer), sentAt, doneAt } (wall ms);
// network errors resolve with status 0 and the message.
function get(agent, url, timeoutMs = 15000) {
  return new Promise((resolve) => {
    const sentAt = wall();
    const req = http.get(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode,
        body: Buffer.concat(chunks), sentAt, doneAt: wall() }));
      res.on('error', (e) => resolve({ status: 0, error: e.message, sentAt,
        doneAt: wall(), body: Buffer.alloc(0) }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ status: 0, error: e.message, sentAt,
      doneAt: wall(), body: Buffer.alloc(0) }));
  });
}

const attr = (line, name) => {
  const m = new RegExp(`(?:^|[:,])${name}=("([^"]*)"|[^,]*)`).exec(line);
  return m ? (m[2] ?? m[1]) : null;
};
const partName = (uri) => {
  const m = /^(\d+)\.(\d+)\.m4s$/.exec(uri);
  return m ? { msn: Number(m[1]), part: Number(m[2]) } : null;
};

/**
 * The parts of a media playlist (in order, with the init segment that
 * applies), the preload hint and the part target.
 */
export function parseMediaPlaylist(text) {
  const out = { parts: [], hint: null, partTarget: null, map: null,
    segments: 0 };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-PART:')) {
      const uri = attr(line, 'URI');
      out.parts.push({ uri, map: out.map, name: partName(uri ?? ''),
        duration: Number(attr(line, 'DURATION')),
        independent: attr(line, 'INDEPENDENT') === 'YES' });
    } else if (line.startsWith('#EXT-X-PRELOAD-HINT:')) {
      if (attr(line, 'TYPE') === 'PART') {
        const uri = attr(line, 'URI');
        out.hint = { uri, map: out.map, name: partName(uri ?? '') };
      }
    } else if (line.startsWith('#EXT-X-PART-INF:')) {
      out.partTarget = Number(attr(line, 'PART-TARGET'));
    } else if (line.startsWith('#EXT-X-MAP:')) {
      out.map = attr(line, 'URI');
    } else if (line && !line.startsWith('#')) {
      out.segments++;
    }
  }
  return out;
}

export async function llhlsClient(url, { seconds = 60, hint = true } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const abs = (u) => new URL(u, url).href;
  const listedMs = [], completeMs = [], oldestMs = [], newestMs = [];
  const holdMs = [];           // blocking request sent -> answered
  const durations = [];
  const status = {};           // "playlist 200": n, "hint 404": n ...
  const count = (what, st) => {
    const k = `${what} ${st}`;
    status[k] = (status[k] ?? 0) + 1;
  };
  const inits = new Map();     // map URI -> tracks
  const hints = new Map();     // part URI -> promise of its response
  const seen = new Set();
  let firstErr = null, unstamped = 0, blockingMiss = 0, playlists = 0;
  let parts = 0, partTarget = null;
  const jobs = [];

  const tracksOf = async (map) => {
    if (!map) return null;
    if (!inits.has(map)) {
      inits.set(map, get(agent, abs(map)).then((r) => {
        count('init', r.status);
        return r.status === 200 ? initTracks(r.body) : null;
      }));
    }
    return inits.get(map);
  };

  // a part the playlist arriving at listedAt showed for the first time
  const measure = async (p, listedAt) => {
    const tracks = await tracksOf(p.map);
    const hinted = hints.get(p.uri);
    let r = hinted ? await hinted : null;
    if (r && r.status !== 200) r = null;
    const completeAt = r ? r.doneAt : null;
    if (!r) {
      r = await get(agent, abs(p.uri));
      count('part', r.status);
      if (r.status !== 200) {
        firstErr ??= `${p.uri}: HTTP ${r.status} ${r.error ?? ''}`.trim();
        return;
      }
    }
    hints.delete(p.uri);
    parts++;
    durations.push(p.duration);
    const ls = [];
    for (const s of videoStamps(r.body, tracks)) {
      if (!s.stamp) { unstamped++; continue; }
      const sent = s.stamp.wallUs / 1000;
      ls.push(listedAt - sent);
      if (completeAt !== null) completeMs.push(completeAt - sent);
    }
    listedMs.push(...ls);
    if (ls.length) {
      oldestMs.push(Math.max(...ls));
      newestMs.push(Math.min(...ls));
    }
  };

  const end = wall() + seconds * 1000;
  let req = url;               // the first request does not block
  let last = null;             // the last playlist
  while (wall() < end) {
    // the hinted part, in parallel with the blocking reload that lists it
    const h = req !== url && hint ? last?.hint : null;
    if (h && !hints.has(h.uri) && !seen.has(h.uri)) {
      hints.set(h.uri, get(agent, abs(h.uri)).then((r) => {
        count('hint', r.status);
        return r;
      }));
    }
    const r = await get(agent, req);
    count(req === url ? 'playlist' : 'blocking playlist', r.status);
    if (r.status !== 200) {
      firstErr ??= `${req}: HTTP ${r.status} ${r.error ?? ''}`.trim();
      req = url;
      await sleep(100);
      continue;
    }
    const pl = parseMediaPlaylist(r.body.toString('utf8'));
    partTarget ??= pl.partTarget;
    if (req !== url) {
      playlists++;
      holdMs.push(r.doneAt - r.sentAt);
      const want = last?.hint?.uri;
      if (want && !pl.parts.some((p) => p.uri === want)) blockingMiss++;
    }
    for (const p of pl.parts) {
      if (seen.has(p.uri)) continue;
      seen.add(p.uri);
      if (req !== url) jobs.push(measure(p, r.doneAt));
    }
    // a hint that will never be listed (the segment ended before it)
    for (const u of hints.keys()) {
      if (!seen.has(u) && u !== pl.hint?.uri) {
        jobs.push(hints.get(u));
        hints.delete(u);
      }
    }
    last = pl;
    const tail = pl.parts.at(-1)?.name;
    const next = pl.hint?.name ?? (tail ? { ...tail } : null);
    if (!next) { req = url; await sleep(100); continue; }
    if (!pl.hint) next.part++;
    req = `${url}?_HLS_msn=${next.msn}&_HLS_part=${next.part}`;
  }
  await Promise.all(jobs);
  agent.destroy();
  return {
    part_target_s: partTarget, parts, part_dur_avg_s: mean(durations),
    playlists, frames: listedMs.length, unstamped, blocking_miss: blockingMiss,
    status, first_error: firstErr,
    listed_ms: summary(listedMs), complete_ms: summary(completeMs),
    oldest_frame_ms: summary(oldestMs), newest_frame_ms: summary(newestMs),
    hold_ms: summary(holdMs),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (n, d) => {
    const i = process.argv.indexOf(`--${n}`);
    return i > 0 ? process.argv[i + 1] : d;
  };
  const url = arg('url');
  if (!url) {
    console.error('usage: node bench/hls-ll.mjs --url MEDIA_M3U8 [--seconds 60] [--no-hint] [--json]');
    process.exit(1);
  }
  const r = await llhlsClient(url, { seconds: Number(arg('seconds', 60)),
    hint: !process.argv.includes('--no-hint') });
  if (process.argv.includes('--json')) console.log(JSON.stringify(r));
  else console.log(r);
}
