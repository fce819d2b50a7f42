// Polling one JSON endpoint: at most one request in flight, the next one
// `interval` ms after the previous one started (at once after it ended when
// the server took longer), a timeout, errors told apart. Timers and fetch
// are passed in, so node --test drives it with a fake clock.

/** An error of one poll: kind 'network' | 'timeout' | 'http' | 'json'; status for 'http'. */
export class PollError extends Error {
  constructor(kind, message, status = null) {
    super(message);
    this.name = 'PollError';
    this.kind = kind;
    this.status = status;
  }
}

/** What the page shows for a failed poll. */
export function describeError(e) {
  if (e && e.kind === 'http') return `HTTP ${e.status}`;
  if (e && e.kind === 'timeout') return 'API timeout';
  if (e && e.kind === 'json') return 'API answer is not JSON';
  return 'API unreachable';
}

/** fetch(url) -> the parsed JSON, or a PollError. */
export async function fetchJson(fetchFn, url, signal) {
  let res;
  try {
    res = await fetchFn(url, { signal, cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch (e) {
    if (signal && signal.aborted) throw new PollError('timeout', 'API timeout');
    throw new PollError('network', `API unreachable: ${e && e.message}`);
  }
  if (!res.ok) {
    // drain the body so the connection can be reused
    try { await res.text(); } catch { /* gone */ }
    throw new PollError('http', `HTTP ${res.status}`, res.status);
  }
  try {
    return await res.json();
  } catch (e) {
    if (signal && signal.aborted) throw new PollError('timeout', 'API timeout');
    throw new PollError('json', `API answer is not JSON: ${e && e.message}`);
  }
}

export class Poller {
  /**
   * @param {{url: () => (string|null), onData: (data, url) => void, onError: (PollError, url) => void,
   *          fetch: Function, interval?: number, timeout?: number,
   *          now?: () => number, setTimeout?: Function, clearTimeout?: Function, report?: (Error) => void}} o
   * url() is asked before each request; null skips it (nothing to poll).
   * An exception of a handler goes to report() (default: thrown from a
   * timer, an uncaught error) and the polling goes on.
   */
  constructor({ url, onData, onError, fetch, interval = 1000, timeout = 10000,
    now = () => Date.now(), setTimeout: set = (f, ms) => setTimeout(f, ms), clearTimeout: clear = (t) => clearTimeout(t),
    report = (e) => set(() => { throw e; }, 0) }) {
    Object.assign(this, { url, onData, onError, interval, timeout, now, set, clear, report });
    this.fetchFn = fetch;
    this.timer = null;
    this.inFlight = false;
    this.again = false;      // poke() during a request: go again when it ends
    this.running = false;
    this.requests = 0;       // started, for tests
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.run();
  }

  stop() {
    this.running = false;
    if (this.timer !== null) this.clear(this.timer);
    this.timer = null;
  }

  /** Poll now (the URL changed): at once, or right after the request in flight. */
  poke() {
    if (!this.running) return;
    if (this.inFlight) { this.again = true; return; }
    if (this.timer !== null) this.clear(this.timer);
    this.timer = null;
    this.run();
  }

  async run() {
    this.timer = null;
    if (!this.running || this.inFlight) return;
    const url = this.url();
    const started = this.now();
    if (url === null) { this.schedule(started); return; }
    this.inFlight = true;
    this.again = false;
    this.requests++;
    const ctl = new AbortController();
    const guard = this.set(() => ctl.abort(), this.timeout);
    let data, err = null;
    try {
      data = await fetchJson(this.fetchFn, url, ctl.signal);
    } catch (e) {
      err = e instanceof PollError ? e : new PollError('network', String(e));
    } finally {
      this.clear(guard);
      this.inFlight = false;
    }
    try {
      if (this.running) {
        if (err) this.onError(err, url);
        else this.onData(data, url);
      }
    } catch (e) {
      this.report(e);
    }
    this.schedule(started);
  }

  // The next run, unless stopped or one was started meanwhile (poke() in a handler).
  schedule(started) {
    if (!this.running || this.timer !== null || this.inFlight) return;
    const wait = this.again ? 0 : Math.max(0, this.interval - (this.now() - started));
    this.again = false;
    this.timer = this.set(() => this.run(), wait);
  }
}
