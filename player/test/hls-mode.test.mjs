// Unit tests of player/hls-mode.js, hlsUrlFor, and WsStreamPlayer's HLS paths
// (native and hls.js) with a fake video element and a fake hls.js.
import test from 'node:test';
import assert from 'node:assert/strict';
import { chooseMode, nativeHlsLatency, hlsJsLatency, retryDelay } from '../hls-mode.js';
import { WsStreamPlayer, hlsUrlFor } from '../ws-stream-player.js';
import { FakeVideo, tick, until, collect } from './fakes.mjs';

test('hlsUrlFor: ws -> http, wss -> https, /hls/app/name/index.m3u8', () => {
  assert.equal(hlsUrlFor('ws://h:8080/ws/live/demo'), 'http://h:8080/hls/live/demo/index.m3u8');
  assert.equal(hlsUrlFor('wss://h/ws/live/demo?token=x'), 'https://h/hls/live/demo/index.m3u8');
  assert.equal(hlsUrlFor('ws://h/a/b/ws/app/n%20x'), 'http://h/hls/app/n%20x/index.m3u8');
});

test('chooseMode: MSE first; native HLS, then hls.js without MSE; force prefers hls.js, then native', () => {
  const all = { mse: true, hlsJs: true, nativeHls: true };
  const rows = [
    [{ ...all }, 'mse'],
    [{ mse: false, hlsJs: false, nativeHls: true }, 'hls'],
    [{ mse: false, hlsJs: true, nativeHls: true }, 'hls'],
    [{ mse: false, hlsJs: true, nativeHls: false }, 'hls.js'],
    [{ mse: false, hlsJs: false, nativeHls: false }, null],
    [{ mse: false, hlsJs: true, nativeHls: true, enabled: false }, null],
    [{ ...all, force: true }, 'hls.js'],
    [{ mse: true, hlsJs: false, nativeHls: true, force: true }, 'hls'],
    [{ mse: true, hlsJs: false, nativeHls: false, force: true }, 'mse'],   // no HLS path: the WebSocket
    [{ ...all, force: true, enabled: false }, 'mse'],
  ];
  for (const [can, want] of rows) assert.equal(chooseMode(can), want, JSON.stringify(can));
});

test('nativeHlsLatency: getStartDate() + currentTime against the local clock', () => {
  const start = Date.UTC(2026, 0, 1, 12, 0, 0);
  const v = { currentTime: 10.5, getStartDate: () => new Date(start) };
  assert.equal(nativeHlsLatency(v, start + 10500 + 1234), 1234);
  assert.equal(nativeHlsLatency(v, start + 10500 + 0.4), 0);
  assert.equal(nativeHlsLatency(v, start + 10000), null, 'local clock behind the server: no value');
  assert.equal(nativeHlsLatency({ currentTime: 1 }, start), null, 'no getStartDate (not Safari)');
  assert.equal(nativeHlsLatency({ currentTime: 1, getStartDate: () => new Date(NaN) }, start), null, 'no PROGRAM-DATE-TIME');
  assert.equal(nativeHlsLatency({ currentTime: 1, getStartDate: () => new Date(0) }, start), null);
  assert.equal(nativeHlsLatency({ currentTime: NaN, getStartDate: () => new Date(start) }, start), null);
});

test('hlsJsLatency: hls.latency in ms, null until known', () => {
  assert.equal(hlsJsLatency({ latency: 1.2345 }), 1235);
  assert.equal(hlsJsLatency({ latency: 0 }), null);
  assert.equal(hlsJsLatency({ latency: NaN }), null);
  assert.equal(hlsJsLatency({}), null);
  assert.equal(hlsJsLatency(null), null);
});

test('retryDelay: full jitter under min * 2^attempt, capped at max, floor 50 ms', () => {
  const b = { min: 500, max: 10000 };
  assert.equal(retryDelay(0, b, () => 0.999999), 500 * 0.999999);
  assert.equal(retryDelay(3, b, () => 0.5), 2000);
  assert.equal(retryDelay(10, b, () => 1), 10000);
  assert.equal(retryDelay(100, b, () => 1), 10000);
  assert.equal(retryDelay(0, b, () => 0), 50);
});

// --- WsStreamPlayer in HLS mode ---

function fakeHls() {
  const made = [];
  class Hls {
    static isSupported() { return true; }
    constructor(config) {
      this.config = config;
      this.handlers = {};
      this.latency = 0;
      this.destroyed = false;
      this.recovered = 0;
      made.push(this);
    }
    on(type, fn) { (this.handlers[type] ||= []).push(fn); }
    emit(type, data) { for (const fn of this.handlers[type] || []) fn(type, data); }
    attachMedia(v) { this.media = v; }
    loadSource(u) { this.url = u; }
    recoverMediaError() { this.recovered++; }
    destroy() { this.destroyed = true; }
  }
  Hls.Events = { MANIFEST_PARSED: 'hlsManifestParsed', ERROR: 'hlsError' };
  Hls.ErrorTypes = { NETWORK_ERROR: 'networkError', MEDIA_ERROR: 'mediaError' };
  return { Hls, made };
}

test('player: no MSE, native HLS: video.src is the derived URL; latency from getStartDate', async () => {
  const start = Date.now() - 60000;
  const v = new FakeVideo({ nativeHls: true, startDate: start });
  const p = new WsStreamPlayer(v, 'wss://example.org/ws/live/demo', { statsInterval: 10 });
  const seen = collect(p);
  await tick();
  assert.equal(p.mode, 'hls');
  assert.equal(v.src, 'https://example.org/hls/live/demo/index.m3u8');
  assert.equal(v.plays, 1);
  v.currentTime = 59;                 // the frame shown was ingested ~1 s ago
  v.fire('playing');
  await until(() => seen.stats.some((s) => s.latency !== null));
  const s = seen.stats.at(-1);
  assert.ok(s.latency >= 1000 && s.latency < 1500, `latency ${s.latency}`);
  assert.equal(s.state, 'playing');
  assert.equal(s.bitrate, null);
  v.fire('waiting');
  assert.equal(p.state, 'buffering');
  p.destroy();
  assert.equal(v.src, '');
  assert.deepEqual(seen.errors, []);
});

test('player: hls.force with an hls.js constructor: lowLatencyMode, the derived URL, latency from hls.latency', async () => {
  const { Hls, made } = fakeHls();
  const v = new FakeVideo();
  const p = new WsStreamPlayer(v, 'ws://h:8080/ws/live/demo',
    { statsInterval: 10, hls: { force: true, Hls, config: { maxLiveSyncPlaybackRate: 1.5 } } });
  const seen = collect(p);
  await tick();
  assert.equal(p.mode, 'hls.js');
  assert.equal(made.length, 1);
  const h = made[0];
  assert.deepEqual(h.config, { lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5 });
  assert.equal(h.media, v);
  assert.equal(h.url, 'http://h:8080/hls/live/demo/index.m3u8');
  assert.equal(v.plays, 0);
  h.emit(Hls.Events.MANIFEST_PARSED, {});
  assert.equal(v.plays, 1);
  h.latency = 0.8764;
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(seen.stats.every((s) => s.latency === null), 'no latency before playing');
  v.fire('playing');
  await until(() => seen.stats.some((s) => s.latency === 876));
  p.destroy();
  assert.ok(h.destroyed);
  assert.equal(p.state, 'destroyed');
  assert.deepEqual(seen.errors, []);
});

test('player: hls.js fatal errors: media recovered 3 times a minute, network restarts hls.js, 404 is offline', async () => {
  const { Hls, made } = fakeHls();
  const v = new FakeVideo();
  const p = new WsStreamPlayer(v, 'ws://h/ws/live/demo',
    { hls: { force: true, Hls, url: 'https://cdn.example/x/index.m3u8' }, reconnect: { min: 1, max: 1 } });
  const seen = collect(p);
  await tick();
  const h = made[0];
  assert.equal(h.url, 'https://cdn.example/x/index.m3u8', 'hls.url wins');
  h.emit(Hls.Events.ERROR, { fatal: false, type: 'networkError', details: 'fragLoadError' });
  assert.equal(seen.errors.length, 0, 'non-fatal errors are hls.js business');
  for (let i = 0; i < 3; i++) h.emit(Hls.Events.ERROR, { fatal: true, type: 'mediaError', details: 'bufferStalledError' });
  assert.equal(h.recovered, 3);
  assert.ok(seen.errors.every((e) => e.code === 'MEDIA' && !e.fatal));

  h.emit(Hls.Events.ERROR, { fatal: true, type: 'networkError', details: 'manifestLoadError', response: { code: 404 } });
  assert.equal(p.state, 'offline');
  assert.ok(h.destroyed);
  assert.equal(seen.errors.at(-1).code, 'NETWORK');
  assert.match(seen.errors.at(-1).message, /manifestLoadError \(HTTP 404\)/);
  await until(() => made.length === 2);
  const h2 = made[1];
  assert.equal(h2.url, 'https://cdn.example/x/index.m3u8');
  h.emit(Hls.Events.ERROR, { fatal: true, type: 'networkError', details: 'late event of the old instance' });
  assert.equal(made.length, 2, 'events of a dropped instance are ignored');

  h2.emit(Hls.Events.ERROR, { fatal: true, type: 'networkError', details: 'levelLoadError', response: { code: 0 } });
  assert.equal(p.state, 'reconnecting');
  await until(() => made.length === 3);
  v.fire('playing');
  assert.equal(p.state, 'playing');

  made[2].emit(Hls.Events.ERROR, { fatal: true, type: 'mediaError', details: 'fourth in a minute' });
  assert.equal(p.state, 'error');
  assert.ok(made[2].destroyed);
  assert.ok(seen.errors.at(-1).fatal);
  p.destroy();
});

test('player: hls.force with no HLS path takes the MSE path (none in node: MSE_UNSUPPORTED)', async () => {
  const v = new FakeVideo();
  const p = new WsStreamPlayer(v, 'ws://h/ws/live/demo', { hls: { force: true } });
  const seen = collect(p);
  await tick();
  assert.equal(p.mode, null);
  assert.equal(p.state, 'error');
  assert.equal(seen.errors[0].code, 'MSE_UNSUPPORTED');
  p.destroy();
});
