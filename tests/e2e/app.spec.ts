// The page end to end, in headless Chromium with WebGPU over SwiftShader
// (see playwright.config.ts): drop a model, read its compatibility report,
// load it, stream a reply, reload, stop, and the failure paths.

import { expect, test } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GgmlType } from '../../src/gguf/types';
import { kv, writeGguf } from '../../src/gguf/writer';
import { chooseFile, expectSpeedShown, generate, GENERATE_TIMEOUT, haveModels, LOAD_TIMEOUT, loadModel, loseDeviceInNextLoad, loseDeviceInNextReply, MODELS, modelsDir, NO_MODELS, openApp, PROMPT, setGeneration } from './helpers';

/** A tiny llama GGUF whose weights are Q8_K, a type the GPU path does not run (ggml's activation type for K-quant dot products). */
function unsupportedQuantFixture(): Buffer {
  const nEmbd = 256;
  const nVocab = 8;
  const bytes = writeGguf({
    metadata: [
      kv.str('general.architecture', 'llama'),
      kv.str('general.name', 'iq2-fixture'),
      kv.u32('llama.context_length', 64),
      kv.u32('llama.embedding_length', nEmbd),
      kv.u32('llama.block_count', 1),
      kv.u32('llama.feed_forward_length', nEmbd),
      kv.u32('llama.attention.head_count', 4),
      kv.u32('llama.attention.head_count_kv', 4),
      kv.f32('llama.attention.layer_norm_rms_epsilon', 1e-5),
      kv.str('tokenizer.ggml.model', 'llama'),
      kv.strArr('tokenizer.ggml.tokens', Array.from({ length: nVocab }, (_, i) => `t${i}`)),
    ],
    tensors: [
      { name: 'token_embd.weight', shape: [nEmbd, nVocab], type: GgmlType.Q8_K },
      { name: 'output_norm.weight', shape: [nEmbd], type: GgmlType.F32 },
      { name: 'output.weight', shape: [nEmbd, nVocab], type: GgmlType.Q8_K },
    ],
  });
  return Buffer.from(bytes);
}

/** Bytes that are not a GGUF file (a fixed pseudo-random sequence, so failures reproduce). */
function corruptFile(): Buffer {
  const out = Buffer.alloc(4096);
  let x = 0x2545f491;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test('the page starts and shows that WebGPU is available', async ({ page }) => {
  await openApp(page);
  await expect(page.getByTestId('gpu-status')).toContainText('WebGPU ready');
  await expect(page.getByTestId('error-banner')).toBeHidden();
  await expect(page.getByTestId('model-file-input')).toBeAttached();
  await expect(page.getByTestId('model-library-empty')).toBeVisible();
  await expect(page.getByTestId('webgpu-help')).toBeHidden();
  await expect(page.getByTestId('load-button')).toBeDisabled();
  await expect(page.getByTestId('send-button')).toBeDisabled();
  await page.screenshot({ path: 'test-results/e2e/page-start.png', fullPage: true });
});

test('without WebGPU the page still works and says how to enable it', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  await openApp(page);
  const banner = page.getByTestId('error-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('clw-init-fail: WebGPU is not available in this browser');
  await expect(banner).toContainText('enable-unsafe-webgpu');
  await expect(page.getByTestId('gpu-status')).toHaveText('WebGPU unavailable');
  // The help screen says how to turn WebGPU on in each browser.
  const help = page.getByTestId('webgpu-help');
  await expect(help).toBeVisible();
  for (const browser of ['Chrome or Edge', 'Safari', 'Firefox']) await expect(help).toContainText(browser);
  await page.screenshot({ path: 'test-results/screens/no-webgpu-light-wide.png', fullPage: true });
  // Not a dead page: the model picker is still there.
  await expect(page.getByTestId('model-file-input')).toBeEnabled();
});

test('a Chromium started without WebGPU shows the help screen, not a broken page', async ({ playwright, baseURL }) => {
  // No --enable-unsafe-webgpu, and the GPU process off: navigator.gpu gives no adapter (or is absent).
  const browser = await playwright.chromium.launch({
    executablePath: existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ baseURL });
    await openApp(page);
    await expect(page.getByTestId('webgpu-help')).toBeVisible();
    await expect(page.getByTestId('gpu-status')).toHaveText('WebGPU unavailable');
    await expect(page.getByTestId('error-banner')).toContainText('clw-init-fail');
    await expect(page.getByTestId('model-file-input')).toBeEnabled();
  } finally {
    await browser.close();
  }
});

test('a file with an unsupported tensor type is flagged before loading', async ({ page }) => {
  await openApp(page);
  await chooseFile(page, { name: 'iq2-fixture.gguf', buffer: unsupportedQuantFixture() });
  const report = page.getByTestId('compat-report');
  await expect(report.locator('tr[data-type="Q8_K"]')).toContainText('clw-quant-unsupported');
  await expect(report.getByTestId('compat-issues')).toContainText(/clw-quant-unsupported\s+Q8_K/);
  await expect(report.getByTestId('compat-verdict')).toHaveText('Will not run');
  await page.screenshot({ path: 'test-results/e2e/page-unsupported.png', fullPage: true });
  // A file that will not run is not offered for loading (one behaviour, not either of two).
  await expect(page.getByTestId('load-button')).toBeDisabled();
  await expect(page.getByTestId('model-library')).toContainText('iq2-fixture.gguf');
});

test('a corrupt file shows clw-model-invalid in the error banner', async ({ page }) => {
  await openApp(page);
  await chooseFile(page, { name: 'random-bytes.gguf', buffer: corruptFile() });
  const banner = page.getByTestId('error-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText(/clw-model-invalid: .*byte \d+/);
  await expect(page.getByTestId('compat-report')).toBeHidden();
  await expect(page.getByTestId('load-button')).toBeDisabled();
  // Still usable: the picker takes another file.
  await expect(page.getByTestId('model-file-input')).toBeEnabled();
});

test.describe('with the shared test models', () => {
  test.skip(!haveModels, NO_MODELS);

  for (const model of MODELS) {
    test(`${model.file}: report, load${model === MODELS[0] ? ' (decode matvec layout measured at load)' : ''} and a greedy reply equal to llama.cpp's`, async ({ page }) => {
      await openApp(page);
      await chooseFile(page, path.join(modelsDir, model.file));
      const report = page.getByTestId('compat-report');
      await expect(report.getByTestId('compat-verdict')).toHaveAttribute('data-verdict', /^runs/);
      await expect(report).toContainText('llama · supported');
      // Which arithmetic path will run, whichever this browser's adapter allows.
      await expect(report).toContainText(/Arithmetic\s*f(16|32) \(the GPU (has|lacks) shader-f16/);
      await expect(report.locator(`tr[data-type="${model.quant}"]`)).toContainText('supported');
      // stories260K loads with its decode matvec layout measured at load (the engine's search) and must answer the same:
      // its F32 weights rule out int8Dot (which the search may pick for the Q8_0 model, and which moves logits by about 1e-2).
      const measure = model === MODELS[0];
      if (measure) {
        await page.getByTestId('settings-panel').locator('summary').click();
        await page.getByTestId('matvec-select').selectOption('auto');
      }
      await loadModel(page);
      if (measure) await expect(page.getByTestId('load-status')).toContainText(/Decode matvec layout: .+, measured at load \(\d+ of \d+ layouts timed in \d+ ms; remembered for this GPU and model shape\)/);
      await setGeneration(page, { temperature: 0, maxTokens: model.maxTokens, mode: 'raw' });
      const reply = await generate(page, PROMPT);
      expect(reply).toBe(model.reference);
      await expectSpeedShown(page);
      if (model.file === 'stories260K.gguf') await page.screenshot({ path: 'test-results/e2e/page-reply.png', fullPage: true });
      if (measure) {
        // The next visit: the page reloaded, the model opened from the library and loaded again. The layout is read
        // back from IndexedDB, not measured again, and the reply is the same.
        await page.reload();
        await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
        await page.getByTestId('library-entry').filter({ hasText: model.file }).getByTestId('library-open').click();
        await expect(page.getByTestId('compat-verdict')).toHaveAttribute('data-verdict', /^runs/);
        await loadModel(page);
        await expect(page.getByTestId('load-status')).toContainText(/Decode matvec layout: .+, remembered from its measurement on this GPU at .+ \(\d+ of \d+ layouts timed in \d+ ms\)\./);
        await setGeneration(page, { temperature: 0, maxTokens: model.maxTokens, mode: 'raw' });
        expect(await generate(page, PROMPT)).toBe(model.reference);
        // "measure at every load": measured again, replacing what was kept.
        await page.getByTestId('matvec-select').selectOption('remeasure');
        await loadModel(page);
        await expect(page.getByTestId('load-status')).toContainText(/Decode matvec layout: .+, measured at load \(\d+ of \d+ layouts timed in \d+ ms; remembered for this GPU and model shape, replacing the measurement of .+\)/);
      }
    });
  }

  test('after a reload the library still has the model, and it loads and runs without dropping it again; a device lost during the load or mid-reply shows clw-device-lost and the chat goes on; no request leaves the origin', async ({ page, context }) => {
    const model = MODELS[0];
    // Every request the page and its workers make, from the first.
    const urls: string[] = [];
    context.on('request', (r) => urls.push(r.url()));
    await openApp(page);
    await chooseFile(page, path.join(modelsDir, model.file));
    await expect(page.getByTestId('compat-verdict')).toBeVisible();

    await page.reload();
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    const entry = page.getByTestId('library-entry').filter({ hasText: model.file });
    await expect(entry).toHaveCount(1);
    await entry.getByTestId('library-open').click();
    await expect(page.getByTestId('compat-verdict')).toHaveAttribute('data-verdict', /^runs/);

    // The GPU goes away during the first load: it fails with clw-device-lost, and loading again works.
    await loseDeviceInNextLoad(page);
    await page.getByTestId('load-button').click();
    await expect(page.getByTestId('error-banner')).toContainText('clw-device-lost', { timeout: LOAD_TIMEOUT });
    await expect(page.getByTestId('load-status')).toHaveAttribute('data-state', 'failed');
    await loadModel(page);
    await setGeneration(page, { temperature: 0, maxTokens: model.maxTokens, mode: 'raw' });
    expect(await generate(page, PROMPT)).toBe(model.reference);

    // The GPU goes away mid-reply: that reply fails with clw-device-lost; the
    // next runs on a new device with the model loaded again, says so, and is
    // the same greedy text.
    await loseDeviceInNextReply(page);
    await page.getByTestId('prompt-input').fill(PROMPT);
    await page.getByTestId('send-button').click();
    await expect(page.getByTestId('error-banner')).toContainText('clw-device-lost');
    await setGeneration(page, { temperature: 0, maxTokens: 12, mode: 'raw' });
    const again = await generate(page, PROMPT);
    expect(again.length).toBeGreaterThan(10);
    expect(model.reference.startsWith(again)).toBe(true);
    await expect(page.getByTestId('generation-notices')).toContainText('clw-device-lost');

    const own = new URL(page.url()).origin;
    expect(urls.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== own)).toEqual([]);
    console.log(`privacy: ${urls.length} requests while storing, reloading, loading and chatting, all to ${own}`);
  });

  test('a file dropped on the drop zone is stored and inspected', async ({ page }) => {
    await openApp(page);
    const bytes = readFileSync(path.join(modelsDir, MODELS[1].file)).toString('base64');
    const dataTransfer = await page.evaluateHandle((b64) => {
      const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([raw], 'dropped.gguf'));
      return transfer;
    }, bytes);
    await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer });
    await expect(page.getByTestId('model-library')).toContainText('dropped.gguf');
    await expect(page.getByTestId('compat-verdict')).toHaveAttribute('data-verdict', /^runs/);
  });

  test('stop ends a long generation and the page is usable again', async ({ page }) => {
    await openApp(page);
    await chooseFile(page, path.join(modelsDir, MODELS[0].file));
    await loadModel(page);
    await setGeneration(page, { temperature: 0.8, maxTokens: 400, mode: 'raw' });
    await page.getByTestId('prompt-input').fill(PROMPT);
    await page.getByTestId('send-button').click();
    const output = page.getByTestId('assistant-output');
    await expect(output).not.toBeEmpty({ timeout: GENERATE_TIMEOUT });
    await page.getByTestId('stop-button').click();
    await expect(output).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
    const stopped = (await output.textContent()) ?? '';
    await expect(page.getByTestId('generation-stats')).toContainText(/stopped/i);
    await page.waitForTimeout(1500);
    expect(await output.textContent()).toBe(stopped);
    await expect(page.getByTestId('error-banner')).toBeHidden();
    await expect(page.getByTestId('stop-button')).toBeDisabled();
    await expect(page.getByTestId('send-button')).toBeEnabled();

    // Usable again: a short greedy request still gives the reference start.
    await setGeneration(page, { temperature: 0, maxTokens: MODELS[0].maxTokens, mode: 'raw' });
    expect(await generate(page, PROMPT)).toBe(MODELS[0].reference);
  });
});
