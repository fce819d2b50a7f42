// Where our nginx workers' CPU goes while they fan out a stream to many
// WebSocket viewers (perf record of the workers, the top symbols, the
// shares by category and of the wake-up, ring reads, send loop and writev
// path), and the memory per viewer (bench/lib/profbench.mjs says how).
// Starts its own nginx, stamping publisher and load client per arm;
// needs perf (linux-perf) and root or a low kernel.perf_event_paranoid;
// asserts nothing.
//
//   node bench/profile.mjs [--quick] [--viewers 1000,5000]
//       [--workers 1,2] [--coalesce 0,100ms] [--seconds 10] [--warmup 3]
//       [--size 720p] [--freq 999] [--call-graph dwarf,16384|fp|none]
//       [--rate 1000] [--threads 2] [--top 20] [--out build/bench/profile]
//       [--keep-data] [--json]
//
// Arms: every configuration at every viewer count, each on a fresh nginx.
// The default configurations: 1 worker and 2 workers without coalescing,
// 1 worker with ws_stream_coalesce 100ms; --workers or --coalesce give
// every combination of the two lists instead (missing one: 1 worker,
// coalesce 0). --quick: 50 and 150 viewers of 1 worker, coalesce 0, 3 s
// profiles after 1 s (under a minute). The tables on stdout (--json: the
// result as one JSON line); results.{json,md} and each arm's perf report
// texts in --out; --keep-data keeps each arm's perf.data there too (with
// dwarf stacks, ~100 MB an arm).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { profileSection, planArms } from './lib/profbench.mjs';
import { BENCH_BUILD, stopAll } from './lib/servers.mjs';

const str = { type: 'string' };
const { values: v } = parseArgs({ options: {
  quick: { type: 'boolean' }, 'keep-data': { type: 'boolean' }, json: { type: 'boolean' },
  viewers: str, workers: str, coalesce: str, seconds: str, warmup: str, size: str,
  freq: str, 'call-graph': str, rate: str, threads: str, top: str, out: str,
} });
const items = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const QUICK = !!v.quick;

let configs;
if (v.workers || v.coalesce) {
  configs = items(v.workers ?? '1').map(Number).flatMap((workers) =>
    items(v.coalesce ?? '0').map((coalesce) => ({ workers, coalesce })));
} else if (QUICK) {
  configs = [{ workers: 1, coalesce: '0' }];
} else {
  configs = [{ workers: 1, coalesce: '0' }, { workers: 2, coalesce: '0' },
    { workers: 1, coalesce: '100ms' }];
}
const size = v.size ?? '720p';

try {
  const r = await profileSection({
    size, fixture: path.join(BENCH_BUILD, `fixture-${size}.flv`),
    arms: planArms(configs, items(v.viewers ?? (QUICK ? '50,150' : '1000,5000')).map(Number)),
    seconds: Number(v.seconds ?? (QUICK ? 3 : 10)), warmup: Number(v.warmup ?? (QUICK ? 1 : 3)),
    freq: Number(v.freq ?? 999), callGraph: v['call-graph'] ?? 'dwarf,16384',
    rate: Number(v.rate ?? 1000), threads: Number(v.threads ?? 2), top: Number(v.top ?? 20),
    keepData: !!v['keep-data'], out: path.resolve(v.out ?? path.join(BENCH_BUILD, 'profile')),
    log: (m) => process.stderr.write(`${m}\n`),
  });
  if (v.json) {
    const { markdown: _m, ...rest } = r;
    process.stdout.write(`${JSON.stringify(rest)}\n`);
  } else process.stdout.write(r.markdown);
} finally {
  await stopAll();
}
