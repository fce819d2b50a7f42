// The live statistics page: polls <api>/streams and the selected stream's
// viewers page once a second (docs/stats.md) and shows them: a card per
// plain stream, one card per rendition group (groups.js) with a row per
// rendition. Everything from the API goes into the page as text
// (textContent, attributes set one by one), never as markup.
import {
  DASH, fmtText, fmtCount, fmtBitrate, fmtBytes, fmtDuration, fmtMs, fmtHz, fmtFps, fmtChannels, fmtRate,
  fmtSize, fmtOnline, fmtClock, truncate, getPath, streamKey, apiBase, streamsUrl, viewersUrl, pageRange, clampOffset,
} from './format.js';
import { History, plotPaths, HISTORY_MS } from './history.js';
import { Poller, describeError } from './poll.js';
import {
  layout, groupTotals, fmtGroupOnline, RENDITION_COLUMNS, TOTAL_FIELDS, viewerRendition, fmtRendition, titleRendition,
  showRenditionColumn, isRendition, fieldValue,
} from './groups.js';

const PAGE = 50;            // viewers per page
const UA_CHARS = 40;        // user agent shown, the rest in its title
const SVG = 'http://www.w3.org/2000/svg';
const PLOT_W = 300, PLOT_H = 60;

// ---- fields: [data-field, format, get?]; get defaults to the dotted path ----

const STAT_KEYS = ['viewers', 'min', 'avg', 'max', 'p50', 'p95'];

const STREAM_GROUPS = [
  ['Publisher', [
    ['address', [['publisher.address', fmtText]]],
    ['uptime', [['publisher.uptime_ms', fmtDuration]]],
  ]],
  ['Video', [
    ['codec', [['video.codec', fmtText], ['video.format', fmtText]], ' \u00b7 '],
    ['profile / level', [['video.profile', fmtText], ['video.level', fmtText]]],
    ['resolution', [['video.resolution', fmtText, (s) => (s.video ? fmtSize(s.video.width, s.video.height) : null)]]],
    ['frame rate', [['video.frame_rate', fmtFps]]],
    ['bitrate', [['video.bitrate_bps', fmtBitrate]]],
    ['frames / key', [['video.frames', fmtCount], ['video.keyframes', fmtCount]]],
    ['GOP frames / time', [['video.gop_frames', fmtCount], ['video.gop_ms', fmtMs]]],
  ]],
  ['Audio', [
    ['codec', [['audio.codec', fmtText], ['audio.profile', fmtText]], ' '],
    ['format', [['audio.format', fmtText]]],
    ['rate', [['audio.sample_rate_hz', fmtHz]]],
    ['channels', [['audio.channels', fmtChannels]]],
    ['bitrate', [['audio.bitrate_bps', fmtBitrate]]],
    ['frames', [['audio.frames', fmtCount]]],
  ]],
  ['Traffic', [
    ['ingest', [['ingest_bitrate_bps', fmtBitrate]]],
    ['bytes in / out', [['received_bytes', fmtBytes], ['sent_bytes', fmtBytes]]],
    ['messages out', [['sent_messages', fmtCount]]],
    ['dropped frames', [['dropped_frames', fmtCount]]],
    ['skips', [['skips', fmtCount]]],
    ['torn closes', [['torn_closes', fmtCount]]],
  ]],
  ['Viewers', [
    ['now', [['viewers.now', fmtCount]]],
    ['websocket / hls', [['viewers.websocket', fmtCount], ['viewers.hls', fmtCount]]],
    ['peak', [['viewers.peak', fmtCount]]],
    ['connections', [['viewers.connections', fmtCount]]],
    ['drift apart', [['sync_ms.spread', fmtMs]]],
  ]],
  ['HLS', [
    ['requests', [['hls.requests', fmtCount]]],
    ['clients', [['hls.clients', fmtCount]]],
    ['sent', [['hls.sent_bytes', fmtBytes]]],
  ]],
];

// sync_ms: the viewers' offsets from the shared target (signed; no percentiles)
const DELAYS = [['send_delay_ms', 'send delay'], ['latency_ms', 'latency'], ['sync_ms', 'offset from target']];

const VIEWER_COLUMNS = [
  ['id', [['id', fmtText]]],
  ['address', [['address', fmtText]]],
  ['forwarded for', [['forwarded_for', fmtText]]],
  ['user agent', [['user_agent', (v) => truncate(fmtText(v), UA_CHARS), null, { title: true }]]],
  ['worker', [['worker_pid', fmtText]]],
  ['proto', [['protocol', fmtText]]],
  // the viewer's rendition object as groups.js viewerRendition() makes it
  ['rendition', [['rendition', fmtRendition, null, { title: titleRendition }]], null, 'col-rendition'],
  ['connected', [['connected_ms', fmtDuration]]],
  ['sent', [['sent_bytes', fmtBytes]]],
  ['send rate', [['send_rate_bps', fmtBitrate]]],
  ['rtt', [['rtt_ms', fmtMs]]],
  ['lag', [['lag_bytes', fmtBytes], ['lag_ms', fmtMs]]],
  ['send delay / max', [['send_delay_ms', fmtMs], ['send_delay_max_ms', fmtMs]]],
  ['latency', [['report.latency_ms', fmtMs]]],
  ['offset / target', [['report.sync_ms', fmtMs], ['report.target_ms', fmtMs]]],
  ['jitter', [['report.jitter_ms', fmtMs]]],
  ['clock \u00b1', [['report.clock_error_ms', fmtMs]]],
  ['channel switches', [['channel_switches', fmtCount]]],
  ['buffer', [['report.buffer_ms', fmtMs]]],
  ['bitrate', [['report.bitrate_bps', fmtBitrate]]],
  ['throughput', [['report.throughput_bps', fmtBitrate]]],
  ['dropped / decoded', [['report.dropped_frames', fmtCount], ['report.decoded_frames', fmtCount]]],
  ['stalls / time', [['report.stalls', fmtCount], ['report.stall_ms', fmtMs]]],
  ['startup', [['report.startup_ms', fmtMs]]],
  ['rate', [['report.playback_rate', fmtRate]]],
  ['state', [['report.state', fmtText]]],
  ['report age', [['report.age_ms', fmtMs]]],
];

// ---- elements ----

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'class') e.className = v;
    else e[k] = v;
  }
  e.append(...children);    // strings become text nodes
  return e;
}

function svgEl(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/**
 * Spans for the fields of one entry, joined by `sep`, appended to parent.
 * Returns the bindings that update() fills in.
 */
function bindFields(parent, fields, sep = ' / ') {
  const out = [];
  fields.forEach(([path, fmt, get, opts = {}], i) => {
    if (i) parent.append(sep);
    const span = el('span', { dataset: { field: path } }, DASH);
    parent.append(span);
    out.push({ span, path, fmt, get, title: opts.title || false });
  });
  return out;
}

/** Fill bound spans from obj: formatted text, the raw number in data-value. */
function update(bindings, obj) {
  for (const b of bindings) {
    const v = fieldValue([b.path, b.fmt, b.get], obj);
    const text = b.fmt(v ?? null);
    if (b.span.textContent !== text) b.span.textContent = text;
    if (typeof v === 'number') b.span.dataset.value = String(v);
    else delete b.span.dataset.value;
    if (typeof b.title === 'function') b.span.title = b.title(v ?? null);
    else if (b.title) b.span.title = v === null || v === undefined ? '' : fmtText(v);
  }
}

// ---- state ----

const params = new URLSearchParams(location.search);
const state = {
  api: null,
  streams: new Map(),     // key -> card {root, bindings, plots, history, app, stream}, a rendition's too
  groups: new Map(),      // "app/group" -> group card {root, bindings, plots, history, rows, ...}
  data: new Map(),        // key -> the stream's newest object
  selected: null,         // {app, stream, key}
  offset: 0,
  rows: new Map(),        // viewer id -> {tr, bindings}
  lastOk: null,
};

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  header: $('server'),
  workers: $('workers'),
  list: $('streams'),
  empty: $('no-streams'),
  viewers: $('viewers'),
  selectedName: $('selected-name'),
  selectedGroup: $('selected-group'),
  table: $('viewers-table'),
  viewersStatus: $('viewers-status'),
  range: $('range'),
  prev: $('prev'),
  next: $('next'),
  thead: $('viewers-head'),
  tbody: $('viewers-body'),
};

const serverBindings = [];
for (const dd of ui.header.querySelectorAll('dd[data-bind]')) {
  const fmt = dd.dataset.bind === 'server.time_unix_ms' ? fmtClock : fmtText;
  serverBindings.push(...bindFields(dd, [[dd.dataset.bind, fmt]]));
}

function setStatus(kind, text, error = '') {
  ui.status.dataset.state = kind;
  ui.status.dataset.error = error;
  ui.status.textContent = text;
  document.body.classList.toggle('stale', kind === 'error');
}

// ---- header ----

function renderServer(server, now) {
  update(serverBindings, { server });
  const workers = Array.isArray(server.workers) ? server.workers : [];
  const items = workers.map((w) => {
    const li = el('li', { dataset: { workerPid: String(w.pid) } }, 'pid ');
    const b = bindFields(li, [['pid', fmtText]]);
    li.append(' \u00b7 ');
    b.push(...bindFields(li, [['websocket_viewers', fmtCount]]));
    li.append(' ws');
    update(b, w);
    return li;
  });
  ui.workers.replaceChildren(...items);
  ui.workers.dataset.count = String(workers.length);
  state.lastOk = now;
}

// ---- stream cards ----

function makePlot(title, unit) {
  const fig = el('figure', { class: 'plot' });
  const svg = svgEl('svg', { viewBox: `0 0 ${PLOT_W} ${PLOT_H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `${title}, last 5 minutes` });
  const band = svgEl('path', { class: 'band', d: '' });
  const line = svgEl('path', { class: 'line', d: '' });
  svg.append(band, line);
  const top = el('span', { class: 'top' }, DASH);
  fig.append(el('figcaption', {}, title, ' ', top), svg);
  return { fig, band, line, top, unit };
}

function makeCard(s) {
  const key = streamKey(s);
  const root = el('article', { class: 'stream', dataset: { stream: key } });
  const pick = el('button', { type: 'button', class: 'name', title: 'show the viewers' }, fmtText(key));
  const badge = el('span', { class: 'badge', dataset: { field: 'online' } }, DASH);
  root.append(el('header', {}, pick, badge));

  const plots = { viewers: makePlot('viewers now', ''), latency: makePlot('latency avg (min\u2013max)', ' ms') };
  root.append(el('div', { class: 'plots' }, plots.viewers.fig, plots.latency.fig));

  const bindings = [];
  const groups = el('div', { class: 'groups' });
  for (const [title, entries] of STREAM_GROUPS) {
    const dl = el('dl');
    for (const [label, fields, sep] of entries) {
      const dd = el('dd');
      bindings.push(...bindFields(dd, fields, sep));
      dl.append(el('dt', {}, label), dd);
    }
    groups.append(el('section', { class: 'group' }, el('h3', {}, title), dl));
  }
  root.append(groups);

  const table = el('table', { class: 'delays' });
  table.append(el('thead', {}, el('tr', {}, el('th', {}, 'ms'), ...STAT_KEYS.map((k) => el('th', {}, k)))));
  const body = el('tbody');
  for (const [field, label] of DELAYS) {
    const tr = el('tr', {}, el('th', {}, label));
    for (const k of STAT_KEYS) {
      const td = el('td');
      bindings.push(...bindFields(td, [[`${field}.${k}`, k === 'viewers' ? fmtCount : fmtMs]]));
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  root.append(table);

  root.addEventListener('click', () => select(s.app, s.stream));
  return { root, badge, bindings, plots, history: new History(), app: s.app, stream: s.stream };
}

function drawPlot(plot, samples, opts) {
  const p = plotPaths(samples, { ...opts, width: PLOT_W, height: PLOT_H, t1: Date.now(), windowMs: HISTORY_MS });
  plot.line.setAttribute('d', p.line);
  plot.band.setAttribute('d', p.band);
  plot.top.textContent = `scale 0\u2013${fmtCount(p.yMax)}${plot.unit}`;
}

function renderStream(card, s, now) {
  update(card.bindings, s);
  card.badge.textContent = fmtOnline(s.online);
  card.root.dataset.state = s.online ? 'online' : 'offline';
  const lat = s.latency_ms || {};
  card.history.add(now, { viewers: getPath(s, 'viewers.now'), latAvg: lat.avg, latMin: lat.min, latMax: lat.max });
  const samples = card.history.samples();
  drawPlot(card.plots.viewers, samples, { key: 'viewers', floor: 1 });
  drawPlot(card.plots.latency, samples, { key: 'latAvg', band: ['latMin', 'latMax'], floor: 100 });
}

// ---- rendition group cards ----

function makeGroupCard(g) {
  const root = el('article', { class: 'stream-group', dataset: { group: g.key } });
  const bindings = [];
  const total = el('span', { class: 'total' });
  bindings.push(...bindFields(total, [['viewers.now', fmtCount]]));
  total.append(' viewers');
  const badge = el('span', { class: 'badge', dataset: { field: 'online' } }, DASH);
  root.append(el('header', {}, el('span', { class: 'name' }, fmtText(g.key)), el('span', { class: 'kind' }, 'rendition group'),
    badge, total));

  const plots = { viewers: makePlot('viewers now, all renditions', ''), latency: makePlot('latency avg (min\u2013max), all renditions', ' ms') };
  root.append(el('div', { class: 'plots' }, plots.viewers.fig, plots.latency.fig));

  const table = el('table', { class: 'renditions' });
  table.append(el('thead', {}, el('tr', {}, ...RENDITION_COLUMNS.map(([head]) => el('th', { scope: 'col' }, head)))));
  const tbody = el('tbody');
  // the group's row: the columns that add up
  const foot = el('tr', { class: 'total' });
  RENDITION_COLUMNS.forEach(([, fields, sep], i) => {
    const td = i ? el('td') : el('th', { scope: 'row' });
    const sums = fields.filter(([path]) => TOTAL_FIELDS.has(path));
    if (i === 0) td.append('all');
    else if (sums.length) bindings.push(...bindFields(td, sums, sep));
    foot.append(td);
  });
  table.append(tbody, el('tfoot', {}, foot));
  root.append(el('div', { class: 'renditions-wrap' }, table));

  const nested = el('div', { class: 'rendition-streams' });
  const details = el('details', { class: 'rendition-details' }, el('summary', {}, 'each rendition in full'), nested);
  root.append(details);
  return { root, badge, bindings, plots, history: new History(), tbody, nested, rows: new Map(), key: g.key };
}

function makeRenditionRow(s) {
  const key = streamKey(s);
  const tr = el('tr', { dataset: { rendition: key } });
  const bindings = [];
  RENDITION_COLUMNS.forEach(([, fields, sep], i) => {
    const td = el('td');
    if (i === 0) {
      const pick = el('button', { type: 'button', class: 'pick', title: `show the viewers of ${fmtText(key)}` });
      bindings.push(...bindFields(pick, fields, sep));
      td.append(pick);
    } else {
      bindings.push(...bindFields(td, fields, sep));
    }
    tr.append(td);
  });
  tr.addEventListener('click', () => select(s.app, s.stream));
  return { tr, bindings };
}

function sameChildren(parent, nodes) {
  return nodes.length === parent.children.length && nodes.every((n, i) => parent.children[i] === n);
}

function renderGroup(card, g, now) {
  const t = groupTotals(g.renditions);
  update(card.bindings, t);
  card.badge.textContent = fmtGroupOnline(t);
  card.root.dataset.state = t.state;
  card.root.dataset.renditions = String(t.renditions);
  card.history.add(now, { viewers: t.viewers.now, latAvg: t.latency_ms.avg, latMin: t.latency_ms.min, latMax: t.latency_ms.max });
  const samples = card.history.samples();
  drawPlot(card.plots.viewers, samples, { key: 'viewers', floor: 1 });
  drawPlot(card.plots.latency, samples, { key: 'latAvg', band: ['latMin', 'latMax'], floor: 100 });

  const rows = new Map();
  const trs = [], cards = [];
  for (const s of g.renditions) {
    const key = streamKey(s);
    const row = card.rows.get(key) || makeRenditionRow(s);
    update(row.bindings, s);
    row.tr.dataset.state = s.online ? 'online' : 'offline';
    rows.set(key, row);
    trs.push(row.tr);
    cards.push(streamCard(s, now).root);
  }
  card.rows = rows;
  if (!sameChildren(card.tbody, trs)) card.tbody.replaceChildren(...trs);
  if (!sameChildren(card.nested, cards)) card.nested.replaceChildren(...cards);
}

// The card of one stream (a plain stream's, or a rendition's in its group card), made and filled.
function streamCard(s, now) {
  const key = streamKey(s);
  let card = state.streams.get(key);
  if (!card) { card = makeCard(s); state.streams.set(key, card); }
  renderStream(card, s, now);
  state.data.set(key, s);
  return card;
}

function markSelected() {
  const key = state.selected ? state.selected.key : null;
  for (const [k, card] of state.streams) card.root.classList.toggle('selected', k === key);
  for (const g of state.groups.values()) {
    let any = false;
    for (const [k, row] of g.rows) {
      row.tr.classList.toggle('selected', k === key);
      any = any || k === key;
    }
    g.root.classList.toggle('selected', any);
  }
}

function renderStreams(list, now) {
  const seenStreams = new Set(), seenGroups = new Set();
  const order = [];
  for (const item of layout(list)) {
    if (item.kind === 'stream') {
      seenStreams.add(item.key);
      order.push(streamCard(item.stream, now).root);
      continue;
    }
    seenGroups.add(item.key);
    for (const s of item.renditions) seenStreams.add(streamKey(s));
    let card = state.groups.get(item.key);
    if (!card) { card = makeGroupCard(item); state.groups.set(item.key, card); }
    renderGroup(card, item, now);
    order.push(card.root);
  }
  for (const [key, card] of state.streams) {
    if (!seenStreams.has(key)) { card.root.remove(); state.streams.delete(key); state.data.delete(key); }
  }
  for (const [key, card] of state.groups) if (!seenGroups.has(key)) { card.root.remove(); state.groups.delete(key); }
  if (!sameChildren(ui.list, order)) ui.list.replaceChildren(...order);
  ui.empty.hidden = order.length > 0;
  markSelected();
  showSelectedGroup();
}

// "rendition _hi of live/demo" beside the selected stream's name.
function showSelectedGroup() {
  const s = state.selected ? state.data.get(state.selected.key) : null;
  const text = isRendition(s) ? `rendition ${fmtText(s.group.rendition)} of ${fmtText(`${s.app}/${s.group.name}`)}` : '';
  if (ui.selectedGroup.textContent !== text) ui.selectedGroup.textContent = text;
}

// ---- viewers of the selected stream ----

const viewersPath = () => (state.selected ? viewersUrl(state.api, state.selected.app, state.selected.stream, state.offset, PAGE) : null);

function select(app, stream) {
  const key = `${app}/${stream}`;
  if (state.selected && state.selected.key === key) return;
  state.selected = { app, stream, key };
  state.offset = 0;
  state.rows.clear();
  ui.tbody.replaceChildren();
  ui.viewers.hidden = false;
  ui.viewers.dataset.stream = key;
  ui.selectedName.textContent = fmtText(key);
  showSelectedGroup();
  ui.table.classList.toggle('no-rendition', !showRenditionColumn(state.data.get(key), []));
  ui.range.textContent = DASH;
  ui.viewersStatus.textContent = 'loading\u2026';
  ui.viewersStatus.dataset.state = 'connecting';
  markSelected();
  const q = new URLSearchParams(location.search);
  q.set('stream', key);
  history.replaceState(null, '', `?${String(q).replace(/%2F/g, '/')}`);
  viewersPoller.poke();
}

function makeRow(v) {
  const tr = el('tr', { dataset: { viewerId: String(v.id) } });
  const bindings = [];
  for (const [, fields, , cls] of VIEWER_COLUMNS) {
    const td = el('td', cls ? { class: cls } : {});
    bindings.push(...bindFields(td, fields));
    tr.append(td);
  }
  return { tr, bindings };
}

function renderViewers(d) {
  const total = Number(d.total) || 0;
  const offset = clampOffset(state.offset, total, PAGE);
  if (offset !== state.offset) {    // the viewers past this page have gone
    state.offset = offset;
    viewersPoller.poke();
    return;
  }
  const list = (Array.isArray(d.viewers) ? d.viewers : []).filter((v) => v && typeof v === 'object');
  const stream = state.data.get(state.selected.key);
  ui.table.classList.toggle('no-rendition', !showRenditionColumn(stream, list));
  const keep = new Map();
  const rows = list.map((v) => {
    const id = String(v.id);
    const row = state.rows.get(id) || makeRow(v);
    update(row.bindings, { ...v, rendition: viewerRendition(v, stream) });
    keep.set(id, row);
    return row.tr;
  });
  state.rows = keep;
  const same = rows.length === ui.tbody.children.length && rows.every((n, i) => ui.tbody.children[i] === n);
  if (!same) ui.tbody.replaceChildren(...rows);
  if (!rows.length) {
    ui.tbody.replaceChildren(el('tr', { class: 'none' }, el('td', { colSpan: VIEWER_COLUMNS.length }, 'no WebSocket viewers')));
  }
  ui.range.textContent = pageRange(state.offset, list.length, total);
  ui.range.dataset.total = String(total);
  ui.range.dataset.offset = String(state.offset);
  ui.range.dataset.count = String(list.length);
  ui.prev.disabled = state.offset === 0;
  ui.next.disabled = state.offset + PAGE >= total;
  ui.viewersStatus.textContent = '';
  ui.viewersStatus.dataset.state = 'ok';
  ui.viewers.classList.remove('stale');
}

function turnPage(delta) {
  const next = Math.max(0, state.offset + delta);
  if (next === state.offset) return;
  state.offset = next;
  ui.prev.disabled = true;
  ui.next.disabled = true;
  viewersPoller.poke();
}

// ---- polling ----

const fetchFn = (url, opts) => fetch(url, opts);

const streamsPoller = new Poller({
  fetch: fetchFn,
  url: () => streamsUrl(state.api),
  onData(d) {
    if (!d || typeof d !== 'object' || !d.server || !Array.isArray(d.streams)) {
      this.onError({ kind: 'json' });
      return;
    }
    const now = Date.now();
    renderServer(d.server, now);
    renderStreams(d.streams, now);
    setStatus('ok', 'live');
  },
  onError(e) {
    const since = state.lastOk === null ? '' : ` \u00b7 last update ${fmtClock(state.lastOk)}`;
    setStatus('error', `${describeError(e)} \u00b7 retrying${since}`, describeError(e));
  },
});

const viewersPoller = new Poller({
  fetch: fetchFn,
  url: viewersPath,
  onData(d, url) {
    if (url !== viewersPath()) return;      // an answer for another stream or page
    if (!d || typeof d !== 'object' || typeof d.total !== 'number') {
      this.onError({ kind: 'json' }, url);
      return;
    }
    renderViewers(d);
  },
  onError(e, url) {
    if (url !== viewersPath()) return;
    ui.viewersStatus.textContent = `${describeError(e)} \u00b7 retrying`;
    ui.viewersStatus.dataset.state = 'error';
    ui.viewers.classList.add('stale');
  },
});

function start() {
  ui.thead.replaceChildren(el('tr', {}, ...VIEWER_COLUMNS.map(([head, , , cls]) => el('th', { scope: 'col', ...(cls ? { class: cls } : {}) }, head))));
  ui.prev.addEventListener('click', () => turnPage(-PAGE));
  ui.next.addEventListener('click', () => turnPage(PAGE));
  try {
    state.api = apiBase(location.search, location.href);
  } catch (e) {
    setStatus('error', e.message);
    return;
  }
  $('api').textContent = state.api;
  setStatus('connecting', 'connecting\u2026');
  streamsPoller.start();
  viewersPoller.start();
  const m = /^([^/]+)\/(.+)$/.exec(params.get('stream') || '');
  if (m) select(m[1], m[2]);
}

start();
