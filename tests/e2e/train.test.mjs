// train.test.mjs: the training dashboard (web/train.html) against `moe serve --run DIR`
// (dashboard only, no checkpoint) over a copy of a tiny LM run's metrics.jsonl: the loss,
// validation loss and per-expert load curves have one point per record, and a record
// appended while the page is open shows up at the next refresh, a broken line is reported.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { WORK, launchBrowser, lmRun, newPage, screenshot, startServe } from './harness.mjs';

const pointCount = (page, chart, series) =>
  page.getAttribute(`#${chart} polyline[data-series="${series}"]`, 'data-points').then(Number);

test('train dashboard: loss and expert-load curves, refreshed while training runs', async (t) => {
  const runDir = path.join(WORK, `dashboard-${process.pid}`);
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true });
  const metricsFile = path.join(runDir, 'metrics.jsonl');
  fs.copyFileSync(path.join(lmRun(), 'metrics.jsonl'), metricsFile);
  const records = fs.readFileSync(metricsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const train = records.filter((r) => typeof r.loss === 'number');
  const val = records.filter((r) => typeof r.val_loss === 'number');
  const layers = train[0].layers.length;
  const experts = train[0].layers[0].tokens_per_expert.length;
  assert.ok(train.length >= 5 && val.length >= 1, 'the run logged losses and a validation loss');

  const server = await startServe(['--run', runDir]);
  t.after(server.stop);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await newPage(browser, server.url);

  await page.goto(`${server.url}/train.html?refresh=1`);
  await page.waitForSelector('#loss-chart polyline[data-series="loss (train)"]');
  assert.equal(await pointCount(page, 'loss-chart', 'loss (train)'), train.length);
  assert.equal(await pointCount(page, 'loss-chart', 'val_loss'), val.length);
  assert.equal(await page.$$eval('#layer option', (els) => els.length), layers);
  for (let e = 0; e < experts; e++) assert.equal(await pointCount(page, 'load-chart', `expert ${e}`), train.length);
  assert.equal(await pointCount(page, 'load-chart', 'balanced'), 2);
  const summary = await page.textContent('#summary');
  assert.match(summary, new RegExp(`step${records[records.length - 1].step}`));
  assert.match(summary, new RegExp(`val_loss${val[val.length - 1].val_loss.toFixed(4)}`));

  // The polyline's first point is the first record: x at the left axis, y inside the plot.
  const first = (await page.getAttribute('#loss-chart polyline[data-series="loss (train)"]', 'points')).split(' ')[0];
  const [x, y] = first.split(',').map(Number);
  assert.equal(x, 52);
  assert.ok(y >= 12 && y <= 290, `y ${y} inside the plot`);

  await page.selectOption('#layer', String(layers - 1));
  assert.equal(await pointCount(page, 'load-chart', 'expert 0'), train.length);
  await page.selectOption('#layer', '0');
  console.log(`screenshot: ${await screenshot(page, 'train.png')}`);

  // Training goes on: an appended record is drawn at the next refresh (GET /v1/run?from=N);
  // a line that is not JSON is skipped and named.
  const next = { ...train[train.length - 1], step: train[train.length - 1].step + 1 };
  delete next.val_loss;
  fs.appendFileSync(metricsFile, 'not json\n' + JSON.stringify(next) + '\n');
  await page.waitForFunction((n) => Number(document.querySelector('#loss-chart polyline[data-series="loss (train)"]')
    ?.dataset.points) === n, train.length + 1, { timeout: 10_000 });
  assert.equal(await pointCount(page, 'load-chart', 'expert 0'), train.length + 1);
  assert.equal(await pointCount(page, 'loss-chart', 'val_loss'), val.length);
  assert.match(await page.textContent('#warnings'), new RegExp(`metrics.jsonl line ${records.length + 1} is not a JSON object`));
  assert.deepEqual(page.problems(), []);
});
