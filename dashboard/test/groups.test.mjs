// Unit tests of dashboard/groups.js: the renditions of a group become one
// card in order, the group's viewers are summed, the rendition table's rows
// and the viewers table's Rendition column show what the API says, and plain
// streams stay cards of their own as before.
import test from 'node:test';
import assert from 'node:assert/strict';
import { DASH, streamKey } from '../format.js';
import {
  isRendition, groupKey, compareRenditions, layout, groupTotals, fmtGroupOnline, RENDITION_COLUMNS, TOTAL_FIELDS,
  rowCells, fieldText, viewerRendition, fmtMode, fmtSwitches, fmtRendition, titleRendition, showRenditionColumn,
} from '../groups.js';

// A stream object as GET /api/streams has it (docs/stats.md), the fields the dashboard reads.
function stream(app, name, o = {}) {
  const { group = null, width = 1280, height = 720, bitrate = 2500000, now = 0, ws = now, hls = 0, online = true,
    misaligned = 0, switches = group ? { up: 0, down: 0 } : null, latency = null, vcodec = 'avc1.64001f', acodec = 'mp4a.40.2' } = o;
  return {
    app, stream: name, online, group,
    publisher: online ? { address: '127.0.0.1', since_unix_ms: 1, uptime_ms: 5000 } : null,
    video: width === null ? null : {
      codec: vcodec, format: 'H.264', profile: 'High', level: '3.1', width, height, frame_rate: 30, bitrate_bps: bitrate,
      frames: 300, keyframes: 10, keyframes_misaligned: misaligned, received_bytes: 1e6, gop_frames: 30, gop_ms: 1000,
    },
    audio: { codec: acodec, format: 'AAC', profile: 'LC', sample_rate_hz: 48000, channels: 2, bitrate_bps: 128000, frames: 100, received_bytes: 1e4 },
    ingest_bitrate_bps: bitrate + 128000, received_bytes: 1e6, dropped_frames: 0, sent_bytes: 0, sent_messages: 0, skips: 0,
    torn_closes: 0, switches,
    viewers: { now, websocket: ws, hls, peak: now, connections: ws, by_worker: [] },
    hls: { requests: 0, sent_bytes: 0, clients: hls },
    send_delay_ms: { viewers: 0, min: null, avg: null, max: null, p50: null, p95: null },
    latency_ms: latency || { viewers: 0, min: null, avg: null, max: null, p50: null, p95: null },
  };
}
const rendition = (app, group, suffix, o = {}) => stream(app, `${group}${suffix}`, { ...o, group: { name: group, rendition: suffix } });

// the demo's ladder, listed by the API in no particular order
const demo = () => [
  rendition('live', 'demo', '_360p', { width: 640, height: 360, bitrate: 900000, now: 3, ws: 2, hls: 1, switches: { up: 1, down: 4 }, misaligned: 2 }),
  stream('live', 'cam', { now: 1 }),
  rendition('live', 'demo', '_720p', { width: 1280, height: 720, bitrate: 2500000, now: 5, switches: { up: 3, down: 0 } }),
  rendition('live', 'demo', '_180p', { width: 320, height: 180, bitrate: 300000, now: 0, switches: { up: 0, down: 2 } }),
  stream('live', 'zoo'),
];

test('isRendition and groupKey follow the stream\'s group object', () => {
  assert.equal(isRendition(stream('live', 'cam')), false);
  assert.equal(isRendition({ ...stream('live', 'cam'), group: undefined }), false, 'an API without groups');
  assert.equal(isRendition({ ...stream('live', 'x'), group: { name: '', rendition: '_a' } }), false);
  const r = rendition('live', 'demo', '_hi');
  assert.equal(isRendition(r), true);
  assert.equal(groupKey(r), 'live/demo');
});

test('the renditions of a group are one card, highest first; plain streams stay cards of their own', () => {
  const items = layout(demo());
  assert.deepEqual(items.map((i) => [i.kind, i.key]), [['stream', 'live/cam'], ['group', 'live/demo'], ['stream', 'live/zoo']]);
  const g = items[1];
  assert.equal(g.app, 'live');
  assert.equal(g.name, 'demo');
  assert.deepEqual(g.renditions.map(streamKey), ['live/demo_720p', 'live/demo_360p', 'live/demo_180p']);
  // a plain stream's item is the API's object itself, untouched
  const list = demo();
  assert.equal(layout(list)[0].stream, list[1]);
});

test('layout: groups of two apps, a stream listed twice, a plain stream named as a group', () => {
  const list = [
    rendition('b', 'demo', '_lo', { width: 320, height: 180 }),
    rendition('a', 'demo', '_lo', { width: 320, height: 180 }),
    rendition('a', 'demo', '_hi'),
    rendition('a', 'demo', '_hi'),                 // twice: taken once
    stream('a', 'demo'),                          // a plain stream of the group's name
    null,
  ];
  const items = layout(list);
  assert.deepEqual(items.map((i) => [i.kind, i.key, (i.renditions || []).map(streamKey)]), [
    ['stream', 'a/demo', []],
    ['group', 'a/demo', ['a/demo_hi', 'a/demo_lo']],
    ['group', 'b/demo', ['b/demo_lo']],
  ]);
  assert.deepEqual(layout([]), []);
});

test('rendition order: picture size, then measured video bitrate, then suffix; no video last', () => {
  const same = [
    rendition('live', 'g', '_b', { bitrate: 1500000 }),
    rendition('live', 'g', '_c', { width: null }),
    rendition('live', 'g', '_a', { bitrate: 3000000 }),
    rendition('live', 'g', '_d', { width: 320, height: 180, bitrate: 5000000 }),
    rendition('live', 'g', '_e', { bitrate: 1500000 }),
  ];
  assert.deepEqual(same.sort(compareRenditions).map((s) => s.group.rendition), ['_a', '_b', '_e', '_d', '_c']);
  // an offline rendition (bitrate 0 now) keeps its place by its picture
  const off = [rendition('live', 'g', '_lo', { width: 640, height: 360, bitrate: 800000 }),
    rendition('live', 'g', '_hi', { bitrate: 0, online: false })];
  assert.deepEqual(off.sort(compareRenditions).map((s) => s.group.rendition), ['_hi', '_lo']);
});

test('rendition order: the place in ws_stream_variant (group.index) when the server gives it', () => {
  const withIndex = [
    Object.assign(rendition('live', 'g', '_small', { width: 320, height: 180 }), {}),
    rendition('live', 'g', '_big', { width: 1280, height: 720 }),
  ];
  withIndex[0].group.index = 0;
  withIndex[1].group.index = 1;
  assert.deepEqual(withIndex.sort(compareRenditions).map((s) => s.group.rendition), ['_small', '_big']);
});

test('the group\'s viewers are the sum of its renditions\'; switches, misaligned keyframes, latency', () => {
  const g = layout(demo())[1];
  const t = groupTotals(g.renditions);
  assert.deepEqual(t.viewers, { now: 8, websocket: 7, hls: 1 });
  assert.equal(t.renditions, 3);
  assert.equal(t.online, 3);
  assert.equal(t.state, 'online');
  assert.deepEqual(t.switches, { up: 4, down: 6 });
  assert.equal(t.video.keyframes_misaligned, 2);
  assert.equal(t.ingest_bitrate_bps, 3700000 + 3 * 128000);
  assert.deepEqual(t.latency_ms, { viewers: 0, avg: null, min: null, max: null });
  assert.deepEqual(t.sync_ms, { viewers: 0, avg: null, min: null, max: null, spread: null });
  assert.equal(fmtGroupOnline(t), 'online');

  // latency over all reporting viewers: the mean weighted by their numbers
  const lat = (viewers, min, avg, max) => ({ viewers, min, avg, max, p50: avg, p95: max });
  const t2 = groupTotals([
    rendition('live', 'g', '_hi', { now: 3, latency: lat(3, 400, 500, 700) }),
    rendition('live', 'g', '_lo', { now: 1, latency: lat(1, 300, 300, 300), online: false }),
    rendition('live', 'g', '_mid', { latency: lat(0, null, null, null) }),
  ]);
  assert.deepEqual(t2.latency_ms, { viewers: 4, avg: 450, min: 300, max: 700 });

  // the audience's drift across renditions: the earliest and the latest viewer of any
  const t4 = groupTotals([
    { ...rendition('live', 'g', '_hi'), sync_ms: { viewers: 2, min: -10, avg: -4, max: 2, spread: 12 } },
    { ...rendition('live', 'g', '_lo'), sync_ms: { viewers: 2, min: 5, avg: 10, max: 15, spread: 10 } },
    { ...rendition('live', 'g', '_mid'), sync_ms: { viewers: 0, min: null, avg: null, max: null, spread: null } },
  ]);
  assert.deepEqual(t4.sync_ms, { viewers: 4, avg: 3, min: -10, max: 15, spread: 25 });
  assert.equal(rowCells(RENDITION_COLUMNS, t4).at(-1)[0].text, '25 ms');
  assert.equal(t2.state, 'partial');
  assert.equal(fmtGroupOnline(t2), '2/3 online');
  const t3 = groupTotals([rendition('live', 'g', '_hi', { online: false, switches: null })]);
  assert.equal(fmtGroupOnline(t3), 'offline');
  assert.deepEqual(t3.viewers, { now: 0, websocket: 0, hls: 0 });
  assert.deepEqual(t3.switches, { up: null, down: null }, 'an API without the stream\'s switches: not known, not 0');
});

test('a rendition row shows its resolution, measured bitrate, codecs, viewers, switches, keyframes misaligned', () => {
  const g = layout(demo())[1];
  const heads = RENDITION_COLUMNS.map(([h]) => h);
  const byHead = (s) => Object.fromEntries(rowCells(RENDITION_COLUMNS, s).map((cells, i) => [heads[i], cells]));
  const text = (s) => Object.fromEntries(Object.entries(byHead(s)).map(([h, cells]) => [h, cells.map((c) => c.text)]));
  assert.deepEqual(text(g.renditions[1]), {
    rendition: ['_360p'], state: ['online'], resolution: ['640\u00d7360'], 'frame rate': ['30 fps'],
    'video bitrate': ['900 kbit/s'], codecs: ['avc1.64001f', 'mp4a.40.2'], viewers: ['3'], 'ws / hls': ['2', '1'],
    'switched in \u2191 / \u2193': ['1', '4'], 'keyframes misaligned': ['2'], 'latency avg': [DASH], drift: [DASH],
  });
  const cells = byHead(g.renditions[1]);
  assert.deepEqual(cells.viewers, [{ field: 'viewers.now', text: '3', value: 3 }], 'the raw number goes into data-value');
  assert.deepEqual(cells['video bitrate'], [{ field: 'video.bitrate_bps', text: '900 kbit/s', value: 900000 }]);
  assert.equal(cells.resolution[0].value, null);
  // a rendition with no media yet
  const none = text({ ...rendition('live', 'demo', '_1080p', { online: false }), video: null, audio: null });
  assert.deepEqual([none.resolution, none['video bitrate'], none.codecs, none['keyframes misaligned'], none.state],
    [[DASH], [DASH], [DASH, DASH], [DASH], ['offline']]);
  // the totals row: the group's figures in the columns that add up
  const t = groupTotals(g.renditions);
  const totals = RENDITION_COLUMNS.flatMap(([, fields]) => fields).filter(([path]) => TOTAL_FIELDS.has(path))
    .map((spec) => [spec[0], fieldText(spec, t)]);
  assert.deepEqual(totals, [['viewers.now', '8'], ['viewers.websocket', '7'], ['viewers.hls', '1'], ['switches.up', '4'],
    ['switches.down', '6'], ['video.keyframes_misaligned', '2'], ['latency_ms.avg', DASH], ['sync_ms.spread', DASH]]);
});

test('the Rendition column: index and name, auto or pinned, switches up/down, last reason', () => {
  const hi = rendition('live', 'demo', '_hi');
  const v = { id: 7, rendition: { index: 0, auto: true, switches: { up: 2, down: 1 }, reason: 'pin' } };
  const r = viewerRendition(v, hi);
  assert.deepEqual(r, { index: 0, name: '_hi', auto: true, up: 2, down: 1, reason: 'pin' });
  assert.equal(fmtRendition(r), '0 _hi \u00b7 auto \u00b7 \u21912 \u21931 \u00b7 pin');
  assert.equal(titleRendition(r), 'rendition 0 (_hi), automatic, moved up 2, down 1, last move: pin');

  const pinned = viewerRendition({ rendition: { index: 2, auto: false, switches: { up: 0, down: 2 }, reason: 'backlog' } },
    rendition('live', 'demo', '_lo'));
  assert.equal(fmtRendition(pinned), '2 _lo \u00b7 pinned \u00b7 \u21910 \u21932 \u00b7 backlog');

  // never moved: reason null
  const fresh = viewerRendition({ rendition: { index: 1, auto: true, switches: { up: 0, down: 0 }, reason: null } },
    rendition('live', 'demo', '_mid'));
  assert.equal(fmtRendition(fresh), `1 _mid \u00b7 auto \u00b7 \u21910 \u21930 \u00b7 ${DASH}`);
  assert.match(titleRendition(fresh), /never moved$/);

  // the stream not known yet: the index alone
  assert.equal(fmtRendition(viewerRendition(v, undefined)), '0 \u00b7 auto \u00b7 \u21912 \u21931 \u00b7 pin');
  // every reason the server gives is shown as it is
  for (const reason of ['start', 'backlog', 'stall', 'emergency', 'up', 'probe_failed', 'gone', 'pin', 'auto']) {
    const x = viewerRendition({ rendition: { ...v.rendition, reason } }, hi);
    assert.equal(fmtRendition(x).split(' \u00b7 ')[3], reason);
  }
  // a reason from the API is text: made printable
  assert.equal(viewerRendition({ rendition: { ...v.rendition, reason: 'x\u202ey' } }, hi).reason, 'x\u202ey');
  assert.match(fmtRendition(viewerRendition({ rendition: { ...v.rendition, reason: 'x\u202ey' } }, hi)), /x\ufffdy$/);
  assert.deepEqual([fmtMode(true), fmtMode(false), fmtMode(null)], ['auto', 'pinned', DASH]);
  assert.equal(fmtSwitches(null, undefined), `\u2191${DASH} \u2193${DASH}`);
});

test('plain streams: the Rendition column shows a dash and is hidden', () => {
  const cam = stream('live', 'cam', { now: 1 });
  const v = { id: 1, rendition: null };
  assert.equal(viewerRendition(v, cam), null);
  assert.equal(viewerRendition({ id: 2 }, cam), null, 'an API without the field');
  assert.equal(fmtRendition(null), DASH);
  assert.equal(titleRendition(null), 'not a viewer of a rendition group');
  assert.equal(showRenditionColumn(cam, [v]), false);
  assert.equal(showRenditionColumn(undefined, []), false);
  // a rendition: shown, with or without viewers; the stream not known yet: when a viewer has one
  assert.equal(showRenditionColumn(rendition('live', 'demo', '_hi'), []), true);
  assert.equal(showRenditionColumn(undefined, [v, { id: 3, rendition: { index: 1, auto: true, switches: { up: 0, down: 0 }, reason: null } }]), true);
});

test('plain streams alone: the layout is the streams by key, as before groups', () => {
  const list = [stream('live', 'b'), stream('live', 'a'), stream('other', 'a'), stream('live', 'a')];
  assert.deepEqual(layout(list).map((i) => [i.kind, i.key]), [['stream', 'live/a'], ['stream', 'live/b'], ['stream', 'other/a']]);
});
