// chat.test.mjs: the generation page (web/index.html) against a real `moe serve` of a tiny
// trained char LM: an API error is shown; a prompt streams tokens, each coloured by its
// top-1 expert; the heatmap has one row per layer; the layer selector recolours; hovering
// shows experts and gate weights; the streamed text equals a non-streamed request's; Stop
// ends a stream.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { getJSON, launchBrowser, lmRun, newPage, postJSON, screenshot, startServe } from './harness.mjs';

const PROMPT = 'Call me Ishmael.';
const TOKENS = 120;

test('chat page: streamed tokens coloured by expert, heatmap, errors', async (t) => {
  const server = await startServe(['--checkpoint', path.join(lmRun(), 'checkpoint')]);
  t.after(server.stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await newPage(browser, server.url);
  const model = await getJSON(`${server.url}/v1/model`);
  assert.equal(model.kind, 'lm');

  await page.goto(`${server.url}/`);
  await page.waitForFunction((n) => document.querySelectorAll('#layer option').length === n, model.layers);
  assert.match(await page.textContent('#model-info'), new RegExp(`layers${model.layers}`));
  assert.equal(await page.getAttribute('nav a[aria-current="page"]', 'href'), '/');

  // An API error (max_tokens over the server's limit) is shown to the user.
  await page.fill('#prompt', PROMPT);
  await page.fill('#max_tokens', String(model.limits.max_tokens + 1));
  await page.click('#generate');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /^400: .*max_tokens/);

  // Stream: tokens arrive as text/event-stream; each span carries its expert's colour.
  for (const [id, value] of [['#max_tokens', TOKENS], ['#temperature', 0.8], ['#top_k', 0], ['#top_p', 0.95], ['#seed', 7]]) {
    await page.fill(id, String(value));
  }
  const response = page.waitForResponse((r) => r.url().endsWith('/v1/generate'));
  await page.click('#generate');
  assert.match((await response).headers()['content-type'], /^text\/event-stream/);
  await page.waitForFunction((n) => document.querySelectorAll('#text .tok').length === n &&
    !document.getElementById('generate').disabled, TOKENS);
  assert.ok(await page.isHidden('#error'), 'the earlier error is cleared');
  assert.match(await page.textContent('#status'), new RegExp(`^${TOKENS} tokens in .* finish: length`));

  const spans = await page.$$eval('#text .tok', (els) => els.map((e) => ({
    text: e.textContent, expert: Number(e.dataset.expert), background: getComputedStyle(e).backgroundColor,
    expected: expertTint(Number(e.dataset.expert)) })));
  for (const s of spans) {
    assert.notEqual(s.background, 'rgba(0, 0, 0, 0)');
    assert.equal(s.background, s.expected, 'a token is tinted with its expert colour');
    assert.ok(s.expert >= 0 && s.expert < model.experts);
  }

  // The text equals the same request without streaming (each request seeds its own RNG).
  const plain = await postJSON(`${server.url}/v1/generate`,
    { prompt: PROMPT, max_tokens: TOKENS, temperature: 0.8, top_k: 0, top_p: 0.95, seed: 7 });
  assert.equal(plain.status, 200);
  assert.equal(spans.map((s) => s.text).join(''), plain.body.text);

  // Heatmap: one row per layer, one cell per token, the cells' experts match the tokens'.
  const rows = await page.$$eval('#heatmap .hm-row', (els) => els.map((r) => [...r.querySelectorAll('.hm-cell')]
    .map((c) => Number(c.dataset.expert))));
  assert.equal(rows.length, model.layers);
  for (const row of rows) assert.equal(row.length, TOKENS);
  assert.deepEqual(spans.map((s) => s.expert), rows[0], 'layer 0 colours the text first');
  assert.ok(new Set(rows.flat()).size >= 2, 'the tokens go to more than one expert');
  for (let i = 0; i < TOKENS; i++) {
    const top = plain.body.tokens[i].layers.map((c) => c.experts[c.weights.indexOf(Math.max(...c.weights))]);
    assert.deepEqual(rows.map((r) => r[i]), top, `token ${i}: the heatmap shows the top-1 expert of each layer`);
  }

  // The layer selector recolours the text by the last layer's experts.
  const last = model.layers - 1;
  await page.selectOption('#layer', String(last));
  const recoloured = await page.$$eval('#text .tok', (els) => els.map((e) => Number(e.dataset.expert)));
  assert.deepEqual(recoloured, rows[last]);
  assert.equal(await page.getAttribute(`#heatmap .hm-row[data-layer="${last}"]`, 'class'), 'hm-row selected');

  // Hover: the tooltip names the token's experts and gate weights in every layer.
  await page.hover('#heatmap .hm-row[data-layer="0"] .hm-cell >> nth=1');
  await page.waitForSelector('#tooltip:not([hidden])');
  const tip = await page.textContent('#tooltip');
  assert.match(tip, /^#1 /);
  for (let l = 0; l < model.layers; l++) assert.match(tip, new RegExp(`L${l}:( e\\d+ \\d\\.\\d\\d)+`));
  const legend = await page.$$eval('#legend .legend-item', (els) => els.length);
  assert.equal(legend, model.experts);

  await page.selectOption('#layer', '0');
  await page.hover('#text .tok >> nth=30');  // the screenshot shows a token's tooltip
  console.log(`screenshot: ${await screenshot(page, 'chat.png')}`);

  // Stop: aborting the stream keeps the tokens so far; the server answers the next request.
  // The tiny model streams its tokens in a fraction of a second, so the browser's download
  // is throttled (Chrome DevTools Protocol) to leave time to press Stop.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 4096, uploadThroughput: -1 });
  await page.fill('#max_tokens', String(model.limits.max_tokens));
  await page.click('#generate');
  await page.waitForSelector('#text .tok');
  await page.click('#stop');
  await page.waitForFunction(() => /^stopped after \d+ tokens$/.test(document.getElementById('status').textContent));
  const kept = await page.$$eval('#text .tok', (els) => els.length);
  assert.ok(kept >= 1 && kept < model.limits.max_tokens, `${kept} tokens kept`);
  assert.ok(await page.isEnabled('#generate'));
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  assert.equal((await postJSON(`${server.url}/v1/generate`, { prompt: PROMPT, max_tokens: 2 })).status, 200);
  assert.deepEqual(page.problems(), []);
});
