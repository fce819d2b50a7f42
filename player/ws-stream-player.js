// WsStreamPlayer: WsLoader -> demux (flv-demux.js) -> Mp4Remuxer -> MseController, with a
// continuous player timeline across reconnects, publisher restarts and channel changes,
// and a sync controller (sync.js) holding a latency target against the server's wall
// clock. Without MSE (or when asked to), HLS from the server's ws_stream_hls location:
// native, or through an hls.js constructor the page passes in (the player itself loads
// nothing).
import { ErrorCodes, WsStreamError } from './errors.js';
import { demuxVideo, demuxAudio } from './flv-demux.js';
import { Mp4Remuxer } from './mp4-remux.js';
import { WsLoader, Emitter, hlsUrlFor } from './loader.js';
import { MseController, mimeFor, sameConfig, rangeAt, liveEdge, gapExit } from './mse.js';
import { Timeline } from './latency.js';
import { SyncController } from './sync.js';
import { ZapMeter, parseStreamPath, streamUrl } from './channel.js';
import { decodeData } from './amf0.js';
import { chooseMode, nativeHlsLatency, hlsJsLatency, retryDelay } from './hls-mode.js';
import { RateMeter, BitrateMeter, PlaybackMeter } from './meters.js';
import { Renditions } from './renditions.js';

export { hlsUrlFor };

/** Default latency target (ms), measured on loopback with Chromium (docs/player.md). */
export const DEFAULT_LATENCY = 200;

/** Player states. */
export const States = Object.freeze(['connecting', 'playing', 'buffering', 'offline', 'reconnecting', 'error', 'destroyed']);

const TICK = 250;               // control loop, ms
const AUDIO_FLUSH = 40;         // ms: audio is appended at least this often
const AUDIO_BATCH = 1;          // audio frames per segment
const STUCK = 1000;             // ms without progress, with data ahead, before the player seeks
const START_WAIT = 300;         // ms to wait for a missing track's config after the first media
const TRACKS = { 1: 'video', 2: 'audio' };
const HLS_JS_CONFIG = { lowLatencyMode: true };
const round = (x) => (x === null ? null : Math.round(x));
const round1 = (x) => (x === null ? null : Math.round(x * 10) / 10);
const clamp = (x, lo, hi) => Math.min(Math.max(x, lo), hi);

/**
 * Events: 'state'(state), 'stats'({latency, buffer, bitrate, throughput, droppedFrames,
 * decodedFrames, state, offset, rate, stalls, stallTime, startupTime, rendition, switches,
 * sync, target, jitter, clockError, zap_ms}),
 * 'error'(WsStreamError), 'muted'(true when autoplay forced mute),
 * 'rendition'({index, from, reason, auto, name, bitrate, width, height}) on a group stream,
 * 'data'({name, value, dts, pts}): the publisher's in-band data (onTextData, onCuePoint...)
 * when the frame of its time is presented, 'channel'({app, stream, online}) when the
 * connection changed stream, 'zap'({ms, via}) at the new stream's first frame.
 */
export class WsStreamPlayer extends Emitter {
  /**
   * @param {HTMLVideoElement} video
   * @param {string} url ws:// or wss:// stream URL
   * @param {{latency?: number, hls?: {url?: string, enabled?: boolean, force?: boolean, Hls?: Function, config?: object},
   *          reconnect?: {min?: number, max?: number}, statsInterval?: number, reportInterval?: number}} [opts]
   */
  constructor(video, url, { latency, hls = {}, reconnect, statsInterval = 1000, reportInterval = 1000 } = {}) {
    super();
    this.video = video;
    this.url = url;
    // the page's own target wins; else the server's (hello's latency), else the default
    this._ownLatency = latency !== undefined;
    this.opts = { latency: latency ?? DEFAULT_LATENCY, hls: { enabled: true, ...hls }, reconnect, statsInterval, reportInterval };
    this.state = 'connecting';
    this.mode = null;            // 'mse' | 'hls' (native) | 'hls.js'
    this.lastStats = null;
    this.meter = new PlaybackMeter();   // stalls, stall time, startup time
    this._rend = new Renditions();      // rendition group: list, current, pin, switches
    this._zap = new ZapMeter();         // switchStream() to the new stream's first frame
    this._timers = [];
    this._listeners = [];
    Promise.resolve().then(() => this._start());
  }

  /** @returns {number} the latency target held (ms): the shared one, or higher when this link's jitter needs it */
  get latencyTarget() { return this.latency ? this.latency.target : this.opts.latency; }

  /** @returns {number} the shared latency target (ms): the page's, else the server's, else the default */
  get sharedTarget() { return this.opts.latency; }

  /** @returns {number} times playback went from playing to buffering */
  get stalls() { return this.meter.stalls; }

  /** @returns {object[]} the renditions of a group stream (hello, updated by rendition notices); [] for a plain stream */
  get renditions() { return this._rend.list; }

  /** @returns {number} index of the rendition being sent, -1 when none (plain stream, before the notice) */
  get rendition() { return this._rend.index; }

  /** @returns {boolean} whether the server chooses the rendition (false when pinned and on a plain stream) */
  get auto() { return this._rend.auto; }

  /**
   * Pin a rendition of a group stream (index into `renditions`), or -1 for automatic.
   * The server moves at a keyframe and says so with a 'rendition' event; the pin
   * is sent again after a reconnect. No-op on a plain stream and in HLS mode.
   * @param {number} index
   * @throws {RangeError} not an integer from -1 to renditions.length - 1
   */
  setRendition(index) {
    if (this._rend.request(index) && this.loader) this.loader.rendition(index);
  }

  /**
   * Change to stream "app/name" (a rendition group's name too) without tearing down the
   * page or the video: on the open connection when its hello allowed it (`switch`), else
   * by connecting to the new stream's URL; later reconnects go to it. 'channel' follows
   * the server's answer, 'zap' the new stream's first frame; a refusal is a non-fatal
   * 'error' (SWITCH_FAILED) and the current stream plays on.
   * @param {string} path
   * @throws {TypeError} not "app/name"
   */
  switchStream(path) {
    const [app, name] = parseStreamPath(path);
    const url = streamUrl(this.url, app, name);
    if (this.state === 'destroyed' || this.state === 'error') return;
    if (!this.loader) {              // HLS (the derived URL follows), or not started yet
      this.url = url;
      if (this.mode === 'hls.js') { this._dropHlsJs(); this._newHlsJs(); }
      else if (this.mode === 'hls') { this.video.src = this._hlsUrl; this._play(); }
      return;
    }
    const via = this.loader.switchStream(`${app}/${name}`, url);
    if (!via) return;
    this._zap.start(via);
    if (via === 'switch') { this._switchUrl = url; return; }   // taken when the server answers
    this.url = url;
    this._enterZap();
  }

  _setState(s, at) {
    if (this.state === s || this.state === 'destroyed') return;
    if (this.meter.state(this.state, s, at) && this.latency) this.latency.stalled = true;
    this.state = s;
    this.emit('state', s);
  }

  _listen(target, type, fn) {
    target.addEventListener(type, fn);
    this._listeners.push([target, type, fn]);
  }

  _every(ms, fn) { this._timers.push(setInterval(fn, ms)); }
  _fail(err) {
    this.emit('error', err);
    if (!err.fatal) return;
    this._setState('error');
    this._teardown();
  }

  _start() {
    if (this.state === 'destroyed') return;
    const hls = this.opts.hls;
    const Hls = hls.Hls;
    const mode = chooseMode({
      mse: MseController.isSupported(),
      hlsJs: typeof Hls === 'function' && typeof Hls.isSupported === 'function' && !!Hls.isSupported(),
      nativeHls: !!this.video.canPlayType('application/vnd.apple.mpegurl'),
      enabled: hls.enabled !== false,
      force: !!hls.force,
    });
    if (mode === 'mse') return this._startMse();
    if (mode === 'hls') return this._startHls();
    if (mode === 'hls.js') return this._startHlsJs();
    this._fail(new WsStreamError(ErrorCodes.MSE_UNSUPPORTED,
      'neither MediaSource nor ManagedMediaSource, and native HLS is ' + (hls.enabled === false ? 'disabled' : 'unsupported'),
      { fatal: true }));
  }

  get _hlsUrl() { return this.opts.hls.url || hlsUrlFor(this.url); }

  // both HLS paths: the video element says playing or waiting
  _listenHlsState() {
    const v = this.video;
    this._listen(v, 'playing', () => { this._hlsAttempt = 0; this._setState('playing'); });
    this._listen(v, 'waiting', () => this._setState('buffering'));
    this._every(this.opts.statsInterval, () => this._stats());
  }

  // native HLS fallback
  _startHls() {
    this.mode = 'hls';
    const v = this.video;
    this._listenHlsState();
    this._listen(v, 'error', () => this._fail(new WsStreamError(ErrorCodes.MEDIA,
      `HLS playback failed: ${v.error ? v.error.message || v.error.code : 'unknown'}`, { fatal: true })));
    v.src = this._hlsUrl;
    this._play();
  }

  // HLS through the page's hls.js (opts.hls.Hls)
  _startHlsJs() {
    this.mode = 'hls.js';
    this._hlsAttempt = 0;
    this.recoveries = [];
    this._listenHlsState();
    this._newHlsJs();
  }

  _newHlsJs() {
    const Hls = this.opts.hls.Hls;
    const h = this.hlsjs = new Hls({ ...HLS_JS_CONFIG, ...this.opts.hls.config });
    h.on(Hls.Events.MANIFEST_PARSED, () => { if (this.hlsjs === h) this._play(); });
    h.on(Hls.Events.ERROR, (_type, data) => { if (this.hlsjs === h) this._onHlsJsError(data || {}); });
    h.attachMedia(this.video);
    h.loadSource(this._hlsUrl);
  }

  // Fatal hls.js errors: a media error is recovered (3 times a minute); a network
  // error (the stream offline, the server gone) starts hls.js again after a delay.
  _onHlsJsError(d) {
    if (!d.fatal) return;
    const types = this.opts.hls.Hls.ErrorTypes || {};
    const what = `hls.js ${d.type}: ${d.details}` + (d.response && d.response.code ? ` (HTTP ${d.response.code})` : '');
    const now = performance.now();
    this.recoveries = this.recoveries.filter((t) => now - t < 60000);
    if (d.type === types.MEDIA_ERROR && this.recoveries.length < 3) {
      this.recoveries.push(now);
      this.emit('error', new WsStreamError(ErrorCodes.MEDIA, what));
      this.hlsjs.recoverMediaError();
      return;
    }
    if (d.type === types.NETWORK_ERROR) {
      this.emit('error', new WsStreamError(ErrorCodes.NETWORK, what));
      this._setState(d.response && d.response.code === 404 ? 'offline' : 'reconnecting');
      this._dropHlsJs();
      const delay = retryDelay(this._hlsAttempt, { min: this.opts.reconnect?.min ?? 500, max: this.opts.reconnect?.max ?? 10000 });
      this._hlsAttempt = Math.min(this._hlsAttempt + 1, 30);
      this._retryTimer = setTimeout(() => { this._retryTimer = null; if (!this.hlsjs && this.state !== 'destroyed') this._newHlsJs(); }, delay);
      return;
    }
    this._fail(new WsStreamError(ErrorCodes.MEDIA, what, { fatal: true }));
  }

  _dropHlsJs() {
    const h = this.hlsjs;
    this.hlsjs = null;
    if (h) h.destroy();
  }

  // MSE
  _startMse() {
    this.mode = 'mse';
    this.mse = new MseController(this.video);
    this.mse.on('error', (e) => this._fail(e));
    this.mse.on('updateend', () => this._maybeStart());
    this.remuxer = new Mp4Remuxer();
    this.latency = new SyncController(this.video, { target: this.opts.latency, now: () => this.loader.serverNow() });
    this.configs = {};           // track -> demuxed config in use
    this.phase = 'none';         // MSE: 'none' | 'opening' | 'ready'
    this.queue = [];             // [track, sample] waiting for MSE
    this.pending = { video: [], audio: [] };
    this.timeline = new Timeline();
    this.discontinuity = true;   // the next media starts at a keyframe
    this.rejoin = false;         // ... after a reconnect, maybe to the same publisher
    this._switched = false;      // moved to another rendition: its first keyframe not placed yet
    this._keyCts = null;         // composition offset (ms) of the last video keyframe placed
    this.started = false;
    this.recoveries = [];
    this._unsupported = new Set();
    this._throughput = new RateMeter();
    this._bitrate = new BitrateMeter();
    this._frameCb = null;        // requestVideoFrameCallback handle of the frame loop
    this._cues = [];             // in-band data waiting for its time, in pts order
    this._startFrom = null;      // s: a zap starts playing there (Infinity: its first sample not placed yet)
    this._switchUrl = null;      // a switch on the connection, not answered yet: its URL
    this._lastTime = -1;
    this._lastAt = 0;
    this._moved = [0, 0];        // [ms, currentTime] of the reading before currentTime last changed
    this._seekAt = 0;
    this._seekingSince = null;   // performance.now() when video.seeking was first seen (a seek pending)

    const l = this.loader = new WsLoader(this.url, { reconnect: this.opts.reconnect });
    this._throughput.sample(0);
    l.on('hello', (m) => {
      this.discontinuity = true;
      this._takeLatency(m);
      this.latency.reset();
      this.latency.burst();
      const pin = this._rend.hello(m);
      if (pin !== null) l.rendition(pin);   // a reconnect of a viewer that pinned
      this._setState(m.online ? 'buffering' : 'offline');
    });
    l.on('notice', (m) => this._onNotice(m));
    l.on('rendition', (m) => this._onRendition(m));
    l.on('channel', (m) => this._onChannel(m));
    l.on('switch_failed', (m) => {
      this._switchUrl = null;
      this._zap.cancel();
      this.emit('error', new WsStreamError(ErrorCodes.SWITCH_FAILED,
        `switch to ${m.stream} refused: ${m.status} ${m.reason || ''}`.trim()));
    });
    l.on('clock', (c) => { if (c.step) this.latency.jitter.clear(); });   // transits before the step do not compare
    l.on('config', (m) => this._onConfigMsg(m));
    l.on('media', (m) => this._onMedia(m));
    l.on('close', (c) => {
      this._flush();
      this.meter.lost();
      this._rend.lost();
      this.discontinuity = this.rejoin = true;
      if (this._switchUrl) {         // lost before the server answered the switch: connect to the new stream
        this.url = l.url = this._switchUrl;
        this._switchUrl = null;
        this._enterZap();
      }
      if (c.willReconnect) this._setState('reconnecting');
    });
    l.on('error', (e) => this._fail(e));

    const v = this.video;
    this._listen(v, 'error', () => this._onMediaError());
    this._listen(v, 'seeking', () => { this._seekAt = performance.now(); });
    // back from a hidden tab: time jumped, measure afresh and seek to the target if off
    if (typeof document !== 'undefined')
      this._listen(document, 'visibilitychange', () => { if (!document.hidden) this.latency.resync(); });
    this._watchFrames();
    this._every(TICK, () => this._tick());
    this._every(AUDIO_FLUSH, () => this._flush('audio'));
    this._every(this.opts.statsInterval, () => this._stats());
    this._every(this.opts.reportInterval, () => this._report());
  }

  // offline / online / skipped: the next media starts a new epoch at a keyframe
  _onNotice(m) {
    this._flush();
    this.discontinuity = true;
    this.rejoin = false;
    if (m.type === 'offline') this._setState('offline');
    else if (m.type === 'online') this._setState('buffering');
    if (m.type !== 'offline') this.latency.burst();   // media from a keyframe come at once
  }

  // the server's shared target (ws_stream_latency), unless the page gave its own
  _takeLatency(m) {
    if (!this._ownLatency && Number.isFinite(m.latency) && m.latency > 0) this.opts.latency = this.latency.shared = m.latency;
  }

  // The server moved this connection to another stream (switchStream): hello's fields
  // for it; every binary message after it is the new stream's, configuration first.
  _onChannel(m) {
    if (typeof m.app === 'string' && typeof m.stream === 'string')
      this.url = this.loader.url = streamUrl(this.url, m.app, m.stream);
    this._switchUrl = null;
    this._takeLatency(m);
    this._rend.channel(m);
    this._enterZap();
    this.latency.burst();
    this.emit('channel', { app: m.app, stream: m.stream, online: m.online === true });
    if (m.online !== true) {         // no publisher yet: wait on the connection, as after hello
      this._zap.cancel();
      this._setState('offline');
    } else if (this.state === 'offline') this._setState('buffering');
  }

  // The stream changes (a channel, a reconnect to another stream): the next media are a new
  // epoch from the new stream's keyframe, and once they are appended the playhead jumps to
  // them (the old buffered tail is not played). The jitter margin stays: same link.
  _enterZap() {
    this._flush();
    this.discontinuity = true;
    this.rejoin = false;
    this.started = false;
    this._startFrom = Infinity;
    this._dataAt = null;
    this._cues = [];
    this.latency.reset();
  }

  // A move to another rendition of the group: its configuration and media from a
  // keyframe follow, on the same timeline (no discontinuity), except after a skip or a
  // jump between renditions that share no timeline ("continuous": false). The first
  // notice of a connection follows hello, which already made a discontinuity.
  _onRendition(m) {
    const e = this._rend.notice(m);
    if (!e) return;
    if (e.from >= 0 && (e.reason === 'skip' || m.continuous === false)) this._onNotice(m);
    else if (e.from >= 0 && e.index !== e.from) this._switched = true;
    this.emit('rendition', e);
  }

  _demux(track, payload) {
    try {
      const v = this.configs.video;
      return track === 'video' ? demuxVideo(payload, { nalLengthSize: v && v.nalLengthSize || 4 }) : demuxAudio(payload);
    } catch (e) {
      const err = e instanceof WsStreamError ? e : new WsStreamError(ErrorCodes.DEMUX, e.message, { cause: e });
      if (err.code !== ErrorCodes.CODEC_UNSUPPORTED || !this._unsupported.has(track)) this.emit('error', err);
      if (err.code === ErrorCodes.CODEC_UNSUPPORTED) this._unsupported.add(track);   // said once per track
      return null;
    }
  }

  _onConfigMsg(m) {
    const track = TRACKS[m.track];
    if (!track) return;            // metadata
    const r = this._demux(track, m.payload);
    if (r && r.type === 'config') this._onConfig(track, r.config);
  }

  _onConfig(track, config) {
    if (sameConfig(this.configs[track], config)) return;
    const had = this.configs[track];
    this.configs[track] = config;
    this.rejoin = false;           // another configuration: not the stream we had
    if (this.phase !== 'ready') {
      // MSE not open yet: queued frames of the previous configuration go (the new one starts at a keyframe)
      if (had) this.queue = this.queue.filter(([t]) => t !== track);
      return;
    }
    if (!this.mse.has(track)) return;   // a track that appeared late is not played
    this._flush(track);
    const mime = mimeFor(track, config);
    if (!had || this.mse.changeTrack(track, mime)) this._appendInit(track);
    else this._rebuild();
  }

  _appendInit(track) {
    try {
      this.remuxer.reset(track);
      this.mse.append(track, this.remuxer.initSegment(track, this.configs[track]));
    } catch (e) {
      this._fail(e instanceof WsStreamError ? e : new WsStreamError(ErrorCodes.REMUX, e.message, { fatal: true, cause: e }));
    }
  }

  _onMedia(m) {
    const track = TRACKS[m.track];
    if (m.track === 3) return this._onData(m);
    if (!track) return;
    if (Number.isFinite(m.ingest)) this.latency.arrival(m.ingest);
    const r = this._demux(track, m.payload);
    if (!r || r.type !== 'frame') return;
    if (r.config) this._onConfig(track, r.config);   // MP3: config from the frame header
    if (!this.configs[track]) return;
    const key = track === 'audio' || m.key || r.key;
    const tl = this.timeline;
    if (this.discontinuity) {
      // an epoch starts at a video keyframe (any audio frame for audio-only streams)
      if (this.configs.video && !(track === 'video' && key)) return;
      this._flush();
      if (tl.begin(m.dts, this.rejoin)) this.remuxer.reset();
      this.discontinuity = this.rejoin = this._switched = false;
      if (this._startFrom === Infinity) this.latency.map.clear();   // a zap: the old stream's ingest times
    }
    const cts = track === 'video' ? (r.cts ?? m.cts) : 0;
    if (track === 'video' && key) {
      // The server keeps the dts continuous across a switch. A rendition with other
      // B-frames has another composition offset: keep the presentation continuous instead
      // (a gap or an overlap there stops Chromium's video), moving audio and video alike.
      if (this._switched && this._keyCts !== null) tl.shift(this._keyCts - cts);
      this._switched = false;
      this._keyCts = cts;
    }
    const a = this.configs.audio;
    const dts = tl.place(track, m.dts, track === 'audio' ? (a.kind === 'mp3' ? 1152 : 1024) * 1000 / (a.sampleRate || 44100) : null);
    if (dts === 'back') { this.discontinuity = true; return; }   // timestamps went back: wait for a keyframe
    if (dts === null) return;
    const pts = (dts + cts) / 1000, main = track === 'video' || !this.configs.video;
    if (main) {
      if (this._startFrom === Infinity) this._startFrom = pts;
      this.latency.map.add(pts, m.ingest);
      this.meter.media(pts);
      this._zap.media(pts);
    }
    this._bitrate.add(pts, r.data.byteLength, main && key);
    const sample = { dts, cts, key, data: r.data };
    if (this.phase !== 'ready') {
      this.queue.push([track, sample]);
      this._setupMse();
      return;
    }
    if (!this.mse.has(track)) return;
    this.pending[track].push(sample);
    if (track === 'video' || this.pending.audio.length >= AUDIO_BATCH) this._flush(track);
  }

  _flush(track) {
    if (this.phase !== 'ready') return;
    for (const t of track ? [track] : ['video', 'audio']) {
      const s = this.pending[t];
      if (!s.length) continue;
      this.pending[t] = [];
      try {
        this.mse.append(t, this.remuxer.mediaSegment(t, s));
      } catch (e) {
        this._fail(e instanceof WsStreamError ? e : new WsStreamError(ErrorCodes.REMUX, e.message, { cause: e }));
      }
    }
  }

  // First media: open the MediaSource once the configs of all tracks are known
  // (or START_WAIT ms passed), then create one SourceBuffer per track.
  _setupMse() {
    if (this.phase !== 'none') return;
    const ready = this.configs.video && this.configs.audio;
    if (!ready) {
      if (!this._startTimer) this._startTimer = setTimeout(() => { this._startTimer = null; this._openMse(); }, START_WAIT);
      return;
    }
    clearTimeout(this._startTimer);
    this._startTimer = null;
    this._openMse();
  }

  async _openMse() {
    if (this.phase !== 'none' || this.state === 'destroyed') return;
    this.phase = 'opening';
    try {
      await this.mse.open();
      if (this.state === 'destroyed' || this.state === 'error') return;
      for (const track of ['video', 'audio']) if (this.configs[track]) this.mse.addTrack(track, mimeFor(track, this.configs[track]));
    } catch (e) {
      this._fail(e instanceof WsStreamError ? e : new WsStreamError(ErrorCodes.MSE_UNSUPPORTED, e.message, { fatal: true, cause: e }));
      return;
    }
    this.phase = 'ready';
    this.started = false;
    this._dataAt = null;
    for (const track of this.mse.tracks()) this._appendInit(track);
    const q = this.queue;
    this.queue = [];
    for (const [track, sample] of q) if (this.mse.has(track)) this.pending[track].push(sample);
    this._flush();
  }

  // Codec change without changeType, or a decoder error: a new MediaSource.
  _rebuild() {
    this._flush();
    this.mse.close();
    this.pending = { video: [], audio: [] };
    this.queue = [];
    this.phase = 'none';
    this.discontinuity = true;    // the new MediaSource starts at a keyframe
    this.rejoin = false;
  }

  _onMediaError() {
    const v = this.video;
    if (!v.error || this.mode !== 'mse' || this.phase === 'none') return;
    const now = performance.now();
    this.recoveries = this.recoveries.filter((t) => now - t < 60000);
    const err = new WsStreamError(ErrorCodes.MEDIA, `media error ${v.error.code}: ${v.error.message || ''}`.trim(),
      { fatal: this.recoveries.length >= 3 });
    if (err.fatal) return this._fail(err);
    this.recoveries.push(now);
    this.emit('error', err);
    this._rebuild();
  }

  /** @returns {number} ms of media buffered ahead of currentTime */
  bufferAhead() {
    const r = rangeAt(this.video.buffered, this.video.currentTime);
    return r ? Math.max(0, (r[1] - this.video.currentTime) * 1000) : 0;
  }

  // After appends: the first time data is there (after a zap: the new stream's), seek to
  // the target distance from the edge and play.
  _maybeStart() {
    const b = this.video.buffered;
    const from = this._startFrom ?? -Infinity;
    if (this.started || !b.length || !(liveEdge(b) > from)) return;
    const last = b.length - 1;
    const want = this.latency.map.ptsAt(this.loader.serverNow() - this.latency.target);
    // the first burst (from the server's newest keyframe) is still coming: wait for it (at most 1 s)
    this._dataAt ??= performance.now();
    if (want !== null && b.end(last) - this.latency.minBuffer / 1000 < want && performance.now() - this._dataAt < 1000) return;
    // as near the edge as the controller allows: starting playback takes Chromium ~150 ms
    const to = Math.max(b.start(last), from, this.latency.livePosition(b.end(last), 0));
    this.started = true;
    this._startFrom = null;
    this.latency.burst();        // the page is busy starting playback: its arrival times are no jitter
    if (Math.abs(this.video.currentTime - to) > 0.05) this.video.currentTime = to;
    this._play();
  }

  // In-band data of the publisher (onTextData, onCuePoint...): a 'data' event when the
  // frame of its time is presented (per frame with requestVideoFrameCallback, else at
  // the next control tick); data the playhead has passed by more than a second
  // (a skip, a latency jump) is dropped.
  _onData(m) {
    if (this.discontinuity || !this.timeline.epoch) return;   // no time for it yet
    let d;
    try { d = decodeData(m.payload); } catch { return; }
    const c = { name: d.name, value: d.value, dts: m.dts, pts: this.timeline._map(m.dts) / 1000 };
    let i = this._cues.length;
    while (i > 0 && this._cues[i - 1].pts > c.pts) i--;     // they come in dts order; if not, kept so
    this._cues.splice(i, 0, c);
  }

  _fireCues(mediaTime) {
    while (this._cues.length && this._cues[0].pts <= mediaTime + 0.001) {
      const c = this._cues.shift();
      if (c.pts >= mediaTime - 1) this.emit('data', c);
    }
  }

  /** @returns {boolean} whether presented frames are told (requestVideoFrameCallback, a video track) */
  get _frames() { return !!this.configs.video && typeof this.video.requestVideoFrameCallback === 'function'; }

  // One requestVideoFrameCallback at a time while the player runs: each presented frame
  // measures the latency (sync.js), is checked for the connection's first frame and a
  // zap's, and fires the in-band data due.
  _watchFrames() {
    const v = this.video;
    if (this._frameCb != null || typeof v.requestVideoFrameCallback !== 'function') return;
    this._frameCb = v.requestVideoFrameCallback((t, f) => {
      this._frameCb = null;
      this._watchFrames();
      this._presented(f.mediaTime, f.presentationTime ?? t);
      if (this._cues.length) this._fireCues(f.mediaTime);
      if (this.started) this.latency.frame(f.mediaTime, f.expectedDisplayTime ?? t);
    });
  }

  // The frame of mediaTime (s) was presented at `at` ms (without frame callbacks: currentTime reached it).
  _presented(mediaTime, at) {
    if (this.meter.presented(mediaTime, at)) this._report();
    const z = this._zap.presented(mediaTime, at);
    if (z) this.emit('zap', z);
  }

  _play() {
    const v = this.video;
    if (this._playing) return;
    this._playing = true;
    const done = () => { this._playing = false; };
    v.play().then(done, (e) => {
      if (e && e.name === 'NotAllowedError' && !v.muted) {
        v.muted = true;                  // unmuted autoplay refused: start muted
        this.emit('muted', true);
        return v.play().then(done, done);
      }
      done();
    });
  }

  _tick() {
    this._throughput.sample(this.loader.bytes);
    if (this.phase !== 'ready') return;
    if (!this.started) return this._maybeStart();
    const v = this.video;
    const t = v.currentTime, now = performance.now(), rate = v.playbackRate || 1;
    const moving = t !== this._lastTime && !v.paused;
    // when the picture started again / stopped: from how far currentTime moved since a reading
    const at = moving ? clamp(now - (t - this._lastTime) * 1000 / rate, this._lastAt, now)
      : clamp(this._moved[0] + (t - this._moved[1]) * 1000 / rate, this._moved[0], this._lastAt);
    if (t !== this._lastTime) this._moved = [this._lastAt, this._lastTime];
    this._lastTime = t;
    this._lastAt = now;
    if (moving && !this._frames) this._presented(t, now);
    // a seek that has not completed in STUCK ms: Chromium waits for data at the target that
    // will not come (one track resumes a few ms later, past a gap); it may be jumped like a stall
    if (!v.seeking) this._seekingSince = null;
    const stuckSeek = v.seeking && now - (this._seekingSince ??= now) > STUCK;
    const settling = (v.seeking && !stuckSeek) || now - this._seekAt < 1000;   // a seek is no stall
    if (['buffering', 'playing', 'connecting'].includes(this.state) && (moving || !settling)) this._setState(moving ? 'playing' : 'buffering', at);
    if (v.paused && this.bufferAhead() > 0) this._play();
    const gap = !moving && (!v.seeking || stuckSeek) ? gapExit(v) : null;   // stuck before a gap: jump it
    if (gap) {
      v.currentTime = Math.max(gap[0] + 0.01, this.latency.livePosition(gap[1]));
      this._seekingSince = null;
    }
    // stuck for a second with data ahead (a small gap of one track inside the range, a
    // decoder that raised its thresholds after underflows): a seek starts it again
    else if (!moving && !settling && this.state === 'buffering' && now - this._moved[0] > STUCK &&
      this.bufferAhead() > this.latency.minBuffer) {
      v.currentTime = Math.max(t + 0.001, this.latency.livePosition(liveEdge(v.buffered)));
      this._seekAt = now;
      this._seekingSince = null;
    }
    const range = rangeAt(v.buffered, v.currentTime);
    this.latency.tick({ playing: moving, bufferAhead: this.bufferAhead(), liveEdge: liveEdge(v.buffered),
      bufferStart: range ? range[0] : 0 });
    if (this._cues.length && moving) this._fireCues(v.currentTime);
  }

  // The stats object, from the meters (_stats and _report both use it; `sync` is the mean
  // since the last call of the same `key`).
  _measure(key) {
    const v = this.video, meter = this.meter;
    const q = typeof v.getVideoPlaybackQuality === 'function' ? v.getVideoPlaybackQuality() : null;
    const playing = this.state === 'playing';
    let latency = null, buffer = null, bitrate = null, throughput = null, offset = null;
    let sync = null, target = null, jitter = null, clockError = null;
    if (this.mode === 'hls' || this.mode === 'hls.js') {
      latency = !playing ? null : this.mode === 'hls' ? nativeHlsLatency(v, Date.now()) : hlsJsLatency(this.hlsjs);
      buffer = Math.round(this.bufferAhead());
    } else if (this.loader) {
      throughput = round(this._throughput.bps(this.loader.bytes));
      bitrate = round(this._bitrate.bps(v.currentTime));
      offset = this.loader.offset;
      latency = playing && this.latency.smoothed !== null ? Math.round(this.latency.smoothed) : null;
      buffer = Math.round(this.bufferAhead());
      // no frame measured since the last one (an interval shorter than the tick): the filtered value
      const l = this.latency, d = l.takeSync(key) ?? (l.smoothed === null ? null : l.smoothed - l.shared);
      sync = playing ? round1(d) : null;
      target = Math.round(this.latency.target);
      jitter = round1(this.latency.jitter.jitter);
      clockError = round1(this.loader.clockError);
    }
    return {
      latency, buffer, bitrate, throughput,
      droppedFrames: q ? q.droppedVideoFrames : null,
      decodedFrames: q ? q.totalVideoFrames : null,
      state: this.state, offset, rate: v.playbackRate, stalls: meter.stalls,
      stallTime: Math.round(meter.stallTime), startupTime: round(meter.startup),
      rendition: this._rend.index, switches: { ...this._rend.switches },
      sync, target, jitter, clockError, zap_ms: round(this._zap.last),
    };
  }

  _stats() {
    this.lastStats = this._measure('stats');
    this.emit('stats', this.lastStats);
  }

  _report() {
    if (!this.loader) return;
    const s = this._measure('report');
    this.loader.report({ latency: s.latency, buffer: s.buffer, bitrate: s.bitrate, throughput: s.throughput,
      dropped: s.droppedFrames, decoded: s.decodedFrames, stalls: s.stalls, stall_ms: s.stallTime,
      startup_ms: s.startupTime, rate: s.rate, state: s.state,
      sync: s.sync, target: s.target, jitter: s.jitter, clock_err: s.clockError });   // nulls are left out
  }

  _teardown() {
    for (const t of this._timers) clearInterval(t);
    this._timers = [];
    clearTimeout(this._startTimer);
    clearTimeout(this._retryTimer);
    if (this._frameCb != null) this.video.cancelVideoFrameCallback?.(this._frameCb);
    this._frameCb = null;
    this._dropHlsJs();
    for (const [target, type, fn] of this._listeners) target.removeEventListener(type, fn);
    this._listeners = [];
    if (this.loader) this.loader.close();
  }

  /** Stop everything (socket or hls.js) and release the video element. */
  destroy() {
    if (this.state === 'destroyed') return;
    this._teardown();
    if (this.mse) this.mse.destroy();
    if (this.mode === 'hls') { this.video.removeAttribute('src'); this.video.load(); }
    this._setState('destroyed');
  }
}
