// Configuration errors caught by `nginx -t`.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { checkTools, buildConf, nginxTest } from './lib/nginx.mjs';
import { liveConf } from './lib/common.mjs';

const P = { rtmp: 19350, http: 18080 };   // never listened on: nginx -t only binds nothing

async function run(opts) {
  const r = await nginxTest((prefix) => buildConf(prefix, opts));
  const out = `status=${r.status}\n--- stderr:\n${r.stderr}\n--- error.log:\n${r.log}`;
  return { ...r, out };
}

function noSanitizer(r) {
  assert.deepEqual(r.sanitizer, [], `sanitizer reports: ${r.sanitizer}`);
  assert.ok(!/runtime error:|AddressSanitizer|LeakSanitizer/.test(r.stderr + r.log), r.out);
  assert.ok(!/\[(alert|crit)\]/.test(r.stderr + r.log), r.out);
}

describe('08 configuration checks (nginx -t)', () => {
  before(() => checkTools({ ffmpeg: false }));

  it('the reference config passes nginx -t', async () => {
    const r = await run(liveConf(P));
    assert.equal(r.status, 0, r.out);
    noSanitizer(r);
    await r.cleanup();
  });

  it('module loaded before ngx_rtmp_module: fails, says to load ngx_rtmp_module first', async () => {
    const r = await run({ ...liveConf(P), moduleFirst: true });
    assert.notEqual(r.status, 0, `nginx -t accepted the wrong load order\n${r.out}`);
    assert.match(r.stderr, /\[emerg\]/, r.out);
    assert.match(r.stderr, /ngx_rtmp_module/, r.out);
    assert.match(r.stderr, /load_module/, r.out);
    noSanitizer(r);
    await r.cleanup();
  });

  it('ws_stream in an rtmp application naming an undeclared zone: emerg', async () => {
    const c = liveConf(P);
    c.rtmp = c.rtmp.replace('ws_stream live;', 'ws_stream nosuchzone;');
    const r = await run(c);
    assert.notEqual(r.status, 0, `nginx -t accepted an undeclared zone\n${r.out}`);
    assert.match(r.stderr + r.log, /\[emerg\]/, r.out);
    assert.match(r.stderr + r.log, /ws_stream zone "nosuchzone" is used but not declared: add "ws_stream_zone zone=nosuchzone:32m;"/, r.out);
    noSanitizer(r);
    await r.cleanup();
  });

  it('ws_stream location naming an undeclared zone: emerg', async () => {
    const c = liveConf(P);
    c.http = c.http.replace('ws_stream;', 'ws_stream nosuchzone;');
    const r = await run(c);
    assert.notEqual(r.status, 0, `nginx -t accepted an undeclared zone\n${r.out}`);
    assert.match(r.stderr + r.log, /\[emerg\]/, r.out);
    assert.match(r.stderr + r.log, /ws_stream zone "nosuchzone" is used but not declared/, r.out);
    noSanitizer(r);
    await r.cleanup();
  });

  it('ws_stream without NAME while two zones exist: emerg', async () => {
    const c = liveConf(P, { http: 'ws_stream_zone zone=second:16m;' });
    const r = await run(c);
    assert.notEqual(r.status, 0, `nginx -t accepted an ambiguous ws_stream\n${r.out}`);
    assert.match(r.stderr + r.log, /\[emerg\]/, r.out);
    noSanitizer(r);
    await r.cleanup();
  });
});
