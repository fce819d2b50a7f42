// What the player measures for its stats and reports (docs/protocol.md, report):
// throughput of the socket, encoded bitrate of what plays, stall time, startup time.
// Clocks are passed in (ms), so tests drive them.

const now = () => performance.now();

/** Bits per second of a growing byte count, over the last `window` ms of samples. */
export class RateMeter {
  /** @param {{window?: number, now?: () => number}} [opts] */
  constructor({ window = 1000, now: clock = now } = {}) {
    this.window = window;
    this.now = clock;
    this.samples = [];          // [ms, total bytes], the oldest at or before now - window
  }

  /** @param {number} total bytes received so far */
  sample(total) {
    const t = this.now(), s = this.samples;
    s.push([t, total]);
    while (s.length > 1 && s[1][0] <= t - this.window) s.shift();
  }

  /**
   * @param {number} total bytes received so far
   * @returns {number|null} bits/s since the oldest sample kept; null over less than a quarter window
   */
  bps(total) {
    const b = this.samples[0], dt = b && this.now() - b[0];
    return b && dt >= this.window / 4 ? (total - b[1]) * 8000 / dt : null;
  }
}

/**
 * Encoded bitrate of the media around the playhead (CMCD `br`, in bits/s): the
 * bytes of the samples between two boundaries (video keyframes; every frame of
 * an audio-only stream) before the playhead, spanning at least `window` s when
 * the buffer holds that much, over their duration. Whole GOPs, so the size of
 * keyframes does not make it swing.
 */
export class BitrateMeter {
  /** @param {{window?: number, keep?: number}} [opts] seconds */
  constructor({ window = 2, keep = 30 } = {}) {
    this.window = window;
    this.keep = keep;
    this.samples = [];          // [timeline s, bytes, boundary], in arrival order (about sorted)
  }

  /** @param {number} t timeline s @param {number} bytes @param {boolean} boundary */
  add(t, bytes, boundary) {
    const s = this.samples;
    s.push([t, bytes, !!boundary]);
    let k = 0;
    while (s[k][0] < t - this.keep) k++;
    if (k) s.splice(0, k);
  }

  /** @param {number} playhead s @returns {number|null} bits/s, null without enough media */
  bps(playhead) {
    const s = this.samples;
    let t1 = null, t0 = null;
    for (let i = s.length; i--;) {
      const [t, , key] = s[i];
      if (!key || t > playhead || (t1 !== null && t >= t1)) continue;
      if (t1 === null) t1 = t;
      else if ((t0 = t) <= t1 - this.window) break;
    }
    // no boundary before t1: part of one GOP, from its keyframe to the playhead, once that is long enough
    if (t1 === null || (t0 === null && playhead - t1 < this.window)) return null;
    const from = t0 ?? t1, to = t0 === null ? playhead : t1;
    let bytes = 0;
    for (const [t, n] of s) if (t >= from && t < to) bytes += n;
    return to > from ? bytes * 8 / (to - from) : null;
  }
}

/**
 * Stalls and startup. A stall is the time in `buffering` entered from `playing`.
 * Startup is from the start of an attempt to play (the player's start, or the loss
 * of a connection that had shown a frame) to the first frame of the connection
 * presented.
 */
export class PlaybackMeter {
  /** @param {() => number} [clock] ms */
  constructor(clock = now) {
    this.now = clock;
    this.stalls = 0;
    this.stalled = 0;           // ms in stalls that ended
    this.stallAt = null;        // start of the stall going on
    this.attemptAt = clock();
    this.startup = null;        // ms, for this connection
    this.firstPts = null;       // s: the first sample of this connection
  }

  /** @returns {number} ms stalled in all, the stall going on included */
  get stallTime() {
    return this.stalled + (this.stallAt === null ? 0 : this.now() - this.stallAt);
  }

  /**
   * The player state changed (at `at` ms, default now).
   * @returns {boolean} true when a stall starts
   */
  state(from, to, at = this.now()) {
    if (this.stallAt !== null) {
      this.stalled += Math.max(0, at - this.stallAt);
      this.stallAt = null;
    }
    if (from !== 'playing' || to !== 'buffering') return false;
    this.stalls++;
    this.stallAt = at;
    return true;
  }

  /** The connection closed: a new attempt starts, unless this one never showed a frame. */
  lost() {
    if (this.startup !== null) this.attemptAt = this.now();
    this.startup = this.firstPts = null;
  }

  /** A sample of this connection was placed at pts (s). */
  media(pts) { this.firstPts ??= pts; }

  /** @returns {boolean} whether the connection waits for its first frame to be presented */
  get waiting() { return this.startup === null && this.firstPts !== null; }

  /**
   * A frame was presented.
   * @param {number} mediaTime its pts (s) @param {number} [at] when (ms)
   * @returns {boolean} true when it is the connection's first
   */
  presented(mediaTime, at = this.now()) {
    if (!this.waiting || !(mediaTime >= this.firstPts - 0.001)) return false;
    this.startup = Math.max(0, at - this.attemptAt);
    return true;
  }
}
