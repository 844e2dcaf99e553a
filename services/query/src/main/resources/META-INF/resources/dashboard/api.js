// The query service's JSON endpoints (services/query: dev.entangle.query.rest). Answers are the
// query API's protobuf messages in protobuf's JSON mapping: int64 as strings, NaN as "NaN".

/** GET /api/PATH?params; params' arrays become repeated parameters. Throws Error(message) on an error answer. */
export async function get(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  }
  const url = 'api/' + path + (q.size ? '?' + q : '');
  const r = await fetch(url, { headers: { accept: 'application/json' } });
  const text = await r.text();
  if (!r.ok) {
    let message = text;
    try { message = JSON.parse(text).error ?? text; } catch (e) { /* a proxy's or filter's plain text */ }
    const err = new Error(`${message} (HTTP ${r.status})`);
    err.status = r.status;
    throw err;
  }
  return JSON.parse(text);
}

/** A number from the JSON mapping ("150", "NaN", 0.5). */
export function num(v) {
  if (v === undefined || v === null) return NaN;
  return typeof v === 'number' ? v : Number(v);
}

export function fmt(v, digits = 4) {
  const x = num(v);
  if (!Number.isFinite(x)) return '—';
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return Number(x.toFixed(digits)).toString();
}

/**
 * The caller's runs, live (GET /api/events, Server-Sent Events): onAll(list) with every run on
 * (re)connection, onRun(summary) after each result that lands; onState('live' | 'lost').
 * EventSource reconnects by itself; the first event after a reconnection is the whole list again.
 */
export function live({ onAll, onRun, onState }) {
  const source = new EventSource('api/events');
  source.addEventListener('runs', e => { onState('live'); onAll(JSON.parse(e.data).runs ?? []); });
  source.addEventListener('run', e => onRun(JSON.parse(e.data)));
  source.addEventListener('error', () => onState('lost'));
  return source;
}
