// Players side by side (driven by bench/sync.mjs and t/68_sync_players.test.mjs).
//
//   index.html?player=ours|mpegts&url=<stream URL>&n=<players>&cfg=<JSON>
//       [&lib=/player/] [&benchlib=/lib/] [&stamps=1] [&w=<CSS px per video>]
//
// n players of one stream, each in its own video element of this page, so
// they share one clock and one compositor: a moment (a vsync) is the same
// number for all of them. requestVideoFrameCallback gives every frame each
// one presents; its barcode (top strip, see bench/fixtures.sh) names the
// fixture frame. window.__sync.players[k].frames holds
//   [expectedDisplayTime (performance ms), fixture index or -1, latency ms or null, frame width]
// and the driver compares the players at the same moments.
//
// Each player's WebSocket URL gets ?sv=k (the servers ignore it) so that
// the page tells the players' sockets apart: window.WebSocket is replaced by
// a subclass whose messages can be held back for a while and then handed on
// in order (hold(k, ms): a stalled link, nothing lost), and that counts the
// sockets a player opened. stamps=1 (a stamping publisher, bench/pub.c): the
// stamp SEI of each video frame is read from the data the player got
// (bench/g2g/stamps.js), and latency = presentation on the wall clock -
// publisher's send time, as in bench/g2g.
//
// lib: where ws-stream-player.js is (the page at /sync/ of nginx in t/68
// loads the player the demo page serves; bench/sync.mjs serves /player/);
// benchlib: bench/lib/ (the barcode reader, the stamps' SEI reader, the
// script loader).
// mpegts.js comes from /mpegts/mpegts.js.
const MAX_FRAMES = 20000;         // per player: 11 minutes at 30 fps
const params = new URLSearchParams(location.search);
const kind = params.get('player') || 'ours';
const url = params.get('url');
const n = Math.max(1, Math.min(16, Number(params.get('n') || 2)));
const cfg = JSON.parse(params.get('cfg') || '{}');
const lib = params.get('lib') || '/player/';
const withStamps = params.get('stamps') === '1';
const libDir = params.get('benchlib') || '/lib/';   // bench/lib/
document.body.style.setProperty('--w', `${Number(params.get('w') || (n > 2 ? 240 : 320))}px`);

const S = window.__sync = {
  kind, url, n, cfg,
  offset: Date.now() - performance.now(),   // wall clock = performance time + offset (g2g's)
  players: [], errors: [], zaps: [], playerInfo: null, ready: false,
};

const tagged = (u, k) => `${u}${u.includes('?') ? '&' : '?'}sv=${k}`;
const viewerOf = (u) => {
  const m = /[?&]sv=(\d+)/.exec(String(u));
  return m ? Number(m[1]) : -1;
};

// --- the players' sockets: held back on demand, counted, stamps read ------
const stampsMod = withStamps ? await import('/g2g/stamps.js') : null;
const makeFeed = !stampsMod ? null : kind === 'ours' ? stampsMod.oursParser : stampsMod.flvParser;
const Base = window.WebSocket;
class SyncWebSocket extends Base {
  constructor(...args) {
    super(...args);
    const p = S.players[viewerOf(args[0])];
    this._p = p || null;
    if (!p) return;
    p.sockets++;
    if (makeFeed) {
      const feed = makeFeed((st) => p.onStamp(st));   // per socket: a reconnect restarts the FLV stream
      const read = (ev) => {
        try { if (ev.data instanceof ArrayBuffer) feed(ev.data); } catch (e) { S.errors.push(`stamps: ${e && e.message}`); }
      };
      read.syncOwn = true;                             // read as it arrives, not held
      this.addEventListener('message', read);
    }
  }

  // the player's handler goes through the gate of its player (both players set onmessage)
  set onmessage(fn) {
    this._onmessage = fn;
    const p = this._p;
    super.onmessage = !fn ? null : !p ? fn : (ev) => p.gate(() => fn.call(this, ev));
  }

  get onmessage() { return this._onmessage ?? null; }

  addEventListener(type, fn, ...rest) {
    const p = this._p;
    if (type !== 'message' || !p || typeof fn !== 'function' || fn.syncOwn) return super.addEventListener(type, fn, ...rest);
    const wrapped = (ev) => p.gate(() => fn.call(this, ev));
    return super.addEventListener(type, wrapped, ...rest);
  }
}
window.WebSocket = SyncWebSocket;

// --- frame identity: the barcode ---------------------------------------------
const { barcodeReader, FIXTURE_FRAMES } = await import(`${libDir}barcode.mjs`);
const readIndex = barcodeReader();

// --- one viewer ------------------------------------------------------------
function makeViewer(k) {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.appendChild(video);
  const stampByIndex = new Array(FIXTURE_FRAMES).fill(null);
  const queue = [];
  const v = {
    k, video, player: null, frames: [], bad: 0, waiting: [], seeks: [], sockets: 0,
    held: 0, heldMessages: 0, stamps: 0, zap: null, errors: [],
    onStamp(st) {
      if (st.index >= FIXTURE_FRAMES) return;
      stampByIndex[st.index] = st;
      v.stamps++;
    },
    // a message goes on now, or after the ones held before it
    gate(fn) {
      if (v.held || queue.length) { queue.push(fn); v.heldMessages++; return; }
      fn();
    },
    release() {
      v.held = 0;
      while (queue.length && !v.held) {
        const fn = queue.shift();
        try { fn(); } catch (e) { S.errors.push(`viewer ${k}: ${e && e.message}`); }
      }
    },
  };
  const onFrame = (now, md) => {
    const t = md.expectedDisplayTime;
    const idx = readIndex(video);
    if (idx < 0) v.bad++;
    let lat = null;
    if (idx >= 0 && withStamps) {
      const st = stampByIndex[idx];
      const l = st ? t + S.offset - st.wallUs / 1000 : NaN;
      if (l < 15000 && l > -1000) lat = Math.round(l * 10) / 10;   // else: a stamp from another loop
    }
    if (v.frames.length < MAX_FRAMES) v.frames.push([Math.round(t * 100) / 100, idx, lat, md.width]);
    if (v.zap && v.zap.t1 === null && t >= v.zap.t0 && md.width > 0 && md.width !== v.zap.fromWidth && idx >= 0) {
      v.zap.t1 = t;
      v.zap.index = idx;
      v.zap.socketsAfter = v.sockets;
      v.zap.width = md.width;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  video.addEventListener('waiting', () => v.waiting.push(performance.now()));
  video.addEventListener('seeking', () => v.seeks.push(performance.now()));
  S.players.push(v);
  return v;
}

// --- the players -----------------------------------------------------------
let Player = null, mpegts = null;

const { loadScript } = await import(`${libDir}load_script.mjs`);

function play(v, streamUrl) {
  const u = tagged(streamUrl, v.k);
  if (kind === 'ours') {
    const p = new Player(v.video, u, cfg);
    p.on('error', (e) => v.errors.push(`ours ${e.code}: ${e.message}`));
    v.player = p;
  } else {
    const p = mpegts.createPlayer({ type: 'flv', isLive: true, url: u, hasAudio: true, hasVideo: true }, cfg);
    p.on(mpegts.Events.ERROR, (type, detail) => v.errors.push(`mpegts ${type} ${detail}`));
    p.attachMediaElement(v.video);
    p.load();
    const r = p.play();
    if (r && r.catch) r.catch((e) => v.errors.push(`play: ${e.message}`));
    v.player = p;
  }
}

async function start() {
  if (kind === 'ours') {
    ({ WsStreamPlayer: Player } = await import(`${lib}ws-stream-player.js`));
  } else if (kind === 'mpegts') {
    await loadScript('/mpegts/mpegts.js');
    mpegts = window.mpegts;
    mpegts.LoggingControl.enableVerbose = false;
    mpegts.LoggingControl.enableDebug = false;
    mpegts.LoggingControl.enableInfo = false;
    S.playerInfo = { version: mpegts.version };
  } else {
    throw new Error(`unknown player ${kind}`);
  }
  for (let k = 0; k < n; k++) play(makeViewer(k), url);
  S.ready = true;
}

// --- what the driver calls -------------------------------------------------
/** Hold back viewer k's messages for `ms`, then hand them on in order. */
S.hold = (k, ms) => {
  const v = S.players[k];
  v.held = performance.now();
  setTimeout(() => v.release(), ms);
  return v.held;
};

/**
 * The players' server-clock offset estimates against the truth: server and
 * browser share this machine's clock, so the true offset of the player's
 * estimate (server ms = performance.timeOrigin + performance.now() + offset)
 * is Date.now() - (performance.timeOrigin + performance.now()).
 */
S.clock = () => S.players.map((v) => {
  const l = v.player && v.player.loader;
  const truth = Date.now() - (performance.timeOrigin + performance.now());
  return {
    offset: l && typeof l.offset === 'number' ? l.offset : null,
    clockError: l && typeof l.clockError === 'number' ? l.clockError : null,
    rtt: l && typeof l.rtt === 'number' ? l.rtt : null,
    truth,
  };
});

/**
 * Viewer k to stream `to` ('app/name'), by `how`: 'reconnect' (the player
 * destroyed, a new one on the same video element with the new URL) or
 * 'switch' (player.switchStream(to) on the open connection). The zap ends
 * at the first presented frame of another width than the one shown at the
 * request whose barcode reads (the driver gives the two streams different
 * sizes; an emptied video element presents nothing readable).
 */
S.zap = (k, to, how) => {
  const v = S.players[k];
  const last = v.frames[v.frames.length - 1];
  v.zap = { how, to, t0: performance.now(), t1: null, fromWidth: last ? last[3] : v.video.videoWidth,
    socketsBefore: v.sockets, socketsAfter: null, index: null, unavailable: null };
  S.zaps.push(v.zap);
  if (how === 'switch') {
    if (!v.player || typeof v.player.switchStream !== 'function') {
      v.zap.unavailable = 'the player has no switchStream()';
      return v.zap;
    }
    // the server said in hello that it takes a switch (else the player reconnects: no switch)
    const l = v.player.loader;
    v.zap.canSwitch = l && 'canSwitch' in l ? !!l.canSwitch : null;
    const z = v.zap;
    v.player.on('zap', (e) => { if (!z.player) z.player = e; });   // the player's own zap time and way
    try {
      const r = v.player.switchStream(to);
      if (r && r.catch) r.catch((e) => { v.zap.unavailable = `switchStream: ${e && e.message}`; });
    } catch (e) {
      v.zap.unavailable = `switchStream: ${e && e.message}`;
    }
    return v.zap;
  }
  const wsUrl = new URL(url);
  wsUrl.pathname = wsUrl.pathname.replace(/[^/]+\/[^/]+$/, to);
  if (v.player) v.player.destroy();
  play(v, wsUrl.toString());
  return v.zap;
};

/** What was recorded from performance time `from` on (frames, events), and the players' state. */
S.dump = (from = 0) => S.players.map((v) => {
  const q = v.video.getVideoPlaybackQuality();
  const p = v.player;
  return {
    k: v.k,
    frames: v.frames.filter((f) => f[0] >= from),
    bad: v.bad, sockets: v.sockets, heldMessages: v.heldMessages, stamps: v.stamps,
    waiting: v.waiting.filter((t) => t >= from), seeks: v.seeks.filter((t) => t >= from),
    dropped: q.droppedVideoFrames, decoded: q.totalVideoFrames,
    state: kind === 'ours' && p ? p.state : null,
    stalls: kind === 'ours' && p ? p.stalls : null,
    latencyTarget: kind === 'ours' && p ? p.latencyTarget : null,
    errors: v.errors.slice(0, 20),
  };
});

start().catch((e) => S.errors.push(`start: ${e && e.message}`));
