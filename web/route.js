// route.js: the routed-classifier page. Each edit of the text (debounced) POSTs /v1/route
// and redraws two sets of bars: the router's distribution over the experts and the
// classifier's probabilities over the classes, the predicted class in bold.
'use strict';

const $ = (id) => document.getElementById(id);
let latestRequest = 0;  // answers to older requests that arrive late are dropped

// One labelled bar per name; p in [0, 1]. Bars keep their elements so widths animate.
function renderBars(container, names, probs, highlight) {
  if (container.children.length !== names.length * 3) {
    container.replaceChildren(...names.flatMap((name, i) => {
      const label = el('span', { class: 'bar-label', id: `${container.id}-${i}` }, String(name));
      const track = el('div', { class: 'bar-track' });
      track.append(el('div', { class: 'bar', style: `background:${expertColor(i)}`, role: 'meter',
        'aria-valuemin': 0, 'aria-valuemax': 1, 'aria-labelledby': `${container.id}-${i}` }));
      return [label, track, el('span', { class: 'bar-value' })];
    }));
  }
  names.forEach((name, i) => {
    const p = probs[i];
    const bar = container.children[3 * i + 1].firstChild;
    bar.style.width = `${(100 * p).toFixed(2)}%`;
    bar.dataset.p = p;
    bar.setAttribute('aria-valuenow', p.toFixed(4));
    container.children[3 * i + 2].textContent = p.toFixed(3);
    container.children[3 * i].classList.toggle('predicted', i === highlight);
  });
}

function argmax(values) {
  return values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
}

async function route() {
  const text = $('text').value;
  const id = ++latestRequest;
  if (!text.trim()) {
    $('status').textContent = '';
    return;
  }
  try {
    const started = performance.now();
    const r = await requestJSON('/v1/route', { text });
    if (id !== latestRequest) return;
    showError(null);
    renderBars($('router-bars'), r.experts, r.probs, argmax(r.probs));
    const classes = r.classes || r.prediction.probs.map((_, i) => `class ${i}`);
    renderBars($('class-bars'), classes, r.prediction.probs, r.prediction.index);
    $('prediction').replaceChildren('Predicted: ', el('strong', {}, String(r.prediction.label)),
      ` (p = ${r.prediction.probs[r.prediction.index].toFixed(3)}); routed mostly to `,
      el('strong', {}, String(r.experts[argmax(r.probs)])));
    $('status').textContent = `routed in ${(performance.now() - started).toFixed(0)} ms`;
  } catch (e) {
    if (id === latestRequest) showError(e.message);
  }
}

async function loadModel() {
  try {
    const m = await requestJSON('/v1/model');
    const rows = [['kind', m.kind], ['tokenizer', m.tokenizer], ['layers', m.layers], ['experts', m.experts],
      ['classes', m.classes && m.classes.join(', ')], ['parameters', m.parameters && formatCount(m.parameters.total)]];
    $('model-info').replaceChildren(...rows.filter(([, v]) => v !== undefined && v !== null)
      .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
    if (m.kind === 'lm') {
      $('kind-notice').replaceChildren('This checkpoint is a language model; it has no classifier route. ',
        el('a', { href: '/' }, 'Generate text with it'), '.');
      $('kind-notice').hidden = false;
      $('text').disabled = true;
    } else if (m.expert_names) {
      renderBars($('router-bars'), m.expert_names, m.expert_names.map(() => 0), -1);
      if (m.classes) renderBars($('class-bars'), m.classes, m.classes.map(() => 0), -1);
    }
  } catch (e) {
    $('model-info').replaceChildren(el('dt', {}, 'unavailable'), el('dd', {}, ''));
    showError(e.message);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('text').addEventListener('input', debounce(route, 200));
  loadModel().then(() => { if ($('text').value.trim()) route(); });
});
