// Publisher stops and comes back (within ws_stream_grace): the viewer stays
// connected, gets offline, then online + new configuration + keyframe.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { useNginx } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { connectOnline, checkStream, isMedia, isConfig, isVideoConfig, describeMsg } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';
import { sleep } from './lib/util.mjs';

const isType = (t) => (m) => m.kind === 'text' && m.type === t;

async function restartCase(env, { name, size2 }) {
  const pub1 = startPublisher({ port: env.rtmpPort, name });
  const { viewer: v } = await connectOnline(env.http('live', name));
  const cfg1 = await v.waitFor(isVideoConfig, { what: 'first AVC config' });
  await v.waitFor(isMedia, { what: 'media' });
  await sleep(2000);
  await pub1.stop();
  const off = await v.waitFor(isType('offline'), { what: 'offline notice after publisher stop' });
  await sleep(1500);
  assert.equal(v.closeInfo, null, 'viewer stays connected while offline');
  assert.ok(!v.msgs.slice(off.i + 1).some(isMedia), 'media after offline');

  const pub2 = startPublisher({ port: env.rtmpPort, name, ...(size2 ? { size: size2 } : {}) });
  const on = await v.waitFor(isType('online'), { from: off.i + 1, what: 'online notice after republish', timeout: 20000 });
  const first = await v.waitFor(isMedia, { from: on.i + 1, what: 'media after online' });
  const between = v.msgs.slice(on.i + 1, first.i);
  for (const m of between) assert.ok(isConfig(m), `non-config between online and media: ${describeMsg(m)}`);
  const cfg2 = between.find(isVideoConfig);
  assert.ok(cfg2, `no AVC config after online: ${between.map(describeMsg).join('; ')}`);
  assert.ok(first.track === 1 && first.key, `first media after online: ${describeMsg(first)}; ` +
    `sequence from online: ${v.msgs.slice(on.i, first.i + 4).map(describeMsg).join(' | ')}`);
  await sleep(2000);
  checkStream(v.msgs, { from: 1, label: 'viewer' });
  const st = checkStream(v.msgs, { from: on.i, label: 'after online' });
  assert.ok(st.video > 10 && st.audio > 10, JSON.stringify(st));
  assert.equal(v.closeInfo, null);
  await pub2.stop();
  await v.close();
  return { cfg1, cfg2 };
}

describe('05 publisher stop and restart', () => {
  const env = useNginx({ tag: 'restart', conf: (p) => liveConf(p, { app: 'ws_stream_grace 30s;' }) });

  it('same parameters: offline, online, config, keyframe', async () => {
    await restartCase(env, { name: streamName('re') });
  });

  it('restart at a different resolution: new AVC config differs', async () => {
    const { cfg1, cfg2 } = await restartCase(env, { name: streamName('res'), size2: '320x240' });
    assert.ok(!cfg1.payload.equals(cfg2.payload), 'AVC decoder configuration unchanged after resolution change');
  });
});
