// WsLoader: the WebSocket side of the player (protocol v1, docs/protocol.md).
// Opens the socket, parses messages, keeps a server clock estimate from
// ping/pong (clock.js), sends reports, changes stream on the open connection or
// by reconnecting, and reconnects with backoff and full jitter.
import { ErrorCodes, WsStreamError } from './errors.js';
import { parseMediaHeader } from './flv-demux.js';
import { ClockEstimator } from './clock.js';

const PING_INTERVAL = 2000;
const QUICK_PINGS = [50, 250, 500];   // ms after open
const RECHECK = 250;                  // ms: a pong that contradicts the clock estimate: ask again this soon
const IDLE_TIMEOUT = 10000;           // nothing received (pongs come every 2 s): reconnect
const CONNECT_TIMEOUT = 10000;

/** Minimal event emitter: on(type, fn), off(type, fn), emit(type, arg). */
export class Emitter {
  constructor() { this._handlers = new Map(); }

  /** @param {string} type @param {Function} fn */
  on(type, fn) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(fn);
    return this;
  }

  /** @param {string} type @param {Function} fn */
  off(type, fn) {
    const set = this._handlers.get(type);
    if (set) set.delete(fn);
    return this;
  }

  emit(type, arg) {
    const set = this._handlers.get(type);
    if (!set) return;
    for (const fn of [...set]) {
      try { fn(arg); } catch (e) { setTimeout(() => { throw e; }); }
    }
  }
}

/**
 * HLS URL derived from the WebSocket URL: ws://h/ws/app/name -> http://h/hls/app/name/index.m3u8.
 * @param {string} wsUrl
 */
export function hlsUrlFor(wsUrl) {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  const [app, name] = u.pathname.split('/').filter(Boolean).slice(-2);
  u.pathname = `/hls/${app}/${name}/index.m3u8`;
  u.search = '';
  return u.toString();
}

// report numbers (docs/protocol.md): name -> [smallest, largest value, rounded to 1/n]
const REPORT_NUMBERS = [
  ...['latency', 'buffer', 'bitrate', 'throughput', 'dropped', 'decoded', 'stalls', 'stall_ms', 'startup_ms',
    'target', 'jitter', 'clock_err'].map((k) => [k, 0, 1e12, 10]),
  ['sync', -1e6, 1e6, 10],
  ['rate', 0, 16, 1000],
];

/**
 * WebSocket loader.
 * Events: 'open', 'hello'(json), 'notice'(json: offline, online, skipped),
 * 'rendition'(json: the rendition notice of a group viewer), 'channel'(json: the stream changed
 * on this connection), 'switch_failed'(json), 'config'({track,dts,payload}),
 * 'media'({track,key,dts,cts,ingest,payload}), 'close'({code,reason,willReconnect}),
 * 'error'(WsStreamError), 'clock'({offset,rtt,error,step}).
 */
export class WsLoader extends Emitter {
  /**
   * @param {string} url ws:// or wss:// URL of the stream
   * @param {{protocols?: string[], reconnect?: {min?: number, max?: number}, WebSocket?: Function}} [opts]
   */
  constructor(url, { protocols = ['wsstream.1'], reconnect = {}, WebSocket: WS } = {}) {
    super();
    this.url = url;
    this.protocols = protocols;
    this.backoff = { min: reconnect.min ?? 500, max: reconnect.max ?? 10000 };
    this.WS = WS || globalThis.WebSocket;
    this.ws = null;
    this.closed = false;
    this.attempt = 0;
    this.pingId = 0;
    this.clock = new ClockEstimator();   // server ms = performance.timeOrigin + performance.now() + offset
    this.hello = null;          // this connection's hello
    this.bytes = 0;             // binary bytes received (for bitrate)
    this.connections = 0;
    this._timers = new Set();
    this._pingTimer = null;
    this._idleTimer = null;
    this._reconnectTimer = null;
    this._connect();
  }

  /** Server wall clock estimate, ms since the Unix epoch (local clock if not synced yet). */
  serverNow() {
    const t = performance.now();
    return performance.timeOrigin + t + (this.clock.offsetAt(t) ?? 0);
  }

  /** @returns {number|null} server clock minus local clock (ms), null before hello */
  get offset() { return this.clock.offsetAt(performance.now()); }

  /** @returns {number|null} bound of the offset's error (ms): half the round trip of the sample in use, plus drift over its age */
  get clockError() { return this.clock.errorAt(performance.now()); }

  /** @returns {number|null} round trip (ms) of the sample in use */
  get rtt() { return this.clock.rttAt(performance.now()); }

  /** @returns {boolean} whether this connection's hello allows a switch on it (`"switch": true`) */
  get canSwitch() { return this.isOpen && !!this.hello && this.hello.switch === true; }

  /** @returns {boolean} whether the socket is open */
  get isOpen() { return !!this.ws && this.ws.readyState === 1; }

  /**
   * Send a protocol report; fields (latency, buffer, bitrate, throughput, dropped,
   * decoded, stalls, stall_ms, startup_ms, rate: numbers; state: string) are
   * checked against protocol.md ranges; others, and what is not a finite number, are left out.
   * @param {object} obj
   */
  report(obj) {
    const msg = { type: 'report' };
    for (const [k, min, max, n] of REPORT_NUMBERS) {
      const v = obj[k];
      if (typeof v === 'number' && Number.isFinite(v)) msg[k] = Math.round(Math.min(Math.max(v, min), max) * n) / n;
    }
    if (typeof obj.state === 'string' && /^[a-z_]{1,15}$/.test(obj.state)) msg.state = obj.state;
    return this._send(msg);
  }

  /**
   * Ask for a rendition of a group stream (docs/protocol.md): index >= 0 pins it,
   * -1 returns to automatic. Only for a group viewer (hello had renditions): another
   * server closes the connection on a message type it does not know.
   * @param {number} index
   * @returns {boolean} whether it was sent
   */
  rendition(index) {
    return this._send({ type: 'rendition', index });
  }

  /**
   * Change stream: on this connection when its hello allowed it (a `switch` message,
   * answered by `channel` or `switch_failed`), else by connecting to `url` now.
   * @param {string} path "app/name" @param {string} url the stream's ws:// URL
   * @returns {'switch'|'reconnect'|null} how; null once closed
   */
  switchStream(path, url) {
    if (this.closed) return null;
    if (this.canSwitch && this._send({ type: 'switch', stream: path })) return 'switch';
    this.url = url;
    this.attempt = 0;
    clearTimeout(this._reconnectTimer);
    const ws = this.ws;
    if (ws) {
      this._detach(ws);
      try { ws.close(1000); } catch { /* closing anyway */ }
      this._onClose(1000, 'switch', 0);
    } else {
      this._connect();
    }
    return 'reconnect';
  }

  /** Close for good (no reconnect). */
  close() {
    if (this.closed) return;
    this.closed = true;
    this._clearTimers();
    clearTimeout(this._reconnectTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      this._detach(ws);
      try { ws.close(1000); } catch { /* already closing */ }
    }
  }

  _send(obj) {
    if (!this.isOpen) return false;
    try { this.ws.send(JSON.stringify(obj)); return true; } catch { return false; }
  }

  _later(fn, ms) {
    const t = setTimeout(() => { this._timers.delete(t); fn(); }, ms);
    this._timers.add(t);
  }

  _clearTimers() {
    for (const t of this._timers) clearTimeout(t);
    this._timers.clear();
    clearInterval(this._pingTimer);
    clearTimeout(this._idleTimer);
    this._pingTimer = null;
  }

  _connect() {
    if (this.closed) return;
    let ws;
    try {
      ws = new this.WS(this.url, this.protocols);
    } catch (e) {
      this.emit('error', new WsStreamError(ErrorCodes.NETWORK, `cannot open ${this.url}: ${e.message}`,
        { fatal: true, cause: e }));
      this.closed = true;
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this._gotHello = false;
    this.hello = null;
    this._openedAt = performance.now();   // hello's server_time is after this: a sample of the clock
    this.clock.reconnect();
    ws.onopen = () => {
      this.connections++;
      this.emit('open');
      for (const ms of QUICK_PINGS) this._later(() => this._ping(), ms);
      this._pingTimer = setInterval(() => this._ping(), PING_INTERVAL);
      this._touch();
    };
    ws.onmessage = (ev) => this._onMessage(ev.data);
    ws.onerror = () => { /* a close event follows */ };
    ws.onclose = (ev) => this._onClose(ev.code, ev.reason);
    this._idleTimer = setTimeout(() => this._drop('connect timeout'), CONNECT_TIMEOUT);
  }

  _detach(ws) {
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
  }

  // No message for IDLE_TIMEOUT: the connection is dead.
  _touch() {
    clearTimeout(this._idleTimer);
    this._idleTimer = setTimeout(() => this._drop('no data'), IDLE_TIMEOUT);
  }

  _drop(reason) {
    const ws = this.ws;
    if (!ws) return;
    this._detach(ws);
    try { ws.close(4000, reason); } catch { /* closing anyway */ }
    this._onClose(1006, reason);
  }

  // `delay`: ms to reconnect after (default: backoff with full jitter)
  _onClose(code, reason, delay) {
    if (this.ws) this._detach(this.ws);
    this.ws = null;
    this.hello = null;
    this._clearTimers();
    const willReconnect = !this.closed;
    if (code === 1002 || code === 1003 || code === 1007 || code === 1009)
      this.emit('error', new WsStreamError(ErrorCodes.PROTOCOL, `server closed with ${code} ${reason || ''}`.trim()));
    this.emit('close', { code, reason, willReconnect });
    if (!willReconnect) return;
    if (this._gotHello) this.attempt = 0;
    // 1001: the server is going away (reload) and asks for a reconnect: do it soon
    const min = code === 1001 && this.attempt === 0 ? Math.min(100, this.backoff.min) : this.backoff.min;
    const cap = Math.min(this.backoff.max, min * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    // full jitter, with a small floor so a server that refuses at once is not hammered
    this._reconnectTimer = setTimeout(() => this._connect(), delay ?? Math.max(50, Math.random() * cap));
  }

  _ping() {
    this._send({ type: 'ping', id: this.pingId++, t: performance.now() });
  }

  // A reply made at server_time within the local round trip t0..t1 (protocol.md, pong).
  _clockSample(t0, serverTime) {
    const t1 = performance.now(), rtt = t1 - t0;
    if (typeof serverTime !== 'number' || !(rtt >= 0) || rtt > 60000) return;
    const t = (t0 + t1) / 2;
    const r = this.clock.add({ t, offset: serverTime - (performance.timeOrigin + t), rtt });
    if (r === 'bad') return;
    if (r === 'suspect') this._later(() => this._ping(), RECHECK);
    this.emit('clock', { offset: this.offset, rtt: this.rtt, error: this.clockError, step: r === 'step' });
  }

  _onMessage(data) {
    this._touch();
    if (typeof data === 'string') {
      let msg;
      try { msg = JSON.parse(data); } catch {
        this.emit('error', new WsStreamError(ErrorCodes.PROTOCOL, 'invalid JSON from the server'));
        return;
      }
      if (!msg || typeof msg !== 'object') return;
      switch (msg.type) {
        case 'hello':
          this._gotHello = true;
          this.hello = msg;
          // made after the socket was asked for: a first clock sample, its round trip the handshake
          this._clockSample(this._openedAt, msg.server_time);
          this.emit('hello', msg);
          break;
        case 'pong': if (typeof msg.t === 'number') this._clockSample(msg.t, msg.server_time); break;
        case 'offline': case 'online': case 'skipped': this.emit('notice', msg); break;
        case 'rendition': case 'channel': case 'switch_failed': this.emit(msg.type, msg); break;
        default: break;   // unknown types are ignored (protocol.md)
      }
      return;
    }
    this.bytes += data.byteLength;
    let m;
    try { m = parseMediaHeader(data); } catch (e) {
      this.emit('error', e instanceof WsStreamError ? e
        : new WsStreamError(ErrorCodes.PROTOCOL, e.message, { cause: e }));
      return;
    }
    this.emit(m.config ? 'config' : 'media', m);
  }
}
