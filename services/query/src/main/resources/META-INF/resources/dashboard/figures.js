// The paper's figures, each drawn from the query service's answers into a Figure (figure.js).
// Every figure's CSV is the table of numbers it shows; its JSON the answers it was drawn from.
import { get, num, fmt } from './api.js';
import { line, baseline, axis, el, PALETTE, SYMBOLS } from './figure.js';

export const METRICS = [
  ['mid_s', 'S at the middle cut'], ['row_column_s', 'S at the row/column cut'], ['valley_depth', 'valley depth'],
  ['max_normalised', 'max S / ln χ'], ['mean_normalised', 'mean S / ln χ'], ['area_law_slope', 'area-law slope'],
  ['test_loss', 'test loss'], ['train_loss', 'train loss'],
];
const METHOD = { LORA: 'LoRA', FFT: 'FFT', MPS: 'MPS' };
const enc = encodeURIComponent;

const cutAxis = n => ({ type: 'value', name: 'cut k (first k sites | the rest)', nameLocation: 'middle', nameGap: 28, min: 1, max: Math.max(n, 2), minInterval: 1 });
const points = (cuts, value) => cuts.map(c => [num(c.cut), value(c)]);

/** A cut's tooltip: its dimensions, and each series' value there. */
function cutTooltip(profile) {
  return {
    trigger: 'axis', confine: true,
    formatter: ps => {
      const k = ps[0].value[0];
      const c = profile.cuts[k - 1];
      const dims = c ? ` (d<sub>L</sub> = ${c.dLeft}, d<sub>R</sub> = ${c.dRight})` : '';
      return `cut ${k}${dims}<br>` + ps.map(p => `${p.marker}${p.seriesName}: ${fmt(p.value[1])}`).join('<br>');
    },
  };
}

/** The row/column cut as a vertical line on a series (the cut with dL = rows: ln r caps S there, Lemma X.1). */
function rowColumnMark(profile) {
  const rc = num(profile.rowColumnCut);
  if (!(rc >= 1)) return {};
  return { markLine: { symbol: 'none', silent: true, lineStyle: { color: '#9a9a9a', type: 'solid', width: 1 },
    label: { formatter: 'rows | columns', position: 'insideEndTop', fontSize: 10 }, data: [{ xAxis: rc }] } };
}

/** Long-format table of every series: series, x, y. */
function seriesTable(series, x = 'x', y = 'y') {
  const rows = [];
  for (const s of series) for (const [a, b] of s.data.map(d => Array.isArray(d) ? d : d.value)) rows.push([s.name, a, b]);
  return { columns: ['series', x, y], rows };
}

/** The caps and Page curve of one comparison, as series over n cuts. */
function baselines(rc, n) {
  const out = [];
  const page = (rc.baselines?.page ?? []).map(num);
  if (page.length) out.push(baseline('Page (Haar random)', page.map((v, k) => [k + 1, v]), 'page', { id: 'page' }));
  const lnR = num(rc.baselines?.lnR);
  if (lnR > 0) out.push(baseline(`ln r = ${fmt(lnR, 3)} (r = ${Math.round(Math.exp(lnR))})`, [[1, lnR], [n, lnR]], 'lnR', { id: 'ln-r-' + Math.round(Math.exp(lnR)) }));
  const lnChi = num(rc.baselines?.lnChiMax);
  if (lnChi > 0) out.push(baseline(`ln χ = ${fmt(lnChi, 3)} (χ = ${Math.round(Math.exp(lnChi))})`, [[1, lnChi], [n, lnChi]], 'lnChi', { id: 'ln-chi' }));
  return out;
}

// ---- a run at a step -----------------------------------------------------------------------

/** S per cut of one ΔW with the Page curve and the ln r / ln χ caps (Fig. 2); with allSteps, a curve per step (Fig. 3–4). */
export async function deltaProfile(fig, run, step, target, allSteps) {
  const cmp = await get('compare', { run: run.name, target, step });
  const rc = cmp.runs[0];
  if (!rc || !rc.found) throw new Error(`no profile of ${target} at step ${step} yet`);
  const p = rc.profile;
  const n = p.cuts.length;
  const series = [];
  const data = { compare: cmp };
  if (allSteps) {
    data.steps = {};
    for (const [i, s] of run.steps.entries()) {
      const prof = s === step ? p : (await get('profile', { run: run.name, step: s, target }).catch(() => null))?.profile;
      if (!prof) continue;
      data.steps[s] = prof;
      series.push(line(`S, step ${s}`, points(prof.cuts, c => num(c.entropy)), i,
        { id: s === step ? 'measured' : 'step-' + s, lineStyle: { width: s === step ? 2.5 : 1.5 }, ...(s === step ? rowColumnMark(p) : {}) }));
    }
  } else {
    series.push(line(`S (step ${step})`, points(p.cuts, c => num(c.entropy)), 0, { id: 'measured', ...rowColumnMark(p) }));
  }
  series.push(...baselines(rc, n));
  const b = rc.baselines ?? {};
  fig.draw({
    title: { text: `${METHOD[rc.method] ?? ''} ${target}, ${run.name}`, left: 8, top: 4, textStyle: { fontSize: 13 } },
    xAxis: cutAxis(n), yAxis: axis('S (nats)', { min: 0 }), series, tooltip: cutTooltip(p),
  }, {
    table: seriesTable(series, 'cut', 'S'), data,
    caption: `Row/column cut ${p.rowColumnCut}: S = ${fmt(rc.rowColumnS)} · valley depth ${fmt(rc.valleyDepth)} · max S/ln χ ${fmt(rc.maxNormalised)}`
      + (b.mpAvailable ? ` · Marchenko–Pastur KS ${fmt(b.mpKolmogorovSmirnov, 3)}` : ''),
    attrs: { run: run.name, target, step },
  });
}

/** Every head of a layer, normalised S / ln χ (Fig. 13) or S (Fig. 12), with the output operator XXᵀ (Fig. 15). */
export async function attentionHeads(fig, run, step, layer, quantity, unmasked) {
  const r = await get(`runs/${enc(run)}/profiles`, { step, layer });
  const value = quantity === 'normalised' ? c => num(c.normalised) : c => num(c.entropy);
  const heads = Object.keys(r.profiles).map(n => [n, /^layers\.\d+\.head\.(\d+)(\.unmasked)?$/.exec(n)]).filter(([, m]) => m)
    .filter(([, m]) => unmasked || !m[2])
    .sort((a, b) => Number(a[1][1]) - Number(b[1][1]) || (a[1][2] ? 1 : -1));
  if (!heads.length) throw new Error(`no attention profiles of layer ${layer} at step ${step} yet`);
  const series = heads.map(([n, m]) => line(`head ${m[1]}${m[2] ? ' unmasked' : ''}`, points(r.profiles[n].cuts, value), Number(m[1]),
    m[2] ? { lineStyle: { width: 1.2, type: [4, 2] }, symbolSize: 4, id: n } : { id: n }));
  const xxt = r.profiles[`layers.${layer}.XXt`];
  if (xxt) series.push({ ...line('X Xᵀ (output)', points(xxt.cuts, value), 6), id: 'XXt', lineStyle: { width: 3, type: [8, 4] }, color: '#000000', symbol: 'emptyCircle' });
  const first = r.profiles[heads[0][0]];
  let caption = `${heads.length} head profiles of layer ${layer} at step ${step}` + (quantity === 'normalised' ? ', χ = min(dL, dR)' : '');
  const ex = xxt?.extras ?? {};
  if (ex.S_rho !== undefined && ex.S_bound !== undefined) caption += ` · XXᵀ: S(ρ) = ${fmt(ex.S_rho)} ≤ h₂(δ) + δ ln(T−1) = ${fmt(ex.S_bound)} (Lemma II.2)`;
  const charges = heads.map(([n]) => num(r.profiles[n].extras?.cardy_charge)).filter(Number.isFinite);
  if (charges.length) caption += ` · mean Cardy charge σ²/(1+σ²) ${fmt(charges.reduce((a, b) => a + b, 0) / charges.length, 3)}`;
  fig.draw({
    xAxis: cutAxis(first.cuts.length), yAxis: axis(quantity === 'normalised' ? 'S / ln χ' : 'S (nats)', { min: 0 }), series, tooltip: cutTooltip(first),
    grid: { left: 64, right: 150, top: 24, bottom: 48 },
  }, { table: seriesTable(series, 'cut', quantity === 'normalised' ? 'S_over_ln_chi' : 'S'), data: r, caption, attrs: { run, target: `layers.${layer}.attention`, step } });
}

/**
 * One profile's spectra: the empirical density of x = d_min·λ at a cut against the Marchenko–Pastur
 * density of that cut's shape (Fig. 23–24), or every cut's λ_i in descending order (Fig. 22).
 */
export async function spectrum(fig, run, step, target, sel, mode) {
  const r = await get('profile', { run, step, target, spectra: true });
  const p = r.profile;
  const spectra = new Map((r.spectra ?? []).map(s => [num(s.cut), (s.p ?? []).map(num)]));
  if (!spectra.size) throw new Error(`no spectra kept for ${target}`);
  const cuts = [...spectra.keys()].sort((a, b) => a - b);
  if (fig.stale) return;
  // the cut picker: rebuilt for each profile
  fig.controls.querySelector('[data-role=cut]')?.remove();
  if (mode === 'mp') {
    if (!cuts.includes(sel.cut)) sel.cut = cuts.includes(num(p.rowColumnCut)) ? num(p.rowColumnCut) : cuts[Math.floor(cuts.length / 2)];
    const label = el('label', { 'data-role': 'cut' }, 'cut ');
    const s = el('select');
    for (const k of cuts) {
      const c = p.cuts[k - 1];
      const o = el('option', { value: String(k) }, `${k} (${c.dLeft} × ${c.dRight})${k === num(p.rowColumnCut) ? ' rows | columns' : ''}`);
      if (k === sel.cut) o.selected = true;
      s.append(o);
    }
    s.addEventListener('change', () => {
      sel.cut = Number(s.value);
      const again = fig.figure.session();
      spectrum(again, run, step, target, sel, mode).catch(e => again.fail(e.message));
    });
    label.append(s);
    fig.controls.append(label);

    const c = p.cuts[sel.cut - 1];
    const dL = num(c.dLeft), dR = num(c.dRight), dMin = Math.min(dL, dR);
    const mp = await get('theory/marchenko-pastur', { dLeft: dL, dRight: dR, points: 200 });
    const x = spectra.get(sel.cut).map(v => v * dMin);
    const zeros = Math.max(0, dMin - x.length);   // values not kept are zero
    const upper = num(mp.upperEdge);
    // the axis spans MP's support twice over: a low-rank cut's few large values would squeeze MP's
    // whole density into a sliver (those past the axis are left off it and counted in the caption)
    const largest = Math.max(0, ...x);
    const hi = Math.min(Math.max(upper, largest) * 1.05, 2 * upper);
    const bins = 40, width = hi / bins;
    const counts = new Array(bins).fill(0);
    for (const v of x) if (v <= hi) counts[Math.min(bins - 1, Math.floor(v / width))]++;
    counts[0] += zeros;
    const density = counts.map((n, i) => [(i + 0.5) * width, n / (dMin * width)]);
    const outside = x.filter(v => v > hi).length;
    const series = [
      { type: 'line', name: `measured, cut ${sel.cut}`, id: 'empirical', step: 'middle', data: density, symbol: 'none', color: PALETTE[0],
        lineStyle: { width: 1.5 }, areaStyle: { opacity: 0.3 } },
      { type: 'line', name: `Marchenko–Pastur, c = ${fmt(mp.aspect, 3)}`, id: 'marchenko-pastur', data: (mp.density ?? []).map(d => [num(d.x), num(d.density)]),
        symbol: 'none', color: '#000000', lineStyle: { width: 2, type: [6, 3] } },
    ];
    const beyond = x.filter(v => v > upper).length;
    fig.draw({
      xAxis: { type: 'value', name: 'x = d_min · λ', nameLocation: 'middle', nameGap: 28, min: 0, max: Number(hi.toPrecision(3)) },
      dataZoom: [{ type: 'inside', xAxisIndex: 0 }],
      yAxis: axis('density', { min: 0 }), series, tooltip: { trigger: 'axis', confine: true, valueFormatter: v => fmt(v) },
    }, {
      table: seriesTable(series, 'x', 'density'), data: { profile: r, marchenkoPastur: mp },
      caption: `cut ${sel.cut}: ${dL} × ${dR}, MP support [${fmt(mp.lowerEdge, 3)}, ${fmt(upper, 3)}]; ${x.filter(v => v > 0).length} of ${dMin} values non-zero, ${beyond} beyond the MP edge`
        + (outside ? ` (${outside} past the axis, the largest x = ${fmt(largest, 3)})` : ''),
      attrs: { run, target, step, cut: sel.cut },
    });
  } else {
    const series = cuts.map((k, i) => line(`cut ${k}`, spectra.get(k).map((v, j) => [j + 1, v]).filter(([, v]) => v > 0), i, { symbolSize: 3, lineStyle: { width: 1.2 }, id: 'cut-' + k }));
    fig.draw({
      xAxis: { type: 'log', name: 'i (descending)', nameLocation: 'middle', nameGap: 28, min: 1 },
      yAxis: { type: 'log', name: 'λ_i', nameLocation: 'middle', nameGap: 44 }, series,
      tooltip: { trigger: 'item', confine: true, formatter: q => `${q.seriesName}: λ_${q.value[0]} = ${fmt(q.value[1])}` },
    }, {
      table: seriesTable(series, 'i', 'lambda'), data: r,
      caption: `normalised spectra of ${target} at every cut (zeros omitted on the log scale)`, attrs: { run, target, step },
    });
  }
}

/** The share of the weight dropped at each bond of a χ-truncated sweep, and the bond dimension kept there. */
export async function discardedWeight(fig, run, step, target) {
  const r = await get('profile', { run, step, target });
  const cuts = r.profile.cuts;
  const w = cuts.map(c => [num(c.cut), num(c.discardedWeight)]);
  const bond = cuts.map(c => [num(c.cut), num(c.bondDim)]);
  const truncated = w.some(([, v]) => v > 0);
  const series = [
    { type: 'bar', name: 'discarded weight', id: 'discarded', data: w, color: PALETTE[1], barMaxWidth: 18 },
    { ...line('bond dimension kept', bond, 0), yAxisIndex: 1, id: 'bond-dim' },
  ];
  const total = w.reduce((a, [, v]) => a + v, 0);
  fig.draw({
    xAxis: cutAxis(cuts.length), series, tooltip: cutTooltip(r.profile),
    yAxis: [axis('discarded weight', { min: 0, max: truncated ? undefined : 1 }), axis('bond dimension', { nameGap: 36, position: 'right', min: 0, minInterval: 1 })],
    grid: { left: 64, right: 170, top: 24, bottom: 48 },
  }, {
    table: { columns: ['cut', 'd_left', 'd_right', 'bond_dim', 'discarded_weight'], rows: cuts.map(c => [num(c.cut), num(c.dLeft), num(c.dRight), num(c.bondDim), num(c.discardedWeight)]) },
    data: r, attrs: { run, target, step },
    caption: truncated ? `χ-truncated sweep: ${fmt(total)} of the weight discarded over all bonds, at most ${fmt(Math.max(...w.map(([, v]) => v)))}`
      : 'exact profile: nothing discarded at any bond (the profiler truncates only with entangle.profiler.chi-max set)',
  });
}

// ---- over time and across runs -------------------------------------------------------------

export async function timeline(fig, runs, target, metric) {
  const answers = {};
  const series = [];
  const all = await Promise.all(runs.map(run => get('timeline', { run, target, metric })));
  for (const [i, run] of runs.entries()) {
    const t = all[i];
    answers[run] = t;
    const pts = (t.points ?? []).map(p => [num(p.step), num(p.value)]).filter(([, v]) => Number.isFinite(v));
    if (pts.length) series.push(line(run, pts, i, { id: run }));
  }
  if (!series.length) throw new Error(`no ${metric} of ${target} for these runs`);
  const label = Object.fromEntries(METRICS)[metric];
  fig.draw({
    xAxis: axis('training step', { nameGap: 28 }), yAxis: axis(label), series,
    tooltip: { trigger: 'item', confine: true, formatter: q => `${q.seriesName}, step ${q.value[0]}: ${fmt(q.value[1])}` },
  }, { table: seriesTable(series, 'step', metric), data: answers, caption: `${label} of ${target} against training step, ${series.length} runs`, attrs: { target, runs: runs.length } });
}

export async function sweep(fig, runs, target, by, step) {
  const s = await get('sweep', { run: runs, target, by, step });
  const pts = (s.points ?? []).map(p => ({ run: p.run, x: num(p.x), mid: num(p.midS), valley: num(p.valleyDepth), loss: num(p.testLoss) }));
  const used = pts.filter(p => Number.isFinite(p.x)).sort((a, b) => a.x - b.x);
  if (!used.length) throw new Error(`none of these runs reports ${by}`);
  const item = (p, v) => ({ value: [p.x, v], name: p.run });
  const series = [
    { type: 'scatter', name: 'S at the middle cut', id: 'mid-s', data: used.map(p => item(p, p.mid)), color: PALETTE[0], symbol: SYMBOLS[0], symbolSize: 10 },
    { type: 'scatter', name: 'valley depth', id: 'valley-depth', data: used.map(p => item(p, p.valley)), color: PALETTE[1], symbol: SYMBOLS[2], symbolSize: 10 },
  ];
  const losses = used.filter(p => p.loss > 0);
  if (losses.length) series.push({ type: 'scatter', name: 'final test loss', id: 'test-loss', yAxisIndex: 1, data: losses.map(p => item(p, p.loss)), color: PALETTE[2], symbol: SYMBOLS[1], symbolSize: 9 });
  const log = (by === 'alpha' || by === 'lr') && used.every(p => p.x > 0);
  const name = { alpha: 'α', r: 'r', lr: 'learning rate', chi: 'χ' }[by];
  fig.draw({
    xAxis: { type: log ? 'log' : 'value', name, nameLocation: 'middle', nameGap: 28, scale: true },
    yAxis: [axis('nats'), axis('test loss', { position: 'right', nameGap: 46 })], series,
    grid: { left: 64, right: 196, top: 24, bottom: 48 },
    tooltip: { trigger: 'item', confine: true, formatter: q => `${q.name}<br>${q.seriesName}: ${fmt(q.value[1])} at ${name} = ${fmt(q.value[0])}` },
  }, {
    table: { columns: ['run', by, 'mid_s', 'valley_depth', 'test_loss'], rows: used.map(p => [p.run, p.x, p.mid, p.valley, p.loss > 0 ? p.loss : '']) },
    data: s, attrs: { target, step, runs: runs.length },
    caption: `${target} at step ${step} over ${name}: ${used.length} runs` + (pts.length > used.length ? `, ${pts.length - used.length} without ${name} left out` : ''),
  });
}

export async function noHair(fig, runs) {
  if (runs.length < 2) throw new Error('the no-hair report compares at least two runs: pick more');
  const r = await get('no-hair', { run: runs, step: 'latest' });
  const layers = r.layers ?? [];
  if (!layers.length) throw new Error('no layer has the same profiles in every picked run yet: pick runs of one model');
  const cat = layers.map(l => `layer ${l.layer}`);
  const series = [
    { type: 'bar', name: 'internal spread (ΔW)', id: 'internal', data: layers.map(l => num(l.internalSpread)), color: PALETTE[1], barMaxWidth: 40 },
    { type: 'bar', name: 'external spread (heads, XXᵀ)', id: 'external', data: layers.map(l => num(l.externalSpread)), color: PALETTE[0], barMaxWidth: 40 },
    { type: 'line', name: 'ratio internal / external', id: 'ratio', yAxisIndex: 1, data: layers.map(l => num(l.ratio)), color: '#000000', symbol: 'diamond', symbolSize: 10 },
  ];
  fig.draw({
    xAxis: { type: 'category', data: cat }, yAxis: [axis('spread of S across runs (nats)', { min: 0 }), axis('ratio', { position: 'right', min: 0, nameGap: 36 })],
    series, tooltip: { trigger: 'axis', confine: true, valueFormatter: v => fmt(v) }, grid: { left: 64, right: 190, top: 24, bottom: 40 },
  }, {
    table: { columns: ['layer', 'internal_spread', 'external_spread', 'ratio'], rows: layers.map(l => [l.layer, num(l.internalSpread), num(l.externalSpread), num(l.ratio)]) },
    data: r, attrs: { runs: runs.length }, caption: `${runs.length} runs at their latest step; ratio > 1: the weight updates differ across runs more than what the layers do from outside (no hair)`,
  });
}

// ---- compare -------------------------------------------------------------------------------

export async function compare(fig, runs, target, step) {
  const cmp = await get('compare', { run: runs, target, step });
  const found = cmp.runs.filter(r => r.found);
  if (!found.length) throw new Error(`none of these runs has ${target}${step === 'latest' ? '' : ' at step ' + step} yet`);
  const n = Math.max(...found.map(r => r.profile.cuts.length));
  const series = found.map((rc, i) => line(`${rc.run} @${rc.step}`, points(rc.profile.cuts, c => num(c.entropy)), runs.indexOf(rc.run), { id: rc.run }));
  const caps = new Map();
  for (const rc of found) for (const b of baselines(rc, n)) if (!caps.has(b.id)) caps.set(b.id, b);
  series.push(...caps.values());
  fig.draw({
    xAxis: cutAxis(n), yAxis: axis('S (nats)', { min: 0 }), series, tooltip: cutTooltip(found[0].profile),
  }, {
    table: seriesTable(series, 'cut', 'S'), data: cmp, attrs: { target, step, runs: runs.length },
    caption: `${target}, ${step === 'latest' ? 'each run\'s latest step' : 'step ' + step}` + (cmp.runs.length > found.length ? ` · not there yet: ${cmp.runs.filter(r => !r.found).map(r => r.run).join(', ')}` : ''),
  });
  const cols = [['run', 'Run'], ['method', 'Method'], ['step', 'Step'], ['rowColumnS', 'S row/col'], ['valleyDepth', 'Valley depth'],
    ['maxNormalised', 'max S/ln χ'], ['meanNormalised', 'mean S/ln χ'], ['testLoss', 'Test loss'], ['mpKs', 'MP KS'], ['mpJs', 'MP JS'],
    ['areaLawSlope', 'Area-law slope'], ['cardyPredictedS', 'Cardy S (predicted)'], ['cardyMeasuredS', 'S (measured)']];
  const value = (rc, k) => k === 'mpKs' ? (rc.baselines?.mpAvailable ? fmt(rc.baselines.mpKolmogorovSmirnov, 3) : '—')
    : k === 'mpJs' ? (rc.baselines?.mpAvailable ? fmt(rc.baselines.mpJensenShannon, 3) : '—')
      : k === 'run' ? rc.run : k === 'method' ? (METHOD[rc.method] ?? rc.method) : k === 'step' ? rc.step
        : k === 'testLoss' ? (num(rc.testLoss) > 0 ? fmt(rc.testLoss) : '—')
          : (k.startsWith('cardy') || k === 'areaLawSlope') && !num(rc[k]) ? '—' : fmt(rc[k]);
  const table = el('table', { class: 'metrics', 'data-role': 'metrics' });
  table.append(el('caption', { class: 'meta' }, `Metrics of ${target}`));
  table.append(el('thead', {}, el('tr', {}, ...cols.map(([, h], i) => el('th', { scope: 'col', class: i > 2 ? 'num' : undefined }, h)))));
  table.append(el('tbody', {}, ...found.map(rc => el('tr', { 'data-run': rc.run }, ...cols.map(([k], i) => el('td', { class: i > 2 ? 'num' : undefined }, String(value(rc, k))))))));
  if (!fig.stale) fig.extra.replaceChildren(table);
}
