// The HLS side of the player: which playback path to take, the latency it can
// measure in HLS mode (there is no WebSocket clock there), and the retry delay
// when hls.js gives up on the stream.

/**
 * Pick the playback path.
 * 'mse': the WebSocket path. 'hls.js': an hls.js constructor the page passed in.
 * 'hls': the browser's own HLS (video.src). null: none of them.
 * `force` prefers HLS where MSE works too (hls.js first, then native HLS);
 * with no HLS path it still plays over the WebSocket.
 * @param {{mse: boolean, hlsJs: boolean, nativeHls: boolean, enabled?: boolean, force?: boolean}} can
 * @returns {'mse'|'hls.js'|'hls'|null}
 */
export function chooseMode({ mse, hlsJs, nativeHls, enabled = true, force = false }) {
  if (enabled && force) {
    if (hlsJs) return 'hls.js';
    if (nativeHls) return 'hls';
  }
  if (mse) return 'mse';
  if (!enabled) return null;
  if (nativeHls) return 'hls';
  return hlsJs ? 'hls.js' : null;
}

/**
 * Latency with the browser's own HLS: the wall clock of the frame shown is
 * video.getStartDate() (from EXT-X-PROGRAM-DATE-TIME, which the server sets to
 * its ingest clock) plus currentTime. Only Safari has getStartDate().
 * The viewer's clock stands in for the server's: null when it is behind.
 * @param {{getStartDate?: Function, currentTime: number}} video
 * @param {number} now local wall clock, ms since the epoch
 * @returns {number|null} ms
 */
export function nativeHlsLatency(video, now) {
  if (typeof video.getStartDate !== 'function') return null;
  const d = video.getStartDate();
  const start = d instanceof Date ? d.getTime() : NaN;   // Invalid Date without PROGRAM-DATE-TIME
  if (!Number.isFinite(start) || start <= 0 || !Number.isFinite(video.currentTime)) return null;
  const latency = now - (start + video.currentTime * 1000);
  return latency >= 0 ? Math.round(latency) : null;
}

/**
 * Latency with hls.js: hls.latency, seconds from the estimated live edge of the
 * playlist (last part end plus the playlist's age) to currentTime; 0 until known.
 * @param {{latency?: number}|null} hls
 * @returns {number|null} ms
 */
export function hlsJsLatency(hls) {
  const s = hls ? hls.latency : undefined;
  return typeof s === 'number' && Number.isFinite(s) && s > 0 ? Math.round(s * 1000) : null;
}

/**
 * Retry delay, full jitter: random(0, min(max, min * 2^attempt)), at least 50 ms.
 * @param {number} attempt 0 for the first retry
 * @param {{min: number, max: number}} backoff
 * @param {() => number} [random]
 * @returns {number} ms
 */
export function retryDelay(attempt, { min, max }, random = Math.random) {
  const cap = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.max(50, random() * cap);
}
