// harness.mjs: what the browser end-to-end tests share: training the tiny checkpoints they
// serve, starting `moe serve` on a free port (and stopping it), and launching headless
// Debian chromium through playwright-core with a guard that fails a test on any request
// leaving the server's origin or any uncaught page error.
//
// Environment: MOE_BIN (default build/moe), E2E_WORK (scratch, default build/e2e/work),
// E2E_SCREENSHOTS (default build/e2e), CHROMIUM (default /usr/bin/chromium); E2E_LM_RUN and
// E2E_CLASSIFIER_CHECKPOINT serve an existing run / checkpoint instead of the tiny ones
// (paths relative to the repository root; the README's screenshots come from real trained
// models this way).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MOE = process.env.MOE_BIN || path.join(ROOT, process.env.MOE_BUILD_DIR || 'build', 'moe');
export const WORK = process.env.E2E_WORK || path.join(ROOT, 'build/e2e/work');
export const SCREENSHOTS = process.env.E2E_SCREENSHOTS || path.join(ROOT, 'build/e2e');
const ENV = { ...process.env, OMP_WAIT_POLICY: 'passive' };  // no spinning threads on a shared machine

function moe(args) {
  try {
    return execFileSync(MOE, ['--threads', '1', ...args], { env: ENV, encoding: 'utf8', timeout: 180_000 });
  } catch (e) {
    throw new Error(`${MOE} ${args.join(' ')} failed:\n${e.stdout || ''}${e.stderr || e.message}`);
  }
}

// A few thousand characters of plain English, enough for a char LM's train and validation split.
function tinyText() {
  const lines = ['Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about.',
    'The whale swam under the ship, and the sea was grey and cold in the morning light.',
    'It is a way I have of driving off the spleen and regulating the circulation.'];
  return Array.from({ length: 12 }, (_, i) => lines[i % lines.length]).join('\n') + '\n';
}

// A char-level MoE transformer (2 layers, 4 experts, top-2) trained 20 steps: the run
// directory, holding checkpoint/ and metrics.jsonl. Trained once per test process.
let lmRunDir;
export function lmRun() {
  if (process.env.E2E_LM_RUN) return path.resolve(ROOT, process.env.E2E_LM_RUN);
  if (lmRunDir) return lmRunDir;
  const dir = path.join(WORK, `lm-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const config = {
    model: { kind: 'transformer_lm', context: 16, d_model: 32, heads: 2, layers: 2, dropout: 0.0, norm: 'layernorm',
      ffn: { kind: 'moe', num_experts: 4, router: { kind: 'noisy_topk', top_k: 2 },
        expert: { kind: 'ffn', d_ff: 64, activation: 'relu' } } },
    train: { batch_size: 8, steps: 20, lr: 3e-3, min_lr: 3e-4, warmup: 2, weight_decay: 0.0, grad_clip: 1.0,
      log_every: 2, eval_every: 10, eval_batches: 2, checkpoint_every: 20, seed: 1 },
    tokenizer: { kind: 'char' },
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(dir, 'text.txt'), tinyText());
  moe(['train', '--config', path.join(dir, 'config.json'), '--data', path.join(dir, 'text.txt'),
    '--out', path.join(dir, 'run'), '--steps', '20']);
  lmRunDir = path.join(dir, 'run');
  return lmRunDir;
}

// The first `perTopic` lines of each topic of a `topic<TAB>text` file.
function firstPerTopic(file, perTopic) {
  const seen = {};
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => {
    const topic = line.split('\t')[0];
    if (!line.includes('\t')) return false;
    seen[topic] = (seen[topic] || 0) + 1;
    return seen[topic] <= perTopic;
  }).join('\n') + '\n';
}

// A NeuroShard text router (configs/neuroshard_v2.json: learned router, word embedding,
// 4 topics) trained 5 epochs on 10 of the repository's v2 phrases per topic: its checkpoint.
export function classifierCheckpoint() {
  if (process.env.E2E_CLASSIFIER_CHECKPOINT) return path.resolve(ROOT, process.env.E2E_CLASSIFIER_CHECKPOINT);
  const dir = path.join(WORK, `neuroshard-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'configs/neuroshard_v2.json'), 'utf8'));
  for (const [split, perTopic] of [['train', 10], ['test', 3]]) {
    const file = path.join(dir, `${split}.tsv`);
    fs.writeFileSync(file, firstPerTopic(path.join(ROOT, config.data[split]), perTopic));
    config.data[split] = file;
  }
  config.out = path.join(dir, 'run');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  moe(['train', '--config', path.join(dir, 'config.json'), '--steps', '5']);
  return path.join(dir, 'run', 'checkpoint');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Starts `moe serve ARGS` on a free port and waits until it answers GET /.
// Returns { url, log(), stop() }; stop() ends it (SIGTERM, then SIGKILL after 5 s).
export async function startServe(args) {
  const port = await freePort();
  const child = spawn(MOE, ['--threads', '1', 'serve', '--host', '127.0.0.1', '--port', String(port), ...args],
    { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; resolve(); }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`moe serve ${args.join(' ')} exited (${JSON.stringify(exited)}) before answering:\n${output}`);
    try {
      if ((await fetch(`${url}/`)).ok) break;
    } catch (_) { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moe serve did not answer GET / within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    log: () => output,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}

export function launchBrowser() {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: root ? ['--no-sandbox'] : [] });
}

// A 1280x800 page; page.problems() lists requests outside `origin` and uncaught errors.
export async function newPage(browser, origin) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) problems.push(`external request: ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.problems = () => problems;
  return page;
}

export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, name);
  await page.screenshot({ path: file });
  return file;
}

export async function getJSON(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function postJSON(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
