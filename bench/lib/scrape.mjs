// HTTP GETs of the statistics locations over one keep-alive connection,
// one at a time, each timed from the request to the last byte of the answer.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { sleep } from './servers.mjs';

export class Scraper {
  constructor(port) {
    this.port = port;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  // resolves with { status, bytes, ms, body }
  get(path) {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.get({ host: '127.0.0.1', port: this.port, path,
        agent: this.agent, timeout: 10000 }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode, bytes: body.length,
            ms: performance.now() - t0, body });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on('error', reject);
    });
  }

  async json(path) {
    const r = await this.get(path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
    return JSON.parse(r.body.toString('utf8'));
  }

  // GET paths in turn, one every intervalMs (or back to back when an
  // answer takes longer), until stop() is called. Resolves with
  // { [path]: [{ status, bytes, ms }] }.
  loop(paths, intervalMs) {
    const out = Object.fromEntries(paths.map((p) => [p, []]));
    let stopped = false;
    const done = (async () => {
      let next = performance.now();
      for (let i = 0; !stopped; i++) {
        const p = paths[i % paths.length];
        try {
          const { status, bytes, ms } = await this.get(p);
          out[p].push({ status, bytes, ms });
        } catch (e) {
          out[p].push({ status: 0, bytes: 0, ms: NaN, error: e.message });
        }
        next += intervalMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        else next = performance.now();
      }
      return out;
    })();
    return { stop: () => { stopped = true; return done; } };
  }

  close() { this.agent.destroy(); }
}
