// ws_stream_hls directives checked by `nginx -t`: ranges of the part and
// segment targets and of the window, a window shorter than 3 target
// durations, configurations the index cannot hold, locations of one zone
// that differ, a missing or unknown zone; valid combinations pass.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { checkTools, buildConf, nginxTest } from './lib/nginx.mjs';
import { hlsConf } from './lib/hls.mjs';

const P = { rtmp: 19350, http: 18080 };   // never listened on: nginx -t binds nothing

async function check(opts) {
  const r = await nginxTest((prefix) => buildConf(prefix, opts));
  const out = `status=${r.status}\n--- stderr:\n${r.stderr}\n--- error.log:\n${r.log}`;
  assert.deepEqual(r.sanitizer, [], `sanitizer reports: ${r.sanitizer}`);
  assert.ok(!/runtime error:|AddressSanitizer|LeakSanitizer|\[(alert|crit)\]/.test(r.stderr + r.log), out);
  await r.cleanup();
  return { ...r, out };
}

describe('40 hls configuration (nginx -t)', () => {
  before(() => checkTools({ ffmpeg: false }));

  it('valid: the defaults, other targets and windows, CORS off, settings at server level', async () => {
    for (const opts of [
      hlsConf(P),
      hlsConf(P, { hls: 'ws_stream_hls_part 200ms; ws_stream_hls_segment 1s; ws_stream_hls_window 4;' }),
      hlsConf(P, { hls: 'ws_stream_hls_part 1s; ws_stream_hls_segment 6s; ws_stream_hls_window 5;' }),
      hlsConf(P, { hls: 'ws_stream_hls_window 20;' }),
      hlsConf(P, { hls: 'ws_stream_hls_part 2s; ws_stream_hls_segment 10s; ws_stream_hls_window 4;' }),
      // docs/directives.md: with 2 s segments and 200 ms parts the most is 25
      hlsConf(P, { hls: 'ws_stream_hls_window 25;' }),
      hlsConf(P, { cors: 'off' }),
      hlsConf(P, { cors: 'https://player.example' }),
      hlsConf(P, { server: 'ws_stream_hls_part 300ms;' }),
      // two locations of one zone with the same settings
      hlsConf(P, { locs: 'location /gz/ { ws_stream_hls; gzip on; }' }),
      hlsConf(P, { locs: 'location /gz/ { ws_stream_hls live; }' }),
    ]) {
      const r = await check(opts);
      assert.equal(r.status, 0, r.out);
    }
  });

  it('refused with a sentence that says what is wrong', async () => {
    const cases = [
      ['ws_stream_hls_part 100ms;', /part target must be 200\.\.2000 ms, not 100/],
      ['ws_stream_hls_part 3s;', /part target must be 200\.\.2000 ms, not 3000/],
      ['ws_stream_hls_segment 500ms;', /segment target must be 1000\.\.10000 ms/],
      ['ws_stream_hls_segment 11s;', /segment target must be 1000\.\.10000 ms/],
      ['ws_stream_hls_part 1500ms; ws_stream_hls_segment 1s;', /not below the part target/],
      ['ws_stream_hls_window 2;', /between 3 and 32/],
      ['ws_stream_hls_window 33;', /between 3 and 32/],
      ['ws_stream_hls_window 3; ws_stream_hls_segment 1s;', /shorter than 3 target durations .* use at least 4/],
      ['ws_stream_hls_window 32; ws_stream_hls_segment 10s;', /needs room for .* the index holds/],
      ['ws_stream_hls_window 26;', /needs room for .* the index holds/],
      // 3 is the least by syntax, but no segment target makes 3 segments last 3 target durations
      ['ws_stream_hls_window 3; ws_stream_hls_segment 10s; ws_stream_hls_part 2s;', /use at least 4/],
      ['ws_stream_hls_part abc;', /invalid value|is invalid/],
      ['ws_stream_hls;', /is duplicate/],
    ];
    const wrong = [];
    for (const [hls, re] of cases) {
      const r = await check(hlsConf(P, { hls }));
      if (r.status === 0 || !/\[emerg\]/.test(r.stderr) || !re.test(r.stderr)) wrong.push(`${hls}\n${r.out}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('refused: locations of one zone that differ, an unknown zone, no zone, ws_stream_hls inside if', async () => {
    const differ = await check(hlsConf(P, { locs: 'location /h2/ { ws_stream_hls; ws_stream_hls_part 300ms; }' }));
    assert.notEqual(differ.status, 0, differ.out);
    assert.match(differ.stderr, /locations of zone "live" differ/, differ.out);

    const unknown = await check(hlsConf(P, { locs: 'location /z/ { ws_stream_hls nosuch; }' }));
    assert.notEqual(unknown.status, 0, unknown.out);
    assert.match(unknown.stderr, /"nosuch" is used but not declared/, unknown.out);

    const none = await check({
      rtmp: `server { listen 127.0.0.1:${P.rtmp}; application live { live on; } }`,
      http: `server { listen 127.0.0.1:${P.http}; location /hls/ { ws_stream_hls; } }`,
    });
    assert.notEqual(none.status, 0, none.out);
    assert.match(none.stderr, /"ws_stream_hls" needs a "ws_stream_zone"/, none.out);

    const two = await check({
      rtmp: `server { listen 127.0.0.1:${P.rtmp}; application live { live on; ws_stream a; } }`,
      http: `ws_stream_zone zone=a:16m; ws_stream_zone zone=b:16m;
    server { listen 127.0.0.1:${P.http}; location /hls/ { ws_stream_hls; } }`,
    });
    assert.notEqual(two.status, 0, two.out);
    assert.match(two.stderr, /"ws_stream_hls" must name its zone/, two.out);

    const inIf = await check(hlsConf(P, { locs: 'location /q/ { if ($arg_x) { ws_stream_hls; } }' }));
    assert.notEqual(inIf.status, 0, inIf.out);
  });
});
