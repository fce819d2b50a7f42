// Synchronized playback in headless Chromium: audience drift, stalls and
// latency through a jittery link, clock offset error, zap time
// (bench/lib/syncbench.mjs says how). Starts its own servers (our nginx,
// node-media-server, stamping publishers), relays and browser; asserts
// nothing. Also `make bench BENCH_ARGS="--only sync"`.
//
//   node bench/sync.mjs [--seconds 60] [--settle 10] [--players 2,10]
//       [--delay 30] [--jitter 15] [--zaps 5] [--arms drift,jitter,zap]
//       [--size 360p|180p] [--kinds ours,mpegts]
//       [--player-root DIR | --player-commit REV] [--out build/bench/sync] [--json]
//
// --player-commit REV serves the player of that commit (git archive into
// the output directory), for figures before and after a player change;
// default: the working tree's player/. Table on stdout; results.json and
// results.md in --out.
import path from 'node:path';
import { syncSection, syncMarkdown } from './lib/syncbench.mjs';
import { BENCH_BUILD, stopAll } from './lib/servers.mjs';

const argv = process.argv.slice(2);
const arg = (n, d) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : d;
};
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

try {
  const r = await syncSection({
    seconds: Number(arg('seconds', 60)), settle: Number(arg('settle', 10)),
    players: list(arg('players', '2,10')).map(Number),
    delay: Number(arg('delay', 30)), jitter: Number(arg('jitter', 15)), zapTimes: Number(arg('zaps', 5)),
    arms: list(arg('arms', 'drift,jitter,zap')), size: arg('size', '360p'), kinds: list(arg('kinds', 'ours,mpegts')),
    player: { root: arg('player-root', null), commit: arg('player-commit', null) },
    out: arg('out', path.join(BENCH_BUILD, 'sync')),
    log: (m) => process.stderr.write(`${m}\n`),
  });
  process.stdout.write(argv.includes('--json') ? `${JSON.stringify(r)}\n` : syncMarkdown(r));
} finally {
  await stopAll();
}
