// One WebSocket viewer for the abr section of make bench (lib/abrbench.mjs),
// run in its own process, inside a network namespace for a slow viewer:
//
//   node abr_viewer.mjs URL SECONDS [AT]
//
// connects at AT (ms since the epoch; at once without it: viewers started
// together connect together, whatever their processes' start-up took), and
// stays SECONDS from then.
// Plays nothing: it records, on this machine's wall clock (ms), when the
// connection opened and closed, every `hello`, `rendition` and `skipped`
// notice, and for every video frame (not configurations) when it arrived,
// its ingest stamp (the server's wall clock at ingest: the same clock, as
// the namespace shares the host's), its dts and whether it is a keyframe.
// Prints one JSON line at the end; the analysis is abrbench.mjs's.
import WebSocket from 'ws';

const [url, seconds = '30', at = '0'] = process.argv.slice(2);
const out = {
  url, t_start: Date.now(), t_open: null, t_end: null, hello: null,
  notices: [], skips: [], video: [], bytes: 0, error: null, close: null,
};
await new Promise((r) => setTimeout(r, Math.max(0, Number(at) - Date.now())));
out.t_connect = Date.now();
const ws = new WebSocket(url, ['wsstream.1']);

ws.on('open', () => { out.t_open = Date.now(); });
ws.on('message', (d, binary) => {
  const at = Date.now();
  out.bytes += d.length;
  if (!binary) {
    const j = JSON.parse(d.toString());
    if (j.type === 'hello') out.hello = j;
    else if (j.type === 'rendition')
      out.notices.push({ at, index: j.index, from: j.from, reason: j.reason,
        continuous: j.continuous });
    else if (j.type === 'skipped')
      out.skips.push({ at, reason: j.reason, frames: j.frames });
    return;
  }
  if (d.length < 14 || (d[0] & 0x20) || (d[0] & 0x0f) !== 1) return;
  // [arrival, ingest, dts, keyframe]
  out.video.push([at, d.readUIntBE(8, 6), d.readUInt32BE(1), (d[0] & 0x10) ? 1 : 0]);
});
ws.on('error', (e) => { out.error = String(e); out.error_at = Date.now(); });
ws.on('close', (code) => { out.close = out.close ?? { at: Date.now(), code }; });

setTimeout(() => {
  out.t_end = Date.now();
  ws.terminate();
  console.log(JSON.stringify(out));
  process.exit(0);
}, Number(seconds) * 1000);
