// Servers and publishers for the benchmark: Debian's nginx with nginx-rtmp
// (with or without ngx_ws_stream, with or without HLS), node-media-server
// from node_modules, and the stamping publisher build/bench/ws-stream-pub.
// Each lives in its own temp prefix with its own loopback ports and is
// stopped by PID.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// Shared with the integration tests: free loopback ports, waiting for a
// port, nginx's worker pids, the sanitizer environment of make
// integration-asan (WS_STREAM_SANITIZE=1).
import { freePort, waitPort, childPids, sanitizerEnv }
  from '../../t/lib/nginx.mjs';

export { freePort, childPids };

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
  '..', '..');
export const BENCH_BUILD = process.env.WS_STREAM_BENCH_BUILD
  || path.join(REPO, 'build', 'bench');
export const NGINX = process.env.WS_STREAM_NGINX || '/usr/sbin/nginx';
export const RTMP_MODULE = process.env.WS_STREAM_RTMP_MODULE
  || '/usr/lib/nginx/modules/ngx_rtmp_module.so';
export const MODULE = process.env.WS_STREAM_MODULE
  || path.join(REPO, 'build', 'ngx_ws_stream_module.so');
export const PUB = path.join(BENCH_BUILD, 'ws-stream-pub');
export const LOAD = path.join(BENCH_BUILD, 'ws-stream-load');
export const NMS_APP = path.join(REPO, 'node_modules', 'node-media-server',
  'bin', 'app.js');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const live = new Set();           // children still running, stopped on exit

function track(child, name) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.name = name;
  return child;
}

async function stopChild(child, ms = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await gone;
  clearTimeout(t);
}

export async function stopAll() {
  await Promise.all([...live].map((c) => stopChild(c)));
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const c of live) c.kill('SIGKILL');
    process.exit(130);
  });
}

function httpBlock(prefix, inner) {
  return `http {
    access_log off;
    client_body_temp_path ${prefix}/tmp/body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
    types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
${inner}
}
`;
}

// Open files a worker may have: as many as the hard limit allows (raising it
// needs privileges a container may not give), at most 65536.
function nofileLimit() {
  const r = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const n = parseInt(r.stdout, 10);
  return Number.isFinite(n) ? Math.min(n, 65536) : 65536;
}

// nginx with nginx-rtmp, set up for thousands of connections per worker:
// open files up to the hard limit, multi_accept on (without it a worker busy
// sending accepts one connection per event loop pass, and at 5,000 viewers
// of 720p hundreds of them timed out in the handshake: 4269/5000 connected
// with 1 worker, 5000/5000 with multi_accept). `wsStream` loads and
// configures our module,
// `hls` turns on nginx-rtmp's HLS with the shortest fragments it cuts
// (one GOP: the fixtures have a keyframe every second), `llhls` our LL-HLS
// on /llhls/ (module defaults: 200 ms parts, 2 s segments, a window of 7;
// `llhlsConf` adds ws_stream_hls_* directives, e.g. { segment: '1s' }).
// `wsConf` adds directives to the WebSocket location (e.g.
// 'ws_stream_stats off;'), `api` the statistics locations /api/
// (ws_stream_api) and /metrics (ws_stream_metrics). `appConf` adds
// directives to the RTMP application (e.g. 'ws_stream_variant _hi _lo;'),
// `locs` more locations to the HTTP server, `listen` more addresses it
// listens on, on the same port (e.g. a network namespace's host side).
export async function startNginx({ workers = 1, wsStream = true, hls = false,
  llhls = false, llhlsConf = {}, wsConf = '', api = false, zone = '64m',
  appConf = '', locs: moreLocs = '', listen = [], tag = 'nginx' } = {}) {
  const prefix = await fsp.mkdtemp(path.join(os.tmpdir(), `wsbench-${tag}-`));
  for (const d of ['tmp', 'logs', 'hls', 'modules'])
    await fsp.mkdir(path.join(prefix, d), { recursive: true });
  const rtmpPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === rtmpPort) httpPort = await freePort();
  const loads = [`load_module ${RTMP_MODULE};`];
  if (wsStream) {
    if (!fs.existsSync(MODULE))
      throw new Error(`${MODULE} is missing: run make`);
    const copy = path.join(prefix, 'modules', 'ngx_ws_stream_module.so');
    await fsp.copyFile(MODULE, copy);
    loads.push(`load_module ${copy};`);
  }
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  const nofile = nofileLimit();
  const app = [
    'live on;',
    wsStream ? 'ws_stream bench;' : '',
    hls ? `hls on; hls_path ${prefix}/hls; hls_fragment 1s;
           hls_playlist_length 3s; hls_cleanup on;` : '',
    appConf,
  ].join('\n            ');
  const llConf = Object.entries(llhlsConf)
    .map(([k, v]) => ` ws_stream_hls_${k} ${v};`).join('');
  const locs = [
    wsStream ? `location /ws/ { ws_stream bench;${wsConf ? ` ${wsConf}` : ''} }` : '',
    wsStream && api ? `location /api/ { ws_stream_api bench; }
        location = /metrics { ws_stream_metrics bench; }` : '',
    wsStream && llhls ? `location /llhls/ {
            ws_stream_hls bench; ws_stream_hls_cors *;${llConf}
        }` : '',
    `location /hls/ {
            alias ${prefix}/hls/;
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin *;
        }`,
    moreLocs,
  ].join('\n        ');
  const conf = `${loads.join('\n')}
${user}
worker_processes ${workers};
worker_rlimit_nofile ${nofile};
error_log ${prefix}/error.log notice;
pid ${prefix}/nginx.pid;
lock_file ${prefix}/nginx.lock;
events { worker_connections ${Math.min(16384, nofile)}; multi_accept on; }
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
        application live {
            ${app}
        }
    }
}
${httpBlock(prefix, `
    ${wsStream ? `ws_stream_zone zone=bench:${zone};` : ''}
    ${llhls ? 'keepalive_requests 1000000;  # an LL-HLS client asks ~10/s' : ''}
    server {
        listen 127.0.0.1:${httpPort};
        ${listen.map((h) => `listen ${h}:${httpPort};`).join(' ')}
        ${locs}
    }`)}`;
  const confPath = path.join(prefix, 'nginx.conf');
  await fsp.writeFile(confPath, conf);
  const child = track(spawn(NGINX, ['-p', prefix, '-c', confPath,
    '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'],
    env: sanitizerEnv(prefix) }), 'nginx');
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  try {
    await waitPort(httpPort, { timeout: 10000 });
    await waitPort(rtmpPort, { timeout: 10000 });
  } catch (e) {
    await stopChild(child);
    throw new Error(`${e.message}\n${stderr}`);
  }
  let wpids = [];
  for (let i = 0; i < 100 && wpids.length < workers; i++) {
    wpids = childPids(child.pid);
    if (wpids.length < workers) await sleep(50);
  }
  return {
    kind: 'nginx', prefix, rtmpPort, httpPort, workers, zone,
    pids: () => [child.pid, ...childPids(child.pid)],
    workerPids: () => childPids(child.pid),
    rtmpUrl: (name) => `rtmp://127.0.0.1:${rtmpPort}/live/${name}`,
    wsUrl: (name) => `ws://127.0.0.1:${httpPort}/ws/live/${name}`,
    hlsUrl: (name) => `http://127.0.0.1:${httpPort}/hls/${name}.m3u8`,
    // the statistics API (api: true): the stream's object, its viewers
    apiPath: (name, rest = '') => `/api/streams/live/${name}${rest}`,
    // our LL-HLS: file = media.m3u8 (media playlist) or index.m3u8
    llhlsUrl: (name, file = 'media.m3u8') =>
      `http://127.0.0.1:${httpPort}/llhls/live/${name}/${file}`,
    hlsDir: path.join(prefix, 'hls'),
    errorLog: () => fs.readFileSync(path.join(prefix, 'error.log'), 'utf8'),
    // sanitizer reports written so far (text), '' if none
    sanitizerReports: () => fs.readdirSync(prefix)
      .filter((f) => /^(asan|ubsan)/.test(f))
      .map((f) => fs.readFileSync(path.join(prefix, f), 'utf8')).join('\n'),
    stop: async ({ keep = false } = {}) => {
      await stopChild(child);
      if (!keep) await fsp.rm(prefix, { recursive: true, force: true });
    },
  };
}

// node-media-server 4.x from node_modules: RTMP in, WebSocket-FLV out.
export async function startNms({ tag = 'nms' } = {}) {
  if (!fs.existsSync(NMS_APP))
    throw new Error(`${NMS_APP} is missing: run npm ci (make deps)`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `wsbench-${tag}-`));
  const rtmpPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === rtmpPort) httpPort = await freePort();
  const config = {
    bind: '127.0.0.1',
    notify: { url: '' },
    store: { path: path.join(dir, 'data'), maxHistory: 100 },
    auth: { play: false, publish: false, secret: '' },
    rtmp: { port: rtmpPort },
    http: { port: httpPort },
    webadmin: { enable: false },
    record: { auto: false, path: path.join(dir, 'record') },
  };
  const confPath = path.join(dir, 'config.json');
  await fsp.writeFile(confPath, JSON.stringify(config, null, 2));
  const child = track(spawn(process.execPath, [NMS_APP, '-c', confPath,
    '--no-admin'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }), 'nms');
  let out = '';
  child.stdout.on('data', (d) => { out = (out + d).slice(-4000); });
  child.stderr.on('data', (d) => { out = (out + d).slice(-4000); });
  try {
    await waitPort(httpPort, { timeout: 15000 });
    await waitPort(rtmpPort, { timeout: 15000 });
  } catch (e) {
    await stopChild(child);
    throw new Error(`${e.message}\n${out}`);
  }
  return {
    kind: 'nms', dir, rtmpPort, httpPort,
    pids: () => [child.pid],
    rtmpUrl: (name) => `rtmp://127.0.0.1:${rtmpPort}/live/${name}`,
    flvUrl: (name) => `ws://127.0.0.1:${httpPort}/live/${name}.flv`,
    output: () => out,
    stop: async () => {
      await stopChild(child);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

// The stamping publisher: fixture at real-time pace, SEI stamp per frame.
export async function startPublisher(fixture, url) {
  if (!fs.existsSync(PUB)) throw new Error(`${PUB} is missing: make bench-tools`);
  const child = track(spawn(PUB, ['-i', fixture, '-u', url, '-q'],
    { stdio: ['ignore', 'ignore', 'pipe'] }), 'publisher');
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  await sleep(300);
  if (child.exitCode !== null)
    throw new Error(`publisher exited (${child.exitCode}): ${err}`);
  return {
    pid: child.pid,
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => err,
    stop: () => stopChild(child),
  };
}

// Resident pages of the shared zone mapping of a worker: the mapping of
// exactly the zone's size (nginx maps zones MAP_SHARED|MAP_ANON, shown as
// /dev/zero). Returns kB, or null if not found.
export function zoneResidentKb(pid, zoneBytes) {
  let text;
  try { text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8'); } catch { return null; }
  const want = Math.round(zoneBytes / 1024);
  let cur = null;
  for (const line of text.split('\n')) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (h) {
      const size = (parseInt(h[2], 16) - parseInt(h[1], 16)) / 1024;
      cur = size === want && /\/dev\/zero|SYSV/.test(h[3]) ? {} : null;
      continue;
    }
    if (cur) {
      const m = /^Rss:\s+(\d+) kB/.exec(line);
      if (m) return Number(m[1]);
    }
  }
  return null;
}

export const parseSize = (s) => {
  const m = /^(\d+)([kmg]?)$/i.exec(s);
  const mul = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
  return Number(m[1]) * mul;
};
