// Harness: start Debian's nginx with ngx_rtmp_module + ngx_ws_stream_module in a
// private temp prefix, wait for its ports, stop it, and check error.log.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after, afterEach } from 'node:test';
import { closeAllClients } from './ws.mjs';
import { closeAllRaw } from './rawws.mjs';
import { stopAllPublishers } from './publish.mjs';
import { sleep, waitUntil, settlesWithin } from './util.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NGINX = process.env.WS_STREAM_NGINX || '/usr/sbin/nginx';
export const FFMPEG = process.env.WS_STREAM_FFMPEG || 'ffmpeg';
export const RTMP_MODULE = process.env.WS_STREAM_RTMP_MODULE || '/usr/lib/nginx/modules/ngx_rtmp_module.so';
export const MODULE = process.env.WS_STREAM_MODULE || path.join(REPO, 'build', 'ngx_ws_stream_module.so');
export const SANITIZE = process.env.WS_STREAM_SANITIZE === '1';
export const KEEP = process.env.WS_STREAM_KEEP === '1';   // keep prefixes even on success

const BAD_LINE = /\[(alert|crit|emerg)\]/;
const SAN_TEXT = /runtime error:|AddressSanitizer|LeakSanitizer/;

function which(cmd) {
  if (cmd.includes('/')) return fs.existsSync(cmd) ? cmd : null;
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir || '.', cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

// Throws (never skips) when something the suite needs is missing.
export function checkTools({ ffmpeg = true, module = true, openssl = false, ss = false } = {}) {
  const missing = [];
  if (!which(NGINX)) missing.push(`nginx (${NGINX}): apt-get install nginx`);
  if (!fs.existsSync(RTMP_MODULE)) missing.push(`${RTMP_MODULE}: apt-get install libnginx-mod-rtmp`);
  if (ffmpeg && !which(FFMPEG)) missing.push('ffmpeg: apt-get install ffmpeg');
  if (openssl && !which('openssl')) missing.push('openssl: apt-get install openssl');
  if (ss && !which('ss')) missing.push('ss: apt-get install iproute2');
  if (module && !fs.existsSync(MODULE))
    missing.push(`the module ${MODULE} does not exist: run \`make\` in ${REPO} first ` +
      '(or point WS_STREAM_MODULE at a built ngx_ws_stream_module.so)');
  if (missing.length) throw new Error('missing prerequisites:\n  ' + missing.join('\n  '));
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function freePorts(names) {
  const out = {};
  const seen = new Set();
  for (const n of names) {
    let p;
    for (let i = 0; i < 20; i++) { p = await freePort(); if (!seen.has(p)) break; }
    seen.add(p);
    out[n] = p;
  }
  return out;
}

export const moduleIn = (prefix) => path.join(prefix, 'modules', 'ngx_ws_stream_module.so');

export async function makePrefix(tag = 'ngx') {
  const prefix = await fsp.mkdtemp(path.join(os.tmpdir(), `wsstream-${tag}-`));
  await fsp.mkdir(path.join(prefix, 'tmp'), { recursive: true });
  await fsp.mkdir(path.join(prefix, 'logs'), { recursive: true });
  // Private copy of the module: a `make` during the run rewrites build/*.so
  // in place, which would crash an nginx that has it mapped.
  await fsp.mkdir(path.join(prefix, 'modules'), { recursive: true });
  if (fs.existsSync(MODULE)) await fsp.copyFile(MODULE, moduleIn(prefix));
  return prefix;
}

export function sanitizerEnv(prefix) {
  const env = { ...process.env };
  if (!SANITIZE) return env;
  const lib = (n) => spawnSync('gcc', [`-print-file-name=${n}`], { encoding: 'utf8' }).stdout.trim();
  const asan = lib('libasan.so'), ubsan = lib('libubsan.so');
  for (const l of [asan, ubsan])
    if (!l.startsWith('/') || !fs.existsSync(l)) throw new Error(`WS_STREAM_SANITIZE=1 but gcc cannot find ${l}`);
  env.LD_PRELOAD = [asan, ubsan].join(':');
  env.ASAN_OPTIONS = `detect_leaks=0:abort_on_error=0:log_path=${prefix}/asan`;
  env.UBSAN_OPTIONS = `print_stacktrace=1:log_path=${prefix}/ubsan`;
  return env;
}

// Full nginx.conf text. `rtmp` and `http` are the inner texts of the blocks
// (null: no block). `moduleFirst` loads the ws_stream module before rtmp.
export function buildConf(prefix, { workers = 1, main = '', events = '', rtmp = null, http = null,
  loadModule = true, moduleFirst = false } = {}) {
  const loads = [`load_module ${RTMP_MODULE};`];
  if (loadModule) {
    const mod = fs.existsSync(moduleIn(prefix)) ? moduleIn(prefix) : MODULE;
    if (moduleFirst) loads.unshift(`load_module ${mod};`);
    else loads.push(`load_module ${mod};`);
  }
  const user = process.getuid && process.getuid() === 0 ? 'user root root;\n' : '';
  let conf = `${loads.join('\n')}
${user}worker_processes ${workers};
error_log ${prefix}/error.log info;
pid ${prefix}/nginx.pid;
lock_file ${prefix}/nginx.lock;
${main}
events { worker_connections 1024; ${events} }
`;
  if (rtmp !== null) conf += `rtmp {\n${rtmp}\n}\n`;
  if (http !== null) conf += `http {
    access_log ${prefix}/access.log;
    client_body_temp_path ${prefix}/tmp/body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
${http}
}
`;
  return conf;
}

// Lines of error.log (and nginx stderr) that fail a test.
export function badLines(text, { allowEmerg = false } = {}) {
  return text.split('\n').filter((l) =>
    (BAD_LINE.test(l) && !(allowEmerg && /\[emerg\]/.test(l))) || SAN_TEXT.test(l));
}

function sanitizerFiles(prefix) {
  try {
    return fs.readdirSync(prefix).filter((f) => /^(asan|ubsan)/.test(f)).map((f) => path.join(prefix, f));
  } catch { return []; }
}

function readText(p) { try { return fs.readFileSync(p, 'utf8'); } catch { return ''; } }

export function childPids(ppid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readText(`/proc/${d}/stat`);
    const m = st.match(/^\d+ \(.*\) \S (\d+)/s);
    if (m && Number(m[1]) === ppid) out.push(Number(d));
  }
  return out.sort((a, b) => a - b);
}

function alive(pid) { try { process.kill(pid, 0); return true; } catch { return false; } }

export async function waitPort(port, { host = '127.0.0.1', timeout = 5000 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    try {
      await new Promise((resolve, reject) => {
        const s = net.connect({ port, host });
        const t = setTimeout(() => { s.destroy(); reject(new Error('connect timeout')); }, 1000);
        s.once('connect', () => { clearTimeout(t); s.end(); s.destroy(); resolve(); });
        s.once('error', (e) => { clearTimeout(t); reject(e); });
      });
      return;
    } catch (e) { last = e; await sleep(50); }
  }
  throw new Error(`port ${port} did not accept connections within ${timeout} ms (${last && last.message})`);
}

// Last resort if the test process dies without teardown: no stray nginx.
const started = new Set();
process.on('exit', () => {
  for (const n of started) {
    if (!n.pid || !alive(n.pid)) continue;
    const w = n.workerPids();
    try { process.kill(n.pid, 'SIGKILL'); } catch { /* gone */ }
    for (const p of w) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }
});

export class Nginx {
  constructor(prefix, confText, ports) {
    this.prefix = prefix;
    this.confText = confText;
    this.ports = ports;
    this.confPath = path.join(prefix, 'nginx.conf');
    this.errorLog = path.join(prefix, 'error.log');
    this.stderr = '';
    this.stdout = '';
    this.proc = null;
    this.logOffset = 0;   // for per-test error.log checks
    this.problems = [];   // teardown problems (e.g. slow graceful shutdown)
  }

  async start({ waitPorts = Object.values(this.ports) } = {}) {
    await fsp.writeFile(this.confPath, this.confText);
    const args = ['-p', this.prefix + '/', '-c', this.confPath, '-e', this.errorLog, '-g', 'daemon off;'];
    this.proc = spawn(NGINX, args, { stdio: ['ignore', 'pipe', 'pipe'], env: sanitizerEnv(this.prefix) });
    this.pid = this.proc.pid;
    started.add(this);
    this.proc.stdout.on('data', (d) => { this.stdout += d; });
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    let early = null;
    this.exited.then((r) => { early = r; });
    const timeout = SANITIZE ? 15000 : 5000;
    try {
      for (const p of waitPorts) {
        if (early) break;
        await waitPort(p, { timeout });
      }
    } catch (e) {
      if (!early) throw new Error(`${e.message}\n${this.diagnostics()}`);
    }
    if (early || this.proc.exitCode !== null)
      throw new Error(`nginx exited during startup (${JSON.stringify(early)})\n${this.diagnostics()}`);
    // workers up (bounded)
    await waitUntil(() => this.workerPids().length > 0, { timeout, what: 'nginx worker processes' });
    return this;
  }

  workerPids() { return this.pid ? childPids(this.pid) : []; }

  log() { return readText(this.errorLog); }

  // Lines appended to error.log since the last call.
  newLog() {
    const all = this.log();
    const chunk = all.slice(this.logOffset);
    this.logOffset = all.length;
    return chunk;
  }

  tail(n = 60) {
    const lines = this.log().split('\n');
    return lines.slice(-n).join('\n');
  }

  diagnostics() {
    return `--- nginx prefix: ${this.prefix}\n--- nginx stderr:\n${this.stderr.slice(-4000)}\n` +
      `--- error.log (tail):\n${this.tail()}`;
  }

  // Graceful reload; resolves when new workers (not in the old set) run.
  async reload({ timeout = 15000, expectWorkers = 1 } = {}) {
    const old = new Set(this.workerPids());
    process.kill(this.pid, 'SIGHUP');
    await waitUntil(() => this.workerPids().filter((p) => !old.has(p)).length >= expectWorkers,
      { timeout, what: 'new workers after reload' });
    return { oldWorkers: [...old], newWorkers: this.workerPids().filter((p) => !old.has(p)) };
  }

  async stop({ graceful = 10000 } = {}) {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const workers = new Set(this.workerPids());
    const waitExit = (ms) => settlesWithin(this.exited, ms);
    process.kill(this.pid, 'SIGQUIT');
    if (!(await waitExit(graceful))) {
      for (const w of this.workerPids()) workers.add(w);
      this.problems.push(`graceful shutdown (SIGQUIT) did not finish within ${graceful} ms ` +
        `(workers still alive: ${[...workers].filter(alive).join(',')})`);
      try { process.kill(this.pid, 'SIGTERM'); } catch { /* gone */ }
      if (!(await waitExit(5000))) {
        this.problems.push('fast shutdown (SIGTERM) did not finish within 5000 ms: SIGKILL');
        try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ }
        await waitExit(3000);
      }
    }
    // workers are reparented if the master was killed: end them by pid
    for (const w of workers) if (alive(w)) {
      const st = readText(`/proc/${w}/cmdline`);
      if (st.includes('nginx')) { try { process.kill(w, 'SIGKILL'); } catch { /* gone */ } }
    }
  }

  // Everything that fails the file at teardown.
  // Only error.log lines not yet checked by a per-test check (newLog()).
  finalProblems({ allowEmerg = false } = {}) {
    const p = [...this.problems];
    const bad = badLines(this.newLog() + '\n' + this.stderr, { allowEmerg });
    if (bad.length) p.push('error.log/stderr has alert/crit/emerg or sanitizer lines:\n' + bad.slice(0, 40).join('\n'));
    const san = sanitizerFiles(this.prefix);
    for (const f of san) p.push(`sanitizer report ${f}:\n${readText(f).slice(0, 6000)}`);
    return p;
  }
}

// `nginx -t` on a config text; returns { status, stdout, stderr, log, prefix }.
export async function nginxTest(confFn, { keep = false } = {}) {
  const prefix = await makePrefix('t');
  const confText = typeof confFn === 'function' ? confFn(prefix) : confFn;
  const confPath = path.join(prefix, 'nginx.conf');
  await fsp.writeFile(confPath, confText);
  const r = spawnSync(NGINX, ['-t', '-p', prefix + '/', '-c', confPath, '-e', path.join(prefix, 'error.log')],
    { encoding: 'utf8', timeout: 20000, env: sanitizerEnv(prefix) });
  const res = { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr,
    log: readText(path.join(prefix, 'error.log')), prefix, sanitizer: sanitizerFiles(prefix) };
  if (!keep) res.cleanup = () => fsp.rm(prefix, { recursive: true, force: true });
  return res;
}

// Register before/after hooks in the current suite (or file) that start one
// nginx for the suite. `conf(ports, prefix)` returns buildConf options.
// Returns an env object filled in by the before hook.
export function useNginx({ tag = 'ngx', ports = ['rtmp', 'http'], conf, setup, tools = {} }) {
  const env = { failed: false };
  before(async () => {
    checkTools(tools);
    env.ports = await freePorts(ports);
    env.prefix = await makePrefix(tag);
    if (setup) await setup(env);
    const opts = conf(env.ports, env.prefix, env);
    env.nginx = new Nginx(env.prefix, buildConf(env.prefix, opts), env.ports);
    env.http = (app, name, { scheme = 'ws', loc = 'ws' } = {}) =>
      `${scheme}://127.0.0.1:${env.ports.http}/${loc}/${app}/${name}`;
    env.rtmpPort = env.ports.rtmp;
    try {
      await env.nginx.start();
    } catch (e) {
      env.failed = true;
      throw e;
    }
  });
  afterEach((t) => {
    if (!env.nginx) return;
    if (t && t.passed === false) env.failed = true;
    const bad = badLines(env.nginx.newLog());
    if (bad.length) {
      env.failed = true;
      throw new Error(`error.log got alert/crit/emerg or sanitizer lines during this test:\n${bad.slice(0, 30).join('\n')}`);
    }
  });
  after(async () => {
    await closeAllClients();
    closeAllRaw();
    await stopAllPublishers();
    if (!env.nginx) return;
    await env.nginx.stop();
    const problems = env.nginx.finalProblems();
    if (problems.length || env.failed || KEEP) {
      console.error(`# kept nginx prefix: ${env.prefix}`);
      if (problems.length || env.failed) console.error(env.nginx.diagnostics());
    } else {
      await fsp.rm(env.prefix, { recursive: true, force: true });
    }
    if (problems.length) throw new Error('nginx teardown problems:\n' + problems.join('\n'));
  });
  return env;
}

// ss -tnp: map "127.0.0.1:clientPort" (peer of the server socket) -> nginx pid.
export function serverPidsByClientPort(serverPort) {
  const r = spawnSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8', timeout: 10000 });
  const map = new Map();
  for (const line of (r.stdout || '').split('\n')) {
    const m = line.match(/(\S+):(\d+)\s+(\S+):(\d+)\s+users:\(\("([^"]*)",pid=(\d+)/);
    if (!m) continue;
    if (Number(m[2]) === serverPort) map.set(Number(m[4]), Number(m[6]));
  }
  return map;
}
