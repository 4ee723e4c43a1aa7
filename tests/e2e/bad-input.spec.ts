// Issue 8 items 1 and 4 in the page (the engine API and the CLI have their
// own tests: tests/gpu/engine-queue.test.ts, engine-template.test.ts,
// cli.test.ts): files that are not models, settings out of range, odd
// prompts and a chat template that runs away. Each gives a coded error that
// names the value (or, for prompts the engine can take, a reply), and the
// page and its engine go on: a failed reply leaves the conversation as it
// was (issue 8 item 7: the conversation goes on), the chat and a raw prompt
// after the template failure, a reply after every bad setting. A tiny
// synthetic llama, so it is quick.

import { expect, test, type Page } from '@playwright/test';
import { GgmlType, GgufValueType } from '../../src/gguf/types';
import { writeGguf } from '../../src/gguf/writer';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import { chooseFile, loadModel, loseDeviceInNextReply, openApp, setGeneration } from './helpers';

/** Recurses without end unless the first message is "ok". */
const TEMPLATE =
  "{% if messages[0]['content'] == 'ok' %}User: ok\nAssistant:{% else %}" +
  '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}{% endif %}';
const CONTEXT = 64;
const model = Buffer.from(
  makeSyntheticModel({
    nEmbd: 32, nLayers: 1, nHeads: 2, nKvHeads: 2, nFf: 64, ctxLength: CONTEXT, type: GgmlType.F32, seed: 3,
    extraMetadata: [{ key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: TEMPLATE }],
  }),
);
/** A valid header whose one tensor claims 4 TiB. */
const terabytes = Buffer.from(
  writeGguf({
    metadata: [{ key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' }],
    tensors: [{ name: 'token_embd.weight', shape: [2 ** 20, 2 ** 20], type: GgmlType.F32 }],
    headerOnly: true,
  }),
);

async function expectBanner(page: Page, text: RegExp): Promise<void> {
  await expect(page.getByTestId('error-banner')).toBeVisible();
  await expect(page.getByTestId('error-banner')).toContainText(text);
}

/** Sends the prompt box's text and waits for the page to be idle again. */
async function send(page: Page): Promise<void> {
  await page.getByTestId('send-button').click();
  await expect(page.locator('body')).toHaveAttribute('data-busy', 'idle');
}

/** Sends and expects a finished reply with no error. */
async function expectReply(page: Page): Promise<void> {
  await send(page);
  await expect(page.getByTestId('assistant-output')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('error-banner')).toBeHidden();
  await expect(page.getByTestId('stat-reason')).toBeVisible();
}

test('files, settings, prompts and a runaway chat template: coded errors naming the value, and the page goes on', async ({ page }) => {
  await openApp(page);
  for (const [file, error] of [
    [{ name: 'empty.gguf', buffer: Buffer.alloc(0) }, /clw-model-invalid: magic at byte 0: the file ends at byte 0/],
    [{ name: 'notes.gguf', buffer: Buffer.from('hello, this is not a model') }, /clw-model-invalid: magic at byte 0: expected "GGUF"/],
    [{ name: 'huge.gguf', buffer: terabytes }, /clw-model-invalid: .*"token_embd\.weight" ends at byte 4398046511232, past the end of the file/],
  ] as const) {
    await chooseFile(page, file);
    await expectBanner(page, error);
    await expect(page.getByTestId('load-button')).toBeDisabled();
  }

  await chooseFile(page, { name: 'runaway-template.gguf', buffer: model });
  await loadModel(page);
  // The template recurses: stopped at its depth limit, named. The failed message is not kept (its
  // text stays in the prompt box), so the chat goes on: the template answers a first message "ok"
  // (with "hello" kept before it, it would recurse again). The same prompt raw also works.
  await setGeneration(page, { temperature: 0, maxTokens: 4, mode: 'chat' });
  await page.getByTestId('prompt-input').fill('hello');
  await send(page);
  await expectBanner(page, /clw-template-limit: the chat template passed its depth limit/);
  await expect(page.locator('.turn')).toHaveCount(0);
  await expect(page.getByTestId('prompt-input')).toHaveValue('hello');
  await page.getByTestId('prompt-input').fill('ok');
  await expectReply(page);
  await page.getByTestId('mode-select').selectOption('raw');
  await page.getByTestId('prompt-input').fill('hello');
  await expectReply(page);

  // A regenerated reply that fails before writing anything (the GPU goes away) gives the old reply back;
  // the next try runs on a new device.
  const before = await page.getByTestId('assistant-output').textContent();
  await loseDeviceInNextReply(page);
  await page.getByTestId('regenerate-button').click();
  await expect(page.locator('body')).toHaveAttribute('data-busy', 'idle');
  await expectBanner(page, /clw-device-lost/);
  await expect(page.locator('.turn')).toHaveCount(4);
  await expect(page.getByTestId('assistant-output')).toHaveText(before ?? '');
  await page.getByTestId('regenerate-button').click();
  await expect(page.locator('body')).toHaveAttribute('data-busy', 'idle');
  await expect(page.getByTestId('error-banner')).toBeHidden();
  await expect(page.getByTestId('assistant-output')).toHaveText(before ?? '');
  await expect(page.getByTestId('generation-notices')).toContainText('clw-device-lost');

  // Settings out of range: each named with its value before any work; the page's own bounds are the engine's.
  for (const [field, value, name] of [
    ['temperature-input', '-1', 'temperature'],
    ['max-tokens-input', '-5', 'max tokens'],
    ['max-tokens-input', '1.5', 'max tokens'],
    ['max-tokens-input', '0', 'max tokens'],
    ['max-tokens-input', '99999999999', 'max tokens'],
    ['seed-input', '-3', 'seed'],
  ] as const) {
    await setGeneration(page, { temperature: 0, maxTokens: 4, mode: 'raw' });
    await page.getByTestId(field).fill(value);
    await send(page);
    await expectBanner(page, new RegExp(`clw-bad-request: the ${name} setting "${value.replace('.', '\\.')}" is not valid`));
  }
  await page.getByTestId('seed-input').fill('');
  await setGeneration(page, { temperature: 0, maxTokens: 4, mode: 'raw' });

  // Prompts: empty is refused by name; NUL, a lone surrogate and 1 MB are answered (the long one cut to the context, with a warning).
  await page.getByTestId('prompt-input').fill('');
  await send(page);
  await expectBanner(page, /clw-bad-request: the prompt is empty/);
  for (const prompt of ['a\u0000b', 'a\uD800b']) {
    await page.getByTestId('prompt-input').fill(prompt);
    await expectReply(page);
  }
  await page.getByTestId('prompt-input').fill('x'.repeat(2 ** 20));
  await expectReply(page);
  await expect(page.getByTestId('generation-notices')).toContainText(/clw-ctx-overflow the prompt has \d+ tokens but the context holds 64/);
});
