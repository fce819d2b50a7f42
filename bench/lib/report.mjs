// Tables of make bench, in Markdown (readable in a terminal as well).

const num = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x)
  ? '-' : Number(x).toFixed(d));
const ms = (us, d = 1) => (us === null || us === undefined ? '-' : num(us / 1000, d));

function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderMachine(m, opts) {
  return [
    `Date: ${m.date}  `,
    `Machine: ${m.nproc} CPUs (${m.cpu}), ${m.mem_gib} GiB, Linux ${m.kernel}  `,
    `Software: ${m.nginx}, Node.js ${m.node}  `,
    `Command: \`${m.command}\`  `,
    `Window: ${opts.warmup} s warm-up after the last viewer connected, then ${opts.seconds} s measured; `
      + `load client threads: ${opts.threads}`,
  ].join('\n') + '\n';
}

// CPU-ms the server spent per viewer-second, and its ratio to ours (1 worker)
function cpuCells(r, base) {
  const v = r.cpu_ms_per_viewer_s;
  if (v === undefined || v === null) return ['-', '-'];
  const b = base?.cpu_ms_per_viewer_s;
  return [num(v, 3), b ? `${num(v / b, 2)}x` : '-'];
}

function runRows(runs) {
  const base = runs.find((r) => r.system === 'ours-1w' && !r.failed_run);
  return runs.map((r) => {
    if (r.failed_run)
      return [r.label, `0/${r.asked}`, `run failed: ${r.failed_run.slice(0, 80)}`,
        ...Array(12).fill('')];
    const sei = r.sei_delay_us || {};
    const ing = r.ingest_delay_ms;
    const errs = Object.values(r.errors || {}).reduce((a, b) => a + b, 0)
      + hlsNot200(r);
    return [
      r.label,
      `${r.connected}/${r.asked}`,
      num(r.first_key_ms?.p50, 1),
      `${ms(sei.p50)} / ${ms(sei.p95)} / ${ms(sei.p99)} / ${ms(sei.max)}`,
      ing ? `${num(ing.p50)} / ${num(ing.p99)}` : '-',
      num(r.bytes_per_s * 8 / 1e6, 1),
      num(r.msgs_per_s, 0),
      num(r.frames_lost),
      r.skips === undefined || r.mode === 'hls' ? '-' : `${r.skips}`,
      `${errs}`,
      ...cpuCells(r, base),
      num((r.server_rss_kb || 0) / 1024, 1),
      r.zone_kb === undefined ? '-' : `${r.zone_kb}`,
      num(r.load_cpu_ms / (r.window_s * 10), 0),
    ];
  });
}

const RUN_HEAD = ['system', 'viewers ok', 'first key p50 ms',
  'delay p50 / p95 / p99 / max ms', 'fan-out p50 / p99 ms',
  'Mbit/s out', 'msgs/s', 'frames lost', 'skips', 'errors',
  'server CPU ms per viewer-s', 'vs ours 1w', 'server RSS MiB',
  'zone resident kB', 'client CPU %'];

// answers of an LL-HLS run that were not 200
const hlsNot200 = (r) => (r.hls ? Object.entries(r.hls.status)
  .filter(([k]) => k !== '200').reduce((a, [, v]) => a + v, 0) : 0);

// LL-HLS clients (load client --mode hls): what they asked and got, and
// what a client-second cost next to a WebSocket viewer-second
function hlsClientRows(runs) {
  const ws = runs.find((r) => r.system === 'ours-1w' && !r.failed_run);
  return runs.filter((r) => r.mode === 'hls' && !r.failed_run).map((r) => {
    const h = r.hls, st = h.status, lst = h.listed_delay_us, sei = r.sei_delay_us;
    const per = r.connected * r.window_s;
    return [
      r.label, `${r.connected}/${r.asked}`, num(h.requests_per_s, 0),
      num(h.requests.playlist / per, 2), num(h.parts_per_s_per_viewer, 2),
      `${st['200']} / ${st['400']} / ${st['404']} / ${st['503']} / ${st.other}`,
      `${h.parts_skipped}`, `${h.odd}`,
      `${ms(lst.p50)} / ${ms(lst.p99)} / ${ms(lst.max)}`,
      `${ms(sei.p50)} / ${ms(sei.p99)}`,
      num(r.cpu_ms_per_viewer_s, 3),
      ws ? num(ws.cpu_ms_per_viewer_s, 3) : '-',
      ws ? `${num(r.cpu_ms_per_viewer_s / ws.cpu_ms_per_viewer_s, 2)}x` : '-',
      num((r.server_rss_kb || 0) / 1024, 1), ws ? num((ws.server_rss_kb || 0) / 1024, 1) : '-',
      r.zone_kb === undefined ? '-' : `${r.zone_kb}`,
      num(r.load_cpu_ms / (r.window_s * 10), 0),
    ];
  });
}

const HLS_CLIENT_HEAD = ['system', 'clients ok', 'requests/s',
  'playlists/s per client', 'parts/s per client',
  'answers 200 / 400 / 404 / 503 / other', 'parts skipped', 'oddities',
  'part listed p50 / p99 / max ms', 'part received p50 / p99 ms',
  'server CPU ms per client-s', 'WS viewer-s (ours 1w)', 'vs WS',
  'server RSS MiB', 'WS RSS MiB', 'zone resident kB', 'client CPU %'];

// nginx-rtmp's HLS (segment listed) next to our LL-HLS (part listed, part
// complete), per size
function hlsRows(res) {
  const rows = [];
  const lat = (s) => [num(s.p50, 0), num(s.p95, 0), num(s.p99, 0), num(s.max, 0)];
  for (const h of res.hls || []) {
    if (h.failed_run) {
      rows.push([h.size, 'nginx-rtmp HLS', `run failed: ${h.failed_run.slice(0, 80)}`,
        ...Array(10).fill('')]);
    } else {
      rows.push([h.size, 'nginx-rtmp HLS, 1 s fragments', 'segment listed',
        `${h.segments}`, num(h.seg_dur_avg_s, 2), `${h.frames}`, ...lat(h.delay_ms),
        num(h.newest_frame_ms.p50, 0), num(h.oldest_frame_ms.p50, 0), '-']);
    }
    const l = (res.llhls || []).find((x) => x.size === h.size);
    if (!l) continue;
    if (l.failed_run) {
      rows.push([l.size, 'ngx_ws_stream LL-HLS', `run failed: ${l.failed_run.slice(0, 80)}`,
        ...Array(10).fill('')]);
      continue;
    }
    const goal = l.part_target_s * 1000 + 30;
    const label = `ngx_ws_stream LL-HLS, ${num(l.part_target_s * 1000, 0)} ms parts`;
    rows.push([l.size, label, 'part listed (blocking playlist)', `${l.parts}`,
      num(l.part_dur_avg_s, 2), `${l.frames}`, ...lat(l.listed_ms),
      num(l.newest_frame_ms.p50, 0), num(l.oldest_frame_ms.p50, 0),
      `p99 <= ${num(goal, 0)}: ${l.listed_ms.p99 <= goal ? 'yes' : 'no'}`]);
    rows.push([l.size, label, 'part complete (preload hint answered)', '', '',
      `${l.complete_ms.count}`, ...lat(l.complete_ms), '', '', '']);
  }
  return rows;
}

const G2G_LABELS = {
  ours: 'our player on ngx_ws_stream (WebSocket)',
  mpegts: 'mpegts.js on node-media-server (WS-FLV)',
  hls: 'hls.js on nginx-rtmp HLS',
  hlsll: 'hls.js LL on ngx_ws_stream (LL-HLS)',
};

function g2gRows(g) {
  return (g.results || []).map((p) => [G2G_LABELS[p.player] ?? p.player,
    num(p.firstFrameMs, 0),
    `${p.frames ?? '-'}`, num(p.medianMs, 0), num(p.p95Ms, 0), num(p.maxMs, 0),
    num(p.driftMsPerMin, 1), `${p.stalls ?? '-'}`, `${p.droppedFrames ?? '-'}`,
    `${p.badReads ?? '-'}`]);
}

// ---- statistics: ws_stream_stats on/off A/B and scrape times ----

const pct = (x, d = 1) => (Number.isFinite(x) ? `${num(x * 100, d)} %` : '-');
const signedPct = (x) => (Number.isFinite(x)
  ? `${x >= 0 ? '+' : ''}${num(x * 100, 1)} %` : '-');
const fanout = (r) => (r.ingest_delay_ms
  ? `${num(r.ingest_delay_ms.p50)} / ${num(r.ingest_delay_ms.p95)} / ${
    num(r.ingest_delay_ms.p99)}` : '-');
const clientCpu = (r) => num(r.load_cpu_ms / (r.window_s * 10), 0);

function abRows(st) {
  return st.ab.map((r) => (r.failed_run
    ? [`${r.order}`, r.stats ? 'on' : 'off', `0/${r.asked}`,
      `run failed: ${r.failed_run.slice(0, 80)}`, '', '', '', '', '', '', '']
    : [`${r.order}`, r.stats ? 'on' : 'off', `${r.connected}/${r.asked}`,
      num(r.cpu_ms_per_viewer_s, 3), fanout(r), ms(r.sei_delay_us?.p99),
      num(r.reports_per_s, 0),
      Number.isFinite(r.server_reports_total) ? `${r.server_reports_total}` : '-',
      `${r.metrics_scrapes}${r.metrics_failed ? ` (${r.metrics_failed} failed)` : ''}`,
      clientCpu(r), num(r.server_per_client_cpu, 3)]));
}

// the issue's goal, on within 5 % of off, said beside the noise
function goal(x) {
  const d = Math.abs(x.ratio - 1), noise = Math.max(x.on.cv, x.off.cv);
  if (!Number.isFinite(d)) return '';
  if (d > 0.05)
    return `Goal within 5 %: not met${d < noise ? ' (the difference is within the noise)' : ''}.`;
  if (!(noise <= 0.05))
    return 'Goal within 5 %: within it as measured, but the noise is larger than 5 %.';
  return 'Goal within 5 %: met.';
}

function abSummary(st) {
  const s = st.summary;
  const arm = (what, name, a, d) => [what, name, `${a.n}`, num(a.mean, d),
    `${num(a.min, d)} .. ${num(a.max, d)}`, pct((a.max - a.min) / a.mean),
    pct(a.cv)];
  const CPU = 'server CPU ms per viewer-s', REL = 'server CPU / client CPU';
  const rows = [arm(CPU, 'stats on', s.on, 3), arm(CPU, 'stats off', s.off, 3)];
  if (s.relative) rows.push(arm(REL, 'stats on', s.relative.on, 3),
    arm(REL, 'stats off', s.relative.off, 3));
  const out = [table(['figure', 'arm', 'runs', 'mean', 'min .. max',
    'spread (max - min) / mean', 'CV'], rows) + '\n'];
  const ratio = (what, x) => `${what}: on / off of the means ${num(x.ratio, 3)} `
    + `(${signedPct(x.ratio - 1)}), per pair ${num(x.pair_ratio_min, 3)} .. `
    + `${num(x.pair_ratio_max, 3)} (median ${num(x.pair_ratio_median, 3)}); `
    + `run-to-run noise beside it: CV ${pct(x.on.cv)} (on), ${pct(x.off.cv)} (off).`;
  out.push(`- ${ratio(CPU, s)} ${goal(s)}`);
  if (s.relative) out.push(`- ${ratio(REL, s.relative)} ${goal(s.relative)} `
    + '(The load client does the same work in both arms: a slower machine of '
    + 'the moment raises both CPUs.)');
  return out.join('\n') + '\n';
}

function scrapeRows(st) {
  const rows = [];
  for (const sc of st.scrapes) {
    if (sc.failed_run) {
      rows.push([`${sc.viewers}`, `run failed: ${sc.failed_run.slice(0, 80)}`,
        '', '', '', '', '']);
      continue;
    }
    for (const q of sc.requests)
      rows.push([`${sc.viewers_at_scrape}/${sc.viewers}`, q.label,
        `${q.n}${q.failed ? ` (${q.failed} failed)` : ''}`, num(q.p50_ms, 1),
        num(q.p99_ms, 1), num(q.max_ms, 1), num(q.bytes)]);
  }
  return rows;
}

function scrapeLoadRows(st) {
  const rows = [];
  for (const sc of st.scrapes) {
    if (sc.failed_run) continue;
    for (const [what, r] of [['none', sc.quiet],
      [`${num(sc.scrape_hz)} requests/s`, sc.scraped]]) {
      rows.push([`${sc.viewers}`, what, `${r.connected}/${sc.viewers}`,
        fanout(r), `${ms(r.sei_delay_us?.p50)} / ${ms(r.sei_delay_us?.p99)}`,
        num(r.cpu_ms_per_viewer_s, 3), clientCpu(r)]);
    }
  }
  return rows;
}

function renderStats(st) {
  const out = [];
  if (st.ab.length) renderAB(st, out);
  if (st.scrapes.length) renderScrapes(st, out);
  return out.join('\n');
}

function renderAB(st, out) {
  out.push(`### Statistics: fan-out cost with ws_stream_stats on and off, ${st.size}, `
    + `${st.viewers} viewers, ${st.workers} worker${st.workers === 1 ? '' : 's'}\n`);
  out.push(`Both arms: every viewer sends a \`report\` every ${st.report_ms} ms, `
    + '/metrics is scraped once a second; each run on a fresh nginx, in the '
    + 'order listed.\n');
  out.push(table(['run', 'stats', 'viewers ok', 'server CPU ms per viewer-s',
    'fan-out p50 / p95 / p99 ms', 'delay p99 ms', 'reports/s', 'reports counted by the server',
    '/metrics scrapes', 'client CPU %', 'server CPU / client CPU'], abRows(st)) + '\n');
  out.push(abSummary(st));
  for (const r of st.ab) {
    const notes = [];
    if (r.first_error) notes.push(`first error: ${r.first_error}`);
    if (r.reports_dropped) notes.push(`${r.reports_dropped} reports not sent`);
    if (r.publisher_alive === false) notes.push('publisher died during the run');
    if (r.server_bad_log?.length) notes.push(`server log: ${r.server_bad_log[0]}`);
    if (notes.length) out.push(`- run ${r.order}: ${notes.join('; ')}`);
  }
  out.push('');
}

function renderScrapes(st, out) {
  out.push(`### Statistics: scrape times, ${st.size}, ${st.workers} worker${
    st.workers === 1 ? '' : 's'}, stats on\n`);
  out.push(`One keep-alive connection, the four requests in turn, ${num(st.scrape_hz)} `
    + 'requests/s, while the viewers play and report.\n');
  out.push(table(['viewers listed / connected', 'request', 'answers', 'median ms',
    'p99 ms', 'max ms', 'size bytes'], scrapeRows(st)) + '\n');
  for (const sc of st.scrapes.filter((x) => x.by_worker?.length > 1))
    out.push(`- ${sc.viewers} viewers: by worker ${sc.by_worker.join(' / ')}`);
  out.push('');
  out.push('Fan-out while scraping (same nginx, one run each):\n');
  out.push(table(['viewers', 'scraping', 'viewers ok', 'fan-out p50 / p95 / p99 ms',
    'delay p50 / p99 ms', 'server CPU ms per viewer-s', 'client CPU %'],
  scrapeLoadRows(st)) + '\n');
}

export function renderMarkdown(res, { only } = {}) {
  const out = [];
  if (!only || only === 'runs') {
    const groups = new Map();
    for (const r of res.runs) {
      const k = `${r.size}, ${r.asked} viewer${r.asked === 1 ? '' : 's'}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(r);
    }
    for (const [k, rows] of groups) {
      out.push(`### ${k}\n`);
      out.push(table(RUN_HEAD, runRows(rows)) + '\n');
      const hc = hlsClientRows(rows);
      if (hc.length) {
        out.push(`LL-HLS clients, ${k}:\n`);
        out.push(table(HLS_CLIENT_HEAD, hc) + '\n');
      }
      for (const r of rows) {
        const notes = [];
        if (r.first_error) notes.push(`first error: ${r.first_error}`);
        if (r.hls?.first_status) notes.push(`first answer not 200: ${r.hls.first_status}`);
        if (r.hls?.first_odd) notes.push(`first oddity: ${r.hls.first_odd}`);
        if (r.publisher_alive === false) notes.push('publisher died during the run');
        if (r.server_bad_log?.length) notes.push(`server log: ${r.server_bad_log[0]}`);
        if (notes.length) out.push(`- ${r.label}: ${notes.join('; ')}`);
      }
      out.push('');
    }
  }
  if ((!only || only === 'hls') && res.hls?.length) {
    out.push('### nginx-rtmp HLS and ngx_ws_stream LL-HLS: stamped frame to available\n');
    out.push(table(['size', 'system', 'available when', 'segments / parts',
      'duration s avg', 'frames', 'delay p50 ms', 'p95 ms', 'p99 ms', 'max ms',
      'newest frame of a segment / part p50 ms', 'oldest frame p50 ms', 'goal'],
    hlsRows(res)) + '\n');
    for (const l of res.llhls || []) {
      const n = Object.entries(l.status || {}).filter(([k]) => !/ 200$/.test(k));
      const notes = [];
      if (n.length) notes.push(`answers not 200: ${n.map(([k, v]) => `${k}: ${v}`).join(', ')}`);
      if (l.blocking_miss) notes.push(`${l.blocking_miss} blocking answers without the part asked for`);
      if (l.first_error) notes.push(`first error: ${l.first_error}`);
      if (l.server_bad_log?.length) notes.push(`server log: ${l.server_bad_log[0]}`);
      if (notes.length) out.push(`- LL-HLS ${l.size}: ${notes.join('; ')}`);
    }
    out.push('');
  }
  if ((!only || only === 'g2g') && res.g2g) {
    out.push(`### Glass-to-glass in Chromium, ${res.g2g.size ?? ''}\n`);
    if (res.g2g.failed_run) out.push(`run failed: ${res.g2g.failed_run}\n`);
    else out.push(table(['player', 'first frame ms', 'frames', 'median ms',
      'p95 ms', 'max ms', 'drift ms/min', 'stalls', 'dropped', 'bad barcode reads'],
    g2gRows(res.g2g)) + '\n');
    const ll = (res.g2g.results || []).find((p) => p.player === 'hlsll');
    if (ll) {
      out.push(`hls.js LL on ngx_ws_stream, goal median < 1000 ms and 0 stalls: ${
        ll.medianMs < 1000 && ll.stalls === 0 ? 'met' : 'not met'}; stamps from ${
        ll.stampSource ?? 'FRAG_PARSING_USERDATA'}\n`);
    }
  }
  if ((!only || only === 'stats') && res.stats) out.push(renderStats(res.stats));
  return out.join('\n');
}
