// Raw-socket WebSocket client: hand-made handshake and frames, frame reader.
import crypto from 'node:crypto';
import net from 'node:net';
import { WAIT } from './util.mjs';

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const acceptFor = (key) => crypto.createHash('sha1').update(key + GUID).digest('base64');
const sockets = new Set();

export function closeAllRaw() { for (const s of sockets) s.destroy(); sockets.clear(); }

// Send raw bytes; read until the header block is complete (and close or a short
// grace for the body). Returns { status, headers, body, rest, sock }.
export function rawRequest(port, request, { timeout = WAIT, keepOpen = false, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host });
    sockets.add(sock);
    let buf = Buffer.alloc(0);
    let result = null;
    const t = setTimeout(() => { sock.destroy(); reject(new Error(`no HTTP answer within ${timeout} ms`)); }, timeout);
    const finish = () => {
      clearTimeout(t);
      sock.removeAllListeners('data');
      if (!keepOpen) { sock.destroy(); sockets.delete(sock); }
      resolve(result);
    };
    sock.on('connect', () => sock.write(request));
    sock.on('error', (e) => { if (!result) { clearTimeout(t); reject(e); } });
    sock.on('close', () => { if (result) return; clearTimeout(t); reject(new Error(`closed before an HTTP answer: ${buf.toString().slice(0, 200)}`)); });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0 || result) return;
      const head = buf.subarray(0, end).toString('latin1').split('\r\n');
      const m = head[0].match(/^HTTP\/1\.[01] (\d{3})/);
      const headers = {};
      for (const l of head.slice(1)) {
        const k = l.indexOf(':');
        if (k > 0) headers[l.slice(0, k).trim().toLowerCase()] = l.slice(k + 1).trim();
      }
      result = { status: m ? Number(m[1]) : null, statusLine: head[0], headers, rest: buf.subarray(end + 4), sock };
      finish();
    });
  });
}

export function upgradeRequest(path, { key = crypto.randomBytes(16).toString('base64'), protocol = 'wsstream.1',
  version = '13', method = 'GET', upgrade = true, extra = '' } = {}) {
  let r = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  if (upgrade) r += `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
    `Sec-WebSocket-Version: ${version}\r\n`;
  if (protocol) r += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  if (method !== 'GET') r += 'Content-Length: 0\r\n';
  return { text: r + extra + '\r\n', key };
}

// Encode one client frame. mask: true (random key), false, or a 4-byte Buffer.
// len: 'auto' | 16 | 64 forces the extended length form (non-minimal when small).
export function frame({ fin = true, rsv = 0, opcode, payload = Buffer.alloc(0), mask = true, len = 'auto' }) {
  if (typeof payload === 'string') payload = Buffer.from(payload, 'utf8');
  const n = payload.length;
  const parts = [Buffer.from([(fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 15)])];
  const mbit = mask ? 0x80 : 0;
  if (len === 64 || (len === 'auto' && n > 65535)) {
    const b = Buffer.alloc(9); b[0] = mbit | 127; b.writeBigUInt64BE(BigInt(n), 1); parts.push(b);
  } else if (len === 16 || (len === 'auto' && n > 125)) {
    const b = Buffer.alloc(3); b[0] = mbit | 126; b.writeUInt16BE(n, 1); parts.push(b);
  } else parts.push(Buffer.from([mbit | n]));
  if (mask) {
    const key = Buffer.isBuffer(mask) ? mask : crypto.randomBytes(4);
    parts.push(key);
    const p = Buffer.alloc(n);
    for (let i = 0; i < n; i++) p[i] = payload[i] ^ key[i & 3];
    parts.push(p);
  } else parts.push(payload);
  return Buffer.concat(parts);
}

export const closePayload = (code, reason = '') => {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0); b.write(reason, 2);
  return b;
};

// An open WebSocket over a raw socket, reading server frames.
export class RawWs {
  constructor(sock, rest) {
    this.sock = sock;
    this.buf = rest || Buffer.alloc(0);
    this.frames = [];
    this.errors = [];
    this.ended = false;
    this.waiters = new Set();
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); this.notify(); });
    sock.on('end', () => { this.ended = true; this.notify(); });
    sock.on('close', () => { this.ended = true; this.notify(); });
    sock.on('error', (e) => { this.errors.push(e); this.ended = true; this.notify(); });
    this.parse();
  }

  static async open(port, path, opts = {}) {
    const req = upgradeRequest(path, opts);
    const r = await rawRequest(port, req.text, { keepOpen: true });
    if (r.status !== 101) { r.sock.destroy(); throw new Error(`expected 101, got ${r.statusLine}`); }
    const ws = new RawWs(r.sock, r.rest);
    ws.handshake = r; ws.key = req.key;
    return ws;
  }

  notify() { for (const w of [...this.waiters]) w(); }

  parse() {
    for (let guard = 0; guard < 100000; guard++) {
      const b = this.buf;
      if (b.length < 2) return;
      let n = b[1] & 127, off = 2;
      if (n === 126) { if (b.length < 4) return; n = b.readUInt16BE(2); off = 4; }
      else if (n === 127) { if (b.length < 10) return; n = Number(b.readBigUInt64BE(2)); off = 10; }
      const masked = !!(b[1] & 0x80);
      if (masked) off += 4;
      if (b.length < off + n) return;
      let payload = Buffer.from(b.subarray(off, off + n));
      if (masked) { const k = b.subarray(off - 4, off); for (let i = 0; i < n; i++) payload[i] ^= k[i & 3]; }
      const f = { fin: !!(b[0] & 0x80), rsv: (b[0] >> 4) & 7, opcode: b[0] & 15, masked, payload };
      if (f.opcode === 8) f.code = n >= 2 ? payload.readUInt16BE(0) : null;
      if (f.opcode === 1) { try { f.json = JSON.parse(payload.toString('utf8')); } catch { /* not json */ } }
      this.frames.push(f);
      this.buf = b.subarray(off + n);
    }
  }

  send(buf) { this.sock.write(buf); }
  sendFrame(opts) { this.sock.write(frame(opts)); }
  sendText(text, opts = {}) { this.sendFrame({ opcode: 1, payload: text, ...opts }); }

  waitFrame(pred, { from = 0, timeout = WAIT, what = 'frame' } = {}) {
    return new Promise((resolve, reject) => {
      let idx = from;
      const check = () => {
        for (; idx < this.frames.length; idx++) if (pred(this.frames[idx])) { done(); resolve(this.frames[idx]); return; }
        if (this.ended) { done(); reject(new Error(`TCP closed while waiting for ${what} (frames: ${this.summary()})`)); }
      };
      const t = setTimeout(() => { done(); reject(new Error(`timed out after ${timeout} ms waiting for ${what} (frames: ${this.summary()})`)); }, timeout);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  waitEnd({ timeout = WAIT } = {}) {
    return new Promise((resolve) => {
      const check = () => { if (this.ended) { done(); resolve(true); } };
      const t = setTimeout(() => { done(); resolve(false); }, timeout);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  // Wait for the server's close frame, then for the TCP close. Returns { code, tcpClosed, frame }.
  async expectClose({ timeout = WAIT } = {}) {
    const f = await this.waitFrame((x) => x.opcode === 8, { timeout, what: 'close frame' });
    const tcpClosed = await this.waitEnd({ timeout });
    return { code: f.code, tcpClosed, frame: f };
  }

  summary() {
    return this.frames.slice(-6).map((f) => `op${f.opcode}${f.fin ? '' : '(nofin)'}` +
      (f.opcode === 8 ? `:${f.code}` : f.opcode === 1 ? `:${f.payload.toString().slice(0, 60)}` : `:${f.payload.length}b`)).join(' ') || 'none';
  }

  destroy() { this.sock.destroy(); sockets.delete(this.sock); }
}
