// Run inside a network namespace: one WebSocket viewer of URL for SECONDS;
// prints one JSON line: how far behind live its newest media was at the
// end and at worst after the first seconds (ms, from the frames' ingest
// stamps on this machine's clock), the skips it was told of, whether every
// skip was followed by a keyframe, video frames received.
import WebSocket from 'ws';

const [url, seconds = '20', settle = '5'] = process.argv.slice(2);
const ws = new WebSocket(url, ['wsstream.1']);
const t0 = Date.now();
const out = { behindEnd: null, behindMax: 0, skips: [], keyAfterSkip: true, video: 0, error: null };
let wantKey = false;

ws.on('message', (d, bin) => {
  if (!bin) {
    const j = JSON.parse(d.toString());
    if (j.type === 'skipped') { out.skips.push(j.reason); wantKey = true; }
    return;
  }
  if (d.length < 14) return;
  const track = d[0] & 0x0f, key = (d[0] & 0x10) !== 0, config = (d[0] & 0x20) !== 0;
  if (config) return;
  if (wantKey && track === 1) { if (!key) out.keyAfterSkip = false; wantKey = false; }
  const behind = Date.now() - d.readUIntBE(8, 6);
  out.behindEnd = behind;
  if (Date.now() - t0 > Number(settle) * 1000) out.behindMax = Math.max(out.behindMax, behind);
  if (track === 1) out.video++;
});
ws.on('error', (e) => { out.error = String(e); });
setTimeout(() => { console.log(JSON.stringify(out)); process.exit(0); }, Number(seconds) * 1000);
