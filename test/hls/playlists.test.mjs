// The LL-HLS playlists of the nginx-free core, parsed by hls-parser in
// strict mode.  The unit binary writes them (WS_STREAM_HLS_OUT, see
// test/unit/test_m3u8.c) with expect.json, what the index knew; this
// checks what a player reads: target durations, server control, parts,
// the preload hint, PROGRAM-DATE-TIME, media sequence numbers, skips.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';

const unit = process.env.WS_STREAM_UNIT ?? 'build/unit';

let dir;
let expect;

function read(name) {
  return HLS.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
}

// what every media playlist must show; returns the parsed playlist
function media(name) {
  const e = expect[name];
  const p = read(name);
  const ms = (n) => Math.round(n * 1000);

  assert.equal(p.isMasterPlaylist, false);
  assert.equal(p.version, e.skipped ? 9 : 6);
  assert.equal(p.targetDuration, e.target);
  assert.equal(p.partTargetDuration, e.part / 1000);
  assert.deepEqual(p.lowLatencyCompatibility, {
    canBlockReload: true,
    canSkipUntil: 6 * e.target,
    holdBack: 3 * e.target,
    partHoldBack: (3 * e.part) / 1000,
  });
  assert.equal(p.mediaSequenceBase, e.first);
  assert.equal(p.skip, e.skipped);
  assert.equal(p.endlist, false);

  // the complete segments after the skipped ones, then the open one
  const segs = p.segments;
  assert.equal(segs.length, e.open - e.first - e.skipped + 1);

  segs.forEach((s, i) => {
    const msn = e.first + e.skipped + i;
    const open = i === segs.length - 1;

    assert.equal(s.mediaSequenceNumber, msn);
    assert.equal(s.uri, open ? '' : `${msn}.m4s`);
    // (hls-parser does not carry EXT-X-MAP to the trailing segment)
    if (!open) {
      assert.ok(/^init-\d+\.mp4$/.test(s.map?.uri), `map of ${msn}`);
    }

    if (!open || e.openParts) {
      assert.ok(s.programDateTime instanceof Date, `date of ${msn}`);
    }

    if (msn < e.parts_from) {
      assert.equal(s.parts.length, 0, `parts of ${msn}`);
      return;
    }

    const parts = open ? s.parts.slice(0, -1) : s.parts;
    assert.ok(parts.length > 0 || open);
    parts.forEach((part, n) => {
      assert.equal(part.uri, `${msn}.${n}.m4s`);
      assert.ok(part.duration > 0 && part.duration <= e.part / 1000);
    });

    if (parts.length) {
      assert.equal(parts[0].independent, true, `first part of ${msn}`);
    }

    if (!open) {
      const sum = parts.reduce((a, part) => a + ms(part.duration), 0);
      assert.equal(sum, ms(s.duration), `parts of ${msn} add up`);
    }
  });

  // the preload hint: the next part of the open segment
  const last = segs.at(-1).parts.at(-1);
  assert.equal(segs.at(-1).parts.length, e.openParts + 1);
  assert.equal(last.hint, true);
  assert.equal(last.uri, `${e.open}.${e.openParts}.m4s`);

  // PROGRAM-DATE-TIME follows the durations within a timeline
  for (let i = 1; i < segs.length; i++) {
    const a = segs[i - 1];
    const b = segs[i];

    if (!b.discontinuity && b.programDateTime) {
      assert.equal(b.programDateTime - a.programDateTime, ms(a.duration),
                   `date of ${b.mediaSequenceNumber}`);
    }
  }

  return p;
}

describe('LL-HLS playlists (hls-parser, strict)', () => {
  before(() => {
    HLS.setOptions({ strictMode: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-stream-hls-'));
    const r = spawnSync(unit, [], {
      env: { ...process.env, WS_STREAM_HLS_OUT: dir },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `${unit}: ${r.stderr}${r.stdout.slice(-200)}`);
    expect = JSON.parse(fs.readFileSync(path.join(dir, 'expect.json'), 'utf8'));
  });

  after(() => {
    if (dir) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('strict mode refuses a part over PART-TARGET', () => {
    const text = fs.readFileSync(path.join(dir, 'steady.m3u8'), 'utf8');
    const bad = text.replace(/DURATION=0\.200/, 'DURATION=0.201');
    assert.notEqual(bad, text);
    assert.throws(() => HLS.parse(bad), /PART-TARGET/);
  });

  it('steady state: 7 segments, parts for the last ones, a hint', () => {
    const p = media('steady.m3u8');
    assert.equal(p.segments.length, 8);
    assert.equal(p.discontinuitySequenceBase, 0);
    assert.ok(p.segments.slice(0, -1).every((s) => s.map.uri === 'init-0.mp4'));
    assert.ok(p.segments.slice(0, -1).every((s) => s.duration === 2));
  });

  it('delta update: the skipped segments are the full one\'s oldest', () => {
    const d = media('delta.m3u8');
    const f = media('full.m3u8');
    const k = expect['delta.m3u8'].skipped;

    assert.ok(k > 0);
    assert.equal(d.mediaSequenceBase, f.mediaSequenceBase);
    assert.equal(d.segments.length + k, f.segments.length);

    // what was skipped ends a Skip Boundary before the end of the last part
    const end = (s) => s.programDateTime.getTime() + s.duration * 1000;
    const open = f.segments.at(-1);
    const edge = open.programDateTime.getTime()
      + open.parts.slice(0, -1).reduce((a, part) => a + part.duration * 1000, 0);
    assert.ok(edge - end(f.segments[k - 1]) >= 12000);
    assert.ok(edge - end(f.segments[k]) < 12000);

    d.segments.forEach((s, i) => {
      const g = f.segments[i + k];
      assert.equal(s.uri, g.uri);
      assert.equal(s.duration, g.duration);
      assert.equal(s.programDateTime.getTime(), g.programDateTime.getTime());
      assert.equal(s.parts.length, g.parts.length);
    });
  });

  it('discontinuity: flagged once, a second map, continuous numbers', () => {
    const p = media('discontinuity.m3u8');
    const flagged = p.segments.filter((s) => s.discontinuity);

    assert.equal(flagged.length, 1);
    const i = p.segments.indexOf(flagged[0]);
    assert.ok(i > 0);
    assert.ok(p.segments.slice(0, i).every((s) => s.map.uri === 'init-0.mp4'));
    const rest = p.segments.slice(i, -1);
    assert.ok(rest.length > 0);
    assert.ok(rest.every((s) => s.map.uri === 'init-1.mp4'));
    assert.ok(rest.every((s) => s.discontinuitySequence === 1));
    assert.equal(p.segments[i - 1].discontinuitySequence, 0);

    // the new publisher's clock came 90 s later
    const a = p.segments[i - 1];
    assert.equal(flagged[0].programDateTime - a.programDateTime,
                 Math.round(a.duration * 1000) + 90000);
  });

  it('audio only: every part independent', () => {
    const p = media('audio.m3u8');
    const parts = p.segments.flatMap((s) => s.parts.filter((x) => !x.hint));
    assert.ok(parts.length > 10);
    assert.ok(parts.every((x) => x.independent === true));
    assert.ok(p.segments.slice(0, -1).every((s) => Math.round(s.duration) <= 2));
  });

  it('multivariant playlist', () => {
    const p = read('multivariant.m3u8');
    const e = expect['multivariant.m3u8'];

    assert.equal(p.isMasterPlaylist, true);
    assert.equal(p.version, 6);
    assert.equal(p.independentSegments, true);
    assert.equal(p.variants.length, 1);

    const v = p.variants[0];
    assert.equal(v.uri, 'media.m3u8');
    assert.equal(v.bandwidth, e.bandwidth);
    assert.equal(v.averageBandwidth, e.average);
    assert.ok(v.bandwidth > 0 && v.averageBandwidth <= v.bandwidth);
    assert.equal(v.codecs, 'avc1.64001f,mp4a.40.2');
    assert.deepEqual(v.resolution, { width: 1280, height: 720 });
    assert.equal(v.frameRate, e.frameRate / 1000);
  });
});
