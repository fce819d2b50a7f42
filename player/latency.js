// Latency: map presentation time -> server ingest time, measure the latency of
// the frame being shown, and hold a target with playbackRate (small band,
// proportional, with hysteresis) or a jump to near the live edge.

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
 * Holds the latency target. tick() is called a few times a second by the
 * player; it measures, smooths, sets video.playbackRate and returns what it did.
 */
export class LatencyController {
  /**
   * @param {HTMLVideoElement} video
   * @param {{target: number, now: () => number, band?: number, jumpAbove?: number,
   *          minBuffer?: number, speedFloor?: number, enter?: number, exit?: number}} opts
   *   target ms; now() server wall clock ms; band max |rate - 1|; jumpAbove ms over
   *   target that triggers a jump; minBuffer ms kept ahead when jumping; speedFloor ms
   *   of buffer below which it never speeds up (Chromium's audio renderer underflows
   *   with ~90-100 ms still in the SourceBuffer, docs/player.md).
   */
  constructor(video, { target, now, band = 0.05, jumpAbove = 2000, minBuffer = 100, speedFloor = 150,
    enter = 80, exit = 20 }) {
    this.video = video;
    this.target = target;
    this.now = now;
    this.band = band;
    this.jumpAbove = jumpAbove;
    this.minBuffer = minBuffer;
    this.speedFloor = speedFloor;
    this.enter = enter;
    this.exit = exit;
    this.map = new IngestMap();
    this.smoothed = null;
    this.adjusting = false;
    this.jumps = 0;
    this.stalled = false;   // set by the player on a stall: jump sooner once it plays again
  }

  /** @returns {number|null} latency of the frame at currentTime, ms (instantaneous) */
  measure() {
    const ing = this.map.at(this.video.currentTime);
    return ing === null ? null : this.now() - ing;
  }

  /** Forget measurements (new stream / epoch); keeps the map. */
  resetSmoothing() { this.smoothed = null; this.adjusting = false; }

  /**
   * Where to play from to be at the target latency: the pts ingested `target`
   * ms ago, at most liveEdge - minBuffer.
   * @param {number} liveEdge seconds (end of the buffered data)
   * @param {number} [target] ms, default the target
   * @returns {number} seconds
   */
  livePosition(liveEdge, target = this.target) {
    const t = this.map.ptsAt(this.now() - target);
    const max = liveEdge - this.minBuffer / 1000;
    return t === null ? max : Math.min(t, max);
  }

  setRate(r) {
    if (Math.abs(this.video.playbackRate - r) > 1e-3) this.video.playbackRate = r;
  }

  /**
   * One control step.
   * @param {{playing: boolean, bufferAhead: number, liveEdge: number}} s bufferAhead ms, liveEdge s (buffered end)
   * @returns {{latency: number|null, rate: number, jumped?: number}}
   */
  tick({ playing, bufferAhead, liveEdge }) {
    const video = this.video;
    this.map.prune(video.currentTime - 30);
    const l = this.measure();
    if (l === null || !playing) {
      this.setRate(1);
      return { latency: this.smoothed, rate: 1 };
    }
    this.smoothed = this.smoothed === null ? l : this.smoothed + 0.25 * (l - this.smoothed);
    const err = l - this.target;
    // far behind (background tab, stall): jump to target distance from the edge. After a
    // stall Chromium grows its own buffering thresholds until a seek: jump sooner then.
    if (this.stalled && err < this.enter * 2) this.stalled = false;
    if (err > (this.stalled ? this.enter * 2 : this.jumpAbove) && liveEdge > 0) {
      const to = this.livePosition(liveEdge);
      if (to > video.currentTime + 0.5) {
        video.currentTime = to;
        this.jumps++;
        this.stalled = false;
        this.smoothed = null;
        this.adjusting = false;
        this.setRate(1);
        return { latency: l, rate: 1, jumped: to };
      }
    }
    const e = this.smoothed - this.target;
    if (!this.adjusting && Math.abs(e) > this.enter) this.adjusting = true;
    else if (this.adjusting && Math.abs(e) < this.exit) this.adjusting = false;
    let rate = 1;
    if (this.adjusting) {
      const mag = Math.min(this.band, Math.max(0.015, Math.abs(e) / 1000 * 0.1));
      rate = e > 0 ? 1 + mag : 1 - mag;
      // speeding up past the buffer would only stall
      if (rate > 1 && bufferAhead < this.speedFloor) rate = 1;
    }
    this.setRate(rate);
    return { latency: this.smoothed, rate };
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
