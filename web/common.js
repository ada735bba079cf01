// common.js: what the three pages of moe serve's web UI share: the nav bar, the expert
// palette, JSON requests that turn API errors into readable messages, the SSE reader for
// POST streams, and small DOM helpers. Plain browser JS, no build step, no library.
'use strict';

const PAGES = [
  { href: '/', file: 'index.html', title: 'Generate' },
  { href: '/route.html', file: 'route.html', title: 'Route' },
  { href: '/train.html', file: 'train.html', title: 'Training' },
];

// Fills <nav id="nav"> and marks the current page.
function renderNav() {
  const nav = document.getElementById('nav');
  if (!nav) return;
  nav.setAttribute('aria-label', 'Pages');
  const here = location.pathname.split('/').pop() || 'index.html';
  const links = PAGES.map((p) => {
    const current = p.file === here ? ' aria-current="page"' : '';
    return `<a href="${p.href}"${current}>${p.title}</a>`;
  });
  nav.innerHTML = `<span class="brand">moe.cpp</span>${links.join('')}`;
}

// Kelly's colours of maximum contrast (Kelly 1965), minus white and black: distinguishable
// from each other on a white page; experts beyond them get golden-angle hues.
const PALETTE = ['#f3c300', '#875692', '#f38400', '#a1caf1', '#be0032', '#c2b280', '#848482', '#008856',
  '#e68fac', '#0067a5', '#f99379', '#604e97', '#f6a600', '#b3446c', '#dcd300', '#882d17',
  '#8db600', '#654522', '#e25822', '#2b3d26'];

function expertColor(expert) {
  if (expert < PALETTE.length) return PALETTE[expert];
  return `hsl(${Math.round((expert * 137.508) % 360)}, 65%, 50%)`;
}

// The same colour at reduced opacity, so text on it stays readable.
function expertTint(expert, alpha = 0.45) {
  const c = expertColor(expert);
  if (c.startsWith('#')) {
    const n = parseInt(c.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  return c.replace('hsl(', 'hsla(').replace(')', `, ${alpha})`);
}

// A legend: one swatch per name, coloured as expert i.
function renderLegend(container, names) {
  container.replaceChildren(...names.map((name, i) => {
    const item = el('span', { class: 'legend-item' });
    item.append(el('span', { class: 'swatch', style: `background:${expertColor(i)}` }), String(name));
    return item;
  }));
}

// The message of an error response: the API's {"error":{"message",...}} when present,
// else the status line and the start of the body.
async function errorMessage(res) {
  const body = await res.text();
  try {
    const j = JSON.parse(body);
    if (j && j.error && j.error.message) return `${res.status}: ${j.error.message}`;
  } catch (_) { /* not JSON: fall through */ }
  return `${res.status} ${res.statusText}${body ? ': ' + body.slice(0, 200) : ''}`;
}

// GET or POST JSON; throws Error(message) on a network failure or a non-2xx answer.
async function requestJSON(url, body, options = {}) {
  const init = body === undefined ? { method: 'GET' }
    : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(url, { ...init, signal: options.signal });
  if (!res.ok) throw new Error(await errorMessage(res));
  return res.json();
}

// POSTs `body` and calls onEvent(object) for each `data:` event of the text/event-stream
// answer (EventSource cannot POST). Events are separated by a blank line; a `data:` value
// that is not JSON (e.g. "[DONE]") is passed as a string.
async function postStream(url, body, onEvent, signal) {
  const res = await fetch(url, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(body), signal,
  });
  if (!res.ok) throw new Error(await errorMessage(res));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const dispatch = (block) => {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (!data) return;
    let value = data;
    try { value = JSON.parse(data); } catch (_) { /* keep the string */ }
    onEvent(value);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      dispatch(buffer.slice(0, cut));
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
    }
  }
  if (buffer.trim()) dispatch(buffer);
}

// Shows `message` in the page's error box (role="alert"), or hides it for null.
function showError(message) {
  const box = document.getElementById('error');
  if (!box) return;
  box.textContent = message || '';
  box.hidden = !message;
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function formatCount(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

document.addEventListener('DOMContentLoaded', renderNav);
