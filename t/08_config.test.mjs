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

  for (const [what, app, pattern] of [
    ['ws_stream_variant before ws_stream', 'application abr { live on; ws_stream_variant _hi _lo; ws_stream live; }',
      /"ws_stream_variant" directive needs "ws_stream" before it/],
    ['ws_stream_variant twice', 'application abr { live on; ws_stream live; ws_stream_variant _hi; ws_stream_variant _lo; }',
      /"ws_stream_variant" directive is duplicate/],
    ['a suffix given twice', 'application abr { live on; ws_stream live; ws_stream_variant _hi _lo _hi; }',
      /variant suffix "_hi" is given twice/],
    ['a suffix with a slash', 'application abr { live on; ws_stream live; ws_stream_variant _hi a/b; }',
      /invalid variant suffix "a\/b"/],
    ['nine suffixes', 'application abr { live on; ws_stream live; ws_stream_variant _1 _2 _3 _4 _5 _6 _7 _8 _9; }',
      /takes at most 8 suffixes/],
  ]) {
    it(`${what}: emerg`, async () => {
      const r = await run(liveConf(P, { rtmp: app }));
      assert.notEqual(r.status, 0, `nginx -t accepted it\n${r.out}`);
      assert.match(r.stderr + r.log, pattern, r.out);
      noSanitizer(r);
      await r.cleanup();
    });
  }

  for (const [what, loc, pattern] of [
    ['ws_stream_abr with neither on nor off', 'ws_stream_abr yes;', /invalid value "yes": "on" or "off" first/],
    ['an unknown ws_stream_abr parameter', 'ws_stream_abr on fast=1;', /invalid parameter "fast=1"/],
    ['a ws_stream_abr time that is not one', 'ws_stream_abr on holdoff=soon;', /invalid parameter "holdoff=soon"/],
    ['up_fit above 1', 'ws_stream_abr on up_fit=1.5;', /invalid parameter "up_fit=1.5"/],
    ['emergency_lag below down_lag', 'ws_stream_abr on down_lag=2s emergency_lag=1s;',
      /needs low_lag < down_lag < emergency_lag/],
    ['ws_stream_latency above 60 s', 'ws_stream_latency 61s;', /value must be between 0 and 60000/],
    ['ws_stream_coalesce above 1 s', 'ws_stream_coalesce 1001ms;', /value must be between 0 and 1000/],
    ['ws_stream_coalesce not a time', 'ws_stream_coalesce soon;', /invalid value/],
    ['ws_stream_abr twice', 'ws_stream_abr on; ws_stream_abr off;', /"ws_stream_abr" directive is duplicate/],
    ['ws_stream_switch with neither on nor off', 'ws_stream_switch yes;', /invalid value "yes" in "ws_stream_switch"/],
    ['ws_stream_switch without a value', 'ws_stream_switch;', /invalid number of arguments in "ws_stream_switch"/],
  ]) {
    it(`${what}: emerg`, async () => {
      const r = await run(liveConf(P, { loc }));
      assert.notEqual(r.status, 0, `nginx -t accepted it\n${r.out}`);
      assert.match(r.stderr + r.log, pattern, r.out);
      noSanitizer(r);
      await r.cleanup();
    });
  }

  it('ws_stream_abr with every parameter: accepted', async () => {
    const r = await run(liveConf(P, { loc: 'ws_stream_abr on start=middle down_lag=400ms down_for=2s ' +
      'emergency_lag=1200ms low_lag=100ms up_fit=0.8 holdoff=5s holdoff_max=30s probe=3s probe_drops=0;' }));
    assert.equal(r.status, 0, r.out);
    noSanitizer(r);
    await r.cleanup();
  });

  it('ws_stream_variant after ws_stream: accepted', async () => {
    const r = await run(liveConf(P, { rtmp: 'application abr { live on; ws_stream live; ws_stream_variant _720p _360p _160p; }' }));
    assert.equal(r.status, 0, r.out);
    noSanitizer(r);
    await r.cleanup();
  });
});
