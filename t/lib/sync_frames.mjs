// Players compared at the same moments, from the frames the sync page
// (bench/sync/sync.js) recorded: per player, [expectedDisplayTime ms,
// fixture index or -1, latency ms or null, width] for every presented frame,
// all on one page's clock. Shared by t/68 and bench/sync.mjs.
import { quantile } from '../../bench/lib/stats.mjs';

export const FIXTURE_FRAMES = 900;
export const FRAME_MS = 1000 / 30;

// a - b in frames, the fixture's loop of 900 frames taken into account (-450 .. 449)
export const frameDiff = (a, b) => ((((a - b) % FIXTURE_FRAMES) + FIXTURE_FRAMES + FIXTURE_FRAMES / 2) % FIXTURE_FRAMES)
  - FIXTURE_FRAMES / 2;

// index of the last frame presented at or before t, or -1
function lastAt(frames, t) {
  let lo = 0, hi = frames.length - 1, r = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid][0] <= t) { r = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return r;
}

const maxOf = (xs) => xs.reduce((m, x) => (x > m ? x : m), -Infinity);

/**
 * At every moment from `from` to `to` (performance ms) at which any player
 * presented a frame, what each player shows then is the last frame it
 * presented at or before it; a moment counts once every player has shown a
 * frame and none shows one whose barcode did not read. Returns the absolute
 * difference of every pair of players at every such moment (frames), the
 * spread (newest - oldest frame shown) per moment, and a summary of both.
 * @param {Array<Array<[number, number, number|null, number]>>} players frames per player
 */
export function compare(players, { from = -Infinity, to = Infinity } = {}) {
  const moments = [...new Set(players.flatMap((f) => f.filter((x) => x[0] >= from && x[0] <= to).map((x) => x[0])))]
    .sort((a, b) => a - b);
  const diffs = [], spread = [], worst = [];
  let skipped = 0;
  for (const t of moments) {
    const shown = [];
    for (const f of players) {
      const i = lastAt(f, t);
      shown.push(i < 0 ? -1 : f[i][1]);
    }
    if (shown.some((x) => x < 0)) { skipped++; continue; }
    // relative to the first player, so the spread is newest - oldest across the loop boundary
    const rel = shown.map((x) => frameDiff(x, shown[0]));
    for (let a = 0; a < rel.length; a++) for (let b = a + 1; b < rel.length; b++) diffs.push(Math.abs(rel[a] - rel[b]));
    const s = maxOf(rel) - Math.min(...rel);
    spread.push(s);
    if (!worst.length || s > worst[0]) worst.splice(0, worst.length, s, Math.round(t), shown);
  }
  return { moments: moments.length - skipped, skipped, pairs: summarize(diffs), spread: summarize(spread), worst };
}

export function summarize(xs) {
  if (!xs.length) return { count: 0, p50: null, p95: null, max: null };
  return { count: xs.length, p50: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: maxOf(xs) };
}

/** Frames from `from` to `to` with a gap before them longer than `ms` (a frozen picture). */
export function freezes(frames, { from = -Infinity, to = Infinity, ms = 150 } = {}) {
  const out = [];
  for (let i = 1; i < frames.length; i++) {
    const [t] = frames[i], gap = t - frames[i - 1][0];
    if (t >= from && t <= to && gap > ms) out.push([Math.round(frames[i - 1][0]), Math.round(gap)]);
  }
  return out;
}
