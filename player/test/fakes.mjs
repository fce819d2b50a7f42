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
