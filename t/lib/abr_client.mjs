// Run inside a network namespace: one WebSocket viewer of a rendition
// group for SECONDS. Prints one JSON line: the rendition notices and skips
// it was told of (ms since it connected), the dts steps of each track
// across every move (last frame before the notice -> first after; a move
// made at the keyframe a skip landed on is marked afterSkip), whether
// dts ever stepped back or repeated, whether each move's media started with
// a keyframe after its configuration, how far behind live it was (from the
// frames' ingest stamps), and the video frames received.
import WebSocket from 'ws';

const [url, seconds = '30'] = process.argv.slice(2);
const ws = new WebSocket(url, ['wsstream.1']);
const t0 = Date.now();
const out = {
  hello: null, notices: [], skips: [], moves: [], backwards: [], keyFirst: true, configFirst: true,
  behind: [], video: 0, error: null,
};
const last = { 1: null, 2: null };
let move = null;         // the move whose first frames are awaited
let configSeen = false;
let second = -1;

ws.on('message', (d, bin) => {
  const at = Date.now() - t0;
  if (!bin) {
    const j = JSON.parse(d.toString());
    if (j.type === 'hello') out.hello = j;
    if (j.type === 'skipped') {
      out.skips.push({ at, reason: j.reason });
      move = { at, video: null, audio: null, skip: true };
      // the frames before the skip are not those a move that follows goes on from
      last[1] = last[2] = null;
    }
    if (j.type === 'rendition') {
      out.notices.push({ at, index: j.index, from: j.from, reason: j.reason, continuous: j.continuous });
      const afterSkip = move && move.skip && move.video === null;
      move = { at, index: j.index, from: j.from, continuous: j.continuous, video: null, audio: null,
        afterSkip, before: { video: last[1], audio: last[2] } };
      if (j.from >= 0) out.moves.push(move);
      configSeen = false;
    }
    return;
  }
  if (d.length < 14) return;
  const track = d[0] & 0x0f, key = (d[0] & 0x10) !== 0, config = (d[0] & 0x20) !== 0;
  if (config) { if (track === 1) configSeen = true; return; }
  const dts = d.readUInt32BE(1);
  if (move && !move.skip) {
    if (track === 1 && move.video === null) {
      move.video = dts;
      if (!key) out.keyFirst = false;
      if (!configSeen) out.configFirst = false;
    }
    if (track === 2 && move.audio === null) move.audio = dts;
  }
  if (move && move.skip && track === 1 && move.video === null) { move.video = dts; if (!key) out.keyFirst = false; }
  // a skip may go back in dts only if ... it never should: the ring's newest keyframe is ahead
  if (last[track] !== null && dts <= last[track] && track <= 2) out.backwards.push({ at, track, from: last[track], to: dts });
  if (track <= 2) last[track] = dts;
  if (track === 1) out.video++;
  const s = Math.floor(at / 1000);
  if (s !== second) { second = s; out.behind.push(Date.now() - d.readUIntBE(8, 6)); }
});
ws.on('error', (e) => { out.error = String(e); });
setTimeout(() => {
  for (const m of out.moves) {
    m.dv = m.video !== null && m.before.video !== null ? m.video - m.before.video : null;
    m.da = m.audio !== null && m.before.audio !== null ? m.audio - m.before.audio : null;
    delete m.before;
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}, Number(seconds) * 1000);
