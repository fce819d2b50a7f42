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
  return out.join('\n');
}
