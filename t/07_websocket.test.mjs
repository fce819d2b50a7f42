// HTTP answers, handshake and the WebSocket rules the server enforces
// (hand-made frames on raw sockets).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { Viewer } from './lib/ws.mjs';
import { RawWs, rawRequest, upgradeRequest, acceptFor, frame, closePayload } from './lib/rawws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';

const TEXT = 1, BIN = 2, CLOSE = 8, PING = 9, PONG = 10, CONT = 0;

describe('07 websocket protocol', () => {
  const env = useNginx({
    tag: 'ws',
    conf: (p) => liveConf(p, {
      server: 'location /small/ { ws_stream; ws_stream_max_message 1k; }\n' +
        '        location / { return 200 "plain\\n"; }',
    }),
  });
  const name = streamName('ws');
  const path = (loc = 'ws', app = 'live') => `/${loc}/${app}/${name}`;

  const status = async (p, opts) => (await rawRequest(env.ports.http, upgradeRequest(p, opts).text)).status;

  // Open, read hello (and the offline notice), return the RawWs.
  async function opened(loc = 'ws') {
    const ws = await RawWs.open(env.ports.http, path(loc));
    const hello = await ws.waitFrame((f) => f.opcode === TEXT, { what: 'hello' });
    assert.equal(hello.json?.type, 'hello');
    await ws.waitFrame((f) => f.opcode === TEXT && f.json?.type === 'offline', { what: 'offline notice' });
    return ws;
  }

  async function expectCloseCode(ws, code, what) {
    const r = await ws.expectClose();
    assert.equal(r.code, code, `${what}: close code ${r.code}, want ${code} (frames: ${ws.summary()})`);
    assert.ok(r.tcpClosed, `${what}: TCP not closed after close frame`);
    for (const f of ws.frames) {
      assert.equal(f.masked, false, 'server frames must not be masked');
      assert.equal(f.fin, true, 'server sends no fragmented messages');
      assert.equal(f.rsv, 0, 'server frame with reserved bits');
    }
    ws.destroy();
  }

  describe('HTTP answers', () => {
    it('plain GET -> 426', async () => {
      assert.equal(await status(path(), { upgrade: false, protocol: null }), 426);
    });
    it('app without ws_stream -> 404', async () => {
      assert.equal(await status(path('ws', 'other')), 404);
    });
    it('unknown app -> 404', async () => {
      assert.equal(await status(path('ws', 'nosuchapp')), 404);
    });
    it('URI without app/name -> 404', async () => {
      assert.equal(await status('/ws/'), 404);
    });
    it('subprotocols offered, none wsstream.1 -> 400', async () => {
      assert.equal(await status(path(), { protocol: 'foo, wsstream.2' }), 400);
    });
    it('Sec-WebSocket-Version 12 -> 426 (RFC 6455 4.4)', async () => {
      assert.equal(await status(path(), { version: '12' }), 426);
    });
    it('bad Sec-WebSocket-Key -> 400', async () => {
      assert.equal(await status(path(), { key: 'c2hvcnQ=' }), 400);
    });
    it('POST upgrade -> 400', async () => {
      assert.equal(await status(path(), { method: 'POST' }), 400);
    });
  });

  describe('handshake', () => {
    it('101 with correct Sec-WebSocket-Accept and protocol wsstream.1', async () => {
      const ws = await RawWs.open(env.ports.http, path());
      const h = ws.handshake.headers;
      assert.equal(h['sec-websocket-accept'], acceptFor(ws.key));
      assert.equal(h['sec-websocket-protocol'], 'wsstream.1');
      assert.match(h['upgrade'] || '', /^websocket$/i);
      assert.match(h['connection'] || '', /upgrade/i);
      const hello = await ws.waitFrame((f) => f.opcode === TEXT, { what: 'hello' });
      assert.equal(hello.json.type, 'hello');
      assert.equal(hello.json.version, 1);
      assert.equal(hello.json.online, false);
      ws.destroy();
    });
    it('wsstream.1 among other offered subprotocols is selected', async () => {
      const ws = await RawWs.open(env.ports.http, path(), { protocol: 'foo, wsstream.1' });
      assert.equal(ws.handshake.headers['sec-websocket-protocol'], 'wsstream.1');
      ws.destroy();
    });
    it('no subprotocol offered: served the same protocol', async () => {
      const v = await Viewer.connect(`ws://127.0.0.1:${env.ports.http}${path()}`, { protocols: [] });
      const hello = await v.waitFor(() => true, { what: 'hello' });
      assert.equal(hello.type, 'hello');
      await v.close();
    });
    it('query string is ignored', async () => {
      const ws = await RawWs.open(env.ports.http, path() + '?x=1&y=/a/b');
      const hello = await ws.waitFrame((f) => f.opcode === TEXT, { what: 'hello' });
      assert.equal(hello.json.app, 'live');
      assert.equal(hello.json.stream, name);
      ws.destroy();
    });
  });

  describe('frames that close the connection', () => {
    const cases = [
      ['unmasked frame', 1002, (ws) => ws.sendFrame({ opcode: TEXT, payload: '{"type":"ping","id":1,"t":1}', mask: false })],
      ['reserved bit RSV1', 1002, (ws) => ws.sendFrame({ opcode: TEXT, rsv: 4, payload: '{"type":"ping","id":1,"t":1}' })],
      ['reserved bit RSV3', 1002, (ws) => ws.sendFrame({ opcode: PING, rsv: 1, payload: 'x' })],
      ['unknown data opcode 3', 1002, (ws) => ws.sendFrame({ opcode: 3, payload: 'x' })],
      ['unknown control opcode 0xB', 1002, (ws) => ws.sendFrame({ opcode: 0xb, payload: '' })],
      ['control frame > 125 bytes', 1002, (ws) => ws.sendFrame({ opcode: PING, payload: Buffer.alloc(126, 0x61) })],
      ['fragmented ping', 1002, (ws) => ws.sendFrame({ opcode: PING, fin: false, payload: 'ab' })],
      ['continuation without start', 1002, (ws) => ws.sendFrame({ opcode: CONT, payload: 'abc' })],
      ['new text frame inside a fragmented message', 1002, (ws) => {
        ws.sendFrame({ opcode: TEXT, fin: false, payload: '{"type":' });
        ws.sendFrame({ opcode: TEXT, payload: '"ping"}' });
      }],
      ['non-minimal 16-bit length', 1002, (ws) => ws.sendFrame({ opcode: TEXT, payload: '{"type":"ping","id":1,"t":1}', len: 16 })],
      ['non-minimal 64-bit length', 1002, (ws) => ws.sendFrame({ opcode: TEXT, payload: '{"type":"ping","id":1,"t":1}', len: 64 })],
      ['invalid UTF-8 text', 1007, (ws) => ws.sendFrame({ opcode: TEXT, payload: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) })],
      ['invalid UTF-8 split over fragments', 1007, (ws) => {
        ws.sendFrame({ opcode: TEXT, fin: false, payload: Buffer.from('{"type":"ping","id":1,"t":1,"x":"\xe2', 'latin1') });
        ws.sendFrame({ opcode: CONT, payload: Buffer.from([0x28, 0xa1, 0x22, 0x7d]) });
      }],
      ['binary message', 1003, (ws) => ws.sendFrame({ opcode: BIN, payload: Buffer.from([1, 2, 3]) })],
      ['text that is not JSON', 1007, (ws) => ws.sendText('hello server')],
      ['JSON of unknown type', 1007, (ws) => ws.sendText('{"type":"dance"}')],
      ['ping with a string id', 1007, (ws) => ws.sendText('{"type":"ping","id":"7","t":1}')],
      ['report with an out-of-range field', 1007, (ws) => ws.sendText('{"type":"report","latency":-5}')],
      ['report with a bad state', 1007, (ws) => ws.sendText('{"type":"report","state":"Playing!"}')],
    ];
    for (const [what, code, send] of cases) {
      it(`${what} -> ${code}`, async () => {
        const ws = await opened();
        send(ws);
        await expectCloseCode(ws, code, what);
      });
    }
    it('message over ws_stream_max_message (1k) -> 1009', async () => {
      const ws = await opened('small');
      ws.sendText(JSON.stringify({ type: 'report', state: 'playing', pad: 'x'.repeat(1500) }));
      await expectCloseCode(ws, 1009, 'big message');
    });
    it('fragmented message over ws_stream_max_message (1k) -> 1009', async () => {
      const ws = await opened('small');
      ws.sendFrame({ opcode: TEXT, fin: false, payload: '{"type":"report","x":"' + 'y'.repeat(600) });
      ws.sendFrame({ opcode: CONT, fin: false, payload: 'z'.repeat(600) });
      ws.sendFrame({ opcode: CONT, payload: '"}' });
      await expectCloseCode(ws, 1009, 'big fragmented message');
    });
    it('message just under ws_stream_max_message (1k) is accepted', async () => {
      const ws = await opened('small');
      const msg = '{"type":"ping","id":5,"t":1}';
      ws.sendText(msg + ' '.repeat(1000 - msg.length));
      const pong = await ws.waitFrame((f) => f.opcode === TEXT && f.json?.type === 'pong', { what: 'pong' });
      assert.equal(pong.json.id, 5);
      ws.destroy();
    });
  });

  describe('control frames and messages that keep the connection', () => {
    it('ping frame -> pong frame with the same payload', async () => {
      const ws = await opened();
      const payload = Buffer.from('abc\x00\xff', 'latin1');
      ws.sendFrame({ opcode: PING, payload });
      const pong = await ws.waitFrame((f) => f.opcode === PONG, { what: 'pong frame' });
      assert.ok(pong.payload.equals(payload), `pong payload ${pong.payload.toString('hex')}`);
      ws.sendFrame({ opcode: PING, payload: Buffer.alloc(125, 7) });
      const pong2 = await ws.waitFrame((f) => f.opcode === PONG && f.payload.length === 125, { what: '125-byte pong' });
      assert.ok(pong2.payload.equals(Buffer.alloc(125, 7)));
      ws.destroy();
    });
    it('close 1000 -> close echoed, TCP closed', async () => {
      const ws = await opened();
      ws.sendFrame({ opcode: CLOSE, payload: closePayload(1000, 'bye') });
      await expectCloseCode(ws, 1000, 'client close 1000');
    });
    it('close 1001 -> close echoed', async () => {
      const ws = await opened();
      ws.sendFrame({ opcode: CLOSE, payload: closePayload(1001) });
      await expectCloseCode(ws, 1001, 'client close 1001');
    });
    it('close without code -> close 1000', async () => {
      const ws = await opened();
      ws.sendFrame({ opcode: CLOSE });
      await expectCloseCode(ws, 1000, 'client close without code');
    });
    it('unsolicited pong frame is ignored', async () => {
      const ws = await opened();
      ws.sendFrame({ opcode: PONG, payload: 'x' });
      ws.sendText('{"type":"ping","id":9,"t":3}');
      const p = await ws.waitFrame((f) => f.opcode === TEXT && f.json?.type === 'pong', { what: 'pong' });
      assert.equal(p.json.id, 9);
      ws.destroy();
    });
    it('valid report is accepted; a later ping is still answered', async () => {
      const ws = await opened();
      ws.sendText(JSON.stringify({ type: 'report', latency: 420.5, buffer: 380, bitrate: 2100000,
        dropped: 0, decoded: 1800, stalls: 0, state: 'playing' }));
      ws.sendText('{"type":"report"}');
      ws.sendText('{"type":"report","state":"buffering"}');
      await sleep(1000);
      assert.ok(!ws.ended, `connection closed after report (frames: ${ws.summary()})`);
      assert.ok(!ws.frames.some((f) => f.opcode === CLOSE), 'close after report');
      ws.sendText('{"type":"ping","id":11,"t":77.5}');
      const p = await ws.waitFrame((f) => f.opcode === TEXT && f.json?.type === 'pong', { what: 'pong after report' });
      assert.equal(p.json.id, 11);
      assert.equal(p.json.t, 77.5);
      assert.equal(typeof p.json.server_time, 'number');
      ws.destroy();
    });
    it('ping message fragmented in 3 frames is answered', async () => {
      const ws = await opened();
      ws.sendFrame({ opcode: TEXT, fin: false, payload: '{"type":"pi' });
      ws.sendFrame({ opcode: CONT, fin: false, payload: 'ng","id":3,' });
      ws.sendFrame({ opcode: CONT, fin: true, payload: '"t":1.5}' });
      const p = await ws.waitFrame((f) => f.opcode === TEXT && f.json?.type === 'pong', { what: 'pong' });
      assert.equal(p.json.id, 3);
      assert.equal(p.json.t, 1.5);
      ws.destroy();
    });
    it('ping frame between fragments is answered, message completes', async () => {
      const ws = await opened();
      ws.sendFrame({ opcode: TEXT, fin: false, payload: '{"type":"ping",' });
      ws.sendFrame({ opcode: PING, payload: 'mid' });
      ws.sendFrame({ opcode: CONT, fin: true, payload: '"id":4,"t":2}' });
      const pf = await ws.waitFrame((f) => f.opcode === PONG, { what: 'pong frame' });
      assert.equal(pf.payload.toString(), 'mid');
      const p = await ws.waitFrame((f) => f.opcode === TEXT && f.json?.type === 'pong', { what: 'pong message' });
      assert.equal(p.json.id, 4);
      ws.destroy();
    });
    it('ping message split byte by byte over TCP writes is answered', async () => {
      const ws = await opened();
      const buf = frame({ opcode: TEXT, payload: '{"type":"ping","id":6,"t":0}' });
      for (const b of buf) { ws.send(Buffer.from([b])); await sleep(2); }
      const p = await ws.waitFrame((f) => f.opcode === TEXT && f.json?.type === 'pong', { what: 'pong' });
      assert.equal(p.json.id, 6);
      ws.destroy();
    });
  });
});
