// Protocol client (wsstream.1) on top of the `ws` package, with bounded waits.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { sleep, WAIT, settlesWithin } from './util.mjs';

export const PROTOCOL = 'wsstream.1';
const open = new Set();

export function decode(data, isBinary) {
  if (!isBinary) {
    const text = data.toString('utf8');
    let json = null;
    try { json = JSON.parse(text); } catch { /* keep null */ }
    return { kind: 'text', text, json, type: json && typeof json === 'object' ? json.type : undefined };
  }
  const b = Buffer.isBuffer(data) ? data : Buffer.concat(data);
  if (b.length < 14) return { kind: 'bin', short: true, size: b.length, raw: b };
  return {
    kind: 'bin',
    track: b[0] & 15,
    key: !!(b[0] & 0x10),
    config: !!(b[0] & 0x20),
    reserved: b[0] & 0xc0,
    dts: b.readUInt32BE(1),
    cts: b.readIntBE(5, 3),
    ingest: b.readUIntBE(8, 6),
    payload: b.subarray(14),
    size: b.length,
  };
}

export const isText = (type) => (m) => m.kind === 'text' && m.type === type;
export const isMedia = (m) => m.kind === 'bin' && !m.short && !m.config;
export const isConfig = (m) => m.kind === 'bin' && !m.short && m.config;
export const isVideoConfig = (m) => isConfig(m) && m.track === 1 && m.payload.length >= 2 &&
  m.payload[0] === 0x17 && m.payload[1] === 0;
export const isAudioConfig = (m) => isConfig(m) && m.track === 2 && m.payload.length >= 2 &&
  (m.payload[0] >> 4) === 10 && m.payload[1] === 0;

export function describeMsg(m) {
  if (!m) return String(m);
  if (m.kind === 'text') return `text ${m.text.slice(0, 200)}`;
  if (m.short) return `short binary (${m.size} bytes)`;
  return `bin track=${m.track} key=${m.key} config=${m.config} dts=${m.dts} cts=${m.cts} size=${m.size} ` +
    `p0=${m.payload[0]?.toString(16)} p1=${m.payload[1]?.toString(16)}`;
}

export class Viewer {
  constructor(ws, url) {
    this.ws = ws;
    this.url = url;
    this.msgs = [];
    this.cursor = 0;
    this.waiters = new Set();
    this.closeInfo = null;
    this.error = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        open.delete(this);
        this.notify();
        resolve(this.closeInfo);
      });
    });
    ws.on('error', (e) => { this.error = e; this.notify(); });
    ws.on('message', (data, isBinary) => {
      const m = decode(data, isBinary);
      m.i = this.msgs.length;
      m.at = Date.now();
      this.msgs.push(m);
      this.notify();
    });
    open.add(this);
  }

  static connect(url, { protocols = [PROTOCOL], timeout = WAIT, wsOptions = {} } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { handshakeTimeout: timeout, ...wsOptions });
      const v = new Viewer(ws, url);
      ws.once('open', () => resolve(v));
      ws.once('unexpected-response', (req, res) => {
        const err = new Error(`handshake to ${url} answered ${res.statusCode}`);
        err.status = res.statusCode;
        res.resume();
        req.destroy();
        reject(err);
      });
      ws.once('error', (e) => reject(e));
      ws.once('close', (code) => reject(new Error(`closed before open (${code})`)));
    });
  }

  notify() { for (const w of [...this.waiters]) w(); }

  // Wait for the first message at index >= from satisfying pred; returns it.
  waitFor(pred, { from = 0, timeout = WAIT, what = 'message', allowClose = false } = {}) {
    return new Promise((resolve, reject) => {
      let idx = from;
      const check = () => {
        for (; idx < this.msgs.length; idx++) {
          if (pred(this.msgs[idx])) { done(); resolve(this.msgs[idx]); return; }
        }
        if (this.closeInfo && !allowClose) {
          done();
          reject(new Error(`connection closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${what}; ` +
            `last: ${describeMsg(this.msgs[this.msgs.length - 1])}`));
        }
      };
      const t = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeout} ms waiting for ${what} on ${this.url} ` +
          `(${this.msgs.length} msgs; last: ${describeMsg(this.msgs[this.msgs.length - 1])})`));
      }, timeout);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  // Like waitFor, starting at (and advancing) the internal cursor.
  async next(pred, opts = {}) {
    const m = await this.waitFor(pred, { ...opts, from: this.cursor });
    this.cursor = m.i + 1;
    return m;
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  async ping(id = 1, t = 1234.5, opts = {}) {
    const from = this.msgs.length;
    this.send({ type: 'ping', id, t });
    return this.waitFor((m) => m.kind === 'text' && m.type === 'pong' && m.json.id === id,
      { ...opts, from, what: `pong id=${id}` });
  }

  media(from = 0) { return this.msgs.slice(from).filter(isMedia); }

  async close(code = 1000) {
    if (this.closeInfo) return this.closeInfo;
    try { this.ws.close(code); } catch { /* ignore */ }
    if (!(await settlesWithin(this.closed, 3000))) { this.ws.terminate(); await settlesWithin(this.closed, 1000); }
    return this.closeInfo;
  }
}

export async function closeAllClients() {
  await Promise.all([...open].map((v) => v.close()));
}

// Connect until the hello says online (bounded). Each attempt that sees
// online:false is closed and retried.
export async function connectOnline(url, { timeout = WAIT, ...opts } = {}) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    let v;
    try {
      v = await Viewer.connect(url, opts);
    } catch (e) { last = e; await sleep(300); continue; }
    const hello = await v.waitFor((m) => m.kind === 'text', { what: 'hello', timeout: Math.max(1000, deadline - Date.now()) });
    if (hello.type === 'hello' && hello.json.online === true) return { viewer: v, hello };
    last = new Error(`hello: ${hello.text}`);
    await v.close();
    await sleep(300);
  }
  throw new Error(`stream ${url} did not come online within ${timeout} ms (last: ${last && last.message})`);
}

// Walk messages [from, to) and check protocol invariants:
// - binary: 14-byte header, reserved bits 0, track 1..3
// - after `start` (hello online / online / skipped) the first media is a video keyframe
//   (when the stream has video)
// - video key flag == FLV frame type 1; audio cts == 0
// - dts per track non-decreasing (config excluded), reset at `online`
// Returns stats.
export function checkStream(msgs, { from = 0, to = msgs.length, expectKeyFirst = true, hasVideo = true,
  maxDtsGap = null, label = 'viewer' } = {}) {
  const last = {};
  let expectKey = expectKeyFirst;
  const st = { video: 0, audio: 0, data: 0, keyframes: 0, configs: 0, firstMedia: null, maxVideoGap: 0 };
  for (let i = from; i < to; i++) {
    const m = msgs[i];
    if (m.kind === 'text') {
      if (m.type === 'online' || m.type === 'skipped') { expectKey = true; }
      if (m.type === 'online') { for (const k of Object.keys(last)) delete last[k]; }
      continue;
    }
    assert.ok(!m.short, `${label}: binary message #${i} shorter than 14 bytes`);
    assert.equal(m.reserved, 0, `${label}: reserved kind bits set in #${i}`);
    assert.ok(m.track >= 1 && m.track <= 3, `${label}: bad track ${m.track} in #${i}`);
    if (m.config) { st.configs++; continue; }
    if (m.track === 1) {
      st.video++;
      const ft = m.payload[0] >> 4;
      assert.equal(m.key, ft === 1, `${label}: key flag ${m.key} but FLV frame type ${ft} in #${i}`);
      if (m.key) st.keyframes++;
    } else if (m.track === 2) {
      st.audio++;
      assert.equal(m.cts, 0, `${label}: audio cts ${m.cts} in #${i}`);
    } else st.data++;
    if (expectKey) {
      if (hasVideo) assert.ok(m.track === 1 && m.key,
        `${label}: first media message after start/online/skipped (#${i}) is not a video keyframe: ${describeMsg(m)}`);
      expectKey = false;
      if (st.firstMedia === null) st.firstMedia = i;
    }
    if (last[m.track] !== undefined) {
      assert.ok(m.dts >= last[m.track],
        `${label}: dts went backwards on track ${m.track} at #${i}: ${last[m.track]} -> ${m.dts}`);
      if (m.track === 1) st.maxVideoGap = Math.max(st.maxVideoGap, m.dts - last[1]);
      if (maxDtsGap !== null && m.track === 1)
        assert.ok(m.dts - last[1] <= maxDtsGap,
          `${label}: video dts gap ${m.dts - last[1]} ms > ${maxDtsGap} at #${i}`);
    }
    last[m.track] = m.dts;
  }
  return st;
}
