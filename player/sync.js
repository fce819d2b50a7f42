// SyncController: holds the latency target, so that every viewer of a stream shows
// the same frame at the same moment (docs/player.md, "Sync"). Driven by the frame
// presented (requestVideoFrameCallback: the exact frame and when it reaches the
// screen), else by the control tick reading currentTime. The error is filtered,
// then closed with a small playbackRate correction (a tanh curve within +/- band,
// a dead band around the target) or, beyond a maximum error, a seek. The target is
// the shared one (hello's `latency`, the page's, the default), raised in 50 ms steps
// when this connection's transit and jitter need more (jitter.js).
import { IngestMap } from './latency.js';
import { JitterMeter } from './jitter.js';

const BAND = 0.05;         // largest |playbackRate - 1|: time-stretched audio (preservesPitch) stays clean
const CURVE = 50;          // ms: rate - 1 = BAND * tanh(error / CURVE), a gain of 1/s near the target:
                           // 100 ms closes to the dead band in ~2.7 s, a frame's hiccup (33 ms) in ~1 s
const DEAD = 12;           // ms: an error within it leaves rate 1 (under half a frame at 30 fps)
const SETTLE = 3;          // ms: a correction goes on down to this error (no chatter at the dead band's edge)
const SMOOTH = 200;        // ms: the error filter's time constant; with the gain above the loop is
                           // damped (zeta = 1 / (2 sqrt(1/s x 0.2 s)) = 1.1): no overshoot
const MAX_ERROR = 1000;    // ms either way: seek instead of a rate (at 5 % it would take 20 s)
const STALL_JUMP = 160;    // ms behind after a stall: seek (Chromium raises its buffering thresholds
                           // after an underflow until the next seek, docs/player.md)
const RESYNC = 100;        // ms either way after time jumped (background tab, frozen page): seek
const GAP = 2000;          // ms between two control steps: time jumped (background timers run at 1 Hz)
const FRESH = 500;         // ms: a presented frame this recent measures; else the tick reads currentTime
const BASE = 120;          // ms: the lowest target held without stalls on loopback (docs/player.md);
                           // the jitter cover is added to it
const STEP = 50;           // ms: a raised target is the shared one plus steps of this, so that viewers
                           // on alike links hold the same one (their measures differ by a few ms)
const SLACK = 10;          // ms a need may pass the shared target by before it is raised (a step
                           // for a start-up blip would cost 50 ms for minutes)

/** Holds the target with video.playbackRate and seeks; the player calls tick() every 250 ms. */
export class SyncController {
  /**
   * @param {HTMLVideoElement} video
   * @param {{target: number, now: () => number, local?: () => number, band?: number, curve?: number,
   *          dead?: number, settle?: number, smooth?: number, maxError?: number, minBuffer?: number,
   *          speedFloor?: number, base?: number, step?: number, jitter?: JitterMeter}} opts
   *   target: the shared target, ms; now(): server wall clock, ms; local(): the clock of
   *   requestVideoFrameCallback's times (performance.now()); minBuffer: ms kept ahead when seeking;
   *   speedFloor: ms of buffer below which it never speeds up (Chromium's audio renderer
   *   underflows with ~90-100 ms still in the SourceBuffer, docs/player.md).
   */
  constructor(video, { target, now, local = () => performance.now(), band = BAND, curve = CURVE, dead = DEAD,
    settle = SETTLE, smooth = SMOOTH, maxError = MAX_ERROR, minBuffer = 100, speedFloor = 150, base = BASE,
    step = STEP, jitter = new JitterMeter() }) {
    Object.assign(this, { video, shared: target, now, local, band, curve, dead, settle, smooth, maxError,
      minBuffer, speedFloor, base, step, jitter });
    this.map = new IngestMap();
    this.smoothed = null;       // filtered latency of the presented frame, ms
    this.adjusting = 0;         // direction of the correction going on: 1 faster, -1 slower, 0 none
    this.jumps = 0;             // seeks made
    this.stalled = false;       // set by the player on a stall: seek sooner once it plays again
    this._sampleAt = null;
    this._frameAt = null;       // local ms of the last presented frame measured
    this._tickAt = null;
    this._resync = false;       // time jumped: the next measurement may seek
    this._means = {};           // name -> [sum, count] of latency - shared target since the last take
  }

  /** @returns {number|null} the latency this link needs (ms): transit cover plus the player's own floor */
  get need() {
    const c = this.jitter.cover;
    return c === null ? null : c + this.now() - this.local() + Math.min(this.shared, this.base);   // server clock
  }

  /**
   * @returns {number} the target held (ms): the shared one, or, when this link needs more
   *   (by over SLACK ms), the shared one plus as many `step`s as it takes
   */
  get target() {
    const n = this.need, s = this.shared;
    return n === null || n <= s + SLACK ? s : s + Math.ceil((n - s) / this.step) * this.step;
  }

  /**
   * A media message arrived (its ingest stamp, server ms): one transit for the jitter,
   * on the local clock (minus the offset): the clock estimate improving (a pong of
   * a shorter round trip, the first after a busy start) must not look like jitter.
   */
  arrival(ingest) {
    const t = this.local();
    this.jitter.add(t - ingest, t);
  }

  /** Media from a keyframe come at once (a connection, a channel, a skip): backlog, not jitter. */
  burst() { this.jitter.restart(this.local()); }

  /** @returns {number|null} latency of the frame at currentTime, ms (instantaneous) */
  measure() {
    const ing = this.map.at(this.video.currentTime);
    return ing === null ? null : this.now() - ing;
  }

  /**
   * A frame was presented (requestVideoFrameCallback): the server's clock when it
   * reaches the screen minus the ingest of that very frame.
   * @param {number} mediaTime s @param {number} displayAt local ms (expectedDisplayTime)
   */
  frame(mediaTime, displayAt) {
    const ing = this.map.at(mediaTime);
    if (ing === null) return;
    const t = this.local();
    this._frameAt = t;
    this._sample(this.now() + (displayAt - t) - ing, t);
  }

  _sample(l, t) {
    const a = this.smoothed === null ? 1 : 1 - Math.exp(-Math.max(0, t - this._sampleAt) / this.smooth);
    this.smoothed = this.smoothed === null ? l : this.smoothed + a * (l - this.smoothed);
    this._sampleAt = t;
    for (const m of Object.values(this._means)) { m[0] += l - this.shared; m[1]++; }
  }

  /**
   * Mean of (latency - shared target) over the samples since the last call with this name
   * (reports and stats each take their own).
   * @param {string} name @returns {number|null}
   */
  takeSync(name) {
    const m = this._means[name] ??= [0, 0];
    const mean = m[1] ? m[0] / m[1] : null;
    m[0] = m[1] = 0;
    return mean;
  }

  /** Forget the measurements (a new connection, a channel); the jitter margin stays (same link). */
  reset() {
    this.smoothed = this._sampleAt = this._frameAt = null;
    this.adjusting = 0;
    this.stalled = this._resync = false;
    for (const m of Object.values(this._means)) m[0] = m[1] = 0;
    this.setRate(1);
  }

  /** Time jumped (the page was hidden): measure afresh, and seek to the target if off. */
  resync() {
    this.smoothed = this._frameAt = null;
    this._resync = true;
  }

  /**
   * Where to play from to be at the target latency: the pts ingested `target`
   * ms ago, at most liveEdge - minBuffer.
   * @param {number} liveEdge seconds (end of the buffered data)
   * @param {number} [target] ms, default the target held
   * @returns {number} seconds
   */
  livePosition(liveEdge, target = this.target) {
    const t = this.map.ptsAt(this.now() - target);
    const max = liveEdge - this.minBuffer / 1000;
    return t === null ? max : Math.min(t, max);
  }

  setRate(r) {
    if (Math.abs(this.video.playbackRate - r) > 5e-4) this.video.playbackRate = r;
  }

  /**
   * One control step.
   * @param {{playing: boolean, bufferAhead: number, liveEdge: number, bufferStart?: number}} s
   *   bufferAhead ms; liveEdge, bufferStart s (the buffered range: where a seek may go)
   * @returns {{latency: number|null, rate: number, jumped?: number}}
   */
  tick({ playing, bufferAhead, liveEdge, bufferStart = 0 }) {
    const video = this.video, t = this.local();
    this.map.prune(video.currentTime - 30);
    this.jitter.update(t);
    if (this._tickAt !== null && t - this._tickAt > GAP) this.resync();
    this._tickAt = t;
    if (!playing) {
      // a stall or a seek: the filter starts again from the first frame after it
      this.smoothed = null;
      this.adjusting = 0;
      this.setRate(1);
      return { latency: null, rate: 1 };
    }
    if (this._frameAt === null || t - this._frameAt > FRESH) {
      const l = this.measure();
      if (l !== null) this._sample(l, t);
    }
    if (this.smoothed === null) return { latency: null, rate: 1 };
    const target = this.target, e = this.smoothed - target;
    if (this.stalled && e < STALL_JUMP) this.stalled = false;
    // only forward: a seek back would show frames again, and a lead of a second is what a
    // wrong measure looks like (t/65 once saw a 1.2 s seek back on a throttled link, where
    // pongs queue behind media): slowing down (5 %) corrects a real lead, replaying nothing
    const behind = this.stalled ? STALL_JUMP : this._resync ? RESYNC : this.maxError;
    this._resync = false;
    if (e > behind && liveEdge > 0) {
      const to = Math.max(bufferStart, this.livePosition(liveEdge, target));
      if (Math.abs(to - video.currentTime) > 0.05) {
        video.currentTime = to;
        this.jumps++;
        this.stalled = false;
        this.smoothed = null;
        this.adjusting = 0;
        this.setRate(1);
        return { latency: null, rate: 1, jumped: to };
      }
    }
    const dir = Math.sign(e), a = Math.abs(e);
    if (!this.adjusting && a > this.dead) this.adjusting = dir;
    else if (this.adjusting && (a < this.settle || dir !== this.adjusting)) this.adjusting = 0;
    let rate = this.adjusting ? 1 + this.band * Math.tanh(e / this.curve) : 1;
    // speeding up past the buffer would only stall
    if (rate > 1 && bufferAhead < this.speedFloor) rate = 1;
    this.setRate(rate);
    return { latency: this.smoothed, rate };
  }
}
