// Channels: a viewer changes stream without tearing down the page or the video
// element (docs/player.md, "Channels"): on the open connection when the server
// allows it (hello's `"switch": true`, protocol.md), else by reconnecting to the
// new stream's URL. Here: the stream path, the URL of another stream, and the zap
// time (switchStream() to the first presented frame of the new stream).

const now = () => performance.now();

/**
 * "app/name" -> [app, name].
 * @param {string} path
 * @returns {[string, string]}
 * @throws {TypeError} not two non-empty parts without a slash
 */
export function parseStreamPath(path) {
  const m = typeof path === 'string' && /^([^/]+)\/([^/]+)$/.exec(path);
  if (!m) throw new TypeError(`stream ${JSON.stringify(path)}: "app/name" expected`);
  return [m[1], m[2]];
}

/**
 * The URL of stream app/name at the same location: the last two path segments replaced, the query kept.
 * @param {string} url ws:// URL of a stream @param {string} app @param {string} name
 */
export function streamUrl(url, app, name) {
  const u = new URL(url);
  const parts = u.pathname.split('/');
  while (parts.length && parts.at(-1) === '') parts.pop();    // a trailing slash
  parts.splice(Math.max(1, parts.length - 2), 2, encodeURIComponent(app), encodeURIComponent(name));
  u.pathname = parts.join('/');
  return u.toString();
}

/** Zap time of the last switchStream(): from the call to the first presented frame of the new stream. */
export class ZapMeter {
  /** @param {() => number} [clock] ms */
  constructor(clock = now) {
    this.now = clock;
    this.startAt = null;        // the switch going on: when it was asked for
    this.via = null;            // 'switch' | 'reconnect'
    this.firstPts = null;       // s: the new stream's first sample
    this.last = null;           // ms: the zap time of the last switch that showed a frame
  }

  /** switchStream() was called. @param {'switch'|'reconnect'} via */
  start(via) {
    this.startAt = this.now();
    this.via = via;
    this.firstPts = null;
  }

  /** The switch will show nothing (refused, or the stream has no publisher): no zap time. */
  cancel() { this.startAt = this.firstPts = null; }

  /** The new stream's first sample was placed at pts (s). */
  media(pts) { if (this.startAt !== null) this.firstPts ??= pts; }

  /**
   * A frame was presented.
   * @param {number} mediaTime s @param {number} [at] ms
   * @returns {{ms: number, via: string}|null} the zap, when it is the new stream's first frame
   */
  presented(mediaTime, at = this.now()) {
    if (this.firstPts === null || !(mediaTime >= this.firstPts - 0.001)) return null;
    const z = { ms: Math.max(0, at - this.startAt), via: this.via };
    this.last = z.ms;
    this.cancel();
    return z;
  }
}
