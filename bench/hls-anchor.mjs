// The HLS latency anchor: when does each stamped frame become downloadable
// from nginx-rtmp's HLS? Polls the playlist every POLL_MS; a segment is
// downloadable from the moment the playlist lists it. The segment is then
// fetched and every video access unit's SEI stamp read from the MPEG-TS, so
// per frame: available_at - wall clock at which the publisher sent it.
//
//   node bench/hls-anchor.mjs --url http://127.0.0.1:PORT/hls/NAME.m3u8
//        [--seconds 60] [--json]
//
// Prints figures; asserts nothing.
import { findStampAnnexB } from './lib/sei.mjs';
import { mean, summary } from './lib/stats.mjs';

const POLL_MS = 20;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Video PES payloads (one access unit each, as nginx-rtmp writes them) of an
// MPEG-TS buffer. PAT -> PMT -> the first H.264 (0x1b) elementary stream.
export function videoAccessUnits(buf) {
  const u8 = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  let pmtPid = -1, videoPid = -1;
  const units = [];
  let cur = null;
  const flush = () => {
    if (!cur) return;
    const total = cur.reduce((a, c) => a + c.length, 0);
    const pes = new Uint8Array(total);
    let o = 0;
    for (const c of cur) { pes.set(c, o); o += c.length; }
    cur = null;
    if (pes.length < 9 || pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) return;
    units.push(pes.subarray(9 + pes[8]));
  };
  for (let off = 0; off + 188 <= u8.length; off += 188) {
    if (u8[off] !== 0x47) throw new Error(`TS sync lost at byte ${off}`);
    const pusi = (u8[off + 1] & 0x40) !== 0;
    const pid = ((u8[off + 1] & 0x1f) << 8) | u8[off + 2];
    const afc = (u8[off + 3] >> 4) & 3;
    let p = off + 4;
    if (afc & 2) p += 1 + u8[p];
    if (!(afc & 1) || p >= off + 188) continue;
    const payload = u8.subarray(p, off + 188);
    if (pid === 0 || pid === pmtPid) {
      if (!pusi) continue;
      const t = payload.subarray(1 + payload[0]);
      const len = ((t[1] & 0x0f) << 8) | t[2];
      const end = Math.min(3 + len - 4, t.length);
      if (pid === 0) {
        for (let i = 8; i + 4 <= end; i += 4) {
          const prog = (t[i] << 8) | t[i + 1];
          if (prog !== 0) { pmtPid = ((t[i + 2] & 0x1f) << 8) | t[i + 3]; break; }
        }
      } else {
        const infoLen = ((t[10] & 0x0f) << 8) | t[11];
        for (let i = 12 + infoLen; i + 5 <= end;) {
          const type = t[i], epid = ((t[i + 1] & 0x1f) << 8) | t[i + 2];
          const esLen = ((t[i + 3] & 0x0f) << 8) | t[i + 4];
          if (type === 0x1b && videoPid < 0) videoPid = epid;
          i += 5 + esLen;
        }
      }
      continue;
    }
    if (pid !== videoPid) continue;
    if (pusi) { flush(); cur = []; }
    if (cur) cur.push(payload);
  }
  flush();
  return units;
}

function parsePlaylist(text) {
  const segs = [];
  let dur = null;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXTINF:')) dur = parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) { segs.push({ uri: line, dur }); dur = null; }
  }
  return segs;
}

export async function hlsAnchor(url, { seconds = 60 } = {}) {
  const seen = new Map();
  const delays = [];           // ms per stamped frame
  const firstOfSeg = [];       // ms, oldest frame of each segment
  const lastOfSeg = [];        // ms, newest frame of each segment
  const durations = [];
  let polls = 0, errors = 0, unstamped = 0, firstErr = null;
  const end = Date.now() + seconds * 1000;
  const fetches = [];
  while (Date.now() < end) {
    polls++;
    let text = null;
    try {
      const r = await fetch(url, { cache: 'no-store' });
      if (r.ok) text = await r.text();
    } catch (e) { errors++; firstErr ??= e.message; }
    const at = Date.now();
    if (text) {
      for (const s of parsePlaylist(text)) {
        if (seen.has(s.uri)) continue;
        seen.set(s.uri, at);
        // The first playlist read lists segments that were there before
        // we looked: their availability time is unknown, skip them.
        if (polls === 1) continue;
        durations.push(s.dur);
        const segUrl = new URL(s.uri, url).href;
        fetches.push(fetch(segUrl).then((r) => r.arrayBuffer()).then((b) => {
          const ms = [];
          for (const au of videoAccessUnits(b)) {
            const st = findStampAnnexB(au);
            if (!st) { unstamped++; continue; }
            const d = at - st.wallUs / 1000;
            delays.push(d);
            ms.push(d);
          }
          if (ms.length) {
            firstOfSeg.push(Math.max(...ms));
            lastOfSeg.push(Math.min(...ms));
          }
        }).catch((e) => { errors++; firstErr ??= e.message; }));
      }
    }
    await sleep(POLL_MS);
  }
  await Promise.all(fetches);
  return {
    segments: durations.length, seg_dur_avg_s: mean(durations),
    frames: delays.length, unstamped, errors, first_error: firstErr,
    delay_ms: summary(delays),
    oldest_frame_ms: summary(firstOfSeg), newest_frame_ms: summary(lastOfSeg),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (n, d) => {
    const i = process.argv.indexOf(`--${n}`);
    return i > 0 ? process.argv[i + 1] : d;
  };
  const url = arg('url');
  if (!url) {
    console.error('usage: node bench/hls-anchor.mjs --url M3U8 [--seconds 60] [--json]');
    process.exit(1);
  }
  const r = await hlsAnchor(url, { seconds: Number(arg('seconds', 60)) });
  if (process.argv.includes('--json')) console.log(JSON.stringify(r));
  else console.log(r);
}
