// Small bounded helpers. Timeouts here are failure guards, never assertions on timing.
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const WAIT = Number(process.env.WS_STREAM_WAIT || 15000);

// Poll fn() until truthy (bounded); returns its value.
export async function waitUntil(fn, { timeout = WAIT, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (let i = 0; i < 100000; i++) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= deadline) break;
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
}

export function withTimeout(promise, ms, what = 'operation') {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

// Resolves true if promise settles within ms, false otherwise (timer cleared).
export function settlesWithin(promise, ms) {
  let t;
  return Promise.race([
    Promise.resolve(promise).then(() => true, () => true),
    new Promise((r) => { t = setTimeout(() => r(false), ms); }),
  ]).finally(() => clearTimeout(t));
}
