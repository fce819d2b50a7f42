// Browser harness: Debian's chromium driven by playwright-core (headless,
// a fresh temporary profile per launch), plus the nginx config bits that serve
// the player page next to the WebSocket location.
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './nginx.mjs';
import { settlesWithin, sleep } from './util.mjs';

export const CHROMIUM = process.env.WS_STREAM_CHROMIUM || '/usr/bin/chromium';
// The page's directory (the player); WS_STREAM_PLAYER_ROOT points elsewhere (e.g. a build copy).
export const PLAYER_ROOT = process.env.WS_STREAM_PLAYER_ROOT || path.join(REPO, 'player');

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required'];

// Throws (never skips) when chromium or playwright-core is missing.
export async function checkBrowser() {
  const missing = [];
  if (!fs.existsSync(CHROMIUM)) missing.push(`chromium (${CHROMIUM}): apt-get install chromium`);
  try { await import('playwright-core'); } catch { missing.push('playwright-core: npm ci'); }
  if (!fs.existsSync(path.join(PLAYER_ROOT, 'index.html'))) missing.push(`${PLAYER_ROOT}/index.html`);
  if (missing.length) throw new Error('missing prerequisites:\n  ' + missing.join('\n  '));
}

// liveConf() options that add the player page at / of the HTTP server.
export function playerConfOpts(root = PLAYER_ROOT) {
  return {
    http: 'types { text/html html; text/javascript js mjs; text/css css; }',
    server: `location / { root ${root}; }`,
  };
}

const browsers = new Set();

/**
 * Launch headless chromium (playwright's launch uses a fresh temporary profile).
 * `executablePath`: another program to start, say a wrapper that execs chromium in a
 * network namespace (playwright talks to it over a pipe, so no port has to cross).
 */
export async function launchBrowser({ timeout = 30000, executablePath = CHROMIUM } = {}) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout });
  browsers.add(browser);
  browser.once('disconnected', () => browsers.delete(browser));
  return browser;
}

/** Close every browser this process launched (bounded). */
export async function closeAllBrowsers() {
  await Promise.all([...browsers].map(async (b) => {
    if (!(await settlesWithin(b.close(), 10000))) {
      const proc = b.process && b.process();
      if (proc) { try { proc.kill('SIGKILL'); } catch { /* gone */ } }
    }
    browsers.delete(b);
  }));
}

/**
 * New page in its own context; collects console errors and page errors.
 * `init`: a function (or script) to run in the page before its own scripts
 * (playwright's addInitScript).
 * Returns { page, context, problems } (problems: array of strings).
 */
export async function openPage(browser, url, { timeout = 15000, init = null } = {}) {
  const context = await browser.newContext();
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console.error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('crash', () => problems.push('page crashed'));
  page.setDefaultTimeout(timeout);
  await page.goto(url, { waitUntil: 'load', timeout });
  return { page, context, problems };
}

/** Poll page.evaluate(fn, arg) until truthy (bounded); returns the value. */
export async function pageWait(page, fn, arg, { timeout = 15000, interval = 200, what = 'page condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (let i = 0; i < 100000; i++) {
    last = await page.evaluate(fn, arg);
    if (last) return last;
    if (Date.now() >= deadline) break;
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** Snapshot of the player page (video element, player state and stats). */
export function snapshot(page) {
  return page.evaluate(() => {
    const v = document.querySelector('video');
    const p = window.player;
    const ab = p && p.mse ? p.mse.buffered('audio') : null;
    const st = document.getElementById('status');
    return {
      now: performance.now(),
      currentTime: v.currentTime, paused: v.paused, readyState: v.readyState,
      width: v.videoWidth, height: v.videoHeight, rate: v.playbackRate, muted: v.muted,
      audioBytes: v.webkitAudioDecodedByteCount ?? null,
      audioBuffered: ab ? ab.length : 0,
      state: p ? p.state : null, stats: p ? p.lastStats : null,
      status: st ? { state: st.dataset.state, latency: st.dataset.latency } : null,
      error: v.error ? `${v.error.code} ${v.error.message}` : null,
    };
  });
}
