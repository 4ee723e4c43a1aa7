// Benchmark (not a test): how long the app itself takes to load a model, as
// a person sees it: from the click on Load to the page saying "loaded"
// (worker, GPU device, plan, reads from IndexedDB, upload, kernels), timed
// inside the page (a MutationObserver on the load status), beside the
// engine's own load time the page reports (ModelInfo.loadMs). One or more
// built pages, each served already (`npx vite build`, then
// `npx vite preview --port 4301` in that checkout), take turns run by run,
// each in its own browser profile; the first load of each (which also
// stores the file in IndexedDB) is not counted.
//
//   npm run ts -- bench/app-load.ts --url main=http://localhost:4301 [--url base=http://localhost:4302] [--runs 6] [--shape llama32|tinyllama|tiny]
// Writes bench/results/app-load.json and prints the times.

import { chromium, type BrowserContext } from '@playwright/test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LLAMA_32_1B, shapeOptions, TINY_LLAMA, TINYLLAMA_1_1B, writeTiledModel } from './lib/real-shape-models';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const targets = args.flatMap((a, i) => (args[i - 1] === '--url' ? [a.split(/=(.*)/s).slice(0, 2)] : [])) as [string, string][];
if (targets.length === 0 || targets.some(([label, url]) => !label || !url)) throw new Error('give at least one --url LABEL=URL of a served build');
const runs = Number(flag('runs', '6'));
const shape = { llama32: LLAMA_32_1B, tinyllama: TINYLLAMA_1_1B, tiny: TINY_LLAMA }[flag('shape', 'llama32')];
if (!shape) throw new Error('--shape: llama32, tinyllama or tiny');
const QUANT = 'Q4_K_M';

/**
 * Click Load (with the stored model chosen, or the file chosen the first
 * time) and wait for "loaded": ms inside the page, and the engine's own load
 * ms the page reports (ModelInfo.loadMs, "in N ms" in the status line).
 */
async function timeLoad(context: BrowserContext, url: string, file: string): Promise<{ page: number; engine: number }> {
  const page = await context.newPage();
  try {
    await page.goto(`${url}/`);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 60_000 });
    const stored = page.getByTestId('library-open');
    if ((await stored.count()) > 0) await stored.first().click();
    else await page.getByTestId('model-file-input').setInputFiles(file);
    const load = page.getByTestId('load-button');
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('[data-testid="load-button"]')?.disabled, undefined, { timeout: 120_000 });
    await page.evaluate(() => {
      const status = document.querySelector<HTMLElement>('[data-testid="load-status"]')!;
      const w = window as unknown as { loadClicked: number; loadDone: number };
      w.loadDone = 0;
      new MutationObserver(() => {
        if (!w.loadDone && status.dataset.state === 'loaded') w.loadDone = performance.now();
      }).observe(status, { attributes: true });
      document.querySelector('[data-testid="load-button"]')!.addEventListener('click', () => (w.loadClicked = performance.now()), { capture: true, once: true });
    });
    await load.click();
    await page.locator('[data-testid="load-status"][data-state="loaded"]').waitFor({ timeout: 240_000 });
    const ms = await page.evaluate(() => {
      const w = window as unknown as { loadClicked: number; loadDone: number };
      return w.loadDone - w.loadClicked;
    });
    const status = (await page.getByTestId('load-status').textContent()) ?? '';
    return { page: ms, engine: Number(/ in (\d+) ms\./.exec(status)?.[1] ?? NaN) };
  } finally {
    await page.close();
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'claw-app-load-'));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--use-webgpu-adapter=swiftshader', '--no-sandbox'] });
try {
  const file = path.join(dir, 'model.gguf');
  const written = await writeTiledModel(file, shapeOptions(shape, QUANT));
  console.log(`${shape.name} (${QUANT}): ${(written.fileBytes / 2 ** 20).toFixed(0)} MiB, ${runs} runs per page, taking turns`);
  const contexts = await Promise.all(targets.map(() => browser.newContext()));
  const ms: number[][] = targets.map(() => []);
  const engineMs: number[][] = targets.map(() => []);
  for (let r = -1; r < runs; r++) {
    for (const [i, [label, url]] of targets.entries()) {
      const t = await timeLoad(contexts[i], url, file);
      if (r >= 0) {
        ms[i].push(Math.round(t.page));
        engineMs[i].push(t.engine);
      }
      console.log(`${label} run ${r + 1}: ${Math.round(t.page)} ms, the engine's load ${t.engine} ms${r < 0 ? ' (stores the file; not counted)' : ''}`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = targets.map(([label, url], i) => ({ label, url, runsMs: ms[i], medianMs: median(ms[i]), engineLoadMs: engineMs[i], engineMedianMs: median(engineMs[i]) }));
  console.log('| page | click to loaded, median ms | runs (ms) | the engine\'s load, median ms | runs (ms) |');
  for (const r of rows) console.log(`| ${r.label} | ${r.medianMs} | ${r.runsMs.join(', ')} | ${r.engineMedianMs} | ${r.engineLoadMs.join(', ')} |`);
  mkdirSync(path.resolve(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(
    path.resolve(import.meta.dirname, 'results/app-load.json'),
    JSON.stringify({ date: new Date().toISOString(), model: `${shape.name} (${QUANT})`, fileBytes: written.fileBytes, loadAverage: os.loadavg(), rows }, null, 1),
  );
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
