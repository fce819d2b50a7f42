// Tables of make bench, in Markdown (readable in a terminal as well).

import { quantile } from './stats.mjs';

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

// ours against the floor (bench/floor.c: the same messages framed and
// stamped once, written to every viewer with no protocol or ring logic),
// and what the floor's writev() per loop pass reaches against its write()
// per message: "a / b" rows of server CPU per viewer-second, of the same
// over the load client's CPU (the client does the same work for every
// system, so a machine slower for the moment moves both: here runs minutes
// apart differed by a third in CPU, their server / client ratios by a few
// per cent) and of delay p99
const FLOOR_PAIRS = [['ours-1w', 'floor'], ['ours-2w', 'floor'],
  ['floor-gather', 'floor'], ['ours-1w', 'floor-gather'], ['ours-2w', 'floor-gather']];

// "a / b = a/b x", or '-' when either is not a figure
const ratio = (a, b, d) => (Number.isFinite(a) && Number.isFinite(b) && b > 0
  ? `${num(a, d)} / ${num(b, d)} = ${num(a / b, 2)}x` : '-');
const serverOverClient = (r) => r.server_cpu_ms / r.load_cpu_ms;

// a side that did not keep up did less work: its figures are no floor
const behind = (sides) => sides
  .filter(([, r]) => r.frames_lost > 0 || r.skips > 0 || r.connected < r.asked)
  .map(([k, r]) => `${k} behind: ${r.connected}/${r.asked} connected, `
    + `${r.frames_lost} frames lost, ${r.skips} skips`);

function floorRows(runs) {
  const ok = (k) => runs.find((r) => r.system === k && !r.failed_run);
  return FLOOR_PAIRS.filter(([a, b]) => ok(a) && ok(b)).map(([a, b]) => {
    const x = ok(a), y = ok(b);
    const late = behind([[a, x], [b, y]]);
    return [`${a} / ${b}${late.length ? ` (${late.join('; ')})` : ''}`,
      ratio(x.cpu_ms_per_viewer_s, y.cpu_ms_per_viewer_s, 3),
      ratio(serverOverClient(x), serverOverClient(y), 3),
      ratio(x.sei_delay_us?.p99 / 1000, y.sei_delay_us?.p99 / 1000, 1)];
  });
}

const FLOOR_HEAD = ['against the floor', 'server CPU ms per viewer-s',
  'server CPU / client CPU', 'delay p99 ms'];

// The pairs section: each round's ours / floor, and the median ratios.
// Fan-out is ours from its ingest stamp (the load client's "fan-out" p99)
// against the floor's delay p99: neither has a publisher or RTMP in it.
function pairFigures(o, f) {
  return {
    cpu: [o.cpu_ms_per_viewer_s, f.cpu_ms_per_viewer_s, 3],
    rel: [serverOverClient(o), serverOverClient(f), 3],
    p99: [o.sei_delay_us?.p99 / 1000, f.sei_delay_us?.p99 / 1000, 1],
    fan: [o.ingest_delay_ms?.p99, f.sei_delay_us?.p99 / 1000, 1],
  };
}

function renderPairs(p) {
  const keys = ['cpu', 'rel', 'p99', 'fan'];
  const ratios = Object.fromEntries(keys.map((k) => [k, []]));
  const rows = p.rounds.map((r, i) => {
    const bad = [r.ours, r.floor].filter((x) => !x || x.failed_run);
    if (bad.length)
      return [`${i + 1}`, r.first, `run failed: ${bad.map((x) => x?.failed_run).join('; ').slice(0, 80)}`,
        '', '', '', ''];
    const fig = pairFigures(r.ours, r.floor);
    for (const k of keys) ratios[k].push(fig[k][0] / fig[k][1]);
    return [`${i + 1}`, r.first, ...keys.map((k) => ratio(...fig[k])),
      behind([['ours', r.ours], ['floor', r.floor]]).join('; ') || '-'];
  });
  const med = keys.map((k) => `${num(quantile(ratios[k].filter(Number.isFinite), 0.5), 2)}x`);
  return [`### ${p.label} against the floor, ${p.size}, ${p.viewers} viewers, in alternating pairs\n`,
    'Each round runs both, one right after the other; the first of a round alternates. '
      + 'Ratios are ours / floor. Fan-out: ours from its ingest stamp against the floor\'s delay '
      + '(the floor stamps a frame as it builds it: no publisher socket and no RTMP ingest).\n',
    table(['round', 'first', 'server CPU ms per viewer-s', 'server CPU / client CPU',
      'delay p99 ms', 'fan-out p99 ms', 'behind'],
    [...rows, ['median', '', ...med, '']]) + '\n'].join('\n');
}

// what the floor itself counted (its summary at SIGTERM), for its rows' notes
function floorNote(r) {
  const f = r.floor;
  if (!f) return null;
  return `floor counted ${f.writes} write calls (${f.writev ?? '-'} of them writev, ${f.would_block} would block, `
    + `${f.partial} partial) for ${f.messages} messages in ${f.passes} passes, `
    + `${f.skips} skips, ${f.dropped} dropped, built late by ${num(f.late_max_ms, 1)} ms at worst`;
}

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

// one arm of an A/B figure (statsbench's armsOf): a row of ARM_HEAD
const armRow = (what, name, a, d) => [what, name, `${a.n}`, num(a.mean, d),
  `${num(a.min, d)} .. ${num(a.max, d)}`, pct((a.max - a.min) / a.mean), pct(a.cv)];
const ARM_HEAD = ['figure', 'arm', 'runs', 'mean', 'min .. max',
  'spread (max - min) / mean', 'CV'];
const CPU = 'server CPU ms per viewer-s', REL = 'server CPU / client CPU';

// the ratio of an A/B summary's arms, said beside their noise
const ratioLine = (what, x, [a, b] = ['on', 'off']) => `${what}: ${a} / ${b} of the means `
  + `${num(x.ratio, 3)} (${signedPct(x.ratio - 1)}), per pair ${num(x.pair_ratio_min, 3)} .. `
  + `${num(x.pair_ratio_max, 3)} (median ${num(x.pair_ratio_median, 3)}); `
  + `run-to-run noise beside it: CV ${pct(x.on.cv)} (${a}), ${pct(x.off.cv)} (${b}).`;

function abSummary(st) {
  const s = st.summary;
  const rows = [armRow(CPU, 'stats on', s.on, 3), armRow(CPU, 'stats off', s.off, 3)];
  if (s.relative) rows.push(armRow(REL, 'stats on', s.relative.on, 3),
    armRow(REL, 'stats off', s.relative.off, 3));
  const out = [table(ARM_HEAD, rows) + '\n'];
  out.push(`- ${ratioLine(CPU, s)} ${goal(s)}`);
  if (s.relative) out.push(`- ${ratioLine(REL, s.relative)} ${goal(s.relative)} `
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

// ---- adaptive bitrate: throttled link, ABR on and off; CPU per viewer ----

const secs = (x, d = 1) => (x === null ? 'not in the run' : num(x, d));
const both = (x, d = 1) => (x ? `${num(x.before, d)} / ${num(x.after, d)}` : '-');
const ARM_LABEL = { on: 'on', off: 'off (skip-ahead)', fast: 'on, fast link (no limit)' };

function throttleRows(th) {
  return th.rows.map((r) => {
    const head = [r.rate, `${r.rep + 1}`, `${ARM_LABEL[r.arm] ?? r.arm}${r.error
      ? `, connection error at ${num(r.error_s, 1)} s` : ''}`];
    if (r.failed_run) return [...head, `run failed: ${r.failed_run.slice(0, 80)}`, ...Array(10).fill('')];
    const pb = r.playback;
    return [...head,
      r.first_down_s === null ? '-' : `${num(r.first_down_s, 1)} (${r.first_down_reason})`,
      `${r.skips}${r.skips_after_lift ? ` (${r.skips_after_lift} after the lift)` : ''}`,
      both(r.behind_over_1s), num(r.behind_max_ms?.before, 0),
      pb ? both(pb.stalls, 0) : '-', pb ? both(pb.stalled_s) : '-',
      pb ? `${pb.late}/${r.frames}` : '-', pb ? num(pb.latency_ms, 0) : '-',
      r.arm === 'off' ? '-' : secs(r.top_after_lift_s),
      secs(r.live_after_lift_s),
      `${r.switches_down} / ${r.switches_up}`];
  });
}

const THROTTLE_HEAD = ['link', 'rep', 'ABR', 'first move down s (reason)', 'skips',
  's > 1 s behind live: limited / free', 'max behind ms (limited)',
  'stalls: limited / free', 'stalled s: limited / free', 'late frames',
  'latency target ms', 'to the top rendition after the lift s',
  'within 1 s of live for good after the lift s', 'switches down / up'];

function throttleSummaryRows(th) {
  const f = (x, d = 1) => (x.missing ? (Number.isFinite(x.mean)
    ? `${num(x.mean, d)} (${x.missing} never)` : 'never')
    : x.min === x.max ? num(x.mean, d) : `${num(x.mean, d)} (${num(x.min, d)} .. ${num(x.max, d)})`);
  return th.summary.map((s) => [s.rate, ARM_LABEL[s.arm] ?? s.arm,
    `${s.runs}${s.errors ? ` (${s.errors} with a connection error)` : ''}`,
    f(s.first_down_s), f(s.skips), f(s.behind_over_1s), f(s.stalls), f(s.stalled_s),
    f(s.stalls_after), f(s.stalled_s_after),
    s.arm === 'off' ? '-' : f(s.top_after_lift_s), f(s.live_after_lift_s),
    `${f(s.switches_down)} / ${f(s.switches_up)}`]);
}

function moveNotes(th) {
  const out = [];
  for (const r of th.rows.filter((x) => !x.failed_run)) {
    const moves = r.moves.map((m) => `${m.from}→${m.to} ${m.reason} ${num(m.at_s, 1)} s`
      + `${m.continuous ? '' : ' (not continuous)'}`);
    const skips = r.skips_s.map((t) => num(t, 1));
    const stalls = (r.playback?.list_s || []).filter(([, d]) => d >= 0.2)
      .map(([a, d]) => `${num(a, 1)}+${num(d, 1)}`);
    if (!moves.length && !skips.length && !stalls.length && !r.error) continue;
    out.push(`- ${r.rate} rep ${r.rep + 1}, ${ARM_LABEL[r.arm] ?? r.arm} (lift at ${num(r.lift_s, 1)} s): `
      + `moves ${moves.join(', ') || 'none'}; skips ${skips.length ? `at ${skips.join(', ')} s` : 'none'}; `
      + `stalls of 0.2 s or more (start+length s) ${stalls.join(', ') || 'none'}`
      + `${r.error ? `; error ${r.error}` : ''}`);
  }
  return out;
}

function cpuRows(cpu) {
  return cpu.runs.map((r) => (r.failed_run
    ? [`${r.order}`, r.arm, `0/${r.asked}`, `run failed: ${r.failed_run.slice(0, 80)}`,
      '', '', '', '', '', '', '', '']
    : [`${r.order}`, r.arm, `${r.connected}/${r.asked}`, num(r.cpu_ms_per_viewer_s, 3),
      `${r.switches}`, `${r.skips}`, fanout(r), num(r.bytes_per_s * 8 / 1e6, 0),
      clientCpu(r), num(r.server_per_client_cpu, 3), num(r.tcp_segs_per_s / 1000, 1),
      num(r.loadavg_1m, 2)]));
}

function renderAbr(a) {
  const out = [];
  const th = a.throttle;
  const rends = (th?.renditions || a.cpu?.renditions || [])
    .map((r) => `${r.name.replace(/^abr/, '')} ${r.width}x${r.height} ${num(r.bitrate / 1000)} kbit/s`);
  out.push(`### Adaptive bitrate: a viewer behind a throttled link, ABR on and off\n`);
  out.push(`Rendition group ${rends.join(', ')} (measured by the server, audio included), `
    + `1 s GOP, published from one ffmpeg; viewers of the group's name start on the top one. `
    + `Each repetition: an ABR-on and an ABR-off viewer at the same time, each in a network `
    + `namespace behind its own tc token bucket (rate as listed, burst ${a.burst}), lifted `
    + `${a.lift_s} s after they connect, ${a.after_s} s more; with them a viewer on loopback `
    + `without a limit. "limited" / "free": before / after the lift. Playback model: a player `
    + `with a fixed latency, the first keyframe's delay + ${a.target_ms} ms, shows each frame at `
    + `its ingest + that latency; a frame arriving later is late and not shown, nor the frames `
    + `after it up to the next on-time keyframe, nor frames skipped; a stall is a frozen picture `
    + `of more than 100 ms, counted where it starts. Times from the viewer's connect.\n`);
  if (!th || th.failed_run || th.skipped) {
    out.push(`throttled runs ${th?.skipped ? `skipped: ${th.skipped}` : `failed: ${th?.failed_run}`}\n`);
  } else {
    out.push(table(THROTTLE_HEAD, throttleRows(th)) + '\n');
    out.push(`Mean over the repetitions (min .. max):\n`);
    out.push(table(['link', 'ABR', 'runs', 'first move down s', 'skips',
      's > 1 s behind (limited)', 'stalls (limited)', 'stalled s (limited)', 'stalls (free)',
      'stalled s (free)', 'to the top after the lift s', 'within 1 s of live after the lift s',
      'switches down / up'], throttleSummaryRows(th)) + '\n');
    out.push(...moveNotes(th));
    if (th.publisher_alive === false) out.push('- the publisher died during the runs');
    if (th.server_bad_log?.length) out.push(`- server log: ${th.server_bad_log[0]}`);
    out.push('');
  }
  const c = a.cpu;
  if (!c) return out.join('\n');
  out.push(`### Adaptive bitrate: server CPU of ${c.viewers} fast viewers, ABR on, off and a plain stream, `
    + `${c.workers} worker${c.workers === 1 ? '' : 's'}\n`);
  if (c.failed_run) { out.push(`run failed: ${c.failed_run}\n`); return out.join('\n'); }
  out.push(`One nginx, the group above; on: the group's name (a decision per viewer each second), `
    + `off: the group's name with \`ws_stream_abr off;\`, plain: the top rendition's own name `
    + `(no group). Rounds of the three, the order reversed every round; ${c.warmup} s warm-up, `
    + `${c.seconds} s measured. Load client and nginx share the 2 cores: the figures move with `
    + `the client's load and the machine's; a difference within the CV is not measurable here.\n`);
  out.push(table(['run', 'arm', 'viewers ok', CPU, 'switches', 'skips',
    'fan-out p50 / p95 / p99 ms', 'Mbit/s out', 'client CPU %', REL,
    'TCP segments/s, thousands (host, whole run)', 'load average (1 min) at the end'],
  cpuRows(c)) + '\n');
  const s = c.summary;
  out.push(table(ARM_HEAD, [armRow(CPU, 'on', s.on_off.on, 3), armRow(CPU, 'off', s.on_off.off, 3),
    armRow(CPU, 'plain', s.off_plain.off, 3), armRow(REL, 'on', s.on_off.relative.on, 3),
    armRow(REL, 'off', s.on_off.relative.off, 3), armRow(REL, 'plain', s.off_plain.relative.off, 3)])
    + '\n');
  out.push(`- ${ratioLine(CPU, s.on_off)}`);
  out.push(`- ${ratioLine(CPU, s.off_plain, ['off', 'plain'])}`);
  out.push(`- ${ratioLine(CPU, s.on_plain, ['on', 'plain'])}`);
  out.push(`- ${ratioLine(REL, s.on_off.relative)}`);
  for (const r of c.runs) {
    const notes = [];
    if (r.first_error) notes.push(`first error: ${r.first_error}`);
    if (r.server_bad_log?.length) notes.push(`server log: ${r.server_bad_log[0]}`);
    if (notes.length) out.push(`- run ${r.order}: ${notes.join('; ')}`);
  }
  if (c.publisher_alive === false) out.push('- the publisher died during the runs');
  if (c.server_bad_log?.length) out.push(`- server log: ${c.server_bad_log[0]}`);
  out.push('');
  return out.join('\n');
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
      const fl = floorRows(rows);
      if (fl.length) {
        out.push(`Against the floor, ${k} (floor: one write() per message per viewer; `
          + 'floor-gather: one writev() per viewer per loop pass; ours-1w, ours-2w: '
          + 'ngx_ws_stream with 1 and 2 workers. The floor stamps a frame as it builds '
          + 'its message, so its delay has no publisher socket and no RTMP ingest in it):\n');
        out.push(table(FLOOR_HEAD, fl) + '\n');
      }
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
        if (floorNote(r)) notes.push(floorNote(r));
        if (notes.length) out.push(`- ${r.label}: ${notes.join('; ')}`);
      }
      out.push('');
    }
  }
  if ((!only || only === 'pairs') && res.pairs) out.push(renderPairs(res.pairs));
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
  if ((!only || only === 'abr') && res.abr) out.push(renderAbr(res.abr));
  if ((!only || only === 'profile') && res.profile)
    out.push(res.profile.markdown ?? `### Profiles\n\nfailed: ${res.profile.failed_run}\n`);
  return out.join('\n');
}
