// train.js: the training dashboard. Polls GET /v1/run?from=N (only the new metrics.jsonl
// records) every few seconds and draws, as plain SVG, the training and validation loss
// over steps and each expert's share of the selected layer's tokens over steps.
'use strict';

const $ = (id) => document.getElementById(id);
const SVG_NS = 'http://www.w3.org/2000/svg';
const REFRESH_SECONDS = Number(new URLSearchParams(location.search).get('refresh')) || 3;
const run = { dir: '', records: [], badLines: [], layers: 0, loading: false };

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// About `count` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi].
function ticks(lo, hi, count) {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function tickLabel(v) {
  if (v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-2)) return v.toExponential(0);
  return String(+v.toPrecision(4));
}

// Draws series [{name, color, points: [[x, y]...], dashed}] into `svg` with axes and a legend.
function drawChart(svg, series, { yMin, yMax, xLabel = 'step', emptyText = 'no records yet' } = {}) {
  const legendRows = Math.ceil(series.filter((s) => s.points.length > 0).length / 4);
  const W = 580, H = 330, m = { left: 52, right: 14, top: 12 + 15 * legendRows, bottom: 40 };
  const all = series.flatMap((s) => s.points);
  svg.replaceChildren();
  if (all.length === 0) {
    svg.append(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, emptyText));
    return;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [yMin ?? Math.min(...all.map((p) => p[1])), yMax ?? Math.max(...all.map((p) => p[1]))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const span = y1 - y0;  // 5% headroom on a side the caller left free
  if (yMin === undefined) y0 -= 0.05 * span;
  if (yMax === undefined) y1 += 0.05 * span;
  const sx = (x) => m.left + ((x - x0) / (x1 - x0)) * (W - m.left - m.right);
  const sy = (y) => H - m.bottom - ((y - y0) / (y1 - y0)) * (H - m.top - m.bottom);

  for (const t of ticks(y0, y1, 5)) {
    svg.append(svgEl('line', { class: 'grid', x1: m.left, x2: W - m.right, y1: sy(t), y2: sy(t) }));
    svg.append(svgEl('text', { x: m.left - 6, y: sy(t) + 4, 'text-anchor': 'end' }, tickLabel(t)));
  }
  for (const t of ticks(x0, x1, 6)) {
    svg.append(svgEl('line', { class: 'axis', x1: sx(t), x2: sx(t), y1: H - m.bottom, y2: H - m.bottom + 4 }));
    svg.append(svgEl('text', { x: sx(t), y: H - m.bottom + 16, 'text-anchor': 'middle' }, tickLabel(t)));
  }
  svg.append(svgEl('line', { class: 'axis', x1: m.left, x2: W - m.right, y1: H - m.bottom, y2: H - m.bottom }));
  svg.append(svgEl('line', { class: 'axis', x1: m.left, x2: m.left, y1: m.top, y2: H - m.bottom }));
  svg.append(svgEl('text', { x: (m.left + W - m.right) / 2, y: H - 6, 'text-anchor': 'middle' }, xLabel));

  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const attrs = { class: 'series', stroke: s.color, 'data-series': s.name, 'data-points': s.points.length,
      points: s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ') };
    if (s.dashed) attrs['stroke-dasharray'] = '5 4';
    svg.append(svgEl('polyline', attrs));
    if (s.points.length < 30) {  // few points (e.g. validation): mark each
      for (const [x, y] of s.points) svg.append(svgEl('circle', { class: 'dot', cx: sx(x), cy: sy(y), r: 2.5, fill: s.color }));
    }
    const lx = m.left + 12 + (i % 4) * 125, ly = 14 + Math.floor(i / 4) * 15;  // legend rows above the plot
    svg.append(svgEl('line', { x1: lx, x2: lx + 16, y1: ly - 4, y2: ly - 4, stroke: s.color, 'stroke-width': 3 }));
    svg.append(svgEl('text', { x: lx + 21, y: ly }, s.name));
  });
}

function isTrainRecord(r) {
  return typeof r.loss === 'number' && r.split !== 'test';
}

function drawLoss() {
  drawChart($('loss-chart'), [
    { name: 'loss (train)', color: '#0067a5', points: run.records.filter(isTrainRecord).map((r) => [r.step, r.loss]) },
    { name: 'val_loss', color: '#be0032', points: run.records.filter((r) => typeof r.val_loss === 'number').map((r) => [r.step, r.val_loss]) },
  ]);
}

// A record's routing stats per MoE layer: the LM trainer logs `layers`, the MoE
// classifier's trainer its one layer as `routing`.
function layersOf(r) {
  if (Array.isArray(r.layers)) return r.layers;
  return r.routing && typeof r.routing === 'object' ? [r.routing] : [];
}

// Each expert's share of the selected layer's tokens (tokens_per_expert / their sum).
function drawLoad() {
  const layer = Number($('layer').value) || 0;
  const rows = run.records.filter((r) => layersOf(r)[layer] && Array.isArray(layersOf(r)[layer].tokens_per_expert));
  const experts = rows.length ? layersOf(rows[rows.length - 1])[layer].tokens_per_expert.length : 0;
  const series = Array.from({ length: experts }, (_, e) => ({
    name: `expert ${e}`, color: expertColor(e),
    points: rows.map((r) => {
      const counts = layersOf(r)[layer].tokens_per_expert;
      const total = counts.reduce((a, b) => a + b, 0) || 1;
      return [r.step, counts[e] / total];
    }),
  }));
  if (experts > 0 && rows.length > 0) {
    series.push({ name: 'balanced', color: '#5d6675', dashed: true,
      points: [[rows[0].step, 1 / experts], [rows[rows.length - 1].step, 1 / experts]] });
  }
  drawChart($('load-chart'), series,
    { yMin: 0, emptyText: run.records.length ? 'these records have no tokens_per_expert' : 'no records yet' });
}

function renderSummary() {
  const last = [...run.records].reverse();
  const find = (key) => { const r = last.find((x) => typeof x[key] === 'number'); return r ? r[key] : undefined; };
  const items = [['run', run.dir], ['records', run.records.length], ['step', find('step')],
    ['loss', find('loss')?.toFixed(4)], ['val_loss', find('val_loss')?.toFixed(4)], ['lr', find('lr')?.toExponential(2)],
    ['tokens/s', find('tokens_per_s') !== undefined ? formatCount(Math.round(find('tokens_per_s'))) : undefined]];
  $('summary').replaceChildren(...items.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => {
    const d = el('div');
    d.append(el('span', {}, k), String(v));
    return d;
  }));
  const warnings = run.records.filter((r) => r.warning).map((w) => `step ${w.step}: ${w.warning}`)
    .concat(run.badLines.map((n) => `metrics.jsonl line ${n} is not a JSON object (skipped)`));
  $('warnings').replaceChildren(...warnings.map((w) => el('li', {}, w)));
  $('warnings').hidden = warnings.length === 0;
}

function updateLayers() {
  const layers = Math.max(0, ...run.records.map((r) => layersOf(r).length));
  if (layers === run.layers) return;
  run.layers = layers;
  const keep = $('layer').value;
  $('layer').replaceChildren(...Array.from({ length: layers }, (_, l) => el('option', { value: l }, `layer ${l}`)));
  if (keep !== '' && Number(keep) < layers) $('layer').value = keep;
}

async function refresh() {
  if (run.loading) return;  // a slow answer must not be asked for twice (records would repeat)
  run.loading = true;
  try {
    const r = await requestJSON(`/v1/run?from=${run.records.length}`);
    showError(null);
    run.dir = r.dir;
    run.badLines = r.bad_lines || [];
    if (r.records.length > 0 || run.records.length === 0) {
      run.records.push(...r.records);
      updateLayers();
      renderSummary();
      drawLoss();
      drawLoad();
    }
    $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    showError(e.message);
  } finally {
    run.loading = false;
  }
}

function tick() {
  if ($('auto-refresh').checked && !document.hidden) refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  $('refresh-seconds').textContent = REFRESH_SECONDS;
  $('layer').addEventListener('change', drawLoad);
  refresh();
  setInterval(tick, REFRESH_SECONDS * 1000);
});
