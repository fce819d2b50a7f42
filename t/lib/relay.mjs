// A user-space TCP relay that delays chunks in order (this kernel has no
// netem): it listens on a loopback port, connects each client to the target
// and forwards both ways. A chunk of a delayed direction is due at its
// arrival + delay + uniform(-jitter, +jitter) ms and is written at the
// later of that and the previous chunk's write, so the order is kept and a
// chunk never overtakes the one before it (what a jittery link in front of
// a TCP receiver looks like: late chunks hold back the ones behind them).
//
//   const relay = await startRelay({ port: 8080, delay: 30, jitter: 15 });
//   ws://127.0.0.1:${relay.port}/ws/live/name ... await relay.stop();
//
// Bounded: a connection ends with either of its sockets (a FIN is passed on
// once the chunks before it are written), the relay stops by itself after
// `lifetime` ms, and a direction that holds more than `highWater` bytes
// pauses its reading side until it has written them. No dependencies.
import net from 'node:net';

const DIRECTIONS = ['down', 'up', 'both'];   // down: server -> client

/**
 * @param {{port: number, host?: string, listen?: string, delay?: number, jitter?: number,
 *   direction?: 'down'|'up'|'both', lifetime?: number, highWater?: number, random?: () => number}} opts
 *   port, host: the target; delay, jitter ms; lifetime ms until the relay stops by itself;
 *   random: the source of the jitter (Math.random)
 * @returns {Promise<{port: number, host: string, stats: object, stop: () => Promise<void>, stopped: Promise<void>}>}
 */
export async function startRelay({ port, host = '127.0.0.1', listen = '127.0.0.1', delay = 0, jitter = 0,
  direction = 'down', lifetime = 15 * 60000, highWater = 16 << 20, random = Math.random }) {
  if (!DIRECTIONS.includes(direction)) throw new Error(`direction: one of ${DIRECTIONS.join(', ')}`);
  if (!(delay >= 0) || !(jitter >= 0) || jitter > delay) throw new Error('need 0 <= jitter <= delay');
  const conns = new Set();
  const stats = { connections: 0, open: 0, chunks: { down: 0, up: 0 }, bytes: { down: 0, up: 0 }, maxQueued: 0 };
  const delayed = (dir) => direction === 'both' || direction === dir;

  // src -> dst, each chunk written at max(due, the previous write) when the direction is delayed
  function pipe(src, dst, dir, conn) {
    const queue = [];            // [at ms, chunk | null (end)]
    let last = 0, queued = 0, timer = null;
    const flush = () => {
      timer = null;
      const now = performance.now();
      while (queue.length && queue[0][0] <= now + 0.5) {
        const [, chunk] = queue.shift();
        if (chunk === null) { dst.end(); continue; }
        queued -= chunk.length;
        if (!dst.destroyed) dst.write(chunk);
      }
      if (queued < highWater / 2 && src.isPaused()) src.resume();
      if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0][0] - now));
    };
    const push = (chunk) => {
      const now = performance.now();
      const due = now + delay + (jitter ? (2 * random() - 1) * jitter : 0);
      last = Math.max(due, last);
      queue.push([last, chunk]);
      if (chunk) {
        queued += chunk.length;
        stats.maxQueued = Math.max(stats.maxQueued, queued);
        if (queued > highWater) src.pause();
      }
      if (queue.length === 1) { clearTimeout(timer); timer = setTimeout(flush, Math.max(0, last - now)); }
    };
    src.on('data', (chunk) => {
      stats.chunks[dir]++;
      stats.bytes[dir] += chunk.length;
      if (delayed(dir)) push(chunk);
      else if (!dst.destroyed) dst.write(chunk);
    });
    src.on('end', () => { if (delayed(dir)) push(null); else dst.end(); });
    conn.timers.push(() => clearTimeout(timer));
  }

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    stats.connections++;
    stats.open++;
    const upstream = net.connect({ port, host, allowHalfOpen: true });
    const conn = { client, upstream, timers: [] };
    conns.add(conn);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let done = false;
    const close = () => {
      if (done) return;
      done = true;
      for (const t of conn.timers) t();
      client.destroy();
      upstream.destroy();
      conns.delete(conn);
      stats.open--;
    };
    conn.close = close;
    pipe(upstream, client, 'down', conn);
    pipe(client, upstream, 'up', conn);
    // a side that ended cleanly: its FIN is passed on after the chunks before it, and the
    // connection goes once both are closed (or a few seconds after the first, bounded);
    // a reset or an error: at once
    let closed = 0;
    for (const s of [client, upstream]) {
      let ended = false;
      s.on('end', () => { ended = true; });
      s.on('error', close);
      s.on('close', () => {
        if (!ended || ++closed === 2) return close();
        const t = setTimeout(close, delay + jitter + 5000);
        conn.timers.push(() => clearTimeout(t));
      });
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listen, () => { server.off('error', reject); resolve(); });
  });

  let resolveStopped;
  const stopped = new Promise((r) => { resolveStopped = r; });
  const life = setTimeout(() => stop(), lifetime);
  life.unref();
  let stopping = null;
  function stop() {
    if (stopping) return stopping;
    clearTimeout(life);
    stopping = new Promise((resolve) => {
      server.close(() => resolve());
      for (const c of [...conns]) c.close();
    }).then(() => resolveStopped());
    return stopping;
  }
  return { port: server.address().port, host: listen, stats, stop, stopped,
    get connections() { return conns.size; } };
}
