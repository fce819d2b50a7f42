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
    const errs = Object.values(r.errors || {}).reduce((a, b) => a + b, 0);
    return [
      r.label,
      `${r.connected}/${r.asked}`,
      num(r.first_key_ms?.p50, 1),
      `${ms(sei.p50)} / ${ms(sei.p95)} / ${ms(sei.p99)} / ${ms(sei.max)}`,
      ing ? `${num(ing.p50)} / ${num(ing.p99)}` : '-',
      num(r.bytes_per_s * 8 / 1e6, 1),
      num(r.msgs_per_s, 0),
      num(r.frames_lost),
      r.skips === undefined ? '-' : `${r.skips}`,
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

function g2gRows(g) {
  return (g.results || []).map((p) => [p.player, num(p.firstFrameMs, 0),
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
      for (const r of rows) {
        const notes = [];
        if (r.first_error) notes.push(`first error: ${r.first_error}`);
        if (r.publisher_alive === false) notes.push('publisher died during the run');
        if (r.server_bad_log?.length) notes.push(`server log: ${r.server_bad_log[0]}`);
        if (notes.length) out.push(`- ${r.label}: ${notes.join('; ')}`);
      }
      out.push('');
    }
  }
  if ((!only || only === 'hls') && res.hls?.length) {
    out.push('### nginx-rtmp HLS: stamped frame to downloadable segment\n');
    out.push(table(['size', 'segments', 'segment s avg', 'frames',
      'delay p50 ms', 'p95 ms', 'max ms', 'newest frame of a segment p50 ms',
      'oldest frame p50 ms'], res.hls.map((h) => (h.failed_run
      ? [h.size, `run failed: ${h.failed_run.slice(0, 80)}`, '', '', '', '', '', '', '']
      : [h.size, `${h.segments}`, num(h.seg_dur_avg_s, 2), `${h.frames}`,
        num(h.delay_ms.p50, 0), num(h.delay_ms.p95, 0), num(h.delay_ms.max, 0),
        num(h.newest_frame_ms.p50, 0), num(h.oldest_frame_ms.p50, 0)]))) + '\n');
  }
  if ((!only || only === 'g2g') && res.g2g) {
    out.push(`### Glass-to-glass in Chromium, ${res.g2g.size ?? ''}\n`);
    if (res.g2g.failed_run) out.push(`run failed: ${res.g2g.failed_run}\n`);
    else out.push(table(['player', 'first frame ms', 'frames', 'median ms',
      'p95 ms', 'max ms', 'drift ms/min', 'stalls', 'dropped', 'bad barcode reads'],
    g2gRows(res.g2g)) + '\n');
  }
  return out.join('\n');
}
