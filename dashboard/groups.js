// Rendition groups on the dashboard (no DOM): which streams of /api/streams
// are the renditions of one group (their `group` object, docs/stats.md), the
// order a group card lists them in, the group's figures, the columns of its
// rendition table, and the Rendition column of the viewers table.
import {
  DASH, fmtText, fmtCount, fmtBitrate, fmtMs, fmtFps, fmtSize, fmtOnline, getPath, streamKey,
} from './format.js';

/** A stream object that is a rendition of a group (`group: {name, rendition}`). */
export function isRendition(s) {
  return !!(s && s.group && typeof s.group === 'object' && typeof s.group.name === 'string' && s.group.name !== '');
}

/** "app/group": the key of a group card, as in its data-group attribute. */
export const groupKey = (s) => `${s.app}/${s.group.name}`;

const pixels = (s) => {
  const w = getPath(s, 'video.width'), h = getPath(s, 'video.height');
  return Number.isFinite(w) && Number.isFinite(h) ? w * h : -1;
};
const bitrate = (s) => {
  const b = getPath(s, 'video.bitrate_bps');
  return Number.isFinite(b) ? b : -1;
};

/**
 * The order of a group's renditions, highest first. The stream object has
 * no rendition index (the position in ws_stream_variant), so: the larger
 * picture first, then the higher measured video bitrate, then the suffix.
 * The picture comes first because it holds still (the bitrate of two
 * renditions of one size moves about) and stays known while a rendition is
 * offline; a stream without video yet goes last.
 */
export function compareRenditions(a, b) {
  const ia = a.group.index, ib = b.group.index;
  if (Number.isInteger(ia) && Number.isInteger(ib) && ia !== ib) return ia - ib;
  return (pixels(b) - pixels(a)) || (bitrate(b) - bitrate(a))
    || String(a.group.rendition).localeCompare(String(b.group.rendition)) || streamKey(a).localeCompare(streamKey(b));
}

/**
 * The cards of the page, in order of their key ("app/stream" of a plain
 * stream, "app/group" of a group): {kind: 'stream', key, stream} for a plain
 * stream as before, {kind: 'group', key, app, name, renditions} for the
 * renditions of one group (in compareRenditions order). A stream listed
 * twice is taken once.
 */
export function layout(list) {
  const seen = new Set();
  const items = [];
  const groups = new Map();
  for (const s of list) {
    if (!s || typeof s !== 'object') continue;
    const key = streamKey(s);
    if (seen.has(key)) continue;
    seen.add(key);
    if (!isRendition(s)) { items.push({ kind: 'stream', key, stream: s }); continue; }
    const gk = groupKey(s);
    let g = groups.get(gk);
    if (!g) {
      g = { kind: 'group', key: gk, app: s.app, name: s.group.name, renditions: [] };
      groups.set(gk, g);
      items.push(g);
    }
    g.renditions.push(s);
  }
  for (const g of groups.values()) g.renditions.sort(compareRenditions);
  // a group and a plain stream of the same name: the plain stream first
  return items.sort((a, b) => a.key.localeCompare(b.key) || (a.kind === b.kind ? 0 : a.kind === 'stream' ? -1 : 1));
}

const num = (v) => typeof v === 'number' && Number.isFinite(v);
const sum = (list, path) => {
  let n = null;
  for (const s of list) {
    const v = getPath(s, path);
    if (num(v)) n = (n ?? 0) + v;
  }
  return n;
};

/**
 * The figures of a group: its renditions' viewers summed (a viewer of the
 * group's name is counted under the one rendition it is on now, so the sum
 * counts each once), how many renditions there are and are online, the
 * switches into them, keyframes misaligned, the ingest bitrate summed, and
 * the latency over all their viewers' reports (min, max, and the mean
 * weighted by each rendition's reporting viewers; percentiles cannot be
 * combined).
 */
export function groupTotals(renditions) {
  const lat = overViewers(renditions, 'latency_ms');
  const sync = overViewers(renditions, 'sync_ms');
  const online = renditions.filter((s) => s.online).length;
  return {
    renditions: renditions.length,
    online,
    state: online === 0 ? 'offline' : online === renditions.length ? 'online' : 'partial',
    viewers: {
      now: sum(renditions, 'viewers.now') ?? 0,
      websocket: sum(renditions, 'viewers.websocket') ?? 0,
      hls: sum(renditions, 'viewers.hls') ?? 0,
    },
    switches: { up: sum(renditions, 'switches.up'), down: sum(renditions, 'switches.down') },
    video: { keyframes_misaligned: sum(renditions, 'video.keyframes_misaligned') },
    ingest_bitrate_bps: sum(renditions, 'ingest_bitrate_bps'),
    latency_ms: lat,
    sync_ms: { ...sync, spread: sync.viewers ? sync.max - sync.min : null },
  };
}

/**
 * min, max and the mean weighted by the viewers counted of each rendition's
 * `key` ({viewers, min, avg, max}); nulls when no rendition has viewers in it.
 */
function overViewers(renditions, key) {
  let n = 0, total = 0, min = Infinity, max = -Infinity;
  for (const s of renditions) {
    const l = s[key];
    if (!l || !num(l.viewers) || l.viewers <= 0 || !num(l.avg)) continue;
    n += l.viewers;
    total += l.avg * l.viewers;
    if (num(l.min)) min = Math.min(min, l.min);
    if (num(l.max)) max = Math.max(max, l.max);
  }
  return {
    viewers: n,
    avg: n ? Math.round((total / n) * 10) / 10 : null,
    min: min !== Infinity ? min : null,
    max: max !== -Infinity ? max : null,
  };
}

/** The group card's badge: online, offline, or "2/3 online". */
export function fmtGroupOnline(t) {
  if (t.state === 'online') return 'online';
  if (t.state === 'offline') return 'offline';
  return `${t.online}/${t.renditions} online`;
}

// ---- field specs: [data-field, format, get?, opts?]; get defaults to the dotted path ----

/** The value a field spec reads from obj. */
export const fieldValue = ([path, , get], obj) => (get ? get(obj) : getPath(obj, path));

/** The text of a field spec for obj. */
export const fieldText = (spec, obj) => spec[1](fieldValue(spec, obj) ?? null);

/**
 * The columns of a group card's rendition table, one row a rendition:
 * [heading, fields, separator]. The `switches` of a stream are the moves of
 * group viewers into it; the row of the totals fills the same fields from
 * groupTotals().
 */
export const RENDITION_COLUMNS = [
  ['rendition', [['group.rendition', fmtText]]],
  ['state', [['online', fmtOnline]]],
  ['resolution', [['video.resolution', fmtText, (s) => (s.video ? fmtSize(s.video.width, s.video.height) : null)]]],
  ['frame rate', [['video.frame_rate', fmtFps]]],
  ['video bitrate', [['video.bitrate_bps', fmtBitrate]]],
  ['codecs', [['video.codec', fmtText], ['audio.codec', fmtText]], ' \u00b7 '],
  ['viewers', [['viewers.now', fmtCount]]],
  ['ws / hls', [['viewers.websocket', fmtCount], ['viewers.hls', fmtCount]]],
  ['switched in \u2191 / \u2193', [['switches.up', fmtCount], ['switches.down', fmtCount]]],
  ['keyframes misaligned', [['video.keyframes_misaligned', fmtCount]]],
  ['latency avg', [['latency_ms.avg', fmtMs]]],
  ['drift', [['sync_ms.spread', fmtMs]]],
];

/** The fields of the totals row: the columns that add up (viewers, switches, misaligned). */
export const TOTAL_FIELDS = new Set(['viewers.now', 'viewers.websocket', 'viewers.hls', 'switches.up', 'switches.down',
  'video.keyframes_misaligned', 'latency_ms.avg', 'sync_ms.spread']);

/** What a row of `columns` shows for obj: per column, per field {field, text, value}. */
export function rowCells(columns, obj) {
  return columns.map(([, fields]) => fields.map((spec) => {
    const v = fieldValue(spec, obj);
    return { field: spec[0], text: spec[1](v ?? null), value: num(v) ? v : null };
  }));
}

// ---- the Rendition column of the viewers table ----

/**
 * A viewer's rendition as the viewers table shows it, or null for a viewer
 * of a plain stream (`rendition: null`): its index, the name of the rendition
 * it is listed under (the suffix of `stream`, the stream whose viewers these
 * are), automatic or pinned, its moves up and down, the reason of its last
 * move (null when it never moved).
 */
export function viewerRendition(v, stream) {
  const r = v && v.rendition;
  if (!r || typeof r !== 'object') return null;
  const sw = r.switches && typeof r.switches === 'object' ? r.switches : {};
  return {
    index: num(r.index) ? r.index : null,
    name: isRendition(stream) ? stream.group.rendition : null,
    auto: typeof r.auto === 'boolean' ? r.auto : null,
    up: num(sw.up) ? sw.up : null,
    down: num(sw.down) ? sw.down : null,
    reason: typeof r.reason === 'string' && r.reason !== '' ? r.reason : null,
  };
}

/** auto / pinned. */
export function fmtMode(auto) {
  return auto === true ? 'auto' : auto === false ? 'pinned' : DASH;
}

/** Moves up and down: ↑2 ↓1. */
export function fmtSwitches(up, down) {
  return `\u2191${fmtCount(up)} \u2193${fmtCount(down)}`;
}

/**
 * The Rendition column's text: "0 _hi · auto · ↑2 ↓1 · pin" (a dash for the
 * reason of a viewer that never moved); a dash for a viewer of a plain stream.
 */
export function fmtRendition(r) {
  if (!r) return DASH;
  const which = r.name === null ? fmtCount(r.index) : `${fmtCount(r.index)} ${fmtText(r.name)}`;
  return [which, fmtMode(r.auto), fmtSwitches(r.up, r.down), fmtText(r.reason)].join(' \u00b7 ');
}

/** Its title, spelled out. */
export function titleRendition(r) {
  if (!r) return 'not a viewer of a rendition group';
  const name = r.name === null ? '' : ` (${fmtText(r.name)})`;
  const last = r.reason === null ? 'never moved' : `last move: ${fmtText(r.reason)}`;
  const mode = r.auto === true ? 'automatic' : r.auto === false ? 'pinned' : 'mode not known';
  return `rendition ${fmtCount(r.index)}${name}, ${mode}, ` +
    `moved up ${fmtCount(r.up)}, down ${fmtCount(r.down)}, ${last}`;
}

/**
 * Whether the viewers table shows the Rendition column: for a rendition, or
 * when a viewer on the page has a rendition (the streams poll not seen yet).
 */
export function showRenditionColumn(stream, viewers) {
  return isRendition(stream) || (Array.isArray(viewers) && viewers.some((v) => v && v.rendition));
}
