// Glass-to-glass latency page (driven by bench/g2g.mjs).
//
//   index.html?player=ours|mpegts|hls|hlsll&url=<stream URL>&cfg=<JSON>&seconds=<n>
//
// Before the player starts, window.WebSocket is replaced by a subclass that
// also reads every message the player receives and extracts the publisher's
// stamp SEI (ours: protocol v1 media messages; mpegts.js: FLV bytes); hls.js
// delivers the SEI through FRAG_PARSING_USERDATA, for MPEG-TS segments and
// fMP4 parts alike. For fMP4 (hlsll) the page also walks every part hls.js
// loaded (FRAG_LOADED payload: moof/mdat, bench/lib/fmp4.mjs) and reads the
// SEI of each video sample itself; G.stampSources counts the stamps each
// way gave. stampByIndex keeps the most recent stamp per fixture frame index.
//
// requestVideoFrameCallback gives every presented frame; its barcode (top
// strip, 16 blocks, see bench/fixtures.sh) names the fixture frame, whose
// stamp gives the publisher's wall clock when it sent the frame:
//   latency = expectedDisplayTime (mapped to wall clock) - wall_us / 1000
// Results are in window.__g2g; done is set once `seconds` have passed since
// the first presented frame.
import { oursParser, flvParser, stampFromHlsUserdata } from './stamps.js';
import { initTracks, videoStamps } from '/lib/fmp4.mjs';
import { FIXTURE_FRAMES, barcodeReader } from '/lib/barcode.mjs';
import { loadScript } from '/lib/load_script.mjs';

const params = new URLSearchParams(location.search);
const kind = params.get('player');
const url = params.get('url');
const cfg = JSON.parse(params.get('cfg') || '{}');
const seconds = Number(params.get('seconds') || 60);

const G = window.__g2g = {
  kind, url, cfg, seconds,
  offset: Date.now() - performance.now(), // wall clock = performance time + offset
  stamps: 0, recv: [], frames: [], bad: 0, noStamp: 0, stale: 0, mismatch: 0,
  missedCallbacks: 0, waiting: [], seeks: 0, firstFrame: null, q0: null, q1: null,
  done: false, errors: [], sockets: 0, nonBinary: 0, playerInfo: null,
};
const stampByIndex = new Array(FIXTURE_FRAMES).fill(null);

function onStamp(st) {
  if (st.index >= FIXTURE_FRAMES) return;
  const old = stampByIndex[st.index];
  if (old && old.wallUs === st.wallUs) return; // the same frame, another source
  stampByIndex[st.index] = st;
  G.stamps++;
  if (!G.done) G.recv.push(Date.now() - st.wallUs / 1000);
}

// --- stamps from the WebSocket data -------------------------------------
const makeFeed = kind === 'ours' ? oursParser : kind === 'mpegts' ? flvParser : null;
if (makeFeed) {
  const Base = window.WebSocket;
  class StampWebSocket extends Base {
    constructor(...args) {
      super(...args);
      G.sockets++;
      const feed = makeFeed(onStamp); // per socket: a reconnect restarts the FLV stream
      this.addEventListener('message', (ev) => {
        try {
          if (ev.data instanceof ArrayBuffer) feed(ev.data);
          else if (typeof ev.data !== 'string') G.nonBinary++;
        } catch (e) {
          G.errors.push(`stamp parser: ${e && e.message}`);
        }
      });
    }
  }
  window.WebSocket = StampWebSocket;
}

// --- frame identity: the barcode ------------------------------------------
const video = document.getElementById('video');
video.muted = true;
// Fixture frame index of the picture now in the video element, or -1.
const read = barcodeReader();
const readIndex = () => read(video);

const quality = () => {
  const q = video.getVideoPlaybackQuality();
  return { total: q.totalVideoFrames, dropped: q.droppedVideoFrames };
};

let lastPresented = null, last = null;
function onFrame(now, md) {
  if (G.done) return;
  const t = md.expectedDisplayTime;
  if (G.firstFrame === null) {
    G.firstFrame = t;
    G.q0 = quality();
  }
  const rel = t - G.firstFrame;
  if (rel > seconds * 1000) {
    G.q1 = quality();
    G.done = true;
    return;
  }
  if (lastPresented !== null && md.presentedFrames - lastPresented > 1) {
    G.missedCallbacks += md.presentedFrames - lastPresented - 1;
  }
  lastPresented = md.presentedFrames;
  const idx = readIndex();
  if (idx < 0) {
    G.bad++;
  } else {
    const st = stampByIndex[idx];
    const lat = st ? t + G.offset - st.wallUs / 1000 : NaN;
    if (!st) G.noStamp++;
    else if (lat > 15000 || lat < -1000) G.stale++;   // a stamp from another loop of the fixture
    else G.frames.push([rel, lat, idx]);
    // the barcode and the frame's media time must advance together
    if (last) {
      const want = Math.round((md.mediaTime - last.mediaTime) * 30);
      const got = (idx - last.idx + FIXTURE_FRAMES) % FIXTURE_FRAMES;
      if (want >= 0 && want < FIXTURE_FRAMES && got !== want) G.mismatch++;
    }
    last = { idx, mediaTime: md.mediaTime };
  }
  video.requestVideoFrameCallback(onFrame);
}
video.requestVideoFrameCallback(onFrame);
video.addEventListener('seeking', () => {
  if (G.firstFrame !== null && !G.done) G.seeks++;
});
video.addEventListener('waiting', () => {
  if (G.firstFrame !== null && !G.done) G.waiting.push(performance.now() - G.firstFrame);
});

// --- the players ------------------------------------------------------------
async function start() {
  if (kind === 'ours') {
    const { WsStreamPlayer } = await import('/player/ws-stream-player.js');
    const p = new WsStreamPlayer(video, url, cfg);
    p.on('error', (e) => G.errors.push(`ours ${e.code}: ${e.message}`));
    window.player = p;
    G.playerInfo = { latencyTarget: p.latencyTarget };
  } else if (kind === 'mpegts') {
    await loadScript('/mpegts/mpegts.js');
    const mpegts = window.mpegts;
    mpegts.LoggingControl.enableVerbose = false;
    mpegts.LoggingControl.enableDebug = false;
    mpegts.LoggingControl.enableInfo = false;
    const p = mpegts.createPlayer({ type: 'flv', isLive: true, url, hasAudio: true, hasVideo: true }, cfg);
    p.on(mpegts.Events.ERROR, (type, detail, info) => G.errors.push(`mpegts ${type} ${detail} ${JSON.stringify(info)}`));
    p.attachMediaElement(video);
    p.load();
    const r = p.play();
    if (r && r.catch) r.catch((e) => G.errors.push(`play: ${e.message}`));
    window.player = p;
    G.playerInfo = { version: mpegts.version };
  } else if (kind === 'hls' || kind === 'hlsll') {
    const { default: Hls } = await import('/hlsjs/hls.mjs');
    const hls = new Hls(cfg);
    G.userdataEvents = 0;
    G.stampSources = { FRAG_PARSING_USERDATA: 0 };
    hls.on(Hls.Events.FRAG_PARSING_USERDATA, (ev, data) => {
      G.userdataEvents++;
      for (const s of data.samples || []) {
        const st = stampFromHlsUserdata(s);
        if (st) { G.stampSources.FRAG_PARSING_USERDATA++; onStamp(st); }
      }
    });
    if (kind === 'hlsll') {
      // the same stamps read from the bytes: init segment, then each part
      G.stampSources['FRAG_LOADED bytes'] = 0;
      G.parts = 0;
      let tracks = null;
      hls.on(Hls.Events.FRAG_LOADED, (ev, data) => {
        try {
          const u8 = new Uint8Array(data.payload);
          if (data.frag.sn === 'initSegment') { tracks = initTracks(u8); return; }
          G.parts++;
          for (const s of videoStamps(u8, tracks)) {
            if (!s.stamp) continue;
            G.stampSources['FRAG_LOADED bytes']++;
            onStamp(s.stamp);
          }
        } catch (e) {
          G.errors.push(`part walker: ${e && e.message}`);
        }
      });
    }
    hls.on(Hls.Events.ERROR, (ev, d) => { if (d.fatal) G.errors.push(`hls.js fatal ${d.type} ${d.details}`); });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      const r = video.play();
      if (r && r.catch) r.catch((e) => G.errors.push(`play: ${e.message}`));
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    window.player = hls;
    G.playerInfo = { version: Hls.version };
  } else {
    throw new Error(`unknown player ${kind}`);
  }
}
start().catch((e) => G.errors.push(`start: ${e && e.message}`));
