// The floor of fan-out as the runner uses it: build/bench/ws-stream-floor
// (bench/floor.c) sends the fixture itself, paced and stamped as the
// publisher does it, to WebSocket viewers in our protocol v1, each message
// framed once and written to every viewer with no protocol or ring logic:
// one write() per message per viewer (`floor`) or one writev() per viewer
// per event-loop pass (`floor-gather`). The load client measures it in ws
// mode like our nginx, its CPU and RSS by PID. One process, one loopback
// port, stopped by PID; SIGTERM makes it print its summary (JSON on stdout).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_BUILD, freePort } from './servers.mjs';
import { waitPort } from '../../t/lib/nginx.mjs';

export const FLOOR = path.join(BENCH_BUILD, 'ws-stream-floor');

export const FLOOR_LABELS = {
  each: 'floor, a write() per message per viewer',
  gather: 'floor, a writev() per viewer per loop pass',
};

const live = new Set();           // floors still running, killed on exit
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });

// Starts a floor of `fixture` in `mode` (each, gather). Resolves with a
// server object as lib/servers.mjs's: pids(), wsUrl(name), alive(), and
// stop(), which resolves with the floor's summary (null if it gave none).
export async function startFloor({ mode = 'each', fixture, maxLagMs } = {}) {
  if (!fs.existsSync(FLOOR)) throw new Error(`${FLOOR} is missing: make bench-tools`);
  const port = await freePort();
  const args = ['-i', fixture, '--port', String(port), '--mode', mode, '--json', '--quiet'];
  if (maxLagMs) args.push('--max-lag', String(maxLagMs));
  const child = spawn(FLOOR, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const exited = new Promise((r) => child.once('exit', () => { live.delete(child); r(); }));
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  const alive = () => child.exitCode === null && child.signalCode === null;
  try {
    await waitPort(port, { timeout: 10000 });
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n${err}`);
  }
  return {
    kind: 'floor', mode, port,
    pids: () => [child.pid],
    wsUrl: (name) => `ws://127.0.0.1:${port}/ws/live/${name}`,
    alive,
    output: () => err,
    stop: async () => {
      if (alive()) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      try { return JSON.parse(out.trim().split('\n').pop()); } catch { return null; }
    },
  };
}
