// MseController: MediaSource (or ManagedMediaSource) with one SourceBuffer per
// track, an append queue per buffer, eviction of played data, quota handling
// and re-initialisation on a codec change.
import { ErrorCodes, WsStreamError } from './errors.js';
import { Emitter } from './loader.js';

const KEEP_BEHIND = 10;        // s of played media kept
const EVICT_EVERY = 2000;      // ms

/** @returns {typeof MediaSource|null} MediaSource, else ManagedMediaSource, else null */
export function mediaSourceClass() {
  if (typeof self === 'undefined') return null;
  return self.MediaSource || self.ManagedMediaSource || null;
}

/**
 * MSE MIME type for a demuxed config.
 * @param {'video'|'audio'} track
 * @param {{codec: string}} config
 */
export function mimeFor(track, config) {
  const codec = config.codec === 'mp3' ? 'mp4a.6B' : config.codec;
  return `${track}/mp4; codecs="${codec}"`;
}

/** Whether two demuxed configs are the same (codec, size, configuration record / ASC bytes). */
export function sameConfig(a, b) {
  if (!a || !b || a.codec !== b.codec || a.width !== b.width || a.height !== b.height) return false;
  const x = a.record || a.asc, y = b.record || b.asc;
  if (!x || !y) return x === y;
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * The buffered range holding t (with 50 ms of slack before its start).
 * @param {TimeRanges} b @param {number} t seconds
 * @returns {[number, number]|null}
 */
export function rangeAt(b, t) {
  for (let i = 0; i < b.length; i++) if (t >= b.start(i) - 0.05 && t < b.end(i)) return [b.start(i), b.end(i)];
  return null;
}

/** @param {TimeRanges} b @returns {number} end of the last buffered range (s), 0 when empty */
export function liveEdge(b) { return b.length ? b.end(b.length - 1) : 0; }

/**
 * When the video is stuck outside buffered data, or within 0.3 s of the end of
 * a range with data after it: that next range [start, end]; else null.
 * @param {HTMLVideoElement} v
 */
export function gapExit(v) {
  const b = v.buffered, t = v.currentTime;
  if (v.readyState >= 3 && rangeAt(b, t)) return null;
  for (let i = 0; i < b.length; i++)
    if (b.start(i) > t && (i === 0 || b.end(i - 1) - t < 0.3)) return [b.start(i), b.end(i)];
  return null;
}

/**
 * Events: 'error'(WsStreamError), 'updateend'(track).
 */
export class MseController extends Emitter {
  /** @param {HTMLVideoElement} video */
  constructor(video) {
    super();
    this.video = video;
    this.MS = mediaSourceClass();
    this.ms = null;
    this.url = null;
    this.buffers = new Map();   // track -> { sb, mime, queue: [], retried }
    this.destroyed = false;
    this._evictTimer = null;
  }

  /** @returns {boolean} whether this browser has MediaSource or ManagedMediaSource */
  static isSupported() { return !!mediaSourceClass(); }

  /** @returns {boolean} whether the MIME type can be played through MSE */
  isTypeSupported(mime) { return !!this.MS && this.MS.isTypeSupported(mime); }

  /** Create the MediaSource and attach it; resolves on sourceopen. */
  open() {
    if (!this.MS) return Promise.reject(new WsStreamError(ErrorCodes.MSE_UNSUPPORTED, 'no MediaSource', { fatal: true }));
    this.close();
    const ms = new this.MS();
    this.ms = ms;
    const managed = typeof self.ManagedMediaSource !== 'undefined' && ms instanceof self.ManagedMediaSource;
    if (managed) this.video.disableRemotePlayback = true;
    return new Promise((resolve) => {
      ms.addEventListener('sourceopen', () => {
        if (ms !== this.ms) return;
        resolve();
      }, { once: true });
      this.url = URL.createObjectURL(ms);
      this.video.src = this.url;
      clearInterval(this._evictTimer);
      this._evictTimer = setInterval(() => this._evict(), EVICT_EVERY);
    });
  }

  /** @returns {boolean} whether a SourceBuffer exists for the track */
  has(track) { return this.buffers.has(track); }

  /** @returns {string[]} the tracks with a SourceBuffer */
  tracks() { return [...this.buffers.keys()]; }

  /**
   * Create the SourceBuffer for a track (all of them before the first append).
   * @param {'video'|'audio'} track
   * @param {string} mime
   */
  addTrack(track, mime) {
    if (!this.ms || this.ms.readyState !== 'open') throw new WsStreamError(ErrorCodes.MSE_APPEND, 'MediaSource not open');
    if (!this.isTypeSupported(mime))
      throw new WsStreamError(ErrorCodes.CODEC_UNSUPPORTED, `unsupported: ${mime}`, { fatal: true });
    let sb;
    try { sb = this.ms.addSourceBuffer(mime); } catch (e) {
      throw new WsStreamError(ErrorCodes.MSE_APPEND, `addSourceBuffer(${mime}): ${e.message}`, { fatal: true, cause: e });
    }
    const entry = { sb, mime, queue: [], retried: false };
    sb.addEventListener('updateend', () => { this.emit('updateend', track); this._pump(track); });
    sb.addEventListener('error', () => this._fail(ErrorCodes.MSE_APPEND, `SourceBuffer error (${track})`));
    this.buffers.set(track, entry);
  }

  /**
   * A new codec configuration for an existing track: changeType when the MIME
   * type differs and the browser has it. Returns false when the MediaSource
   * has to be rebuilt (no changeType).
   */
  changeTrack(track, mime) {
    const entry = this.buffers.get(track);
    if (!entry) return false;
    if (mime === entry.mime) return true;
    if (typeof entry.sb.changeType !== 'function' || !this.isTypeSupported(mime)) return false;
    entry.queue.push({ changeType: mime });
    entry.mime = mime;
    this._pump(track);
    return true;
  }

  /** Queue bytes (init or media segment) for a track. */
  append(track, data) {
    const entry = this.buffers.get(track);
    if (!entry) return;
    entry.queue.push({ data });
    this._pump(track);
  }

  /** Remove [start, end) (seconds) from every track. */
  remove(start, end) {
    if (!(end > start)) return;
    for (const [track, entry] of this.buffers) {
      entry.queue.push({ remove: [start, end] });
      this._pump(track);
    }
  }

  /** @returns {TimeRanges|null} buffered ranges of one track */
  buffered(track) {
    const entry = this.buffers.get(track);
    try { return entry ? entry.sb.buffered : null; } catch { return null; }
  }

  /** @returns {number} pending queue items over all tracks */
  pending() {
    let n = 0;
    for (const e of this.buffers.values()) n += e.queue.length + (e.sb.updating ? 1 : 0);
    return n;
  }

  _pump(track) {
    const entry = this.buffers.get(track);
    if (!entry || this.destroyed || !this.ms || this.ms.readyState !== 'open') return;
    const { sb, queue } = entry;
    while (queue.length && !sb.updating) {
      const item = queue[0];
      try {
        if (item.changeType) { sb.changeType(item.changeType); queue.shift(); continue; }
        if (item.remove) { queue.shift(); sb.remove(item.remove[0], item.remove[1]); return; }
        sb.appendBuffer(item.data);
        queue.shift();
        entry.retried = false;
        return;
      } catch (e) {
        if (e && e.name === 'QuotaExceededError' && !entry.retried) {
          entry.retried = true;
          if (this._evict(1, false)) return;   // retried after the remove's updateend
        }
        if (e && e.name === 'QuotaExceededError') {
          this._fail(ErrorCodes.QUOTA, `SourceBuffer full (${track})`, e);
        } else {
          this._fail(ErrorCodes.MSE_APPEND, `${track}: ${e && e.message}`, e);
        }
        return;
      }
    }
  }

  // Drop what is more than `keep` s behind currentTime, from every buffer.
  _evict(keep = KEEP_BEHIND, pump = true) {
    const t = this.video.currentTime;
    let any = false;
    for (const [track, entry] of this.buffers) {
      let b;
      try { b = entry.sb.buffered; } catch { continue; }
      if (!b.length || b.start(0) >= t - keep) continue;
      const end = t - keep;
      if (entry.sb.updating) { entry.queue.unshift({ remove: [0, end] }); any = true; continue; }
      try { entry.sb.remove(0, end); any = true; } catch { /* next round */ }
      if (pump && !entry.sb.updating) this._pump(track);
    }
    return any;
  }

  _fail(code, message, cause) {
    if (this.destroyed) return;
    this.emit('error', new WsStreamError(code, message, { fatal: true, cause }));
  }

  /** Detach and forget the MediaSource (the video element is left empty). */
  close() {
    clearInterval(this._evictTimer);
    this._evictTimer = null;
    this.buffers.clear();
    if (this.ms) {
      try { if (this.ms.readyState === 'open') this.ms.endOfStream(); } catch { /* ignore */ }
      this.ms = null;
    }
    if (this.url) {
      URL.revokeObjectURL(this.url);
      this.url = null;
      this.video.removeAttribute('src');
      try { this.video.load(); } catch { /* ignore */ }
    }
  }

  destroy() {
    this.close();
    this.destroyed = true;
  }
}
