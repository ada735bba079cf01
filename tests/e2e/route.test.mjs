// route.test.mjs: the routed-classifier page (web/route.html) against a real `moe serve` of
// a tiny trained NeuroShard router: typing updates the router's bars (debounced), which sum
// to 1 and equal a direct POST /v1/route; the predicted class is shown; the generation page
// points a classifier to this page.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifierCheckpoint, getJSON, launchBrowser, newPage, postJSON, screenshot, startServe } from './harness.mjs';

const barValues = (page, id) => page.$$eval(`#${id} .bar`, (els) => els.map((e) => Number(e.dataset.p)));

test('route page: bars of the router distribution update as you type', async (t) => {
  const server = await startServe(['--checkpoint', classifierCheckpoint()]);
  t.after(server.stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await newPage(browser, server.url);
  const model = await getJSON(`${server.url}/v1/model`);
  assert.notEqual(model.kind, 'lm');

  // The generation page sees a classifier and links here.
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#kind-notice:not([hidden]) a[href="/route.html"]');
  assert.ok(await page.isDisabled('#generate'));

  await page.click('#kind-notice a');
  await page.waitForURL(/\/route\.html$/);
  let routeRequests = 0;
  page.on('request', (r) => { if (r.url().endsWith('/v1/route')) routeRequests++; });

  const first = 'vogel hund katze';
  await page.locator('#text').pressSequentially(first, { delay: 20 });
  await page.waitForFunction((n) => document.querySelectorAll('#router-bars .bar[data-p]').length === n, model.experts);
  await page.waitForFunction(() => document.getElementById('prediction').textContent.startsWith('Predicted'));
  const before = await barValues(page, 'router-bars');
  assert.ok(routeRequests < first.length, `debounced: ${routeRequests} requests for ${first.length} keystrokes`);
  const direct = await postJSON(`${server.url}/v1/route`, { text: first });
  assert.equal(direct.status, 200);
  await page.waitForFunction((want) => [...document.querySelectorAll('#router-bars .bar')]
    .every((e, i) => Math.abs(Number(e.dataset.p) - want[i]) < 1e-6), direct.body.probs);

  // More text: the bars follow the new text.
  const second = ' pure love everyone peace love';
  await page.locator('#text').pressSequentially(second, { delay: 20 });
  const after = await postJSON(`${server.url}/v1/route`, { text: first + second });
  assert.notDeepEqual(after.body.probs, direct.body.probs);
  await page.waitForFunction((want) => [...document.querySelectorAll('#router-bars .bar')]
    .every((e, i) => Math.abs(Number(e.dataset.p) - want[i]) < 1e-6), after.body.probs);
  const probs = await barValues(page, 'router-bars');
  assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-3, `router bars sum to 1: ${probs}`);
  assert.notDeepEqual(probs, before);

  const classProbs = await barValues(page, 'class-bars');
  assert.equal(classProbs.length, after.body.classes.length);
  assert.ok(Math.abs(classProbs.reduce((a, b) => a + b, 0) - 1) < 1e-3, `class bars sum to 1: ${classProbs}`);
  const label = after.body.prediction.label;
  assert.match(await page.textContent('#prediction'), new RegExp(`^Predicted: ${label} `));
  assert.equal(await page.textContent('#class-bars .bar-label.predicted'), label);
  const widths = await page.$$eval('#router-bars .bar', (els) => els.map((e) => parseFloat(e.style.width)));
  widths.forEach((w, i) => assert.ok(Math.abs(w - 100 * probs[i]) < 0.01, `bar ${i}: width ${w}% for p ${probs[i]}`));

  console.log(`screenshot: ${await screenshot(page, 'route.png')}`);
  assert.deepEqual(page.problems(), []);
});
