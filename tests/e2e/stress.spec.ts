// Issue 8 item 6 in the browser: 100 generations in a row on one engine, as
// a person does it on the built page (Regenerate, 100 times, on one loaded
// model; the engine runs in the page's engine worker behind
// createWorkerEngine). Sampled at temperature 0.8 with a fixed seed: every
// reply must be the same text, no error, the GPU bytes the worker's engine
// holds (gpuBytesInUse, shown after each reply) equal first to last, and the
// JS heap of the page and of the engine worker flat first to last (after a
// garbage collection). The Node run of the same is
// tests/gpu/engine-stress.test.ts; the figures go to
// test-results/browser-stress.json and RELIABILITY.md.

import { expect, test, type Page } from '@playwright/test';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import config from '../../playwright.config';
import { GgmlType } from '../../src/gguf/types';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import { chooseFile, GENERATE_TIMEOUT, loadModel, modelsDir, openApp, repoRoot, setGeneration } from './helpers';

const GENERATIONS = 100;
const MAX_TOKENS = 4;
const SEED = 42;
/**
 * Heap growth first to last that counts as flat, for the page and for the
 * worker alike: each generation's garbage is collected before a reading, so
 * what stays is retained memory. 2 MiB over 100 generations lets a reading
 * differ by V8's own bookkeeping (compiled code, inline caches warmed by
 * later replies) but fails a leak of 20 KiB or more per generation: one
 * reply's DOM, its events and its chunks are larger than that.
 */
const HEAP_SLACK_BYTES = 2 * 2 ** 20;

const STORIES = path.join(modelsDir, 'stories260K.gguf');
const haveStories = existsSync(STORIES);

// gc() in the page and in the worker, and performance.memory figures that are
// not rounded to buckets (Chromium quantizes them unless asked).
const launch = config.use?.launchOptions ?? {};
test.use({ launchOptions: { ...launch, args: [...(launch.args ?? []), '--js-flags=--expose-gc', '--enable-precise-memory-info'] } });

interface Reading {
  generation: number;
  gpuBytes: number;
  pageHeap: number;
  workerHeap: number;
}

/**
 * The engine worker's used JS heap after a full collection, through the
 * DevTools protocol (a dedicated worker has no performance.memory): a
 * browser session attaches to the worker's target and talks to it through
 * Target.sendMessageToTarget, beside Playwright's own session.
 */
async function workerHeapReader(page: Page): Promise<() => Promise<number>> {
  const cdp = await page.context().browser()!.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'worker' && t.url.includes('engine-worker'));
  if (!target) throw new Error(`no engine worker among the browser's targets: ${targetInfos.map((t) => `${t.type} ${t.url}`).join(', ')}`);
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
  type Reply = { id?: number; result?: { usedSize: number }; error?: unknown };
  const replies = new Map<number, (r: Reply) => void>();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== sessionId) return;
    const m = JSON.parse(e.message) as Reply;
    if (m.id !== undefined) replies.get(m.id)?.(m);
  });
  let nextId = 1;
  const send = (method: string) =>
    new Promise<Reply>((resolve) => {
      const id = nextId++;
      replies.set(id, resolve);
      void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
    });
  return async () => {
    await send('HeapProfiler.collectGarbage');
    const r = await send('Runtime.getHeapUsage');
    if (!r.result) throw new Error(`Runtime.getHeapUsage in the engine worker failed: ${JSON.stringify(r.error)}`);
    return r.result.usedSize;
  };
}

/** Used JS heap after a full collection; null where the context has no performance.memory. */
function heapAfterGc(): number | null {
  const g = globalThis as unknown as { gc?: () => void; performance: { memory?: { usedJSHeapSize: number } } };
  g.gc?.();
  return g.performance.memory?.usedJSHeapSize ?? null;
}

async function reading(page: Page, workerHeap: () => Promise<number>, generation: number): Promise<Reading> {
  // The figure arrives after the reply ends (one gpuBytesInUse call to the worker per reply).
  const gpu = page.locator('[data-testid="gpu-memory"][data-bytes]');
  await expect(gpu).toHaveCount(1);
  const gpuBytes = Number(await gpu.getAttribute('data-bytes'));
  const pageHeap = await page.evaluate(heapAfterGc);
  if (pageHeap === null) throw new Error('performance.memory is missing in the page: not Chromium?');
  return { generation, gpuBytes, pageHeap, workerHeap: await workerHeap() };
}

async function reply(page: Page): Promise<string> {
  const output = page.getByTestId('assistant-output');
  await expect(output).toHaveAttribute('data-state', 'done', { timeout: GENERATE_TIMEOUT });
  await expect(page.getByTestId('error-banner')).toBeHidden();
  await expect(page.getByTestId('stat-reason')).toBeVisible();
  return (await output.textContent()) ?? '';
}

test('100 generations in a row on one engine in the page: the same reply for the same seed, GPU bytes and heap flat', async ({ page }) => {
  test.setTimeout(300_000);
  const model = haveStories
    ? STORIES
    : // A fresh clone without ../shared/models: a tiny random llama instead (replies are gibberish, but must still repeat).
      { name: 'synthetic-llama.gguf', buffer: Buffer.from(makeSyntheticModel({ nEmbd: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, nFf: 128, ctxLength: 256, type: GgmlType.F32, seed: 7 })) };
  if (!haveStories) console.warn(`${STORIES} is absent: running on a synthetic 2-layer llama instead of stories260K`);

  await openApp(page);
  await chooseFile(page, model);
  await loadModel(page);
  await setGeneration(page, { temperature: 0.8, maxTokens: MAX_TOKENS, mode: 'raw' });
  await page.getByTestId('seed-input').fill(String(SEED));
  await expect.poll(() => page.workers().some((w) => w.url().includes('engine-worker'))).toBe(true);
  const workerHeap = await workerHeapReader(page);

  const t0 = Date.now();
  await page.getByTestId('prompt-input').fill('Once upon a time');
  await page.getByTestId('send-button').click();
  const first = await reply(page);
  const readings = [await reading(page, workerHeap, 1)];
  const mismatches: { generation: number; text: string }[] = [];
  for (let g = 2; g <= GENERATIONS; g++) {
    await page.getByTestId('regenerate-button').click();
    const text = await reply(page);
    if (text !== first) mismatches.push({ generation: g, text });
    if (g % 25 === 0) readings.push(await reading(page, workerHeap, g));
  }
  const seconds = (Date.now() - t0) / 1000;

  const [a, z] = [readings[0], readings.at(-1)!];
  const record = { model: haveStories ? 'stories260K.gguf' : 'synthetic', generations: GENERATIONS, maxTokens: MAX_TOKENS, seconds, first, mismatches, readings };
  mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
  writeFileSync(path.join(repoRoot, 'test-results/browser-stress.json'), JSON.stringify(record, null, 2) + '\n');
  console.log(`browser stress: ${GENERATIONS} generations in ${seconds.toFixed(1)} s; GPU ${a.gpuBytes} -> ${z.gpuBytes} B; page heap ${a.pageHeap} -> ${z.pageHeap} B; worker heap ${a.workerHeap} -> ${z.workerHeap} B`);

  expect(first.length).toBeGreaterThan(0);
  expect(mismatches).toEqual([]);
  // Every reply replaced the last one: the conversation is one prompt and one reply.
  await expect(page.locator('.turn-assistant')).toHaveCount(1);
  expect(z.generation).toBe(GENERATIONS);
  expect(a.gpuBytes).toBeGreaterThan(0);
  expect(z.gpuBytes).toBe(a.gpuBytes);
  expect(z.pageHeap - a.pageHeap).toBeLessThan(HEAP_SLACK_BYTES);
  expect(z.workerHeap - a.workerHeap).toBeLessThan(HEAP_SLACK_BYTES);
});
