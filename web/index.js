// index.js: the generation page. Streams POST /v1/generate (stream:true), colours each
// token by the top-1 expert of the selected layer, and draws a layer x token heatmap of
// the expert choices; hovering a token or a cell shows every layer's experts and gate weights.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { tokens: [], layers: 0, experts: 0, abort: null };

// The expert with the largest gate weight of one layer's choice; null when no expert took the token.
function top1(choice) {
  if (!choice || choice.experts.length === 0) return null;
  let best = 0;
  for (let i = 1; i < choice.weights.length; i++) if (choice.weights[i] > choice.weights[best]) best = i;
  return { expert: choice.experts[best], weight: choice.weights[best] };
}

function selectedLayer() {
  return Number($('layer').value) || 0;
}

// Layer options and legend for L layers and E experts (E may first be learned from a token).
function setShape(layers, experts) {
  if (layers !== state.layers) {
    state.layers = layers;
    $('layer').replaceChildren(...Array.from({ length: layers }, (_, l) => el('option', { value: l }, `layer ${l}`)));
  }
  if (experts > state.experts) {
    state.experts = experts;
    renderLegend($('legend'), Array.from({ length: experts }, (_, e) => `expert ${e}`));
  }
}

async function loadModel() {
  try {
    const m = await requestJSON('/v1/model');
    const rows = [['kind', m.kind], ['tokenizer', m.tokenizer], ['layers', m.layers], ['experts', m.experts],
      ['context', m.context], ['parameters', m.parameters && formatCount(m.parameters.total)],
      ['active per token', m.parameters && formatCount(m.parameters.active_per_token)]];
    $('model-info').replaceChildren(...rows.filter(([, v]) => v !== undefined && v !== null)
      .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
    if (m.limits && m.limits.max_tokens) $('max_tokens').max = m.limits.max_tokens;
    if (m.kind !== 'lm') {
      const notice = $('kind-notice');
      notice.replaceChildren(`This checkpoint is a routed classifier (${m.kind}); it does not generate text. `,
        el('a', { href: '/route.html' }, 'Route texts through it'), '.');
      notice.hidden = false;
      $('generate').disabled = true;
      return;
    }
    setShape(m.moe_layers ?? m.layers ?? 0, m.experts || 0);
  } catch (e) {
    $('model-info').replaceChildren(el('dt', {}, 'unavailable'), el('dd', {}, ''));
    showError(e.message);
  }
}

// The request body from the controls; empty fields are left to the server's defaults.
function requestBody() {
  const body = { prompt: $('prompt').value, stream: true };
  for (const name of ['temperature', 'top_k', 'top_p', 'max_tokens', 'seed']) {
    const raw = $(name).value.trim();
    if (raw !== '') body[name] = Number(raw);
  }
  return body;
}

function colourToken(span, token) {
  const choice = top1(token.layers[Math.min(selectedLayer(), token.layers.length - 1)]);
  span.dataset.expert = choice ? choice.expert : -1;
  span.style.backgroundColor = choice ? expertTint(choice.expert) : '';
}

function addToken(token) {
  const index = state.tokens.push(token) - 1;
  setShape(Math.max(state.layers, token.layers.length),
    Math.max(state.experts, 1 + Math.max(-1, ...token.layers.flatMap((c) => c.experts))));
  const span = el('span', { class: 'tok', 'data-index': index }, token.text);
  colourToken(span, token);
  $('text').append(span);

  const heat = $('heatmap');
  while (heat.children.length < token.layers.length) {
    const row = el('div', { class: 'hm-row', 'data-layer': heat.children.length });
    row.append(el('span', { class: 'hm-label' }, `L${heat.children.length}`));
    if (heat.children.length === selectedLayer()) row.classList.add('selected');
    heat.append(row);
  }
  token.layers.forEach((choice, l) => {
    const top = top1(choice);
    const cell = el('span', { class: 'hm-cell', 'data-index': index, 'data-layer': l, 'data-expert': top ? top.expert : -1 });
    if (top) {
      cell.style.backgroundColor = expertColor(top.expert);
      cell.style.opacity = (0.3 + 0.7 * top.weight).toFixed(3);  // pale = a less certain gate
    }
    heat.children[l].append(cell);
  });
  heat.scrollLeft = heat.scrollWidth;
}

function clearOutput() {
  state.tokens = [];
  $('heatmap').replaceChildren();
  $('text').replaceChildren(el('span', { class: 'prompt' }, $('prompt').value));
}

async function generate(event) {
  event.preventDefault();
  if (state.abort) state.abort.abort();
  showError(null);
  clearOutput();
  const abort = new AbortController();
  state.abort = abort;
  $('generate').disabled = true;
  $('stop').disabled = false;
  $('status').textContent = 'generating…';
  const started = performance.now();
  try {
    await postStream('/v1/generate', requestBody(), (ev) => {
      if (ev && ev.token) addToken(ev.token);
      else if (ev && ev.error) throw new Error(ev.error.message || JSON.stringify(ev.error));
      else if (ev && ev.done) {
        const secs = (performance.now() - started) / 1000;
        $('status').textContent = `${state.tokens.length} tokens in ${secs.toFixed(2)} s ` +
          `(${(state.tokens.length / secs).toFixed(1)} tokens/s), finish: ${ev.finish_reason}`;
      }
    }, abort.signal);
  } catch (e) {
    if (e.name === 'AbortError') $('status').textContent = `stopped after ${state.tokens.length} tokens`;
    else {
      abort.abort();  // close the stream the error came on
      $('status').textContent = '';
      showError(e.message);
    }
  } finally {
    if (state.abort === abort) {
      state.abort = null;
      $('generate').disabled = false;
      $('stop').disabled = true;
    }
  }
}

// Tooltip: the token and, per layer, its experts with gate weights (the hovered layer bold).
function showTooltip(event) {
  const target = event.target.closest('.tok, .hm-cell');
  const tip = $('tooltip');
  document.querySelectorAll('.hover').forEach((e) => e.classList.remove('hover'));
  if (!target) {
    tip.hidden = true;
    return;
  }
  // The token and its heatmap column are outlined together.
  document.querySelectorAll(`[data-index="${target.dataset.index}"]`).forEach((e) => e.classList.add('hover'));
  const token = state.tokens[Number(target.dataset.index)];
  const hovered = target.dataset.layer !== undefined ? Number(target.dataset.layer) : selectedLayer();
  tip.replaceChildren(el('div', { class: 'tip-token' }, `#${target.dataset.index} ${JSON.stringify(token.text)}`));
  token.layers.forEach((choice, l) => {
    const line = el('div', { class: l === hovered ? 'tip-line current' : 'tip-line' }, `L${l}:`);
    choice.experts.forEach((e, i) => {
      line.append(' ', el('span', { class: 'swatch', style: `background:${expertColor(e)}` }),
        `e${e} ${choice.weights[i].toFixed(2)}`);
    });
    tip.append(line);
  });
  tip.hidden = false;
  const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
  const y = Math.min(event.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
  tip.style.left = `${x}px`;
  tip.style.top = `${y}px`;
}

function selectLayer() {
  const layer = selectedLayer();
  document.querySelectorAll('#text .tok').forEach((span) => colourToken(span, state.tokens[Number(span.dataset.index)]));
  document.querySelectorAll('#heatmap .hm-row').forEach((row) => row.classList.toggle('selected', Number(row.dataset.layer) === layer));
}

document.addEventListener('DOMContentLoaded', () => {
  $('gen-form').addEventListener('submit', generate);
  $('stop').addEventListener('click', () => state.abort && state.abort.abort());
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('gen-form').requestSubmit();
  });
  $('layer').addEventListener('change', selectLayer);
  $('heatmap').addEventListener('click', (e) => {
    const row = e.target.closest('.hm-row');
    if (row) {
      $('layer').value = row.dataset.layer;
      selectLayer();
    }
  });
  for (const id of ['text', 'heatmap']) {
    $(id).addEventListener('mousemove', showTooltip);
    $(id).addEventListener('mouseleave', showTooltip);
  }
  loadModel();
});
