// Pure helpers of the dashboard (no DOM): display text of API values, the
// API's URLs, and reading dotted field paths. Imported by the page and by
// dashboard/test/ (node --test).

/** What a figure that is not known (null) shows. */
export const DASH = '\u2014';

const missing = (v) => v === null || v === undefined || v === '' || (typeof v === 'number' && !Number.isFinite(v));

// Characters that would let a user-controlled string hide or reorder what is
// shown around it: C0/C1 controls, DEL, bidi embeddings/overrides/isolates,
// line and paragraph separators, the byte-order mark.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** A string from the API as shown: unsafe characters become U+FFFD. Goes into textContent only. */
export function printable(s) {
  return String(s).replace(UNSAFE, '\ufffd');
}

/** At most `max` code points; a longer string ends in an ellipsis. */
export function truncate(s, max) {
  const cp = Array.from(String(s));
  return cp.length <= max ? cp.join('') : cp.slice(0, Math.max(0, max - 1)).join('') + '\u2026';
}

/** A string field: printable text, DASH when null or empty. */
export function fmtText(v) {
  return missing(v) ? DASH : printable(v);
}

// Three significant digits, no exponent: 1.23, 12.3, 123, 1234.
function sig3(v) {
  const a = Math.abs(v);
  return v.toFixed(a >= 99.95 || a === 0 ? 0 : a >= 9.995 ? 1 : 2);
}

// Up to `d` decimals, trailing zeros dropped: 44.1, 48, 29.97.
function trimmed(v, d) {
  return String(Number(v.toFixed(d)));
}

// v in the largest unit (steps of 1000) that keeps it at 1 or more.
function scaled(v, units) {
  let i = 0;
  while (i < units.length - 1 && Math.abs(v) >= 1000 ** (i + 1) * 0.9995) i++;
  const x = v / 1000 ** i;
  return `${i === 0 ? String(Math.round(x)) : sig3(x)} ${units[i]}`;
}

const grouping = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** An integer count with thousands separators: 12,345. */
export function fmtCount(v) {
  return missing(v) ? DASH : grouping.format(v);
}

/** Bits per second: 850 bit/s, 85.0 kbit/s, 1.23 Mbit/s. */
export function fmtBitrate(bps) {
  return missing(bps) ? DASH : scaled(bps, ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s']);
}

/** Bytes (powers of 1000): 512 B, 1.50 kB, 12.3 MB, 4.00 GB. */
export function fmtBytes(n) {
  return missing(n) ? DASH : scaled(n, ['B', 'kB', 'MB', 'GB', 'TB', 'PB']);
}

/** A length of time: 3 d 04 h, 2 h 03 min, 3 min 05 s, 42 s (whole seconds). */
export function fmtDuration(ms) {
  if (missing(ms)) return DASH;
  const s = Math.floor(Math.max(0, ms) / 1000);
  const pad = (x) => String(x).padStart(2, '0');
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor(s / 60) % 60)} min`;
  return `${Math.floor(s / 86400)} d ${pad(Math.floor(s / 3600) % 24)} h`;
}

/** A delay: 4.2 ms, 421 ms, 1.23 s, 12.3 s; a minute or more as a duration. */
export function fmtMs(ms) {
  if (missing(ms)) return DASH;
  if (Math.abs(ms) >= 60000) return fmtDuration(ms);
  if (Math.abs(ms) >= 999.5) return `${sig3(ms / 1000)} s`;
  return `${Math.abs(ms) < 9.95 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** A sample rate: 44.1 kHz, 48 kHz, 800 Hz. */
export function fmtHz(hz) {
  if (missing(hz)) return DASH;
  return hz >= 1000 ? `${trimmed(hz / 1000, 3)} kHz` : `${trimmed(hz, 1)} Hz`;
}

/** Frames per second: 30 fps, 29.97 fps. */
export function fmtFps(fps) {
  return missing(fps) ? DASH : `${trimmed(fps, 2)} fps`;
}

/** Audio channels: mono, stereo, 6 ch. */
export function fmtChannels(n) {
  if (missing(n)) return DASH;
  return n === 1 ? 'mono' : n === 2 ? 'stereo' : `${n} ch`;
}

/** A playback rate: 1.00×. */
export function fmtRate(r) {
  return missing(r) ? DASH : `${r.toFixed(2)}\u00d7`;
}

/** Width × height: 640×360. */
export function fmtSize(w, h) {
  return missing(w) || missing(h) ? DASH : `${w}\u00d7${h}`;
}

/** online / offline. */
export function fmtOnline(v) {
  return v ? 'online' : 'offline';
}

/** A wall-clock time (ms since 1970) as the local HH:MM:SS. */
export function fmtClock(unixMs) {
  if (missing(unixMs)) return DASH;
  const d = new Date(unixMs);
  const pad = (x) => String(x).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** obj's value at a dotted path ('latency_ms.avg'); undefined where a step is missing. */
export function getPath(obj, path) {
  let v = obj;
  for (const k of path.split('.')) {
    if (v === null || v === undefined) return undefined;
    v = v[k];
  }
  return v;
}

/** "app/stream": the key of a stream, as in its data-stream attribute. */
export const streamKey = (s) => `${s.app}/${s.stream}`;

/**
 * The API's base URL (ends in /): `?api=<url>` (relative to the page) or
 * ../api/ beside the page. Throws on an ?api= that is not http(s).
 */
export function apiBase(search, href) {
  const given = new URLSearchParams(search).get('api');
  const url = new URL(given || '../api/', href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`?api= must be an http(s) URL, not ${url.protocol}`);
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

/** GET <api>/streams */
export function streamsUrl(api) {
  return new URL('streams', api).href;
}

/** GET <api>/streams/<app>/<name>/viewers?offset=&limit= (names percent-encoded) */
export function viewersUrl(api, app, stream, offset, limit) {
  const path = ['streams', app, stream, 'viewers'].map((p, i) => (i === 1 || i === 2 ? encodeURIComponent(p) : p));
  return new URL(`${path.join('/')}?offset=${offset}&limit=${limit}`, api).href;
}

/** The pager's text: "51–100 of 5,000", "0 of 0". */
export function pageRange(offset, count, total) {
  if (!count) return `0 of ${fmtCount(total || 0)}`;
  return `${fmtCount(offset + 1)}\u2013${fmtCount(offset + count)} of ${fmtCount(total)}`;
}

/**
 * The offset to ask for after the total changed: the same, or the last
 * whole page when the viewers past it have gone.
 */
export function clampOffset(offset, total, limit) {
  if (offset < total || offset === 0) return offset;
  return total === 0 ? 0 : Math.floor((total - 1) / limit) * limit;
}
