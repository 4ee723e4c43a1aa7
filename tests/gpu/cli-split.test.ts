// The CLI on a split model: naming any part runs all of them as one file,
// with the same greedy output as the whole file; a missing part is a coded error.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, runCliJson } from '../conformance/cli-helpers';
import { splitGguf } from '../fixtures/split-gguf';

const whole = path.resolve(__dirname, '../../../shared/models/stories260K.gguf');

describe.skipIf(!existsSync(whole))('claw-infer on a split model (needs ../shared/models)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'claw-split-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the parts as one model, with the whole file output, and names a missing part', async () => {
    const parts = await splitGguf(new Uint8Array(readFileSync(whole)), 3);
    parts.forEach((bytes, i) => writeFileSync(path.join(dir, `stories-0000${i + 1}-of-00003.gguf`), bytes));
    const args = ['--prompt', 'Once upon a time', '--n-predict', '24', '--temp', '0'];
    const expected = runCliJson(['run', '--model', whole, ...args]);
    const split = runCliJson(['run', '--model', path.join(dir, 'stories-00002-of-00003.gguf'), ...args]);
    expect(split.generated_token_ids).toEqual(expected.generated_token_ids);
    expect(split.text).toBe(expected.text);

    rmSync(path.join(dir, 'stories-00003-of-00003.gguf'));
    const missing = runCli(['run', '--model', path.join(dir, 'stories-00001-of-00003.gguf'), ...args]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/clw-bad-request: cannot open .*stories-00003-of-00003\.gguf/);
  });
});
