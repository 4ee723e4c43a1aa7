// The CLI against llama.cpp on the shared real models (and Q4_0 / F16
// versions of stories260K written by WebClaw's own quantizer and writer):
// prompt "Once upon a time", greedy, 40 tokens, token ids equal; on each
// arithmetic path the adapter has (f32, and f16 where it has shader-f16).

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { convertModel, weightsAs } from '../fixtures/convert-model';
import { runCliJson } from './cli-helpers';
import { haveSharedModels, referenceGreedy, sharedModels } from './llama-reference';

const PROMPT = 'Once upon a time';
const N = 40;
const adapter = await getRuntimeGpu().requestAdapter();
const DTYPES = adapter?.features.has('shader-f16') ? ['f32', 'f16'] : ['f32'];

describe.skipIf(!haveSharedModels)('CLI greedy output equals llama.cpp on the shared models', () => {
  const files: Record<string, string> = {};
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'claw-conf-'));
    files['stories260K F32'] = path.join(sharedModels, 'stories260K.gguf');
    files['TinyStories-656K Q8_0'] = path.join(sharedModels, 'TinyStories-656K-Q8_0.gguf');
    for (const [label, type] of [['Q4_0', GgmlType.Q4_0], ['F16', GgmlType.F16]] as const) {
      const p = path.join(dir, `stories260K-${label}.gguf`);
      writeFileSync(p, await convertModel(files['stories260K F32'], weightsAs(type), type));
      files[`stories260K ${label} (written by WebClaw)`] = p;
    }
  });

  for (const label of ['stories260K F32', 'TinyStories-656K Q8_0', 'stories260K Q4_0 (written by WebClaw)', 'stories260K F16 (written by WebClaw)']) {
    it(`${label}: prompt ids and ${N} greedy tokens equal llama.cpp's (${DTYPES.join(', ')})`, { timeout: 300_000 }, async () => {
      const ref = await referenceGreedy(files[label], PROMPT, N);
      for (const dtype of DTYPES) {
        const ours = runCliJson(['run', '--model', files[label], '--prompt', PROMPT, '--n-predict', String(N), '--temp', '0', '--dtype', dtype]);
        expect(ours.dtype).toBe(dtype);
        expect(ours.prompt_token_ids).toEqual(ref.promptIds);
        expect(ours.generated_token_ids, dtype).toEqual(ref.tokens);
        expect(ours.text).toBe(ref.text);
        expect(ours.n_generated).toBe(ref.tokens.length);
        expect(ours.gpu_bytes_peak).toBeGreaterThan(0);
      }
    });
  }
});

if (!haveSharedModels) console.warn(`skipping shared-model conformance: ${sharedModels} not found`);
