// Test helper (not a test): a fake video element, WebSocket and MediaSource, and
// waiting helpers for the WsStreamPlayer tests.
import assert from 'node:assert/strict';

/** TimeRanges of [[start, end], ...] (seconds). */
export function ranges(list = []) {
  return { length: list.length, start: (i) => list[i][0], end: (i) => list[i][1] };
}

/**
 * A video element: the test moves currentTime and buffered itself; frames are
 * "presented" with present(mediaTime), which runs the requestVideoFrameCallback
 * callbacks (when `frameCallbacks`).
 */
export class FakeVideo extends EventTarget {
  constructor({ nativeHls = false, startDate = null, frameCallbacks = false } = {}) {
    super();
    this.nativeHls = nativeHls;
    this.currentTime = 0;
    this.muted = false;
    this.paused = true;
    this.seeking = false;
    this.readyState = 4;
    this.playbackRate = 1;
    this.buffered = ranges();
    this.plays = 0;
    this.src = '';
    this.decoded = 0;
    if (startDate !== null) this.getStartDate = () => new Date(startDate);
    if (frameCallbacks) {
      this.frameCbs = new Map();
      this.frameCbId = 0;
      this.requestVideoFrameCallback = (fn) => { this.frameCbs.set(++this.frameCbId, fn); return this.frameCbId; };
      this.cancelVideoFrameCallback = (id) => { this.frameCbs.delete(id); };
    }
  }
  canPlayType(t) { return this.nativeHls && t === 'application/vnd.apple.mpegurl' ? 'maybe' : ''; }
  play() { this.plays++; this.paused = false; return Promise.resolve(); }
  removeAttribute(name) { if (name === 'src') this.src = ''; }
  load() {}
  fire(type) { this.dispatchEvent(new Event(type)); }
  getVideoPlaybackQuality() { return { droppedVideoFrames: 0, totalVideoFrames: this.decoded }; }

  /** A frame with pts `mediaTime` (s) is presented at performance.now() - `ago` ms. */
  present(mediaTime, ago = 0) {
    this.decoded++;
    const now = performance.now();
    const cbs = [...this.frameCbs.values()];
    this.frameCbs.clear();
    for (const fn of cbs) fn(now, { mediaTime, presentationTime: now - ago, expectedDisplayTime: now + 16 });
  }
}

/** A seeded random in [0, 1) (mulberry32), so a failing sequence repeats. */
export function random(seed = 1) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const tick = () => new Promise((r) => setTimeout(r, 0));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait until fn() is true (polled every 5 ms), or fail after ms. */
export const until = async (fn, ms = 1000, what = 'condition') => {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) if (fn()) return;
  assert.fail(`${what} not met`);
};

/** The player's state, error and stats events, as they come. */
export function collect(player) {
  const seen = { states: [], errors: [], stats: [] };
  player.on('state', (s) => seen.states.push(s));
  player.on('error', (e) => seen.errors.push(e));
  player.on('stats', (s) => seen.stats.push(s));
  return seen;
}

/** A WebSocket the test drives: open(), text(obj), binary(bytes), drop(); `sent` holds what the player sent. */
export class FakeWebSocket {
  static made = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    FakeWebSocket.made.push(this);
  }
  send(s) { this.sent.push(JSON.parse(s)); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen(); }
  text(obj) { this.onmessage({ data: JSON.stringify(obj) }); }
  binary(bytes) { this.onmessage({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }); }
  drop() { this.readyState = 3; this.onclose({ code: 1006, reason: '' }); }
  get reports() { return this.sent.filter((m) => m.type === 'report'); }
}

/** A SourceBuffer that keeps what is appended (`data`) and the changeType() calls (`types`). */
export class FakeSourceBuffer extends EventTarget {
  constructor(mime) {
    super();
    this.mime = mime;
    this.updating = false;
    this.buffered = ranges();
    this.appends = 0;
    this.data = [];
    this.types = [];
  }
  appendBuffer(data) {
    this.updating = true;
    this.data.push(new Uint8Array(data));
    setTimeout(() => { this.updating = false; this.appends++; this.dispatchEvent(new Event('updateend')); });
  }
  changeType(mime) { this.types.push(mime); }
  remove() {}
}

/** A MediaSource that opens on the next task; `buffers` are its SourceBuffers. `changeType: false`: a browser without it. */
export class FakeMediaSource extends EventTarget {
  static made = [];
  static changeType = true;
  static isTypeSupported() { return true; }
  constructor() {
    super();
    this.readyState = 'closed';
    this.buffers = [];
    FakeMediaSource.made.push(this);
    setTimeout(() => { this.readyState = 'open'; this.dispatchEvent(new Event('sourceopen')); });
  }
  addSourceBuffer(mime) {
    const sb = new FakeSourceBuffer(mime);
    if (!FakeMediaSource.changeType) sb.changeType = undefined;
    this.buffers.push(sb);
    return sb;
  }
  endOfStream() { this.readyState = 'ended'; }
}

/** The globals the player needs on the MSE path (fakes above), put back after the test. */
export function installFakes(t) {
  const saved = { self: globalThis.self, WebSocket: globalThis.WebSocket, create: URL.createObjectURL, revoke: URL.revokeObjectURL };
  globalThis.self = { MediaSource: FakeMediaSource };
  globalThis.WebSocket = FakeWebSocket;
  URL.createObjectURL = () => 'blob:fake';
  URL.revokeObjectURL = () => {};
  FakeWebSocket.made = [];
  FakeMediaSource.made = [];
  FakeMediaSource.changeType = true;
  t.after(() => {
    globalThis.self = saved.self;
    globalThis.WebSocket = saved.WebSocket;
    URL.createObjectURL = saved.create;
    URL.revokeObjectURL = saved.revoke;
  });
}

/**
 * A live stream played by a fake video on a fake clock, for the sync controller
 * (sync.js) without a browser: frame i (pts i / fps s) is ingested at server time
 * origin + i * 1000 / fps and arrives transit(i) ms later, in order (TCP); what has
 * arrived is buffered; currentTime advances at playbackRate while more than
 * `underflow` ms are buffered ahead (else a stall, as Chromium's audio renderer
 * stops with ~90-100 ms left), frames are presented as it passes them
 * (frame(mediaTime, expectedDisplayTime), `display` ms ahead) and the controller
 * ticks every 250 ms. `offset`: server clock minus local clock.
 */
export class LiveSim {
  constructor({ fps = 30, transit = () => 1, offset = 0, underflow = 0, display = 16, frames = true } = {}) {
    Object.assign(this, { fps, transit, offset, underflow, display, frames });
    this.t = 100000;                       // local ms
    this.origin = this.t + offset;         // server ms of frame 0's ingest
    this.video = new FakeVideo();
    this.end = 0;                          // s: buffered end
    this.next = 0;                         // next frame to arrive
    this.lastArrival = -Infinity;
    this.sync = null;
    this.tickAt = this.t;
    this.lastTickTime = 0;
    this.stalls = 0;
    this.stalled = false;
    this.shown = null;
    this.ticking = true;                   // false: timers and frame callbacks stopped (a hidden tab)
    this.local = () => this.t;
    this.now = () => this.t + this.offset;
  }

  /** @returns {number} latency (ms) of the last frame presented: server time it is displayed minus its ingest */
  presentedLatency() { return this.shown; }

  _arrive() {
    for (;;) {
      const i = this.next, ingest = this.origin + i * 1000 / this.fps;
      const at = Math.max(this.lastArrival, ingest - this.offset + this.transit(i));
      if (at > this.t) return;
      this.lastArrival = at;
      this.next++;
      const pts = i / this.fps;
      this.end = Math.max(this.end, pts + 1 / this.fps);
      this.video.buffered = ranges([[0, this.end]]);
      if (this.sync) {
        this.sync.map.add(pts, ingest);
        this.sync.arrival(ingest);
      }
    }
  }

  /**
   * Run `ms` of time in 5 ms steps.
   * @param {number} ms @param {(sim: LiveSim) => void} [each] after every control tick
   */
  run(ms, each) {
    const v = this.video;
    for (const stop = this.t + ms; this.t < stop;) {
      this.t += 5;
      this._arrive();
      if (!v.paused) {
        const before = v.currentTime, ahead = (this.end - before) * 1000;
        if (ahead > this.underflow) {
          v.currentTime = Math.min(this.end, before + 0.005 * v.playbackRate);
          if (this.stalled) this.stalled = false;
          const f = this.fps;
          const k = Math.floor(v.currentTime * f + 1e-6);
          if (k > Math.floor(before * f + 1e-6)) {
            this.shown = this.now() + this.display - (this.origin + k * 1000 / f);
            if (this.ticking && this.frames) this.sync.frame(k / f, this.t + this.display);
          }
        } else if (!this.stalled) {
          this.stalled = true;
          this.stalls++;
        }
      }
      if (this.ticking && this.t - this.tickAt >= 250) {
        this.tickAt = this.t;
        const playing = v.currentTime !== this.lastTickTime;
        if (!playing && this.wasPlaying && !v.paused) this.sync.stalled = true;   // as the player, on playing -> buffering
        this.wasPlaying = playing;
        this.lastTickTime = v.currentTime;
        this.sync.tick({ playing, bufferAhead: (this.end - v.currentTime) * 1000, liveEdge: this.end, bufferStart: 0 });
        if (each) each(this);
      }
    }
  }

  /**
   * Buffer `ms` of arrivals with the video paused, then play so that frames are
   * presented `latency` ms after their ingest (at rate 1).
   * @param {number} latency ms @param {number} [ms]
   */
  start(latency, ms = 3000) {
    this.run(ms);
    // the next frame boundary of that latency: wait for it, and start there
    const x = (this.now() + this.display - latency - this.origin) * this.fps / 1000, i = Math.ceil(x);
    this.t += (i - x) * 1000 / this.fps;
    this._arrive();
    this.video.currentTime = i / this.fps;
    this.lastTickTime = this.video.currentTime;
    this.video.paused = false;
  }
}
