// The profile section (bench/profile.mjs runs it alone): where the CPU of
// our nginx workers goes while they fan out one stream to many WebSocket
// viewers, and how much memory a viewer costs.
//
// Each arm (workers x ws_stream_coalesce x viewers) runs on a fresh nginx
// (servers.mjs), the stamping publisher of the fixture, and the load
// client with that many viewers:
//   1. once the viewers are connected (ESTABLISHED sockets of the HTTP port
//      in /proc/net/tcp) and `warmup` seconds have passed, `perf record
//      -F freq -g --call-graph dwarf,SIZE -p WORKERS -- sleep seconds`
//      samples the workers (cpu-clock: this machine has no hardware
//      counters). dwarf, not fp: neither Debian's nginx, nor libc, nor our
//      module (nginx's CFLAGS) keeps frame pointers, so fp call chains end
//      at the first user frame, and the "total" shares below (a function
//      with all it calls) need whole chains. The cost: the sampled stacks
//      are copied (SIZE bytes a sample), perf's own CPU in the window is
//      measured and printed;
//   2. `perf report --stdio --no-children` by dso,sym and by dso (texts
//      kept in the arm's folder): the top symbols, the share of each dso;
//      `perf script` (streamed) for the shares by category (a kernel
//      sample is put in the category of the first frame, from the leaf up,
//      that names one: copy and allocation helpers take their caller's)
//      and of the functions the issue asks about, self (the sample's leaf)
//      and total (anywhere in its chain). Debian's nginx is stripped: its
//      static functions (ngx_epoll_process_events, the HTTP core...) have
//      no symbol; their addresses are grouped by the nearest exported
//      symbol below them ("nginx: after ngx_x"). Our module is built with
//      -g and resolves (the nginx prefix with its copy of the .so is kept
//      until the reports are done; the share of its samples that resolved
//      is printed; perf record also files the .so by build-id in
//      ~/.debug, so that a perf.data kept with --keep-data can be annotated
//      later). Shares are also turned into CPU µs per viewer-second (the
//      share of the sampled periods over the window and the viewers): the
//      arms' totals differ several times over, their shares alone mislead;
//   3. memory: before and after the profile, each worker's VmRSS, its
//      smaps_rollup (Private_Dirty) and its shared-zone mapping (Rss,
//      Private_Dirty: zone pages only one process has touched count as its
//      private), and /proc/net/sockstat's TCP line (kernel socket buffers
//      are outside RSS; on loopback the viewers' receive buffers count
//      too). Per viewer, for a configuration run at two viewer counts:
//      (memory at the larger - at the smaller) / (the connected viewers'
//      difference), from the readings after the profile.
// Asserts nothing: prints figures.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { BENCH_BUILD, startNginx, startPublisher, sleep, parseSize }
  from './servers.mjs';
import { runLoad, waitPlayable, badLog } from './loadclient.mjs';

export const PERF = process.env.WS_STREAM_PERF || '/usr/bin/perf';
const STREAM = 'bench';
const PARANOID = '/proc/sys/kernel/perf_event_paranoid';

const readText = (f) => {
  try { return fs.readFileSync(f, 'utf8'); } catch { return ''; }
};

// ---- the arms ----

const coalesceLabel = (c) => (c && c !== '0' ? c : '0');
export const configLabel = (c) => `${c.workers} worker${c.workers > 1 ? 's' : ''}, `
  + `coalesce ${coalesceLabel(c.coalesce)}`;
const configKey = (c) => `w${c.workers}-c${coalesceLabel(c.coalesce)}`;

// The arms: every configuration at every viewer count (fewest first).
export function planArms(configs, viewers) {
  const ns = [...viewers].sort((a, b) => a - b);
  return configs.flatMap((c) => ns.map((n) => ({ ...c, viewers: n,
    key: `${configKey(c)}-n${n}`, label: `${configLabel(c)}, ${n} viewers` })));
}

// ---- /proc readings ----

// ESTABLISHED TCP sockets whose local port is `port` (the server's side of
// each viewer)
export function establishedTo(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readText(f).split('\n')) {
      const c = line.trim().split(/\s+/);
      if (c[3] === '01' && c[1] && c[1].endsWith(hex)) n++;
    }
  }
  return n;
}

// Wait until n viewers are connected, or their number has not grown for
// 3 s, or the load client is gone, or 60 s; the count then.
export async function waitConnected(port, n, gone) {
  const t0 = Date.now();
  let last = -1, since = t0;
  for (;;) {
    const now = establishedTo(port);
    if (now >= n || gone() || Date.now() - t0 > 60000) return now;
    if (now !== last) { last = now; since = Date.now(); }
    if (now > 0 && Date.now() - since > 3000) return now;
    await sleep(250);
  }
}

const kbFields = (text) => Object.fromEntries([...text.matchAll(/^(\w+):\s+(\d+) kB$/gm)]
  .map((m) => [m[1], Number(m[2])]));

// the fields (kB) of two mappings in /proc/PID/smaps: the shared zone (an
// anonymous shared mapping, /dev/zero, of exactly the zone's size) and the
// malloc heap ([heap]: nginx's pools, one process, one arena)
function mappings(pid, zoneBytes) {
  const want = zoneBytes / 1024, found = { zone: {}, heap: {} };
  for (const block of readText(`/proc/${pid}/smaps`).split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)/.exec(block);
    if (!h) continue;
    if ((parseInt(h[2], 16) - parseInt(h[1], 16)) / 1024 === want && /\/dev\/zero|SYSV/.test(h[3]))
      found.zone = kbFields(block);
    else if (h[3].trim() === '[heap]') found.heap = kbFields(block);
  }
  return found;
}

// one worker's memory (kB)
export function workerMemory(pid, zoneBytes) {
  const roll = kbFields(readText(`/proc/${pid}/smaps_rollup`));
  const { zone, heap } = mappings(pid, zoneBytes);
  const pd = roll.Private_Dirty ?? NaN;
  return { pid, vm_rss_kb: kbFields(readText(`/proc/${pid}/status`)).VmRSS ?? NaN,
    rss_kb: roll.Rss ?? NaN, pss_kb: roll.Pss ?? NaN, private_dirty_kb: pd,
    shared_dirty_kb: roll.Shared_Dirty ?? NaN,
    zone_rss_kb: zone.Rss ?? NaN, zone_private_dirty_kb: zone.Private_Dirty ?? NaN,
    private_outside_zone_kb: pd - (zone.Private_Dirty ?? 0),
    heap_private_dirty_kb: heap.Private_Dirty ?? NaN };
}

// /proc/net/sockstat's TCP line: sockets in use, allocated, mem (pages)
export function sockstat() {
  const m = /^TCP: inuse (\d+) orphan (\d+) tw (\d+) alloc (\d+) mem (\d+)/m
    .exec(readText('/proc/net/sockstat'));
  return m ? { inuse: +m[1], orphan: +m[2], tw: +m[3], alloc: +m[4], mem_pages: +m[5] } : {};
}

// the workers' memory, summed (the zone: the largest resident of its mapping)
export function memoryOf(pids, zoneBytes) {
  const w = pids.map((p) => workerMemory(p, zoneBytes));
  const sum = (k) => w.reduce((a, x) => a + x[k], 0);
  return { workers: w, vm_rss_kb: sum('vm_rss_kb'), private_dirty_kb: sum('private_dirty_kb'),
    private_outside_zone_kb: sum('private_outside_zone_kb'),
    heap_private_dirty_kb: sum('heap_private_dirty_kb'),
    zone_rss_kb: Math.max(...w.map((x) => x.zone_rss_kb)), sockstat: sockstat() };
}

// CPU time (ms) of a process so far, NaN once it is gone
function cpuMs(pid) {
  const s = readText(`/proc/${pid}/stat`);
  if (!s) return NaN;
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

// busy and total jiffies of the machine
function machineTicks() {
  const f = readText('/proc/stat').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - (f[4] || 0), total };
}

// ---- perf ----

// perf may record the workers; lowers kernel.perf_event_paranoid for the
// run if it must (as root) and returns what puts it back.
export function perfAccess(dir) {
  if (!fs.existsSync(PERF)) throw new Error(`${PERF} is missing: apt-get install linux-perf (make deps)`);
  const probe = () => spawnSync(PERF, ['record', '-q', '-F', '99', '-o', path.join(dir, 'probe.data'),
    '--', 'true'], { encoding: 'utf8' });
  let r = probe();
  const was = readText(PARANOID).trim();
  let lowered = false;
  const restore = () => { if (lowered) fs.writeFileSync(PARANOID, was); };
  if (r.status !== 0 && process.getuid?.() === 0 && was !== '-1') {
    fs.writeFileSync(PARANOID, '-1');
    lowered = true;
    process.once('exit', restore);     // also when interrupted (servers.mjs exits)
    r = probe();
  }
  fs.rmSync(path.join(dir, 'probe.data'), { force: true });
  if (r.status !== 0) {
    restore();
    throw new Error(`perf record does not work here (perf_event_paranoid ${was}): ${r.stderr.trim()}`);
  }
  return { paranoid: was, lowered, restore };
}

// perf record of pids for `seconds`; resolves with what it cost
function perfRecord(pids, file, { seconds, freq, callGraph }) {
  const cg = callGraph === 'none' ? [] : ['-g', '--call-graph', callGraph];
  const args = ['record', '-F', String(freq), ...cg, '-m', '1024', '-p', pids.join(','),
    '-o', file, '--', 'sleep', String(seconds)];
  const w0 = pids.map(cpuMs), m0 = machineTicks(), t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(PERF, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '', perfCpu = NaN, w1 = null, m1 = null, t1 = 0;
    child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    // the window's end: perf's CPU so far (it writes the file after)
    const at = setTimeout(() => {
      perfCpu = cpuMs(child.pid);
      w1 = pids.map(cpuMs);
      m1 = machineTicks();
      t1 = Date.now();
    }, Math.max(0, seconds * 1000 - 200));
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 120) * 1000);
    child.once('error', reject);
    child.once('exit', (code, sig) => {
      clearTimeout(at);
      clearTimeout(kill);
      if (code !== 0 || !w1) {
        reject(new Error(`perf record exited ${code ?? sig}: ${err.trim()}`));
        return;
      }
      const wall = t1 - t0;
      resolve({ args: `perf ${args.join(' ')}`, wall_ms: wall, written_ms: Date.now() - t0,
        bytes: fs.statSync(file).size,
        perf_cpu_pct: (perfCpu / wall) * 100,
        worker_cpu_pct: pids.map((p, i) => ((w1[i] - w0[i]) / wall) * 100),
        machine_cpu_pct: ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100,
        machine_cpus: fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm).length,
        stderr: err.trim().split('\n').slice(-3).join('\n') });
    });
  });
}

function perfText(args) {
  const r = spawnSync(PERF, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`perf ${args.join(' ')}: ${(r.stderr || '').slice(-1000)}`);
  return r.stdout;
}

// lines of perf report --stdio: { pct, dso, kind ('k' kernel, '.' user), sym }
// (sym absent when sorted by dso alone)
export function parseReport(text) {
  const rows = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    let m = /^\s*([\d.]+)%\s+(.+?)\s+\[([.kgu])\]\s+(.+?)\s*$/.exec(line);
    if (m) { rows.push({ pct: +m[1], dso: m[2], kind: m[3], sym: m[4] }); continue; }
    m = /^\s*([\d.]+)%\s+(\S.*?)\s*$/.exec(line);
    if (m) rows.push({ pct: +m[1], dso: m[2] });
  }
  const lost = /^# Total Lost Samples: (\d+)/m.exec(text);
  const samples = /^# Samples: (\S+)/m.exec(text);
  return { rows, lost: lost ? +lost[1] : NaN, samples: samples ? samples[1] : '?' };
}

// exported text symbols of an ELF file, by address: [[addr, name], ...]
const symCache = new Map();
function dynSymbols(file) {
  if (!symCache.has(file)) {
    const r = spawnSync('nm', ['-D', '--defined-only', file], { encoding: 'utf8' });
    const syms = (r.stdout || '').split('\n').map((l) => l.split(' '))
      .filter((f) => f.length === 3 && /^[TtWi]$/.test(f[1]))
      .map((f) => [parseInt(f[0], 16), f[2]]).sort((a, b) => a[0] - b[0]);
    symCache.set(file, syms);
  }
  return symCache.get(file);
}

// "after X": the exported symbol at or below addr in file
function nearSymbol(file, addr) {
  const syms = dynSymbols(file);
  let lo = 0, hi = syms.length - 1, best = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (syms[mid][0] <= addr) { best = syms[mid][1]; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

const HEX = /^(0x)?[0-9a-f]+$/;

// the name of an unresolved user address of dso (basename), via its file
function groupName(dso, addr, paths) {
  const file = paths.get(dso);
  const near = file ? nearSymbol(file, parseInt(addr, 16)) : null;
  return near ? `(no symbol: after ${near})` : '(no symbol)';
}

// The top symbols of a report by dso,sym: unresolved addresses of one dso
// grouped by the exported symbol below them.
export function topSymbols(rows, paths, n = 20) {
  const m = new Map();
  for (const r of rows) {
    if (r.sym === undefined) continue;
    const unresolved = r.kind !== 'k' && HEX.test(r.sym);
    const sym = unresolved ? groupName(r.dso, r.sym, paths) : r.sym;
    const k = `${r.dso}\t${sym}`;
    const e = m.get(k) || { dso: r.dso, sym, kernel: r.kind === 'k', pct: 0, addresses: 0 };
    e.pct += r.pct;
    if (unresolved) e.addresses++;
    m.set(k, e);
  }
  return [...m.values()].sort((a, b) => b.pct - a.pct).slice(0, n)
    .map((e) => ({ ...e, pct: Math.round(e.pct * 100) / 100 }));
}

// ---- categories ----

// kernel: the first frame from the leaf up that matches a rule names the
// category; the receive rule looks at the whole kernel chain first
const LOOPBACK_RX = /^(net_rx_action|__netif_receive_skb\w*|process_backlog|ip_rcv|ip_local_deliver\w*|tcp_v4_rcv|tcp_v4_do_rcv)$/;
const DELIVERY = /^(tcp_data_queue|tcp_queue_rcv|sock_def_readable|tcp_event_data_recv|ep_poll_callback)$/;
const KERNEL_RULES = [
  ['kernel: socket reads (recv)', /^(tcp_recvmsg\w*|inet_recvmsg|sock_recvmsg|sock_read_iter|__sys_recvfrom|__x64_sys_recvfrom|__x64_sys_read|ksys_read|vfs_read|skb_copy_datagram_iter|__skb_datagram_iter|simple_copy_to_iter|tcp_rcv_space_adjust|tcp_cleanup_rbuf)$/],
  ['kernel: epoll', /^(ep_\w+|__ep_\w+|do_epoll_\w+|__x64_sys_epoll_\w+|__do_sys_epoll_\w+)$/],
  ['kernel: TCP send path', /^(tcp_\w+|__tcp_\w+|do_tcp_\w+|skb_\w+|__skb_\w+|__alloc_skb|alloc_skb\w*|__kfree_skb|kfree_skb\w*|consume_skb|sk_stream_\w+|sk_page_frag\w*|sk_forced_mem\w*|__sk_mem\w+|sk_reset_timer|ip_\w+|__ip_\w+|dev_\w+|__dev_\w+|loopback_xmit|netif_rx\w*|__netif_rx\w*|enqueue_to_backlog|validate_xmit\w*|neigh_\w+|inet_sendmsg|sock_sendmsg|__sock_sendmsg|sock_write_iter|__sys_sendto|__x64_sys_sendto|__x64_sys_sendmsg|do_writev|vfs_writev|do_iter_write|do_iter_readv_writev|__x64_sys_writev|import_iovec|__import_iovec|copy_page_from_iter|_copy_from_iter\w*|csum_\w+|nf_hook\w*|__local_bh_enable_ip|release_sock|lock_sock\w*|__release_sock)$/],
  ['kernel: timers', /^(hrtimer_interrupt|__hrtimer_run_queues|run_timer_softirq|__run_timers|tick_sched_\w+|__sysvec_apic_timer_interrupt|sysvec_apic_timer_interrupt|call_timer_fn)$/],
  ['kernel: scheduler', /^(schedule\w*|__schedule|finish_task_switch\w*|pick_next_\w+|try_to_wake_up|ttwu_\w+|__wake_up\w*|dequeue_task\w*|enqueue_task\w*|psi_\w+|update_curr|update_rq_clock\w*)$/],
  ['kernel: syscall entry/exit', /^(entry_SYSCALL_64\w*|syscall_return_via_sysret|do_syscall_64|syscall_exit_to_user_mode\w*|syscall_enter_from_user_mode\w*|exit_to_user_mode\w*|__x64_sys_\w+|x64_sys_call|switch_fpu_return|restore_fpregs\w*|fpregs_\w+|__rseq_\w+|rseq_\w+|irqentry_exit\w*)$/],
];

const NGINX_TIMERS = /^(ngx_event_expire_timers|ngx_event_find_timer|ngx_event_no_timers_left|ngx_rbtree_insert|ngx_rbtree_delete|ngx_rbtree_insert_timer_value|ngx_event_add_timer|ngx_event_del_timer)$/;

export const CATEGORIES = ['our module', 'nginx core', 'nginx-rtmp',
  'timers (nginx rbtree, kernel timer interrupts)', 'libc', 'kernel: TCP send path',
  'kernel: loopback receive softirq', 'kernel: socket reads (recv)', 'kernel: epoll',
  'kernel: syscall entry/exit', 'kernel: scheduler', 'kernel: other', 'other'];

const base = (dso) => dso.slice(dso.lastIndexOf('/') + 1);

export function categoryOf(frames) {
  const leaf = frames[0];
  if (!leaf.kernel) {
    const b = base(leaf.dso);
    if (b.startsWith('ngx_ws_stream')) return 'our module';
    if (b === 'nginx') return NGINX_TIMERS.test(leaf.sym) ? CATEGORIES[3] : 'nginx core';
    if (b.startsWith('ngx_rtmp')) return 'nginx-rtmp';
    if (/^libc[.-]/.test(b)) return 'libc';
    return 'other';
  }
  const k = frames.filter((f) => f.kernel);
  if (k.some((f) => LOOPBACK_RX.test(f.sym))) return 'kernel: loopback receive softirq';
  for (const f of k)
    for (const [cat, re] of KERNEL_RULES)
      if (re.test(f.sym)) return cat === 'kernel: timers' ? CATEGORIES[3] : cat;
  return 'kernel: other';
}

// the functions the issue asks about: self (the sample's leaf), total
// (anywhere in its chain) and, where `less` is set, total less what runs
// below a `less` frame called from it (the wake-up without the sends it
// makes, the send loop without its writev)
export const SPECIFIC = [
  { key: 'wake', label: 'wake-up per stream (ngx_ws_stream_*wake*)',
    re: /^ngx_ws_stream_(\w+_)?wake(_\w+)?$/, less: /^ngx_ws_stream_send(_lazy)?$/,
    lessLabel: 'the sends' },
  { key: 'ring', label: 'ring reads (ws_stream_ring_read, _next, _intact, _head, _key_at)',
    re: /^ws_stream_ring_(read|next|intact|head|key_at|max_frame)$/ },
  { key: 'send_ring', label: 'send loop, per record: ngx_ws_stream_send_ring',
    re: /^ngx_ws_stream_send_ring$/, less: /^(ngx_linux_sendfile_chain|ngx_ssl_send_chain)$/,
    lessLabel: 'c->send_chain' },
  { key: 'send', label: 'ngx_ws_stream_send, _send_lazy', re: /^ngx_ws_stream_send(_lazy)?$/,
    less: /^ngx_ws_stream_send_ring$/, lessLabel: 'send_ring' },
  { key: 'batch', label: 'coalescing: ngx_ws_stream_batch_*', re: /^ngx_ws_stream_batch_\w+$/,
    less: /^ngx_ws_stream_send$/, lessLabel: 'the sends' },
  { key: 'stats', label: 'statistics: ngx_ws_stream_stats_*, ws_stream_rate/agg/hist/spread/seen_*',
    re: /^(ngx_ws_stream_stats_\w+|ws_stream_(rate|agg|hist|spread|seen)_\w+)$/ },
  { key: 'chain', label: 'writev path: ngx_linux_sendfile_chain, ngx_output_chain_to_iovec, ngx_writev(_chain)',
    re: /^(ngx_linux_sendfile_chain|ngx_output_chain_to_iovec|ngx_writev|ngx_writev_chain|ngx_chain_update_sent|ngx_chain_coalesce_file)$/,
    less: /^(writev|__writev|__GI___writev)$/, lessLabel: 'libc writev()' },
  { key: 'writev_kernel', label: 'writev() in the kernel (do_writev and below)',
    re: /^(do_writev|vfs_writev)$/, kernel: true },
  { key: 'libc_mem', label: 'libc memcpy/memmove/memset, malloc/free',
    re: /^(__memcpy\w*|__memmove\w*|__memset\w*|memcpy|memmove|memset|malloc|free|_int_malloc|_int_free|calloc|realloc|cfree\w*|__libc_\w*alloc|__libc_free)$/ },
  { key: 'delivery', label: 'loopback: delivering data to the viewers\' sockets (softirq)',
    chain: (k) => k.some((f) => LOOPBACK_RX.test(f.sym)) && k.some((f) => DELIVERY.test(f.sym)) },
];

// adds a sample of period p with frames (leaf first) to the counts of s
function countSpecific(s, c, frames, p) {
  const i = frames.findIndex((f) => f.kernel === !!s.kernel && s.re.test(f.sym));
  if (i < 0) return;
  c.total += p;
  if (i === 0) c.self += p;
  if (s.less && !frames.slice(0, i).some((f) => s.less.test(f.sym))) c.less += p;
}

// perf script of file, streamed: the shares by category and of SPECIFIC,
// the self time of every (dso, symbol), per pid, how many chains reached
// __libc_start_main (whole stacks), and the dso files seen
export async function scriptShares(file) {
  const child = spawn(PERF, ['script', '-i', file, '-F', 'pid,period,ip,sym,dso', '--no-inline'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  const cats = new Map(), self = new Map(), pids = new Map(), paths = new Map();
  const spec = Object.fromEntries(SPECIFIC.map((s) => [s.key, { self: 0, total: 0, less: 0 }]));
  let total = 0, samples = 0, withUser = 0, whole = 0, moduleAll = 0, moduleResolved = 0;
  let cur = null;
  const done = () => {
    if (!cur || !cur.frames.length) { cur = null; return; }
    const { period: p, frames } = cur;
    total += p;
    samples++;
    pids.set(cur.pid, (pids.get(cur.pid) || 0) + p);
    const cat = categoryOf(frames);
    cats.set(cat, (cats.get(cat) || 0) + p);
    const leaf = frames[0];
    const k = `${leaf.kernel ? '[kernel]' : base(leaf.dso)}\t${leaf.sym}`;
    self.set(k, (self.get(k) || 0) + p);
    if (!leaf.kernel && base(leaf.dso).startsWith('ngx_ws_stream')) {
      moduleAll += p;
      if (leaf.sym !== '[unknown]') moduleResolved += p;
    }
    const user = frames.filter((f) => !f.kernel);
    if (user.length) {
      withUser++;
      if (user.some((f) => /^__libc_start/.test(f.sym))) whole++;
    }
    const kern = frames.filter((f) => f.kernel);
    for (const s of SPECIFIC) {
      if (!s.chain) countSpecific(s, spec[s.key], frames, p);
      else if (s.chain(kern)) spec[s.key].total += p;
    }
    cur = null;
  };
  const rl = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.startsWith('\t')) {
      const m = /^\t\s*([0-9a-f]+) (.*) \((.*)\)$/.exec(line);
      if (!m || !cur) continue;
      const kernel = m[1].length === 16 && m[1].startsWith('ffff');
      if (!kernel && m[3].startsWith('/')) paths.set(base(m[3]), m[3]);
      cur.frames.push({ ip: m[1], sym: m[2], dso: m[3], kernel });
    } else if (line.trim()) {
      done();
      const m = /^\s*(\d+)\s+(\d+)/.exec(line);
      cur = m ? { pid: +m[1], period: +m[2], frames: [] } : null;
    } else done();
  }
  done();
  const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode)
    : child.once('exit', (c) => r(c))));
  if (code !== 0 && !samples) throw new Error(`perf script: ${err.trim().slice(-1000)}`);
  const pct = (x) => (total ? Math.round((x / total) * 10000) / 100 : NaN);
  return {
    samples, period_total: total,
    categories: CATEGORIES.map((c) => ({ category: c, pct: pct(cats.get(c) || 0) })),
    specific: SPECIFIC.map((s) => ({ key: s.key, label: s.label,
      self_pct: s.chain || s.kernel ? null : pct(spec[s.key].self),
      less_pct: s.less ? pct(spec[s.key].less) : null, less: s.lessLabel ?? null,
      total_pct: pct(spec[s.key].total) })),
    by_pid: [...pids].map(([pid, p]) => ({ pid, pct: pct(p) })),
    module_resolved_pct: moduleAll ? Math.round((moduleResolved / moduleAll) * 1000) / 10 : NaN,
    module_pct: pct(moduleAll),
    whole_stacks_pct: withUser ? Math.round((whole / withUser) * 1000) / 10 : NaN,
    paths,
    self_top: [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)
      .map(([key, p]) => { const [dso, sym] = key.split('\t'); return { dso, sym, pct: pct(p) }; }),
  };
}

// the reports of one perf.data, their texts kept in dir
async function analyse(file, dir, topN) {
  const common = ['-i', file, '--stdio', '--no-children', '-g', 'none'];
  const t0 = Date.now();
  const bySym = perfText(['report', ...common, '--sort', 'dso,sym']);
  const byDso = perfText(['report', ...common, '--sort', 'dso']);
  await fsp.writeFile(path.join(dir, 'report-sym.txt'), bySym);
  await fsp.writeFile(path.join(dir, 'report-dso.txt'), byDso);
  const t1 = Date.now();
  const sh = await scriptShares(file);
  const sym = parseReport(bySym), dso = parseReport(byDso);
  const { paths, ...shares } = sh;
  return { report_ms: t1 - t0, script_ms: Date.now() - t1, lost: sym.lost, samples_label: sym.samples,
    top: topSymbols(sym.rows, paths, topN),
    dsos: dso.rows.map((r) => ({ dso: r.dso, pct: r.pct })), ...shares };
}

// ---- one arm ----

const slimLoad = (r) => {
  if (!r || r.failed_run) return r;
  const keep = ['connected', 'failed', 'window_s', 'sei_delay_us', 'bytes_per_s_per_viewer',
    'video_frames_per_s', 'frames_lost', 'viewers_with_loss', 'skips', 'skipped_frames',
    'server_cpu_ms', 'load_cpu_ms', 'cpu_ms_per_viewer_s', 'exit'];
  return Object.fromEntries(keep.filter((k) => k in r).map((k) => [k, r[k]]));
};

async function runArm(o, a) {
  const dir = path.join(o.out, a.key);
  await fsp.mkdir(dir, { recursive: true });
  const srv = await startNginx({ workers: a.workers, tag: `prof-${a.key}`,
    wsConf: a.coalesce && a.coalesce !== '0' ? `ws_stream_coalesce ${a.coalesce};` : '' });
  const zoneBytes = parseSize(srv.zone);
  const res = { ...a, dir };
  const file = path.join(dir, 'perf.data');
  for (const f of [file, `${file}.old`]) await fsp.rm(f, { force: true });
  let pub = null, child = null, exited = false, loadRun = null;
  try {
    pub = await startPublisher(o.fixture, srv.rtmpUrl(STREAM));
    const published = Date.now();
    await waitPlayable('ws', srv.wsUrl(STREAM));
    // held long enough for connecting, the warm-up and the profile; ended by SIGTERM
    const hold = Math.ceil(a.viewers / o.rate) + 60 + o.warmup + o.seconds;
    loadRun = runLoad({ mode: 'ws', url: srv.wsUrl(STREAM), n: a.viewers, seconds: hold,
      warmup: o.warmup, pids: srv.pids(), rate: o.rate, threads: o.threads,
      onSpawn: (c) => { child = c; c.once('exit', () => { exited = true; }); } })
      .catch((e) => ({ failed_run: e.message.split('\n')[0] }));
    const t0 = Date.now();
    res.connected = await waitConnected(srv.httpPort, a.viewers, () => exited);
    res.connect_s = (Date.now() - t0) / 1000;
    await sleep(o.warmup * 1000);
    res.publish_age_s = await untilAge(published, o.settle);
    const pids = srv.workerPids();
    res.worker_pids = pids;
    res.memory_before = memoryOf(pids, zoneBytes);
    res.connected_at_profile = establishedTo(srv.httpPort);
    o.log(`profile: ${a.label}: ${res.connected_at_profile} connected, perf record ${o.seconds} s ...`);
    res.perf = await perfRecord(pids, file, o);
    res.memory = memoryOf(pids, zoneBytes);
    res.connected_after = establishedTo(srv.httpPort);
    if (child && !exited) child.kill('SIGTERM');
    res.load = slimLoad(await loadRun);
    res.publisher_alive = pub.alive();
    res.server_bad_log = badLog(srv).slice(0, 5);
  } finally {
    if (child && !exited) child.kill('SIGKILL');
    if (loadRun) await loadRun;
    if (pub) await pub.stop();
    await srv.stop({ keep: true });
  }
  // the prefix (its copy of our .so, for the symbols) until the reports are done
  try {
    o.log(`profile: ${a.label}: perf report / script ...`);
    Object.assign(res, await analyse(file, dir, o.top));
  } finally {
    await fsp.rm(srv.prefix, { recursive: true, force: true });
    if (!o.keepData) await fsp.rm(file, { force: true });
  }
  return res;
}

// The age of the publish at which every arm reads its memory: the ring in
// the zone fills with time, not with viewers, so arms read at different
// ages (5,000 viewers take 4 s longer to connect than 1,000) would count
// the ring's newly touched pages as the viewers' (about 250 B per viewer
// at 720p). Enough for the largest arm to connect and warm up.
export function settleSeconds(arms, rate, warmup) {
  return Math.ceil(Math.max(...arms.map((a) => a.viewers)) / rate) + warmup + 5;
}

// waits until `seconds` after t0 (ms); the age reached, in seconds
export async function untilAge(t0, seconds) {
  const left = t0 + seconds * 1000 - Date.now();
  if (left > 0) await sleep(left);
  return (Date.now() - t0) / 1000;
}

// memory per viewer of each configuration run at two viewer counts or more
// (the fewest and the most connected)
export function perViewer(arms) {
  const groups = new Map();
  for (const a of arms) {
    if (a.failed_run || !a.memory) continue;
    const k = configKey(a);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(a);
  }
  const out = [];
  for (const list of groups.values()) {
    if (list.length < 2) continue;
    const s = [...list].sort((x, y) => x.connected_after - y.connected_after);
    const lo = s[0], hi = s[s.length - 1];
    const dn = hi.connected_after - lo.connected_after;
    if (dn <= 0) continue;
    const per = (f) => ((f(hi) - f(lo)) * 1024) / dn;
    out.push({ config: configLabel(lo), from: lo.connected_after, to: hi.connected_after,
      vm_rss_bytes: per((a) => a.memory.vm_rss_kb),
      private_outside_zone_bytes: per((a) => a.memory.private_outside_zone_kb),
      heap_bytes: per((a) => a.memory.heap_private_dirty_kb),
      private_dirty_minus_zone_rss_bytes: per((a) => a.memory.private_dirty_kb - a.memory.zone_rss_kb),
      zone_rss_bytes: per((a) => a.memory.zone_rss_kb),
      tcp_mem_bytes: per((a) => (a.memory.sockstat.mem_pages ?? NaN) * 4),
    });
  }
  return out;
}

// o: { size, fixture, arms (planArms), seconds, warmup, freq, callGraph,
// rate, threads, top, out, keepData, log }; the result, with .markdown
export async function profileSection(o) {
  o = { size: '720p', seconds: 10, warmup: 3, freq: 999, callGraph: 'dwarf,16384', rate: 1000,
    threads: 2, top: 20, keepData: false, log: () => {},
    out: path.join(BENCH_BUILD, 'profile'), ...o };
  if (!o.fixture) o.fixture = path.join(BENCH_BUILD, `fixture-${o.size}.flv`);
  if (o.settle === undefined) o.settle = settleSeconds(o.arms, o.rate, o.warmup);
  if (!fs.existsSync(o.fixture)) throw new Error(`${o.fixture} is missing: make bench-tools`);
  await fsp.mkdir(o.out, { recursive: true });
  const access = perfAccess(o.out);
  const res = { size: o.size, seconds: o.seconds, warmup: o.warmup, freq: o.freq,
    call_graph: o.callGraph, perf_version: perfText(['--version']).trim(),
    perf_event_paranoid: access.paranoid, paranoid_lowered: access.lowered, arms: [] };
  try {
    for (const a of o.arms) {
      o.log(`profile: ${a.label} ...`);
      try {
        res.arms.push(await runArm(o, a));
      } catch (e) {
        res.arms.push({ ...a, failed_run: e.message.split('\n')[0] });
        o.log(`profile: ${a.label} failed: ${e.message}`);
      }
    }
  } finally {
    access.restore();
  }
  res.per_viewer = perViewer(res.arms);
  await fsp.writeFile(path.join(o.out, 'results.json'), JSON.stringify(res, null, 1));
  res.markdown = profileMarkdown(res);
  await fsp.writeFile(path.join(o.out, 'results.md'), res.markdown);
  return res;
}

// ---- markdown ----

const num = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const mb = (kb) => num(kb / 1024, 1);
const table = (head, rows) => [head, head.map(() => '---'), ...rows]
  .map((c) => `| ${c.join(' | ')} |`).join('\n');

export function profileMarkdown(r) {
  const ok = r.arms.filter((a) => !a.failed_run);
  const short = (a) => `${a.workers}w c${coalesceLabel(a.coalesce)} ${a.viewers}`;
  const out = [`Profile: fixture ${r.size}; after ${r.warmup} s of warm-up, \`perf record -F ${r.freq} `
    + `-g --call-graph ${r.call_graph}\` of the workers for ${r.seconds} s (${r.perf_version}; `
    + `cpu-clock); self time (--no-children). perf_event_paranoid ${r.perf_event_paranoid}`
    + `${r.paranoid_lowered ? ' (lowered for the run)' : ''}.`, ''];
  out.push(table(['arm', 'viewers connected', 'samples (lost)', 'workers CPU %', 'perf CPU %',
    'machine CPU % (all cores)', 'delay p50 / p99 ms', 'frames lost', 'skips', 'unwound to main %',
    'module samples resolved %'],
  r.arms.map((a) => (a.failed_run ? [a.label, '-', `failed: ${a.failed_run.slice(0, 100)}`, '', '', '', '', '', '', '', '']
    : [a.label, `${a.connected_at_profile}/${a.viewers}`, `${a.samples} (${a.lost})`,
      a.perf.worker_cpu_pct.map((x) => num(x, 0)).join(' + '), num(a.perf.perf_cpu_pct, 0),
      num(a.perf.machine_cpu_pct, 0),
      a.load?.sei_delay_us ? `${num(a.load.sei_delay_us.p50 / 1000)} / ${num(a.load.sei_delay_us.p99 / 1000)}` : '-',
      `${a.load?.frames_lost ?? '-'}`, `${a.load?.skips ?? '-'}`, num(a.whole_stacks_pct),
      num(a.module_resolved_pct)]))));
  if (!ok.length) return out.join('\n') + '\n';
  out.push('', 'Share of samples by category (%):', '');
  out.push(table(['category', ...ok.map(short)], CATEGORIES.map((c) => [c,
    ...ok.map((a) => num(a.categories.find((x) => x.category === c)?.pct, 1))])));
  out.push('', 'The functions asked about, % of samples: self / total less what it calls '
    + '(named) / total:', '');
  out.push(table(['what', 'less', ...ok.map(short)], SPECIFIC.map((s) => [s.label, s.lessLabel ?? '-',
    ...ok.map((a) => {
      const x = a.specific.find((y) => y.key === s.key);
      return `${x.self_pct === null ? '-' : num(x.self_pct, 2)} / ${x.less_pct === null ? '-'
        : num(x.less_pct, 2)} / ${num(x.total_pct, 1)}`;
    })])));
  // CPU µs per viewer-second: a share of the sampled time (the periods, ns)
  // over the window and the viewers
  const us = (a, pct) => (pct === null || pct === undefined ? '-'
    : num((pct / 100) * (a.period_total / 1000) / (a.perf.wall_ms / 1000) / a.connected_at_profile, 2));
  out.push('', 'CPU µs per viewer-second (the share x the sampled time / the window / the viewers; '
    + 'the functions: total less what they call, or self):', '');
  out.push(table(['what', ...ok.map(short)], [['all the workers\' samples', ...ok.map((a) => us(a, 100))],
    ...CATEGORIES.map((c) => [c, ...ok.map((a) => us(a, a.categories.find((x) => x.category === c)?.pct))]),
    ...SPECIFIC.map((sp) => [sp.label, ...ok.map((a) => {
      const x = a.specific.find((y) => y.key === sp.key);
      return us(a, x.less_pct ?? x.self_pct ?? x.total_pct);
    })])]));
  out.push('', 'By shared object (%):', '');
  const dsos = [...new Set(ok.flatMap((a) => a.dsos.slice(0, 8).map((d) => d.dso)))];
  out.push(table(['dso', ...ok.map(short)], dsos.map((d) => [d,
    ...ok.map((a) => num(a.dsos.find((x) => x.dso === d)?.pct, 1))])));
  for (const a of ok) {
    out.push('', `Top symbols, ${a.label} (self %):`, '');
    out.push(table(['%', 'dso', 'symbol'], a.top.map((t) => [num(t.pct, 2), t.dso,
      `\`${t.sym}\`${t.addresses > 1 ? ` (${t.addresses} addresses)` : ''}`])));
  }
  out.push('', 'Memory of the workers (after the profile; MB; zone: the shared zone mapping\'s '
    + 'resident pages; private outside the zone: Private_Dirty less the zone mapping\'s own '
    + 'Private_Dirty; TCP mem: /proc/net/sockstat, pages of 4 kB, both ends of loopback):', '');
  out.push(table(['arm', 'viewers', 'VmRSS sum', 'Private_Dirty sum', 'private outside the zone',
    'of which [heap]', 'zone resident', 'TCP mem pages (MB)', 'TCP sockets in use', 'VmRSS sum before the profile'],
  ok.map((a) => [a.label, `${a.connected_after}`, mb(a.memory.vm_rss_kb), mb(a.memory.private_dirty_kb),
    mb(a.memory.private_outside_zone_kb), mb(a.memory.heap_private_dirty_kb), mb(a.memory.zone_rss_kb),
    `${a.memory.sockstat.mem_pages} (${num(a.memory.sockstat.mem_pages * 4 / 1024, 0)})`,
    `${a.memory.sockstat.inuse}`, mb(a.memory_before.vm_rss_kb)])));
  if (r.per_viewer.length) {
    out.push('', 'Per viewer (bytes; the difference between the two counts over the viewers between them):', '');
    out.push(table(['configuration', 'viewers', 'VmRSS', 'private outside the zone', 'of which [heap]',
      'Private_Dirty - zone resident', 'zone resident', 'kernel TCP mem (context)'],
    r.per_viewer.map((p) => [p.config, `${p.from} -> ${p.to}`, num(p.vm_rss_bytes, 0),
      num(p.private_outside_zone_bytes, 0), num(p.heap_bytes, 0), num(p.private_dirty_minus_zone_rss_bytes, 0),
      num(p.zone_rss_bytes, 0), num(p.tcp_mem_bytes, 0)])));
  }
  return out.join('\n') + '\n';
}
