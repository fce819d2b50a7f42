// The load client build/bench/ws-stream-load as the runner uses it: one run
// resolves with its JSON report; waiting for a stream to play; the bad lines
// of an nginx's error log.
import { spawn } from 'node:child_process';
import { LOAD, sleep } from './servers.mjs';

// One load-client run of n viewers of url in `mode`; resolves with its JSON
// report. `extra` are more options (--report-interval, --user-agent);
// `onSpawn(child)` gets the process (SIGTERM ends the run early, with its
// report).
export function runLoad({ mode, url, n, seconds, warmup, pids = [], rate = 1000,
  threads = 2, extra = [], onSpawn }) {
  const args = ['--mode', mode, '--url', url, '-n', String(n),
    '--duration', String(seconds), '--warmup', String(warmup),
    '--rate', String(rate), '--threads', String(threads), '--json', ...extra];
  if (pids.length) args.push('--pids', pids.join(','));
  return new Promise((resolve, reject) => {
    const child = spawn(LOAD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err = (err + d).slice(-8000); });
    const limit = (seconds + warmup + n / rate + 90) * 1000;
    const t = setTimeout(() => child.kill('SIGKILL'), limit);
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      const line = out.trim().split('\n').pop();
      try {
        const r = JSON.parse(line);
        r.exit = code;
        r.client_log = err.trim().split('\n').slice(-12).join('\n');
        resolve(r);
      } catch {
        reject(new Error(`load client exited ${code ?? sig} without a report:\n${err}`));
      }
    });
    onSpawn?.(child);
  });
}

// Wait until one viewer gets stamped video (the publisher is through).
export async function waitPlayable(mode, url) {
  let last;
  for (let i = 0; i < 10; i++) {
    try {
      last = await runLoad({ mode, url, n: 1, seconds: 1, warmup: 0 });
      if (last.stamped_frames > 0) return;
    } catch (e) { last = e.message; }
    await sleep(500);
  }
  throw new Error(`stream did not become playable at ${url}: ${JSON.stringify(last).slice(0, 600)}`);
}

// [alert]/[crit]/[emerg] lines and sanitizer reports of an nginx
export function badLog(srv) {
  if (srv.kind !== 'nginx') return [];
  const lines = srv.errorLog().split('\n')
    .filter((l) => /\[(alert|crit|emerg)\]/.test(l));
  const san = srv.sanitizerReports();
  if (san) lines.push(...san.split('\n').filter(Boolean).slice(0, 20));
  return lines;
}
