// The dashboard's page-memory history of each stream (a time-bounded ring
// buffer) and the geometry of its small plots (SVG path data). No DOM.

/** How far back the plots reach, ms. */
export const HISTORY_MS = 5 * 60 * 1000;

/**
 * Samples {t, ...values} in time order, at most `capacity` of them and none
 * older than `windowMs` before the newest. A sample whose time goes back
 * (the page's clock was set back) starts the history anew.
 */
export class History {
  constructor({ windowMs = HISTORY_MS, capacity = 1024 } = {}) {
    this.windowMs = windowMs;
    this.buf = new Array(capacity);
    this.start = 0;      // index of the oldest sample
    this.size = 0;
  }

  get capacity() { return this.buf.length; }

  clear() { this.start = 0; this.size = 0; }

  /** The newest sample, or null. */
  last() { return this.size ? this.buf[(this.start + this.size - 1) % this.buf.length] : null; }

  add(t, values) {
    const newest = this.last();
    if (newest && t < newest.t) this.clear();
    if (this.size === this.buf.length) this.drop(1);
    this.buf[(this.start + this.size) % this.buf.length] = { t, ...values };
    this.size++;
    this.prune(t);
  }

  /** Drop the samples older than windowMs before `now`. */
  prune(now) {
    let n = 0;
    while (n < this.size && this.buf[(this.start + n) % this.buf.length].t < now - this.windowMs) n++;
    this.drop(n);
  }

  drop(n) {
    for (let i = 0; i < n; i++) this.buf[(this.start + i) % this.buf.length] = undefined;
    this.start = (this.start + n) % this.buf.length;
    this.size -= n;
  }

  /** The samples, oldest first. */
  samples() {
    const out = [];
    for (let i = 0; i < this.size; i++) out.push(this.buf[(this.start + i) % this.buf.length]);
    return out;
  }
}

/** The smallest 1, 2 or 5 × 10^k that is >= v (and >= floor). */
export function niceMax(v, floor = 1) {
  const x = Math.max(v || 0, floor);
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}

const num = (v) => typeof v === 'number' && Number.isFinite(v);
const r1 = (v) => String(Math.round(v * 10) / 10);

/**
 * Runs of consecutive samples where every key has a number and no two
 * neighbours are more than maxGap ms apart (a lost poll or a figure that
 * was null breaks the line).
 */
export function runs(samples, keys, maxGap) {
  const out = [];
  let cur = [];
  let prev = null;
  for (const s of samples) {
    const ok = keys.every((k) => num(s[k]));
    if (!ok || (prev && s.t - prev.t > maxGap)) {
      if (cur.length) out.push(cur);
      cur = [];
    }
    if (ok) cur.push(s);
    prev = ok ? s : null;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * SVG path data of a plot `width` × `height` over [t1 - windowMs, t1]:
 * `line` through samples[key], `band` (when band = [lowKey, highKey]) the
 * area between them, `yMax` the top of the scale (niceMax of what is shown,
 * at least `floor`).
 */
export function plotPaths(samples, { key, band = null, t1, windowMs = HISTORY_MS, width, height, floor = 1, maxGap = 3500 }) {
  const t0 = t1 - windowMs;
  const shown = samples.filter((s) => s.t >= t0 && s.t <= t1);
  let top = 0;
  for (const s of shown) for (const k of band ? [key, ...band] : [key]) if (num(s[k])) top = Math.max(top, s[k]);
  const yMax = niceMax(top, floor);
  const x = (t) => r1(((t - t0) / windowMs) * width);
  const y = (v) => r1(height - (Math.min(v, yMax) / yMax) * height);
  const line = runs(shown, [key], maxGap)
    .map((run) => run.map((s, i) => `${i ? 'L' : 'M'}${x(s.t)} ${y(s[key])}`).join('')).join('');
  let area = '';
  if (band) {
    area = runs(shown, band, maxGap).map((run) => {
      const hi = run.map((s, i) => `${i ? 'L' : 'M'}${x(s.t)} ${y(s[band[1]])}`).join('');
      const lo = run.slice().reverse().map((s) => `L${x(s.t)} ${y(s[band[0]])}`).join('');
      return `${hi}${lo}Z`;
    }).join('');
  }
  return { line, band: area, yMax };
}
