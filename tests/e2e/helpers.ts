// Shared by the browser tests: where the models are, the greedy references,
// and the page actions every test repeats.

import { expect, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const modelsDir = path.resolve(repoRoot, '../shared/models');
export const haveModels = existsSync(path.join(modelsDir, 'stories260K.gguf')) && existsSync(path.join(modelsDir, 'TinyStories-656K-Q8_0.gguf'));
export const NO_MODELS = `the shared test models are not at ${modelsDir} (a fresh clone without ../shared/models): skipping tests that need them`;

export const PROMPT = 'Once upon a time';

/**
 * Greedy continuations of PROMPT by llama.cpp (node-llama-cpp 3.21.1, CPU),
 * for the prompt tokens llama.cpp's own tokenizer gives: BOS, then
 * "Once upon a time" with SentencePiece's space prefix. `maxTokens` is the
 * number of tokens llama.cpp generated for that text (57 and 25), so the
 * output is compared as a whole, not as a prefix. The text starts with the
 * comma: SentencePiece puts the space before a word, and the first generated
 * token is ",".
 *
 * stories260K: the text in ../shared/models/README.md.
 * TinyStories-656K: NOT the README's text. The README's continuation ("She
 * loved to play with her toys...") comes from node-llama-cpp's
 * LlamaCompletion, which tokenizes the prompt without the space prefix
 * (ids 1,147,201,282,57 instead of 1,80,147,201,282,57; this vocabulary has a
 * lone "▁" token, 80). With llama.cpp's default tokenization, which WebClaw's
 * raw mode follows, llama.cpp itself continues with "She loved to eat yummy
 * food..." (checked with tests/conformance/llama-reference.ts referenceRun).
 */
export const MODELS = [
  {
    file: 'stories260K.gguf',
    quant: 'F32',
    maxTokens: 57,
    reference: ', there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.',
  },
  {
    file: 'TinyStories-656K-Q8_0.gguf',
    quant: 'Q8_0',
    maxTokens: 25,
    reference:
      ', a little girl named Lily lived in a small house. She loved to eat yummy food. One day, she saw a small bird on the ground. The bird was sad because it could not eat it.\nLily ',
  },
] as const;

// SwiftShader runs every kernel on the CPU.
export const LOAD_TIMEOUT = 120_000;
export const GENERATE_TIMEOUT = 180_000;

export async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

export async function chooseFile(page: Page, file: string | { name: string; buffer: Buffer }): Promise<void> {
  const payload = typeof file === 'string' ? file : { name: file.name, mimeType: 'application/octet-stream', buffer: file.buffer };
  await page.getByTestId('model-file-input').setInputFiles(payload);
}

export async function loadModel(page: Page): Promise<void> {
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await page.getByTestId('load-button').click();
  await expect(page.getByTestId('load-status')).toHaveAttribute('data-state', 'loaded', { timeout: LOAD_TIMEOUT });
  await expect(page.getByTestId('error-banner')).toBeHidden();
}

export async function setGeneration(page: Page, settings: { temperature: number; maxTokens: number; mode: 'raw' | 'chat' }): Promise<void> {
  const panel = page.getByTestId('settings-panel');
  if (!(await panel.evaluate((d) => (d as HTMLDetailsElement).open))) await panel.locator('summary').click();
  await page.getByTestId('temperature-input').fill(String(settings.temperature));
  await page.getByTestId('max-tokens-input').fill(String(settings.maxTokens));
  await page.getByTestId('mode-select').selectOption(settings.mode);
}

/** Sends a prompt and waits until the reply is over; returns the text exactly as the page shows it. */
export async function generate(page: Page, prompt: string): Promise<string> {
  await page.getByTestId('prompt-input').fill(prompt);
  await page.getByTestId('send-button').click();
  const output = page.getByTestId('assistant-output');
  await expect(output).toHaveAttribute('data-state', 'done', { timeout: GENERATE_TIMEOUT });
  await expect(page.getByTestId('error-banner')).toBeHidden();
  return (await output.textContent()) ?? '';
}

/**
 * Makes the GPU go away in the middle of the next reply: the engine worker's
 * (src/worker/engine-worker.ts) device is destroyed as the reply records its
 * first GPU commands, as a driver reset would.
 */
export async function loseDeviceInNextReply(page: Page): Promise<void> {
  await expect.poll(() => page.workers().some((w) => w.url().includes('engine-worker'))).toBe(true);
  const worker = page.workers().find((w) => w.url().includes('engine-worker'))!;
  await worker.evaluate(() => {
    const proto = GPUDevice.prototype;
    const original = proto.createCommandEncoder;
    proto.createCommandEncoder = function (this: GPUDevice, ...args: Parameters<GPUDevice['createCommandEncoder']>) {
      proto.createCommandEncoder = original;
      this.destroy();
      return original.apply(this, args);
    };
  });
}

/**
 * Makes the GPU go away during the next load: the next engine worker's
 * script is served with a prelude that destroys its device as the load
 * creates its 12th buffer (the kernels' own come first, then the model's).
 */
export async function loseDeviceInNextLoad(page: Page): Promise<void> {
  const prelude = `{
    const proto = GPUDevice.prototype;
    const original = proto.createBuffer;
    let n = 0;
    proto.createBuffer = function (descriptor) {
      if (++n === 12) {
        proto.createBuffer = original;
        this.destroy();
      }
      return original.call(this, descriptor);
    };
  }\n`;
  await page.route(
    '**/assets/engine-worker-*.js',
    async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: prelude + (await response.text()) });
    },
    { times: 1 },
  );
}

export async function expectSpeedShown(page: Page): Promise<void> {
  await expect(page.getByTestId('stat-prefill')).toContainText(/\d(\.\d)? tok\/s \(\d+ prompt tokens/);
  await expect(page.getByTestId('stat-decode')).toContainText(/\d(\.\d)? tok\/s \(\d+ tokens\)/);
}

