// Helpers of the statistics tests: a config with the API and metrics
// locations, and readers of the JSON API.
import { liveConf } from './common.mjs';

export function statsConf(p, { workers = 1, listen = 'reuseport', loc = '', server = '', ...rest } = {}) {
  return liveConf(p, {
    workers,
    listen,
    zone: 'zone=live:64m',
    loc,
    server: `location /api/ { ws_stream_api; }
        location = /metrics { ws_stream_metrics; }
        location /hls/ { ws_stream_hls; }
        ${server}`,
    ...rest,
  });
}

export async function api(env, path, { method = 'GET', headers = {} } = {}) {
  const res = await fetch(`http://127.0.0.1:${env.ports.http}${path}`, { method, headers });
  const text = await res.text();
  let json = null;
  if (text && (res.headers.get('content-type') || '').startsWith('application/json')) json = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, json };
}

// The object of app/name in GET /api/streams (null when it is not listed).
export async function streamStats(env, name, app = 'live') {
  const r = await api(env, '/api/streams');
  if (r.status !== 200) throw new Error(`/api/streams answered ${r.status}: ${r.text}`);
  return r.json.streams.find((s) => s.app === app && s.stream === name) || null;
}

export async function viewersPage(env, name, query = '', app = 'live') {
  const r = await api(env, `/api/streams/${encodeURIComponent(app)}/${encodeURIComponent(name)}/viewers${query}`);
  if (r.status !== 200) throw new Error(`viewers of ${app}/${name} answered ${r.status}: ${r.text}`);
  return r.json;
}

export async function metrics(env) {
  const res = await fetch(`http://127.0.0.1:${env.ports.http}/metrics`);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

// Value of one sample line of the Prometheus text, labels given as an object.
export function sample(text, name, labels = {}) {
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (.+)$/);
    if (!m || m[1] !== name) continue;
    const have = {};
    for (const [, k, v] of (m[3] || '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) have[k] = v;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}
