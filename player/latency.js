// The player's two time maps: presentation time -> server ingest time (IngestMap,
// which the sync controller, sync.js, measures latency with), and stream dts -> one
// continuous player timeline across reconnects, restarts and channels (Timeline).

/** Presentation time (s, player timeline) -> ingest time (server ms), sorted by pts. */
export class IngestMap {
  constructor(max = 4000) {
    this.pts = [];
    this.ingest = [];
    this.max = max;
  }

  /** @param {number} pts seconds @param {number} ingest server ms */
  add(pts, ingest) {
    let i = this.pts.length;
    while (i > 0 && this.pts[i - 1] > pts) i--;   // B-frames: insert sorted
    if (i > 0 && this.pts[i - 1] === pts) { this.ingest[i - 1] = ingest; return; }
    this.pts.splice(i, 0, pts);
    this.ingest.splice(i, 0, ingest);
    if (this.pts.length > this.max) { this.pts.shift(); this.ingest.shift(); }
  }

  /** Drop entries before t (s), keeping one for interpolation. */
  prune(t) {
    let n = 0;
    while (n + 1 < this.pts.length && this.pts[n + 1] < t) n++;
    if (n) { this.pts.splice(0, n); this.ingest.splice(0, n); }
  }

  clear() { this.pts.length = 0; this.ingest.length = 0; }

  get size() { return this.pts.length; }

  /** @returns {number} pts of the newest entry (s), or NaN */
  get lastPts() { return this.pts.length ? this.pts[this.pts.length - 1] : NaN; }

  /**
   * Presentation time (s) whose ingest time is `ingest` (server ms): the inverse
   * of at(), assuming ingest grows with pts; null when empty.
   * @param {number} ingest
   */
  ptsAt(ingest) {
    const p = this.pts, g = this.ingest, n = p.length;
    if (!n) return null;
    if (ingest >= g[n - 1]) return p[n - 1] + (ingest - g[n - 1]) / 1000;
    if (ingest <= g[0]) return p[0] - (g[0] - ingest) / 1000;
    let i = n - 1;
    while (i > 0 && g[i - 1] > ingest) i--;
    const lo = i - 1, hi = i;
    const f = g[hi] === g[lo] ? 0 : (ingest - g[lo]) / (g[hi] - g[lo]);
    return p[lo] + f * (p[hi] - p[lo]);
  }

  /**
   * Ingest time (server ms) of presentation time t, interpolated between
   * neighbours, extrapolated in real time past the ends; null when empty.
   * @param {number} t seconds
   */
  at(t) {
    const p = this.pts, g = this.ingest, n = p.length;
    if (!n) return null;
    if (t <= p[0]) return g[0] - (p[0] - t) * 1000;
    if (t >= p[n - 1]) return g[n - 1] + (t - p[n - 1]) * 1000;
    let lo = 0, hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (p[mid] <= t) lo = mid; else hi = mid;
    }
    const f = (t - p[lo]) / (p[hi] - p[lo]);
    return g[lo] + f * (g[hi] - g[lo]);
  }
}

/**
 * Stream dts (u32 ms, wrapping, reset by a publisher restart) -> one continuous
 * player timeline (ms). After a discontinuity the player calls begin() at the
 * next keyframe: a new epoch starts where the buffered data ends, except when
 * `rejoin` (a reconnect to the same publisher) and the keyframe falls inside
 * the current mapping: then the mapping is kept and frames already appended are
 * dropped, so nothing plays twice.
 */
export class Timeline {
  constructor() {
    this.epoch = null;                        // { base: stream dts, start: timeline ms }
    this.ends = { video: 0, audio: 0 };       // timeline ms where each track's data ends
    this.last = { video: null, audio: null }; // last timeline dts per track
    this.catchUp = false;                     // rejoined: drop what is not newer than `last`
  }

  _map(dts) {
    let d = (dts - this.epoch.base) >>> 0;    // u32 wrap
    if (d > 0x80000000) d -= 0x100000000;     // before the base
    return this.epoch.start + d;
  }

  /** @returns {number} timeline ms where the data ends */
  get end() { return Math.max(this.ends.video, this.ends.audio); }

  /**
   * Start mapping at a keyframe with stream dts `dts`.
   * @returns {boolean} true when a new epoch started (the remuxer must resync)
   */
  begin(dts, rejoin) {
    if (rejoin && this.epoch) {
      const t = this._map(dts);
      if (t >= this.epoch.start && t <= this.end + 5000) { this.catchUp = true; return false; }
    }
    this.epoch = { base: dts, start: this.end };
    this.last = { video: null, audio: null };
    this.catchUp = false;
    return true;
  }

  /**
   * Move the mapping of the dts to come by `ms` (a rendition switch whose keyframes
   * have another composition offset: presentation, not decode time, goes on).
   * @param {number} ms
   */
  shift(ms) {
    if (this.epoch) this.epoch.start += ms;
  }

  /**
   * Timeline dts of a sample, and the track's end moved past it (`dur` ms).
   * @returns {number|null|'back'} ms; null: drop it; 'back': timestamps went back, restart at a keyframe
   */
  place(track, dts, dur) {
    const t = this._map(dts);
    if (t < this.epoch.start) return null;     // audio ahead of the epoch's first keyframe
    const prev = this.last[track];
    if (this.catchUp && prev !== null && t <= prev) return null;
    if (prev !== null && t < prev - 500) return 'back';
    this.last[track] = t;
    this.ends[track] = Math.max(this.ends[track], t + (dur ?? (prev !== null && t > prev ? t - prev : 33)));
    return t;
  }
}
