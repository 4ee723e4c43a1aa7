// The page as a chat app, on the built site with the shared models: the
// report and metadata viewer of each model, conversations kept across a
// reload with their settings, edit-and-resend, regenerate, stop, delete;
// load progress and cancel. The longest main-thread task (PerformanceObserver
// 'longtask') during a load and during a generation is measured and written
// to test-results/longtasks.json: reported, not asserted.

import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GgmlType } from '../../src/gguf/types';
import { splitGguf } from '../fixtures/split-gguf';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import { chooseFile, GENERATE_TIMEOUT, haveModels, loadModel, MODELS, modelsDir, NO_MODELS, openApp } from './helpers';

test.skip(!haveModels, NO_MODELS);

/** Starts recording long tasks before the page's own scripts run. */
async function watchLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.__longTasks.push(entry.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
}

/** Long tasks since the last call: how many, and the longest (ms). */
async function takeLongTasks(page: Page): Promise<{ count: number; longestMs: number }> {
  const tasks = await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[] };
    const taken = w.__longTasks;
    w.__longTasks = [];
    return taken;
  });
  return { count: tasks.length, longestMs: Math.round(Math.max(0, ...tasks)) };
}

async function openSettings(page: Page): Promise<void> {
  const panel = page.getByTestId('settings-panel');
  if (!(await panel.evaluate((d) => (d as HTMLDetailsElement).open))) await panel.locator('summary').click();
}

async function send(page: Page, text: string): Promise<string> {
  await page.getByTestId('prompt-input').fill(text);
  await page.getByTestId('send-button').click();
  return finished(page);
}

async function finished(page: Page): Promise<string> {
  const output = page.getByTestId('assistant-output');
  await expect(output).toHaveAttribute('data-state', 'done', { timeout: GENERATE_TIMEOUT });
  await expect(page.getByTestId('error-banner')).toBeHidden();
  return (await output.textContent()) ?? '';
}

async function screens(page: Page, name: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [label, width] of [['wide', 1280], ['narrow', 360]] as const) {
      await page.setViewportSize({ width, height: 900 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: `test-results/screens/${name}-${scheme}-${label}.png`, fullPage: true });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 900 });
}

for (const model of MODELS) {
  test(`${model.file}: report, library facts, metadata viewer and load progress`, async ({ page }) => {
    await openApp(page);
    await chooseFile(page, path.join(modelsDir, model.file));
    // SwiftShader has no shader-f16: the f32 path runs, with no warning.
    await expect(page.getByTestId('compat-verdict')).toHaveAttribute('data-verdict', 'runs');
    await expect(page.getByTestId('compat-report')).toContainText('shader-f16 no');
    const entry = page.getByTestId('library-entry').filter({ hasText: model.file });
    await expect(entry.getByTestId('library-entry-meta')).toContainText('llama');
    await expect(entry.getByTestId('library-entry-meta')).toContainText(new RegExp(`${model.quant} \\d+%`));

    const viewer = page.getByTestId('metadata-viewer');
    await viewer.locator('summary').click();
    await expect(viewer.getByTestId('metadata-count')).toContainText(/GGUF v3 · \d+ keys · \d+ tensors/);
    await expect(viewer.locator('tr[data-key="tokenizer.ggml.tokens"]')).toContainText(/\d+ elements: /);
    await page.getByTestId('metadata-search').fill('block_count');
    await expect(viewer.locator('tr[data-key]:visible')).toHaveCount(1);
    await expect(viewer.locator('tr[data-key="llama.block_count"]')).toBeVisible();

    await loadModel(page);
    await expect(page.getByTestId('load-speed')).toContainText(/in \d+\.\d s/);
    await expect(page.getByTestId('load-progress')).toBeHidden();
  });
}

test('conversations: two turns, regenerate, edit and resend, stop; all kept across a reload; then deleted', async ({ page }) => {
  const measured: Record<string, { count: number; longestMs: number }> = {};
  await watchLongTasks(page);
  await openApp(page);
  await chooseFile(page, path.join(modelsDir, MODELS[0].file));
  await takeLongTasks(page);
  await loadModel(page);
  measured.load = await takeLongTasks(page);

  await openSettings(page);
  await page.getByTestId('temperature-input').fill('0');
  await page.getByTestId('top-k-input').fill('7');
  await page.getByTestId('top-p-input').fill('0.9');
  await page.getByTestId('min-p-input').fill('0.02');
  await page.getByTestId('seed-input').fill('42');
  await page.getByTestId('max-tokens-input').fill('16');
  await page.getByTestId('mode-select').selectOption('chat');
  await page.locator('.system-prompt summary').click();
  await page.getByTestId('system-prompt-input').fill('You tell short stories.');
  await page.getByTestId('system-prompt-input').blur();

  await takeLongTasks(page);
  const first = await send(page, 'Tell me a story.');
  measured.generate = await takeLongTasks(page);
  expect(first.length).toBeGreaterThan(0);
  await expect(page.getByTestId('stat-ttft')).toContainText(/\d+ ms/);
  await expect(page.getByTestId('context-usage')).toContainText(/\d+ of [\d,]+ tokens/);
  await expect(page.getByTestId('gpu-memory')).toContainText(/(KiB|MiB) of .* budget \(in use now\)/);
  await expect(page.getByTestId('conversation-list')).toContainText('Tell me a story.');
  await expect(page.getByTestId('prompt-input')).toHaveValue('');
  const promptTokens = async () => Number(/\((\d+) prompt tokens/.exec((await page.getByTestId('stat-prefill').textContent()) ?? '')?.[1]);
  const firstPromptTokens = await promptTokens();

  const second = await send(page, 'And then?');
  await expect(page.getByTestId('assistant-message')).toHaveCount(1);
  await expect(page.getByTestId('last-prompt')).toHaveText('And then?');
  // The second request carries the whole conversation: both turns and the first reply.
  expect(await promptTokens()).toBeGreaterThan(firstPromptTokens + 8);

  // Greedy: regenerating the last reply gives it again, in its place.
  await page.getByTestId('regenerate-button').click();
  expect(await finished(page)).toBe(second);
  await expect(page.locator('.turn-assistant')).toHaveCount(2);

  // Editing the first message drops what came after it and answers the new text.
  await page.getByTestId('edit-button').first().click();
  await page.getByTestId('edit-input').fill('Tell me about a cat.');
  await page.getByTestId('edit-send-button').click();
  await finished(page);
  await expect(page.locator('.turn')).toHaveCount(2);
  await expect(page.getByTestId('last-prompt')).toHaveText('Tell me about a cat.');

  // Stop mid-stream: the part written so far stays in the conversation.
  await page.getByTestId('max-tokens-input').fill('400');
  await page.getByTestId('temperature-input').fill('0.8');
  await page.getByTestId('prompt-input').fill('Go on.');
  await takeLongTasks(page);
  await page.getByTestId('send-button').click();
  // Let it stream a while (a few hundred tokens of Markdown re-rendering) before stopping.
  await expect(page.getByTestId('stat-live')).toContainText(/\((\d{3,}|[5-9]\d) tokens\)/, { timeout: GENERATE_TIMEOUT });
  await page.getByTestId('stop-button').click();
  const stopped = await finished(page);
  measured.longGeneration = await takeLongTasks(page);
  await expect(page.getByTestId('generation-stats')).toContainText(/stopped/i);
  await screens(page, 'chat');

  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(page.getByTestId('library-entry').filter({ hasText: MODELS[0].file })).toHaveCount(1);
  await expect(page.getByTestId('conversation-entry')).toHaveCount(1);
  await expect(page.getByTestId('conversation-heading')).toHaveText('Tell me a story.');
  await expect(page.getByTestId('last-prompt')).toHaveText('Go on.');
  expect((await page.getByTestId('assistant-output').textContent())?.trim()).toBe(stopped.trim());
  await expect(page.getByTestId('model-hint')).toContainText(`held with ${MODELS[0].file}`);
  await expect(page.getByTestId('system-prompt-input')).toHaveValue('You tell short stories.');
  await openSettings(page);
  await expect(page.getByTestId('top-k-input')).toHaveValue('7');
  await expect(page.getByTestId('top-p-input')).toHaveValue('0.9');
  await expect(page.getByTestId('min-p-input')).toHaveValue('0.02');
  await expect(page.getByTestId('seed-input')).toHaveValue('42');
  await expect(page.getByTestId('max-tokens-input')).toHaveValue('400');

  // A new chat starts empty and is listed once it has a turn; the old one stays.
  await page.getByTestId('new-chat-button').click();
  await expect(page.getByTestId('conversation-heading')).toHaveText('New chat');
  await expect(page.locator('.turn')).toHaveCount(0);
  await page.getByTestId('conversation-open').first().click();
  await expect(page.getByTestId('last-prompt')).toHaveText('Go on.');

  await page.getByTestId('conversation-rename').click();
  await page.getByTestId('conversation-rename-input').fill('Cat stories');
  await page.getByTestId('conversation-rename-input').press('Enter');
  await expect(page.getByTestId('conversation-title')).toHaveText('Cat stories');
  await page.getByTestId('conversation-delete').click();
  await expect(page.getByTestId('conversation-entry')).toHaveCount(0);
  await expect(page.getByTestId('conversation-list-empty')).toBeVisible();
  await page.getByTestId('library-remove').click();
  await expect(page.getByTestId('library-entry')).toHaveCount(0);

  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/longtasks.json', `${JSON.stringify(measured, null, 2)}\n`);
  console.log(`longest main-thread task (ms, with the count of tasks over 50 ms): ${Object.entries(measured).map(([k, v]) => `${k} ${v.longestMs} (${v.count})`).join(', ')}`);
});

test('a load can be cancelled; nothing is left loaded and the next load works', async ({ page }) => {
  // Big enough that the upload takes a while on SwiftShader (F32, about 100 MiB).
  const file = path.join(os.tmpdir(), 'webclaw-cancel-test.gguf');
  writeFileSync(file, makeSyntheticModel({ nEmbd: 1024, nLayers: 6, nHeads: 16, nKvHeads: 16, nFf: 1024, ctxLength: 256, type: GgmlType.F32, seed: 3 }));
  await openApp(page);
  await chooseFile(page, file);
  await expect(page.getByTestId('compat-verdict')).toHaveAttribute('data-verdict', 'runs');
  await page.getByTestId('load-button').click();
  await page.getByTestId('load-cancel-button').click();
  await expect(page.getByTestId('load-status')).toHaveAttribute('data-state', 'failed');
  await expect(page.getByTestId('load-status')).toContainText('cancelled');
  await expect(page.getByTestId('error-banner')).toBeHidden();
  await expect(page.getByTestId('send-button')).toBeDisabled();
  // A fresh worker takes over: another model loads and answers.
  await chooseFile(page, path.join(modelsDir, MODELS[1].file));
  await loadModel(page);
  await page.getByTestId('mode-select').selectOption('raw');
  await openSettings(page);
  await page.getByTestId('temperature-input').fill('0');
  await page.getByTestId('max-tokens-input').fill(String(MODELS[1].maxTokens));
  expect(await send(page, 'Once upon a time')).toBe(MODELS[1].reference);
});

test('a file the browser refuses to store still loads and answers in this tab, marked as not remembered', async ({ page }) => {
  // Every Blob write to IndexedDB fails, as in a private window or on a full disk.
  await page.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (value: unknown, key?: IDBValidKey) {
      if (value instanceof Blob) throw new DOMException('the quota has been exceeded', 'QuotaExceededError');
      return put.call(this, value, key);
    };
  });
  await openApp(page);
  await chooseFile(page, path.join(modelsDir, MODELS[0].file));
  const entry = page.getByTestId('library-entry').filter({ hasText: MODELS[0].file });
  await expect(entry.getByTestId('unstored-note')).toContainText('forgotten when this tab closes');
  await expect(page.getByTestId('compat-verdict')).toHaveAttribute('data-verdict', 'runs');
  await loadModel(page);
  await page.getByTestId('mode-select').selectOption('raw');
  await openSettings(page);
  await page.getByTestId('temperature-input').fill('0');
  await page.getByTestId('max-tokens-input').fill(String(MODELS[0].maxTokens));
  expect(await send(page, 'Once upon a time')).toBe(MODELS[0].reference);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(page.getByTestId('library-entry')).toHaveCount(0);
});

test('the parts of a split model dropped together load as one model and answer like the whole file', async ({ page }) => {
  const model = MODELS[0];
  const parts = await splitGguf(new Uint8Array(readFileSync(path.join(modelsDir, model.file))), 2);
  await openApp(page);
  // Given in the wrong order on purpose: the names say which part is which.
  await page.getByTestId('model-file-input').setInputFiles(
    parts.map((bytes, i) => ({ name: `stories260K-0000${i + 1}-of-00002.gguf`, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) })).reverse(),
  );
  const entry = page.getByTestId('library-entry');
  await expect(entry).toHaveCount(1);
  await expect(entry).toContainText('stories260K.gguf');
  await expect(entry.getByTestId('library-entry-meta')).toContainText('2 parts');
  await expect(page.getByTestId('compat-verdict')).toHaveAttribute('data-verdict', 'runs');
  await loadModel(page);
  await page.getByTestId('mode-select').selectOption('raw');
  await openSettings(page);
  await page.getByTestId('temperature-input').fill('0');
  await page.getByTestId('max-tokens-input').fill(String(model.maxTokens));
  expect(await send(page, 'Once upon a time')).toBe(model.reference);
});
