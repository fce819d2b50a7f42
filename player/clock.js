// ClockEstimator: the server's wall clock against the local clock, from ping/pong
// samples (docs/player.md, "Clock"). NTP's reasoning: a sample of round trip r
// bounds the offset within +/- r/2 (the reply was made somewhere in the trip), so
// the sample with the least round trip has the least asymmetry error; an old one
// is carried forward with the drift of the local clock against the server's, and
// its bound grows with age. No I/O and no clock of its own: the loader passes
// local times (performance.now() ms), so tests drive it with synthetic pongs.

const WINDOW = 32;             // samples the min-RTT filter chooses from: ~1 min at one ping per 2 s
const BLOCK = 16000;           // ms: the drift is the slope through the best sample of each block
const BLOCKS = 8;              // blocks kept: ~2 min of them
const MIN_SPAN = 45000;        // ms from the first block's sample to the last before a slope is used
const MAX_DRIFT = 500e-6;      // cap of the drift (ms per ms): NTP's limit, a clock off by more is broken
const PHI = 15e-6;             // what a known drift may still be off by (NTP's dispersion rate)
const STRIKES = 3;             // samples in a row outside every bound: the clock stepped

/**
 * Least-squares slope of [t, y] points, with its standard error.
 * @param {Array<{t: number, offset: number}>} pts
 * @returns {{slope: number, se: number}}
 */
function slopeOf(pts) {
  const n = pts.length;
  const mt = pts.reduce((a, p) => a + p.t, 0) / n, my = pts.reduce((a, p) => a + p.offset, 0) / n;
  let sxx = 0, sxy = 0;
  for (const p of pts) { sxx += (p.t - mt) ** 2; sxy += (p.t - mt) * (p.offset - my); }
  const slope = sxy / sxx;
  let res = 0;
  for (const p of pts) res += (p.offset - my - slope * (p.t - mt)) ** 2;
  return { slope, se: n > 2 ? Math.sqrt(res / (n - 2) / sxx) : Infinity };
}

/** Server clock minus local clock, with drift and an error bound. */
export class ClockEstimator {
  constructor() {
    this.samples = [];          // {t, offset, rtt}: t local ms (the middle of the round trip)
    this.blocks = [];           // the least-RTT sample of each BLOCK ms, oldest first
    this.drift = 0;             // server ms gained per local ms
    this.driftKnown = false;
    this.rate = MAX_DRIFT;      // how fast the bound of a sample grows with age (ms per ms)
    this._strikes = [];         // samples that disagree with the estimate, in a row
    this._origin = null;        // local ms the blocks count from
  }

  /** A new connection (maybe another server behind the same name): samples go, the drift stays. */
  reconnect() {
    this.samples = [];
    this.blocks = [];
    this._strikes = [];
    this._origin = null;
  }

  /**
   * The sample the estimate rests on at local time `now`: the least bound,
   * half its round trip plus what its age may have added.
   * @param {number} now local ms
   * @returns {{t: number, offset: number, rtt: number}|null}
   */
  best(now) {
    let best = null, d = Infinity;
    for (const s of this.samples) {
      const e = s.rtt / 2 + this.rate * Math.abs(now - s.t);
      if (e < d) { d = e; best = s; }
    }
    return best;
  }

  /** @param {number} now local ms @returns {number|null} server ms minus local ms at `now` */
  offsetAt(now) {
    const s = this.best(now);
    return s && s.offset + this.drift * (now - s.t);
  }

  /** @param {number} now local ms @returns {number|null} bound of offsetAt(now)'s error, ms */
  errorAt(now) {
    const s = this.best(now);
    return s && s.rtt / 2 + this.rate * Math.abs(now - s.t);
  }

  /** @returns {number|null} round trip (ms) of the sample in use at `now` */
  rttAt(now) {
    const s = this.best(now);
    return s && s.rtt;
  }

  /**
   * One sample: a reply made at server time `server` within a round trip from
   * local t0 to t1 gives offset = server - (t0 + t1) / 2, within +/- (t1 - t0) / 2.
   * @param {{t: number, offset: number, rtt: number}} s t local ms (middle of the trip), offset ms, rtt ms
   * @returns {'ok'|'suspect'|'step'|'bad'} suspect: it contradicts the estimate (ask again soon);
   *   step: that happened STRIKES times in a row, the estimate starts again from those samples
   */
  add(s) {
    if (!(s.rtt >= 0) || !Number.isFinite(s.offset) || !Number.isFinite(s.t)) return 'bad';
    const pred = this.offsetAt(s.t);
    // Both bounds hold for a sample of an unchanged clock: outside them the clock
    // stepped (the OS set the time), and averaging it in would be wrong for good.
    if (pred !== null && Math.abs(s.offset - pred) > this.errorAt(s.t) + s.rtt / 2 + 1) {
      this._strikes.push(s);
      if (this._strikes.length < STRIKES) return 'suspect';
      this.samples = this._strikes;
      this.blocks = [];            // a slope across the step would be wrong; the drift stays
      this._origin = null;
      this._strikes = [];
      for (const x of this.samples) this._block(x);
      return 'step';
    }
    this._strikes = [];
    this.samples.push(s);
    if (this.samples.length > WINDOW) this.samples.shift();
    this._block(s);
    return 'ok';
  }

  // The drift: slope of the blocks' best samples, once they span MIN_SPAN, capped.
  _block(s) {
    this._origin ??= s.t;
    const k = Math.floor((s.t - this._origin) / BLOCK), b = this.blocks, last = b.at(-1);
    if (last && last.k === k) { if (s.rtt < last.rtt) b[b.length - 1] = { ...s, k }; } else b.push({ ...s, k });
    if (b.length > BLOCKS) b.shift();
    if (b.length < 3 || b.at(-1).t - b[0].t < MIN_SPAN) return;
    const { slope, se } = slopeOf(b);
    this.drift = Math.min(Math.max(slope, -MAX_DRIFT), MAX_DRIFT);
    this.driftKnown = true;
    this.rate = Math.min(MAX_DRIFT, PHI + 2 * se);
  }
}
