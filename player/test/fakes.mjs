// Test helper (not a test): a fake video element and waiting helpers for the
// WsStreamPlayer tests.
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
