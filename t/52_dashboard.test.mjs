// The statistics page (dashboard/) in headless chromium against nginx with
// ws_stream_api, an ffmpeg publisher and WebSocket viewers: the page shows
// what the JSON API says (server, live/demo's viewers, codecs, resolution,
// latency, the viewers table and its pages), API data stays text, a failing
// API is shown and recovered from, a slow one gets one request at a time,
// and the page logs no console errors or warnings.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import WebSocket from 'ws';
import { useNginx, REPO } from './lib/nginx.mjs';
import { startPublisher } from './lib/publish.mjs';
import { liveConf } from './lib/common.mjs';
import { sleep, waitUntil } from './lib/util.mjs';
import { Viewer, PROTOCOL } from './lib/ws.mjs';
import { checkBrowser, launchBrowser, closeAllBrowsers, pageWait } from './lib/browser.mjs';
import { fmtMs, fmtHz, fmtChannels, fmtSize, truncate } from '../dashboard/format.js';

const DASHBOARD = path.join(REPO, 'dashboard');
const UA = 'dash-test/1.0 <img src=x onerror="window.__xss=1"> \u202eevil & "quoted" and a long tail to be cut off';
// HTTP header values are bytes: the UTF-8 of UA, one latin1 character a byte
const uaHeader = (i) => Buffer.from(`${UA} #${i}`, 'utf8').toString('latin1');
const REPORT = { type: 'report', latency: 420.5, buffer: 380, bitrate: 2100000, dropped: 0, decoded: 1800, stalls: 0, state: 'playing',
  sync: 12.5 };
const REPORT2 = { type: 'report', sync: -7.5, state: 'playing' };   // the second viewer: an offset, no latency
const MARKUP = `<i>it&amp;"q'`;        // a stream name that is markup
const PAGE = 50;

// Network failures the browser itself logs while the test breaks the API on purpose.
const NETWORK_LINE = /Failed to load resource|net::ERR_/;

describe('52 dashboard', () => {
  const env = useNginx({
    tag: 'dashboard',
    conf: (p) => liveConf(p, {
      workers: 2,
      app: 'ws_stream_grace 30s;',
      http: 'types { text/html html; text/javascript js mjs; text/css css; }',
      server: `location /api/ { ws_stream_api; }\n        location /stats/ { alias ${DASHBOARD}/; }`,
    }),
  });
  let browser, main = null;                 // main: { page, problems } shared by the first tests
  const viewers = [];
  const extra = [];                         // plain sockets of the paging test
  let reportTimer = null;

  const base = () => `http://127.0.0.1:${env.ports.http}`;
  async function api(rel) {
    const res = await fetch(`${base()}/api/${rel}`);
    assert.equal(res.status, 200, `GET /api/${rel}`);
    assert.match(res.headers.get('content-type') || '', /^application\/json/);
    return res.json();
  }
  const demoOf = (list) => list.streams.find((s) => s.app === 'live' && s.stream === 'demo');
  const apiIds = async (offset) => (await api(`streams/live/demo/viewers?offset=${offset}&limit=${PAGE}`)).viewers.map((v) => String(v.id));

  // A page whose console errors and warnings, and page errors, are collected.
  async function open(url) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.setDefaultTimeout(15000);
    await page.goto(url, { waitUntil: 'load' });
    return { page, context, problems };
  }

  // data-field text and data-value inside the element whose data-stream is `key` (null: the document).
  const fields = (page, key, names) => page.evaluate(([k, ns]) => {
    const root = k === null ? document : [...document.querySelectorAll('[data-stream]')].find((e) => e.dataset.stream === k);
    if (!root) return null;
    return Object.fromEntries(ns.map((n) => {
      const e = root.querySelector(`[data-field="${n}"]`);
      return [n, e ? { text: e.textContent, value: e.dataset.value ?? null } : null];
    }));
  }, [key, names]);

  const tableIds = (page) => page.evaluate(() => [...document.querySelectorAll('#viewers-body [data-viewer-id]')].map((r) => r.dataset.viewerId));
  const pager = (page) => page.evaluate(() => {
    const r = document.getElementById('range');
    return { text: r.textContent, total: r.dataset.total, offset: r.dataset.offset,
      prev: document.getElementById('prev').disabled, next: document.getElementById('next').disabled };
  });

  // Retry until what the page shows equals what the API says at about the same time
  // (both move on every second); returns the last differences.
  async function agree(what, read, tries = 12) {
    let diff = null;
    for (let i = 0; i < tries; i++) {
      diff = await read();
      if (!diff.length) return;
      await sleep(500);
    }
    assert.fail(`${what}: the page differs from the API:\n  ${diff.join('\n  ')}`);
  }
  const differ = (out, name, got, want) => { if (got !== want) out.push(`${name}: page ${JSON.stringify(got)}, API ${JSON.stringify(want)}`); };

  function noProblems(problems, label, { network = false } = {}) {
    const left = problems.filter((p) => !(network && NETWORK_LINE.test(p)));
    assert.deepEqual(left, [], `${label}: console errors/warnings or page errors`);
    problems.length = 0;
  }

  before(async () => {
    await checkBrowser();
    browser = await launchBrowser();
  });

  after(async () => {
    clearInterval(reportTimer);
    for (const ws of extra) ws.terminate();
    await closeAllBrowsers();
  });

  it('shows the server and live/demo as the API does', async () => {
    startPublisher({ port: env.rtmpPort, name: 'demo', size: '640x360' });
    for (let i = 0; i < 2; i++)
      viewers.push(await Viewer.connect(env.http('live', 'demo'), { wsOptions: { headers: { 'User-Agent': uaHeader(i) } } }));
    // reports older than 10 s are left out of latency_ms: keep sending
    const reports = () => { viewers[0].send(REPORT); viewers[1].send(REPORT2); };
    reports();
    reportTimer = setInterval(reports, 2000);
    await waitUntil(async () => {
      const s = demoOf(await api('streams'));
      return s && s.online && s.video && s.video.width && s.audio && s.viewers.websocket === 2 && s.latency_ms.avg !== null
        && s.sync_ms.viewers === 2;
    }, { timeout: 20000, what: 'live/demo online in the API with 2 viewers, video, audio and a latency' });

    main = await open(`${base()}/stats/`);
    const { page, problems } = main;
    await pageWait(page, () => document.getElementById('status').dataset.state === 'ok', null, { what: 'status ok' });
    await pageWait(page, () => [...document.querySelectorAll('[data-stream]')].some((e) => e.dataset.stream === 'live/demo' &&
      e.dataset.state === 'online'), null, { what: 'live/demo online on the page' });

    const names = ['viewers.now', 'viewers.websocket', 'viewers.hls', 'video.codec', 'video.format', 'video.profile', 'video.level',
      'video.resolution', 'audio.codec', 'audio.sample_rate_hz', 'audio.channels', 'latency_ms.avg', 'latency_ms.viewers',
      'latency_ms.min', 'latency_ms.max', 'sync_ms.avg', 'sync_ms.min', 'sync_ms.max', 'sync_ms.spread', 'publisher.address'];
    await agree('live/demo', async () => {
      const [s, got] = [demoOf(await api('streams')), await fields(page, 'live/demo', names)];
      const out = [];
      differ(out, 'viewers.now', got['viewers.now'].text, String(s.viewers.now));
      differ(out, 'viewers.now value', got['viewers.now'].value, String(s.viewers.now));
      differ(out, 'viewers.websocket', got['viewers.websocket'].text, String(s.viewers.websocket));
      differ(out, 'viewers.hls', got['viewers.hls'].text, String(s.viewers.hls));
      for (const k of ['codec', 'format', 'profile', 'level']) differ(out, `video.${k}`, got[`video.${k}`].text, s.video[k] || '\u2014');
      differ(out, 'video.resolution', got['video.resolution'].text, fmtSize(s.video.width, s.video.height));
      differ(out, 'audio.codec', got['audio.codec'].text, s.audio.codec || '\u2014');
      differ(out, 'audio.sample_rate_hz', got['audio.sample_rate_hz'].text, fmtHz(s.audio.sample_rate_hz));
      differ(out, 'audio.channels', got['audio.channels'].text, fmtChannels(s.audio.channels));
      for (const k of ['avg', 'min', 'max']) {
        differ(out, `latency_ms.${k}`, got[`latency_ms.${k}`].value, String(s.latency_ms[k]));
        differ(out, `latency_ms.${k} text`, got[`latency_ms.${k}`].text, fmtMs(s.latency_ms[k]));
      }
      differ(out, 'latency_ms.viewers', got['latency_ms.viewers'].text, String(s.latency_ms.viewers));
      for (const k of ['avg', 'min', 'max', 'spread']) differ(out, `sync_ms.${k} text`, got[`sync_ms.${k}`].text, fmtMs(s.sync_ms[k]));
      differ(out, 'publisher.address', got['publisher.address'].text, s.publisher.address);
      return out;
    });
    const s = demoOf(await api('streams'));
    assert.equal(s.viewers.now, 2, 'two WebSocket viewers, no HLS');
    assert.equal(s.latency_ms.avg, REPORT.latency, 'the one report is the average');
    assert.deepEqual(s.sync_ms, { viewers: 2, min: -7.5, avg: 2.5, max: 12.5, spread: 20 });
    assert.equal(fmtSize(s.video.width, s.video.height), '640\u00d7360');

    await agree('server', async () => {
      const srv = (await api('streams')).server;
      const got = await fields(page, null, ['server.version', 'server.nginx_version', 'server.zone']);
      const pids = await page.evaluate(() => [...document.querySelectorAll('#workers [data-worker-pid]')].map((e) => e.dataset.workerPid));
      const out = [];
      differ(out, 'version', got['server.version'].text, srv.version);
      differ(out, 'nginx_version', got['server.nginx_version'].text, srv.nginx_version);
      differ(out, 'zone', got['server.zone'].text, srv.zone);
      differ(out, 'worker pids', pids.sort().join(','), srv.workers.map((w) => String(w.pid)).sort().join(','));
      return out;
    });

    // the plots have a line (viewers) and a band (latency min-max)
    await pageWait(page, () => {
      const card = [...document.querySelectorAll('[data-stream]')].find((e) => e.dataset.stream === 'live/demo');
      const d = [...card.querySelectorAll('.plot path')].map((p) => p.getAttribute('d'));
      return d.length === 4 && d[1] !== '' && d[2] !== '' && d[3] !== '';
    }, null, { what: 'the viewers line, the latency band and line' });
    noProblems(problems, 'streams');
  });

  it('the selected stream\'s viewers table equals the API\'s page; user agents stay text', async () => {
    assert.ok(main, 'needs the first test');
    const { page, problems } = main;
    await page.locator('[data-stream="live/demo"] button.name').click();
    await pageWait(page, () => document.querySelectorAll('#viewers-body [data-viewer-id]').length === 2, null, { what: 'two viewer rows' });
    const want = await apiIds(0);
    assert.equal(want.length, 2);
    assert.deepEqual(await tableIds(page), want);
    assert.deepEqual(await pager(page), { text: '1\u20132 of 2', total: '2', offset: '0', prev: true, next: true });
    assert.match(page.url(), /\?stream=live\/demo$/);

    const page0 = (await api(`streams/live/demo/viewers?offset=0&limit=${PAGE}`)).viewers;
    const rows = await page.evaluate(() => [...document.querySelectorAll('#viewers-body [data-viewer-id]')].map((tr) => {
      const f = (n) => tr.querySelector(`[data-field="${n}"]`);
      return { id: tr.dataset.viewerId, address: f('address').textContent, pid: f('worker_pid').textContent,
        protocol: f('protocol').textContent, ua: f('user_agent').textContent, uaTitle: f('user_agent').title,
        latency: f('report.latency_ms').dataset.value ?? null };
    }));
    for (const [i, v] of page0.entries()) {
      const r = rows[i];
      assert.equal(r.id, String(v.id));
      assert.equal(r.address, v.address);
      assert.equal(r.pid, String(v.worker_pid));
      assert.equal(r.protocol, 'ws');
      assert.ok(v.user_agent.startsWith('dash-test/1.0 <img'), v.user_agent);
      // shown as text, cut, the whole in the title; the bidi override made harmless
      assert.equal(r.uaTitle, v.user_agent.replace('\u202e', '\ufffd'));
      assert.equal(r.ua, truncate(r.uaTitle, 40));
    }
    const reporting = page0.find((v) => v.report && v.report.latency_ms !== null);
    assert.ok(reporting, `a viewer with a report: ${JSON.stringify(page0)}`);
    assert.equal(rows.find((r) => r.id === String(reporting.id)).latency, String(reporting.report.latency_ms));
    assert.equal(await page.evaluate(() => document.querySelectorAll('main img, main i, main b').length), 0, 'markup from the API was parsed');
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    noProblems(problems, 'viewers table');
  });

  it('pages through 60 viewers 50 at a time and back when they leave', async () => {
    assert.ok(main, 'needs the first test');
    const { page, problems } = main;
    for (let i = 0; i < 58; i++) {
      const ws = new WebSocket(env.http('live', 'demo'), [PROTOCOL]);
      ws.on('message', () => {});
      ws.on('error', () => {});
      extra.push(ws);
    }
    await waitUntil(async () => (await api('streams/live/demo/viewers?limit=1')).total === 60, { what: 'API total 60' });
    await pageWait(page, () => document.getElementById('range').dataset.total === '60', null, { what: 'page total 60' });
    await agree('page 1', async () => {
      const [got, want] = [await tableIds(page), await apiIds(0)];
      return got.join() === want.join() && want.length === PAGE ? [] : [`page ${got.length} ids ${got.slice(0, 3)}..., API ${want.length} ${want.slice(0, 3)}...`];
    });
    assert.deepEqual(await pager(page), { text: '1\u201350 of 60', total: '60', offset: '0', prev: true, next: false });

    await page.click('#next');
    await pageWait(page, () => document.getElementById('range').dataset.offset === '50', null, { what: 'offset 50' });
    const want2 = await apiIds(50);
    assert.equal(want2.length, 10);
    assert.deepEqual(await tableIds(page), want2);
    assert.deepEqual(await pager(page), { text: '51\u201360 of 60', total: '60', offset: '50', prev: false, next: true });

    await page.click('#prev');
    await pageWait(page, () => document.getElementById('range').dataset.offset === '0', null, { what: 'back to offset 0' });
    assert.equal((await tableIds(page)).length, PAGE);

    // on page 2 when the viewers past page 1 leave: back to the last page there is
    await page.click('#next');
    await pageWait(page, () => document.getElementById('range').dataset.offset === '50', null, { what: 'offset 50 again' });
    for (const ws of extra.splice(0)) ws.close();
    await pageWait(page, () => document.getElementById('range').dataset.total === '2' &&
      document.querySelectorAll('#viewers-body [data-viewer-id]').length === 2, null, { timeout: 20000, what: 'two viewers on page 1' });
    assert.deepEqual(await pager(page), { text: '1\u20132 of 2', total: '2', offset: '0', prev: true, next: true });
    assert.deepEqual(await tableIds(page), await apiIds(0));
    await agree('viewers.now after they left', async () => {
      const [s, got] = [demoOf(await api('streams')), await fields(page, 'live/demo', ['viewers.now'])];
      return got['viewers.now'].text === String(s.viewers.now) ? [] : [`page ${got['viewers.now'].text}, API ${s.viewers.now}`];
    });
    noProblems(problems, 'paging');
  });

  it('a stream name that is markup is shown as text; it goes offline with its publisher', async () => {
    assert.ok(main, 'needs the first test');
    const { page, problems } = main;
    const pub = startPublisher({ port: env.rtmpPort, name: MARKUP, size: '320x240' });
    const key = `live/${MARKUP}`;
    await waitUntil(async () => (await api('streams')).streams.some((s) => s.stream === MARKUP && s.online),
      { timeout: 20000, what: 'the markup stream online in the API' });
    const card = () => page.evaluate((k) => {
      const e = [...document.querySelectorAll('[data-stream]')].find((x) => x.dataset.stream === k);
      return e && { state: e.dataset.state, name: e.querySelector('.name').textContent,
        resolution: e.querySelector('[data-field="video.resolution"]').textContent, elements: e.querySelectorAll('i').length };
    }, key);
    await pageWait(page, (k) => [...document.querySelectorAll('[data-stream]')].some((e) => e.dataset.stream === k &&
      e.dataset.state === 'online' && e.querySelector('[data-field="video.resolution"]').textContent !== '\u2014'), key,
    { timeout: 15000, what: 'the markup stream online on the page' });
    assert.deepEqual(await card(), { state: 'online', name: key, resolution: '320\u00d7240', elements: 0 });
    await pub.stop();
    await waitUntil(async () => (await api('streams')).streams.some((s) => s.stream === MARKUP && !s.online),
      { timeout: 15000, what: 'the markup stream offline in the API' });
    await pageWait(page, (k) => [...document.querySelectorAll('[data-stream]')].some((e) => e.dataset.stream === k &&
      e.dataset.state === 'offline'), key, { what: 'offline on the page' });
    noProblems(problems, 'markup name');
  });

  it('shows "API unreachable" and "HTTP 503", recovers; a slow API gets one request at a time', async () => {
    const { page, problems, context } = await open(`${base()}/stats/?stream=live/demo`);
    const status = () => page.evaluate(() => ({ state: document.getElementById('status').dataset.state,
      text: document.getElementById('status').textContent }));
    await pageWait(page, () => document.getElementById('status').dataset.state === 'ok', null, { what: 'status ok' });
    const streams = /\/api\/streams$/;

    await page.route(streams, (r) => r.abort('connectionrefused'));
    await pageWait(page, () => document.getElementById('status').dataset.state === 'error', null, { what: 'status error' });
    assert.match((await status()).text, /^API unreachable/);
    await page.unroute(streams);
    await page.route(streams, (r) => r.fulfill({ status: 503, contentType: 'text/plain', body: 'down' }));
    await pageWait(page, () => /^HTTP 503/.test(document.getElementById('status').textContent), null, { what: 'HTTP 503' });
    assert.equal((await status()).state, 'error');
    await page.unroute(streams);
    await pageWait(page, () => document.getElementById('status').dataset.state === 'ok', null, { what: 'recovered' });
    assert.equal((await status()).text, 'live');

    // every answer 2.5 s late: never two requests of one endpoint at once
    let inFlight = 0, most = 0, started = 0;
    await page.route(streams, async (r) => {
      inFlight++; started++;
      most = Math.max(most, inFlight);
      await sleep(2500);
      inFlight--;
      await r.continue().catch(() => {});
    });
    await sleep(8000);
    await page.unroute(streams);
    assert.equal(most, 1, 'requests of /api/streams in flight at once');
    assert.ok(started >= 2 && started <= 4, `${started} requests in 8 s with 2.5 s answers`);
    await pageWait(page, () => document.getElementById('status').dataset.state === 'ok', null, { what: 'ok after the slow answers' });
    // the viewers table went on meanwhile
    await agree('viewers table', async () => {
      const [got, want] = [await tableIds(page), await apiIds(0)];
      return got.join() === want.join() ? [] : [`page ${got}, API ${want}`];
    });
    noProblems(problems, 'API failures', { network: true });
    await context.close();
  });

  it('viewers and the page of the first tests leave no problems', async () => {
    if (main) { noProblems(main.problems, 'main page at the end'); await main.context.close(); }
    for (const v of viewers) await v.close();
  });
});
