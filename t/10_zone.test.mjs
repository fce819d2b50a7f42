// Shared zone exhaustion (memory and streams=N) and memory reuse after grace.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { Viewer, connectOnline, checkStream, isMedia, describeMsg } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep, settlesWithin } from './lib/util.mjs';

// Nothing of `name` is viewable for a few seconds: handshake refused (503),
// or hello online:false and no media.
async function assertNotViewable(env, name) {
  let v;
  try {
    v = await Viewer.connect(env.http('live', name));
  } catch (e) {
    assert.ok(e.status === 503 || e.status === 404, `unexpected handshake failure: ${e.message}`);
    return `handshake ${e.status}`;
  }
  const hello = await v.waitFor(() => true, { what: 'hello', allowClose: true });
  await sleep(3000);
  assert.ok(!(hello.type === 'hello' && hello.json.online === true), `refused stream ${name} is online: ${hello.text}`);
  assert.ok(!v.msgs.some(isMedia), `refused stream ${name} delivers media`);
  await v.close();
  return `hello ${hello.text}`;
}

function zoneErrorLines(log, zone) {
  return log.split('\n').filter((l) => /\[error\]/.test(l) && new RegExp(`zone|"?${zone}"?`, 'i').test(l));
}

async function exhaustionCase(env, t, zone) {
  const n1 = streamName('z1');
  const p1 = startPublisher({ port: env.rtmpPort, name: n1 });
  const { viewer: v1 } = await connectOnline(env.http('live', n1));
  await v1.waitFor(isMedia, { what: 'stream 1 media' });

  const logBefore = env.nginx.log().length;
  const n2 = streamName('z2'), n3 = streamName('z3');
  const p2 = startPublisher({ port: env.rtmpPort, name: n2 });
  const p3 = startPublisher({ port: env.rtmpPort, name: n3 });
  // Give them time to be refused (ffmpeg may or may not exit).
  await settlesWithin(Promise.all([p2.exited, p3.exited]), 6000);
  t.diagnostic(`publisher 2 ${p2.running ? 'still running' : 'exited ' + JSON.stringify(await p2.exited)}, ` +
    `publisher 3 ${p3.running ? 'still running' : 'exited ' + JSON.stringify(await p3.exited)}`);
  t.diagnostic(`stream 2: ${await assertNotViewable(env, n2)}; stream 3: ${await assertNotViewable(env, n3)}`);
  const lines = zoneErrorLines(env.nginx.log().slice(logBefore), zone);
  assert.ok(lines.length > 0, `no [error] line mentioning the zone after refused publishes:\n${env.nginx.log().slice(logBefore).split('\n').filter((l) => !/\[info\]|\[notice\]/.test(l)).slice(-20).join('\n')}`);
  t.diagnostic(`error.log: ${lines[0]}`);

  // Stream 1 kept flowing, no skip.
  await sleep(3000);
  const st = checkStream(v1.msgs, { from: 1, maxDtsGap: 1000, label: 'stream 1 viewer' });
  assert.ok(!v1.msgs.some((m) => m.kind === 'text' && ['skipped', 'offline'].includes(m.type)),
    'stream 1 viewer got skipped/offline');
  assert.ok(st.video > 60, `stream 1 viewer: ${JSON.stringify(st)}`);
  assert.equal(v1.closeInfo, null);

  // Free everything: publishers stop, viewer leaves, grace (1s) passes.
  await Promise.all([p1.stop(), p2.stop(), p3.stop()]);
  await v1.close();
  await sleep(4000);
  const n4 = streamName('z4');
  startPublisher({ port: env.rtmpPort, name: n4 });
  const { viewer: v4 } = await connectOnline(env.http('live', n4), { timeout: 20000 });
  const f = await v4.waitFor(isMedia, { what: 'new stream media' });
  assert.ok(f.track === 1 && f.key, describeMsg(f));
  await sleep(1500);
  checkStream(v4.msgs, { from: 1, label: 'new stream' });
  await v4.close();
}

describe('10 zone exhaustion: memory (zone=small:1m, ws_stream_buffer 512k)', () => {
  const env = useNginx({
    tag: 'zonemem',
    conf: (p) => liveConf(p, { zone: 'zone=small:1m', app: 'ws_stream_buffer 512k; ws_stream_grace 1s;' }),
  });
  it('second/third publisher refused, first unaffected, memory reused after grace', async (t) => {
    await exhaustionCase(env, t, 'small');
  });
});

describe('10 zone exhaustion: streams=1', () => {
  const env = useNginx({
    tag: 'zonestreams',
    conf: (p) => liveConf(p, { zone: 'zone=small:16m streams=1', app: 'ws_stream_buffer 512k; ws_stream_grace 1s;' }),
  });
  it('second/third stream refused, first unaffected, slot reused after grace', async (t) => {
    await exhaustionCase(env, t, 'small');
  });
});
