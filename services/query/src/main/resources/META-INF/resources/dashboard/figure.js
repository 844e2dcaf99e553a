// One figure of the dashboard: an ECharts chart in a card with its controls, a caption, and the
// downloads every figure has: the picture as SVG or PNG, its data as CSV or JSON.

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies (yellow last: low contrast on white). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
/** A second cue beside colour: each series also has its own marker. */
export const SYMBOLS = ['circle', 'rect', 'triangle', 'diamond', 'roundRect', 'pin', 'arrow', 'emptyCircle'];
/** Baselines (Page, ln r, ln χ): grey and black, each with its own dash. */
export const BASELINE = {
  page: { color: '#6b6b6b', type: [6, 4] },
  lnR: { color: '#000000', type: [2, 3] },
  lnChi: { color: '#6b6b6b', type: [8, 3, 2, 3] },
};
const SIZE = { width: 900, height: 520 };   // downloads: the paper's aspect, independent of the screen

let serial = 0;

export class Figure {
  /**
   * @param parent where the card goes
   * @param name the figure's kind (data-figure; the downloads' file names start with it)
   * @param title the card's heading
   */
  constructor(parent, name, title, { tall = false } = {}) {
    this.name = name;
    this.card = el('section', { class: 'card' + (tall ? ' tall' : ''), 'data-figure': name, 'data-state': 'empty' });
    const id = `fig-${name}-${++serial}`;
    this.card.setAttribute('aria-labelledby', id);
    const head = el('header', { class: 'fig' });
    head.append(el('h3', { id }, title));
    this.controls = el('div', { class: 'controls' });
    head.append(this.controls);
    const tools = el('div', { class: 'tools', role: 'group', 'aria-label': `Download ${title}` });
    for (const [kind, label] of [['svg', 'SVG'], ['png', 'PNG'], ['csv', 'CSV'], ['json', 'JSON']]) {
      const b = el('button', { type: 'button', 'data-download': kind, title: `Download ${label === 'CSV' || label === 'JSON' ? 'the data' : 'the figure'} as ${label}` }, label);
      b.addEventListener('click', () => this.download(kind));
      tools.append(b);
    }
    head.append(tools);
    this.card.append(head);
    this.chartEl = el('div', { class: 'chart', tabindex: '0', role: 'img', 'aria-label': title });
    this.card.append(this.chartEl);
    this.caption = el('p', { class: 'caption', 'aria-live': 'polite' });
    this.card.append(this.caption);
    this.extra = el('div');
    this.card.append(this.extra);
    parent.append(this.card);
    this.chart = echarts.init(this.chartEl, null, { renderer: 'canvas' });
    this.keyboard();
    new ResizeObserver(() => this.chart.resize()).observe(this.chartEl);
  }

  /** A labelled select in the card's controls; onChange gets the new value. */
  select(label, options, value, onChange) {
    const s = el('select');
    setOptions(s, options, value);
    s.addEventListener('change', () => onChange(s.value));
    this.controls.append(el('label', {}, label + ' ', s));
    return s;
  }

  checkbox(label, checked, onChange) {
    const c = el('input', { type: 'checkbox' });
    c.checked = checked;
    c.addEventListener('change', () => onChange(c.checked));
    this.controls.append(el('label', {}, c, ' ' + label));
    return c;
  }

  /** Draws the figure. table: {columns, rows} (the CSV); data: the API answers it was drawn from (the JSON). */
  draw(option, { table, data, caption = '', attrs = {} }) {
    this.option = withDefaults(option);
    this.table = table;
    this.data = data;
    this.chart.clear();
    this.chart.setOption(this.option);
    this.caption.textContent = caption;
    this.caption.classList.remove('error');
    this.chartEl.setAttribute('aria-label', `${this.card.querySelector('h3').textContent}. ${caption}`);
    for (const [k, v] of Object.entries(attrs)) this.card.setAttribute('data-' + k, v);
    this.card.setAttribute('data-state', 'drawn');
  }

  /** Shows why there is no figure (an API error, nothing profiled yet). */
  fail(message) {
    this.option = null;
    this.chart.clear();
    this.caption.textContent = message;
    this.caption.classList.add('error');
    this.card.setAttribute('data-state', 'error');
  }

  /**
   * Starts drawing anew: the returned session draws into this figure only while no later one has
   * started (answers to an older choice that arrive late are dropped, not drawn over newer ones).
   */
  session() {
    const token = this.token = (this.token ?? 0) + 1;
    this.card.setAttribute('data-state', 'loading');
    const live = () => token === this.token;
    const figure = this;
    return {
      figure, controls: this.controls, extra: this.extra,
      get stale() { return !live(); },
      draw: (option, meta) => { if (live()) figure.draw(option, meta); },
      fail: message => { if (live()) figure.fail(message); },
    };
  }

  /** The figure as a standalone SVG document (ECharts' SVG renderer, off screen). */
  svg() {
    if (!this.option) throw new Error('nothing drawn');
    const c = echarts.init(null, null, { renderer: 'svg', ssr: true, width: SIZE.width, height: SIZE.height });
    c.setOption({ ...this.option, animation: false });
    const s = c.renderToSVGString();
    c.dispose();
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + s;
  }

  csv() {
    const cell = v => {
      const s = v === null || v === undefined ? '' : String(v);
      return /[",\n]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s;
    };
    return [this.table.columns, ...this.table.rows].map(r => r.map(cell).join(',')).join('\n') + '\n';
  }

  download(kind) {
    if (!this.option) return;
    const base = fileName(this.name, this.card.dataset);
    if (kind === 'png') {
      const url = this.chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#ffffff' });
      save(url, base + '.png');
    } else if (kind === 'svg') {
      saveBlob(new Blob([this.svg()], { type: 'image/svg+xml' }), base + '.svg');
    } else if (kind === 'csv') {
      saveBlob(new Blob([this.csv()], { type: 'text/csv' }), base + '.csv');
    } else {
      saveBlob(new Blob([JSON.stringify(this.data, null, 2)], { type: 'application/json' }), base + '.json');
    }
  }

  /** Arrow keys walk the points of the first series with the tooltip (the chart is focusable). */
  keyboard() {
    let index = -1;
    this.chartEl.addEventListener('keydown', e => {
      if (!this.option || !['ArrowLeft', 'ArrowRight', 'Home', 'End', 'Escape'].includes(e.key)) return;
      const series = this.option.series.find(s => Array.isArray(s.data) && s.data.length) ;
      if (!series) return;
      const seriesIndex = this.option.series.indexOf(series);
      const n = series.data.length;
      if (e.key === 'Escape') { this.chart.dispatchAction({ type: 'hideTip' }); return; }
      index = e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : Math.max(0, Math.min(n - 1, index + (e.key === 'ArrowRight' ? 1 : -1)));
      this.chart.dispatchAction({ type: 'showTip', seriesIndex, dataIndex: index });
      e.preventDefault();
    });
    this.chartEl.addEventListener('blur', () => this.chart.dispatchAction({ type: 'hideTip' }));
  }
}

function withDefaults(option) {
  return {
    backgroundColor: '#ffffff',
    color: PALETTE,
    animation: false,
    aria: { enabled: true },
    // unquoted: ECharts writes it into the SVG's attributes as it is (quotes there would break the document)
    textStyle: { fontFamily: 'DejaVu Sans, sans-serif' },
    grid: { left: 64, right: 150, top: 36, bottom: 48 },
    tooltip: { trigger: 'item', confine: true },
    legend: { type: 'scroll', orient: 'vertical', right: 4, top: 30, bottom: 10, textStyle: { fontSize: 11 } },
    ...option,
  };
}

export function line(name, data, i, extra = {}) {
  return { type: 'line', name, data, color: PALETTE[i % PALETTE.length], symbol: SYMBOLS[i % SYMBOLS.length], symbolSize: 6,
    lineStyle: { width: 2 }, ...extra };
}

export function baseline(name, data, kind, extra = {}) {
  return { type: 'line', name, data, color: BASELINE[kind].color, symbol: 'none', lineStyle: { width: 1.6, type: BASELINE[kind].type }, ...extra };
}

export function axis(name, extra = {}) {
  return { type: 'value', name, nameLocation: 'middle', nameGap: 30, scale: true, ...extra };
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
}

/** options: [value, label] pairs or plain values. */
export function setOptions(select, options, value) {
  select.replaceChildren(...options.map(o => {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    const opt = el('option', { value: String(v) }, String(label));
    if (String(v) === String(value)) opt.selected = true;
    return opt;
  }));
}

function fileName(name, dataset) {
  const parts = [name, dataset.run, dataset.target, dataset.step !== undefined ? 'step' + dataset.step : undefined]
    .filter(p => p !== undefined && p !== '');
  return parts.join('-').replace(/[^A-Za-z0-9._-]+/g, '_');
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  save(url, name);
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function save(url, name) {
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}
