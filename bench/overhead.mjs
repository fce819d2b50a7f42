// Measures the bytes a viewer receives per media message beyond the FLV tag
// body (the payload), split into the WebSocket frame header and protocol
// 1's media header, and compares with FLV over WebSocket (11-byte tag header
// + 4-byte previous tag size per tag). Prints figures; asserts nothing.
//
//   node bench/overhead.mjs [ws://127.0.0.1:8080/ws/live/demo] [seconds]
import net from 'node:net';
import crypto from 'node:crypto';

const url = new URL(process.argv[2] || 'ws://127.0.0.1:8080/ws/live/demo');
const seconds = Number(process.argv[3] || 10);

const sock = net.connect(Number(url.port || 80), url.hostname);
const key = crypto.randomBytes(16).toString('base64');
sock.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n` +
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
  `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Protocol: wsstream.1\r\n\r\n`);

let buf = Buffer.alloc(0);
let headerDone = false;
const st = { media: 0, wire: 0, wsHdr: 0, payload: 0, other: 0 };

sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  if (!headerDone) {
    const i = buf.indexOf('\r\n\r\n');
    if (i < 0) return;
    if (!buf.subarray(0, 12).toString().includes('101')) {
      console.error('no upgrade:', buf.subarray(0, i).toString());
      process.exit(1);
    }
    buf = buf.subarray(i + 4);
    headerDone = true;
  }
  for (;;) {
    if (buf.length < 2) return;
    let len = buf[1] & 0x7f, hlen = 2;
    if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); hlen = 4; }
    else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); hlen = 10; }
    if (buf.length < hlen + len) return;
    const opcode = buf[0] & 0x0f;
    const body = buf.subarray(hlen, hlen + len);
    if (opcode === 2 && !(body[0] & 0x20)) {          // media, not config
      st.media++;
      st.wire += hlen + len;
      st.wsHdr += hlen;
      st.payload += len - 14;
    } else {
      st.other++;
    }
    buf = buf.subarray(hlen + len);
  }
});

setTimeout(() => {
  sock.destroy();
  if (!st.media) { console.error('no media received'); process.exit(1); }
  const per = (n) => (n / st.media).toFixed(2);
  console.log(`media messages        ${st.media} in ${seconds} s (${st.other} other messages)`);
  console.log(`payload (FLV tag body) ${per(st.payload)} bytes/message on average`);
  console.log(`WebSocket header       ${per(st.wsHdr)} bytes/message`);
  console.log(`protocol 1 header      14.00 bytes/message`);
  console.log(`overhead, ours         ${per(st.wire - st.payload)} bytes/message ` +
              `(${(100 * (st.wire - st.payload) / st.wire).toFixed(2)} % of the bytes)`);
  console.log(`overhead, FLV over WS  ${per(st.wsHdr + 15 * st.media)} bytes/message ` +
              '(same WebSocket framing, 11-byte tag header + 4-byte tag size)');
}, seconds * 1000);
