// The dashboard: the paper's figures for every run the caller may see, live as profiles land.
// Views (hash routes): #/runs, #/run/NAME?step=N, #/time, #/compare.
import { get, num, fmt, live } from './api.js';
import { Figure, el, setOptions } from './figure.js';
import * as draw from './figures.js';

/** name -> the run's summary (RunSummary, numbers parsed). */
const runs = new Map();
let current = null;   // the view on screen: {update(name|null), dispose()}

function summary(s) {
  const h = s.hyper ?? {};
  return {
    name: s.run, method: s.method, base: s.baseId,
    r: h.r, alpha: h.loraAlpha, chi: h.bondDim, lr: h.learningRate, rslora: h.rslora,
    steps: (s.steps ?? []).map(num).sort((a, b) => a - b),
    progress: new Map((s.progress ?? []).map(p => [num(p.step), { done: num(p.unitsDone), total: num(p.unitsTotal) }])),
    state: s.state,
  };
}

const latest = run => run.steps.length ? run.steps[run.steps.length - 1] : undefined;
const runLink = name => '#/run/' + encodeURIComponent(name);
const METHOD = { LORA: 'LoRA', FFT: 'FFT', MPS: 'MPS', METHOD_UNSPECIFIED: '—' };

/** Calls fn at most once per `ms` after the last request (live updates arrive in bursts). */
function debounce(fn, ms) {
  let t = null;
  return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}

// ---- targets -------------------------------------------------------------------------------

/** Target names as dev.entangle.core.profile.Target writes them. */
const TARGET = /^layers\.(\d+)\.(.+)$/;
function classify(names) {
  const delta = [], heads = new Map(), outputs = [], layers = new Set();
  for (const n of names) {
    const m = TARGET.exec(n);
    if (!m) continue;
    const layer = Number(m[1]);
    const rest = m[2];
    const head = /^head\.(\d+)(\.unmasked)?$/.exec(rest);
    if (head) {
      layers.add(layer);
      if (!heads.has(layer)) heads.set(layer, []);
      heads.get(layer).push(n);
    } else if (rest === 'XXt') outputs.push(n);
    else if (rest !== 'attention') delta.push(n);
  }
  const byLayer = (a, b) => Number(TARGET.exec(a)[1]) - Number(TARGET.exec(b)[1]) || a.localeCompare(b);
  delta.sort(byLayer);
  outputs.sort(byLayer);
  return { delta, heads, outputs, headLayers: [...layers].sort((a, b) => a - b) };
}

function defaultDelta(names) {
  return names.includes('layers.0.q_proj') ? 'layers.0.q_proj' : names[0];
}

// ---- runs ----------------------------------------------------------------------------------

function runsView(main) {
  const table = el('table', { 'aria-describedby': 'runs-note' });
  const note = el('p', { id: 'runs-note', class: 'meta' },
    'Every run you may see, live: a checkpoint appears as soon as its first profile lands, with one bar per step while it is profiled.');
  main.replaceChildren(el('h2', {}, 'Runs'), note, table);
  table.append(el('thead', {}, el('tr', {}, ...['Run', 'Method', 'r', 'α', 'χ', 'lr', 'Steps', 'Progress (units profiled per step)', 'State']
    .map((h, i) => el('th', { scope: 'col', class: i >= 2 && i <= 5 ? 'num' : undefined }, h)))));
  const body = el('tbody');
  table.append(body);

  /** The steps that get a bar: any still being profiled (a few), and the latest ones; the rest are summed up. */
  const SHOWN = 3;
  function barSteps(run) {
    const open = run.steps.filter(s => { const p = run.progress.get(s); return p && p.done < p.total; }).slice(-6);
    return [...new Set([...open, ...run.steps.slice(-SHOWN)])].sort((a, b) => a - b);
  }
  function stepList(steps) {
    return steps.length <= 6 ? steps.join(', ') : `${steps[0]}, ${steps[1]}, …, ${steps[steps.length - 1]} (${steps.length} steps)`;
  }

  function row(run) {
    const progress = el('div', { class: 'progress' });
    const shown = barSteps(run);
    if (shown.length < run.steps.length) {
      const rest = run.steps.filter(s => !shown.includes(s));
      const done = rest.filter(s => { const p = run.progress.get(s); return p && p.done >= p.total; }).length;
      progress.append(el('span', {}, `${rest.length} earlier steps, ${done} of them profiled;`));
    }
    for (const step of shown) {
      const p = run.progress.get(step) ?? { done: 0, total: 0 };
      const bar = el('progress', { max: String(Math.max(p.total, 1)), value: String(p.done), 'data-step': String(step),
        'aria-label': `step ${step}: ${p.done} of ${p.total} units profiled` });
      progress.append(el('span', {}, `step ${step}`, bar, `${p.done}/${p.total}`));
    }
    const cells = [
      el('td', {}, el('a', { href: runLink(run.name) }, run.name)),
      el('td', {}, METHOD[run.method] ?? run.method),
      el('td', { class: 'num' }, run.r ?? '—'),
      el('td', { class: 'num' }, run.alpha !== undefined ? fmt(run.alpha) + (run.rslora ? ' (rs)' : '') : '—'),
      el('td', { class: 'num' }, run.chi ?? '—'),
      el('td', { class: 'num' }, run.lr !== undefined ? fmt(run.lr) : '—'),
      el('td', {}, stepList(run.steps)),
      el('td', {}, progress),
      el('td', { class: 'state-' + run.state }, run.state === 'PROFILING' ? 'profiling' : run.state === 'COMPLETE' ? 'complete' : '—'),
    ];
    return el('tr', { 'data-run': run.name, 'data-state': run.state }, ...cells);
  }

  function render() {
    if (!runs.size) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: '9', class: 'empty' },
        'No runs yet: ingest a checkpoint (./entangle ingest DIR) and it appears here as it is profiled.')));
      return;
    }
    body.replaceChildren(...[...runs.values()].map(row));
  }
  render();
  return {
    update(name) {
      const run = name && runs.get(name);
      const old = name && body.querySelector(`tr[data-run="${CSS.escape(name)}"]`);
      if (run && old) old.replaceWith(row(run));
      else render();
    },
  };
}

// ---- a run at a step -----------------------------------------------------------------------

function runView(main, [name], query) {
  if (!name) {
    const first = runs.keys().next().value;
    if (first) { location.replace(runLink(first)); return null; }
    main.replaceChildren(el('h2', {}, 'Run at a step'), el('p', { class: 'empty' }, 'No runs yet.'));
    return { update() { if (runs.size) route(); } };
  }
  const run = runs.get(name);
  if (!run) {
    main.replaceChildren(el('h2', {}, name), el('p', { class: 'empty', role: 'alert' },
      `Unknown run ${name} (not yet profiled, or not yours to see).`));
    return { update(n) { if (n === name || n === null) { if (runs.has(name)) route(); } } };
  }
  const step = query.has('step') ? Number(query.get('step')) : latest(run);
  const head = el('div', { class: 'bar' });
  const grid = el('div', { class: 'grid' });
  main.replaceChildren(el('h2', {}, `${name} at step ${step}`), head, grid);

  const stepSelect = el('select', { id: 'step' });
  const meta = el('span', { class: 'meta' });
  head.append(el('label', { for: 'step' }, 'Step '), stepSelect, meta);
  stepSelect.addEventListener('change', () => { location.hash = runLink(name) + '?step=' + stepSelect.value; });
  function header() {
    const r = runs.get(name);
    setOptions(stepSelect, r.steps.map(s => {
      const p = r.progress.get(s);
      return [s, p && p.done < p.total ? `${s} (${p.done}/${p.total} profiled)` : s];
    }), step);
    const p = r.progress.get(step) ?? { done: 0, total: 0 };
    meta.textContent = [METHOD[r.method], r.r !== undefined && `r = ${r.r}`, r.alpha !== undefined && `α = ${fmt(r.alpha)}`,
      r.chi !== undefined && `χ = ${r.chi}`, r.lr !== undefined && `lr = ${fmt(r.lr)}`,
      `${p.done}/${p.total} units profiled at this step`].filter(Boolean).join(' · ');
  }
  header();

  const figs = {
    delta: new Figure(grid, 'delta-profile', 'ΔW profile with Page and ln r / ln χ (Fig. 2–4)'),
    attention: new Figure(grid, 'attention-heads', 'Attention heads and XXᵀ (Fig. 12–15)'),
    spectrum: new Figure(grid, 'spectrum', 'A cut\'s spectrum against Marchenko–Pastur (Fig. 22–24)'),
    discarded: new Figure(grid, 'discarded-weight', 'Discarded weight per bond (χ-truncated sweeps)'),
  };
  const sel = { delta: null, allSteps: false, layer: null, quantity: 'normalised', unmasked: false, spectrumTarget: null, cut: null, mode: 'mp', discarded: null };
  let targets = null;

  async function load() {
    try {
      targets = classify((await get(`runs/${encodeURIComponent(name)}/targets`, { step })).targets ?? []);
    } catch (e) {
      Object.values(figs).forEach(f => f.fail(e.message));
      return;
    }
    controls();
    redraw();
  }

  function controls() {
    for (const f of Object.values(figs)) f.controls.replaceChildren();
    const t = targets;
    sel.delta ??= defaultDelta(t.delta);
    sel.layer ??= t.headLayers[0];
    sel.spectrumTarget ??= sel.delta ?? t.outputs[0];
    sel.discarded ??= sel.delta;
    if (t.delta.length) {
      figs.delta.select('ΔW', t.delta, sel.delta, v => { sel.delta = v; drawDelta(); });
      figs.delta.checkbox('all steps (Fig. 3–4)', sel.allSteps, v => { sel.allSteps = v; drawDelta(); });
      figs.discarded.select('ΔW', t.delta, sel.discarded, v => { sel.discarded = v; drawDiscarded(); });
    }
    if (t.headLayers.length) {
      figs.attention.select('layer', t.headLayers, sel.layer, v => { sel.layer = Number(v); drawAttention(); });
      figs.attention.select('show', [['normalised', 'S / ln χ (Fig. 13)'], ['entropy', 'S (Fig. 12, 15)']], sel.quantity,
        v => { sel.quantity = v; drawAttention(); });
      if ([...t.heads.values()].flat().some(n => n.endsWith('.unmasked'))) {
        figs.attention.checkbox('unmasked too', sel.unmasked, v => { sel.unmasked = v; drawAttention(); });
      }
    }
    const spectral = [...t.delta, ...t.outputs, ...[...t.heads.values()].flat()];
    if (spectral.length) {
      figs.spectrum.select('profile', spectral, sel.spectrumTarget, v => { sel.spectrumTarget = v; sel.cut = null; drawSpectrum(); });
      figs.spectrum.select('show', [['mp', 'density vs MP (Fig. 23–24)'], ['ranked', 'ranked spectra (Fig. 22)']], sel.mode,
        v => { sel.mode = v; drawSpectrum(); });
    }
  }

  const drawDelta = () => t(figs.delta, targets.delta.length, s => draw.deltaProfile(s, runs.get(name), step, sel.delta, sel.allSteps));
  const drawAttention = () => t(figs.attention, targets.headLayers.length, s => draw.attentionHeads(s, name, step, sel.layer, sel.quantity, sel.unmasked));
  const drawSpectrum = () => t(figs.spectrum, sel.spectrumTarget, s => draw.spectrum(s, name, step, sel.spectrumTarget, sel, sel.mode));
  const drawDiscarded = () => t(figs.discarded, targets.delta.length, s => draw.discardedWeight(s, name, step, sel.discarded));
  function t(fig, present, fn) {
    if (!present) { fig.session().fail('nothing of this kind profiled at this step (yet)'); return; }
    const s = fig.session();
    fn(s).catch(e => s.fail(e.message));
  }
  function redraw() { drawDelta(); drawAttention(); drawSpectrum(); drawDiscarded(); }

  load();
  let seen = (run.progress.get(step) ?? {}).done;
  const again = debounce(load, 1200);
  return {
    update(n) {
      if (n !== name && n !== null) return;
      if (!runs.has(name)) { route(); return; }
      header();
      const done = (runs.get(name).progress.get(step) ?? {}).done;
      if (done !== seen) { seen = done; again(); }   // more of this step landed: its figures grow
    },
    dispose() { Object.values(figs).forEach(f => f.chart.dispose()); },
  };
}

// ---- over time and across runs -------------------------------------------------------------

/** Checkboxes of runs; selection kept across views and live arrivals. */
const picked = { time: null, compare: null };

function runPicker(parent, key, defaults, onChange) {
  const box = el('fieldset', { class: 'picker' });
  box.append(el('legend', { class: 'meta' }, 'Runs'));
  for (const [label, pick] of [['all', () => runs.keys()], ['none', () => []]]) {
    const b = el('button', { type: 'button', 'data-pick': label }, label);
    b.addEventListener('click', () => { picked[key] = new Set(pick()); render(); onChange(); });
    box.append(b);
  }
  parent.append(box);
  function render() {
    if (picked[key] === null) picked[key] = new Set(defaults());
    box.querySelectorAll('label').forEach(l => l.remove());
    for (const r of runs.values()) {
      const c = el('input', { type: 'checkbox', value: r.name });
      c.checked = picked[key].has(r.name);
      c.addEventListener('change', () => {
        if (c.checked) picked[key].add(r.name); else picked[key].delete(r.name);
        onChange();
      });
      box.append(el('label', {}, c, ' ' + r.name));
    }
  }
  render();
  return { render, selected: () => [...runs.keys()].filter(n => picked[key].has(n)) };
}

async function deltaTargets(names) {
  const all = new Set();
  for (const n of names.slice(0, 12)) {
    try {
      for (const t of (await get(`runs/${encodeURIComponent(n)}/targets`)).targets ?? []) all.add(t);
    } catch (e) { /* a run without profiles yet */ }
  }
  return classify([...all]);
}

function timeView(main) {
  const bar = el('div', { class: 'bar' });
  const grid = el('div', { class: 'grid' });
  main.replaceChildren(el('h2', {}, 'Over time and across runs'), bar, grid);
  const picker = runPicker(bar, 'time', () => [...runs.keys()], () => redraw());
  const targetSelect = el('select', { id: 'time-target' });
  bar.append(el('label', { for: 'time-target' }, 'Profile '), targetSelect);
  const figs = {
    timeline: new Figure(grid, 'timeline', 'Timeline per metric (Fig. 3–4, 9)'),
    sweep: new Figure(grid, 'sweep', 'Sweep over a hyper-parameter (Fig. 5, 7, 9–11, 19)'),
    noHair: new Figure(grid, 'no-hair', 'No-hair ratio per layer'),
  };
  const sel = { target: null, metric: 'mid_s', by: 'alpha', step: 'latest' };
  figs.timeline.select('metric', draw.METRICS, sel.metric, v => { sel.metric = v; drawTimeline(); });
  figs.sweep.select('over', [['alpha', 'α'], ['r', 'r'], ['lr', 'learning rate'], ['chi', 'χ']], sel.by, v => { sel.by = v; drawSweep(); });
  const sweepStep = figs.sweep.select('step', ['latest'], sel.step, v => { sel.step = v; drawSweep(); });
  targetSelect.addEventListener('change', () => { sel.target = targetSelect.value; drawTimeline(); drawSweep(); });

  async function targets() {
    const t = await deltaTargets(picker.selected().length ? picker.selected() : [...runs.keys()]);
    const names = [...t.delta, ...t.outputs];
    sel.target = names.includes(sel.target) ? sel.target : defaultDelta(t.delta) ?? names[0];
    setOptions(targetSelect, names, sel.target);
    const steps = [...new Set([...runs.values()].flatMap(r => r.steps))].sort((a, b) => a - b);
    setOptions(sweepStep, ['latest', ...steps], sel.step);
  }
  const drawTimeline = () => guard(figs.timeline, s => draw.timeline(s, picker.selected(), sel.target, sel.metric));
  const drawSweep = () => guard(figs.sweep, s => draw.sweep(s, picker.selected(), sel.target, sel.by, sel.step));
  const drawNoHair = () => guard(figs.noHair, s => draw.noHair(s, picker.selected()));
  function guard(fig, fn) {
    const s = fig.session();
    if (!picker.selected().length) { s.fail('pick one or more runs'); return; }
    if (!sel.target) { s.fail('nothing profiled yet'); return; }
    fn(s).catch(e => s.fail(e.message));
  }
  async function redraw() {
    try { await targets(); } catch (e) { Object.values(figs).forEach(f => f.fail(e.message)); return; }
    drawTimeline(); drawSweep(); drawNoHair();
  }
  redraw();
  const again = debounce(redraw, 2000);
  return {
    update(n) {
      picker.render();
      if (n === null || picker.selected().includes(n)) again();
    },
    dispose() { Object.values(figs).forEach(f => f.chart.dispose()); },
  };
}

// ---- compare -------------------------------------------------------------------------------

function compareView(main) {
  const bar = el('div', { class: 'bar' });
  const grid = el('div', { class: 'grid one' });
  main.replaceChildren(el('h2', {}, 'Compare runs'), bar, grid);
  const preferred = ['lora-r16-a16', 'fft-lr1e-4', 'mps-r8-chi8-a16'];
  const picker = runPicker(bar, 'compare', () => {
    const p = preferred.filter(n => runs.has(n));
    return p.length ? p : [...runs.keys()].slice(0, 3);
  }, () => redraw());
  const targetSelect = el('select', { id: 'compare-target' });
  const stepSelect = el('select', { id: 'compare-step' });
  bar.append(el('label', { for: 'compare-target' }, 'Profile '), targetSelect, el('label', { for: 'compare-step' }, 'Step '), stepSelect);
  const fig = new Figure(grid, 'compare', 'Profiles overlaid, with the metrics table', { tall: true });
  const sel = { target: null, step: 'latest' };
  targetSelect.addEventListener('change', () => { sel.target = targetSelect.value; drawIt(); });
  stepSelect.addEventListener('change', () => { sel.step = stepSelect.value; drawIt(); });

  async function redraw() {
    try {
      const t = await deltaTargets(picker.selected().length ? picker.selected() : [...runs.keys()]);
      const names = [...t.delta, ...t.outputs, ...[...t.heads.values()].flat()];
      sel.target = names.includes(sel.target) ? sel.target : defaultDelta(t.delta) ?? names[0];
      setOptions(targetSelect, names, sel.target);
      const steps = [...new Set(picker.selected().flatMap(n => runs.get(n)?.steps ?? []))].sort((a, b) => a - b);
      setOptions(stepSelect, ['latest', ...steps], sel.step);
    } catch (e) { fig.fail(e.message); return; }
    drawIt();
  }
  function drawIt() {
    const s = fig.session();
    if (!picker.selected().length) { s.fail('pick one or more runs'); return; }
    if (!sel.target) { s.fail('nothing profiled yet'); return; }
    draw.compare(s, picker.selected(), sel.target, sel.step).catch(e => s.fail(e.message));
  }
  redraw();
  const again = debounce(redraw, 2000);
  return {
    update(n) {
      picker.render();
      if (n === null || picker.selected().includes(n)) again();
    },
    dispose() { fig.chart.dispose(); },
  };
}

// ---- routing and the live stream -----------------------------------------------------------

const VIEWS = { runs: runsView, run: runView, time: timeView, compare: compareView };
let routed = false;

function route() {
  const [path, q] = location.hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const view = VIEWS[parts[0]] ? parts[0] : 'runs';
  document.querySelectorAll('nav a').forEach(a => a.removeAttribute('aria-current'));
  document.querySelector(`nav a[data-view="${view}"]`).setAttribute('aria-current', 'page');
  current?.dispose?.();
  const main = document.getElementById('main');
  current = VIEWS[view](main, parts.slice(1), new URLSearchParams(q ?? '')) ?? null;
  document.title = `entangle — ${document.querySelector(`nav a[data-view="${view}"]`).textContent}`;
  if (routed) main.focus({ preventScroll: true });   // keyboard and screen-reader users land on the new view
  routed = true;
}

const status = document.getElementById('live');
let started = false;
live({
  onAll(list) {
    runs.clear();
    for (const s of list) runs.set(s.run, summary(s));
    if (!started) { started = true; route(); } else current?.update?.(null);
  },
  onRun(s) {
    runs.set(s.run, summary(s));
    if (started) current?.update?.(s.run);
  },
  onState(state) {
    status.dataset.state = state;
    status.textContent = state === 'live' ? 'live' : 'reconnecting…';
    // the stream cannot say why it was refused: ask once the plain way, and show that answer
    if (state === 'lost' && !started) {
      get('runs').catch(e => document.getElementById('main').replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message)));
    }
  },
});
window.addEventListener('hashchange', () => { if (started) route(); });
