// JitterMeter: how late the media of this connection arrive, and the margin the
// player keeps for it (docs/player.md, "Jitter margin"). The transit of a media
// message is its arrival on the server's clock minus its `ingest` stamp: the
// server's fan-out, the network and this page's event loop. The caller may pass it
// less a constant (the clock offset): floor and cover then have it too, the spread
// does not. Its spread over the last WINDOW ms (95th percentile minus minimum) is
// the jitter: a buffer has to cover the late tail of the arrivals against the
// earliest, which a percentile spread measures and RFC 3550's smoothed mean of
// consecutive differences does not (for delays spread evenly over W it gives W/3;
// the buffer needs all of W). No clock of its own: times are passed in (local ms).

const WINDOW = 10000;          // ms of arrivals the spread is measured over
const K = 1.5;                 // margin = K x spread: the largest of the ~800 transits of a
                               // window is ~1.3 x the 95th-percentile spread for a normal spread
                               // (4.6 sigma against 5.8), 1.05 x for an even one; K covers both
const SETTLE = 2000;           // ms after a (re)start not measured: the burst from a keyframe is backlog
const GAP = 1000;              // ms without arrivals (page frozen, stream paused): a restart
const DECAY = 120000;          // ms: time constant of the margin's shrinking (minutes: no oscillation)
const MIN_SAMPLES = 20;

/** Transit spread of the media arrivals, and what the buffer must cover: grown at once, shrunk slowly. */
export class JitterMeter {
  /** @param {{window?: number, k?: number, settle?: number, gap?: number, decay?: number}} [opts] ms */
  constructor({ window = WINDOW, k = K, settle = SETTLE, gap = GAP, decay = DECAY } = {}) {
    Object.assign(this, { window, k, settle, gap, decay });
    this.samples = [];          // [local ms, transit ms], arrival order
    this.jitter = null;         // ms: 95th percentile minus minimum of the window's transits
    this.floor = null;          // ms: least transit of the window
    this.cover = null;          // ms: transit the buffer covers (floor + k x jitter), smoothed
    this._settleUntil = -Infinity;
    this._last = null;          // local ms of the last arrival
    this._updated = null;
  }

  /** @returns {number|null} ms kept above the transit floor for the jitter */
  get margin() { return this.cover === null || this.floor === null ? null : Math.max(0, this.cover - this.floor); }

  /**
   * What follows is a burst of backlog (a connection, a channel, a skip: media from a
   * keyframe sent at once): not measured for SETTLE ms. The margin stays: same link.
   * @param {number} at local ms
   */
  restart(at) { this._settleUntil = at + this.settle; }

  /** The server's clock stepped: transits before and after do not compare. */
  clear() { this.samples = []; }

  /** @param {number} transit ms (server clock at arrival minus ingest) @param {number} at local ms */
  add(transit, at) {
    if (!Number.isFinite(transit)) return;
    if (this._last !== null && at - this._last > this.gap) this.restart(at);
    this._last = at;
    if (at < this._settleUntil) return;
    this.samples.push([at, transit]);
  }

  /**
   * Measure the window and move the cover: up at once (a stall is worse than
   * latency), down with time constant `decay`.
   * @param {number} at local ms
   */
  update(at) {
    const s = this.samples;
    let n = 0;
    while (n < s.length && s[n][0] < at - this.window) n++;
    if (n) s.splice(0, n);
    const dt = this._updated === null ? 0 : Math.max(0, at - this._updated);
    this._updated = at;
    if (s.length < MIN_SAMPLES) return;
    const v = s.map((x) => x[1]).sort((a, b) => a - b);
    this.floor = v[0];
    this.jitter = v[Math.floor(0.95 * (v.length - 1))] - v[0];
    const want = this.floor + this.k * this.jitter;
    if (this.cover === null || want >= this.cover) this.cover = want;
    else this.cover += (want - this.cover) * (1 - Math.exp(-dt / this.decay));
  }
}
