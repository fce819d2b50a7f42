// Small statistics shared by the benchmark scripts.

// q-quantile of xs (0..1), linear between neighbours; NaN when empty
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q, lo = Math.floor(i), hi = Math.ceil(i);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
}

// least-squares slope of [x seconds, y ms] points, in ms per minute
export function slope(pts) {
  const n = pts.length;
  if (n < 2) return NaN;
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  let num = 0, den = 0;
  for (const [x, y] of pts) { num += (x - mx) * (y - my); den += (x - mx) ** 2; }
  return den ? (num / den) * 60 : NaN;
}

export const mean = (xs) => (xs.length
  ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export const summary = (xs) => ({
  count: xs.length, p50: quantile(xs, 0.5), p95: quantile(xs, 0.95),
  p99: quantile(xs, 0.99), max: xs.length ? Math.max(...xs) : NaN,
  min: xs.length ? Math.min(...xs) : NaN,
});
