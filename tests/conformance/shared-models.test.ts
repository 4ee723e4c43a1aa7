// The CLI against llama.cpp on the shared real models (and Q4_0 / F16
// versions of stories260K written by WebClaw's own quantizer and writer):
// prompt "Once upon a time", greedy, 40 tokens, token ids equal; on each
// arithmetic path the adapter has (f32, and f16 where it has shader-f16).

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import { GgmlType } from '../../src/gguf/types';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { convertModel, weightsAs } from '../fixtures/convert-model';
import { runCliJson } from './cli-helpers';
import { compareWithReference, conformanceRecordPath, dtypesOf, type Agreement } from './compare-engines';
import { haveSharedModels, referenceGreedy, referenceRun, sharedModels } from './llama-reference';

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

// Next-token probabilities on the real models, per arithmetic path: a longer
// prompt, so that most of the context is computed by the prefill matmul (the
// kernel whose f16 variant rounds the most), then llama.cpp's greedy
// continuation fed back to both engines.
const LONG_PROMPT = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She';
const POSITIONS = 24;
const CLEAR_MARGIN = 0.05;
/**
 * Largest allowed |p_webclaw - p_llama.cpp| over llama.cpp's top-10 tokens:
 * about 1.5x the largest measured (see bench/results/shared-models-conformance*.json).
 */
const SHARED_TOLERANCE = 0.025;

describe.skipIf(!haveSharedModels)('next-token probabilities equal llama.cpp\'s on the shared models, on each arithmetic path', () => {
  let engine: ClawEngine;
  const results: (Agreement & { model: string; dtype: string })[] = [];
  const models = { 'stories260K F32': 'stories260K.gguf', 'TinyStories-656K Q8_0': 'TinyStories-656K-Q8_0.gguf' };

  beforeAll(async () => {
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
  });

  afterAll(async () => {
    await engine?.destroy();
    if (results.length === 0) return;
    console.table(results.map((r) => ({ ...r, maxTop10ProbDiff: r.maxTop10ProbDiff.toExponential(2) })));
    if (results.length < Object.keys(models).length * dtypesOf(engine).length) return;
    const out = conformanceRecordPath('shared-models-conformance');
    mkdirSync(path.dirname(out), { recursive: true });
    const record = {
      description: "WebClaw vs llama.cpp CPU (node-llama-cpp 3.21.1) on the shared real models: max |p| difference over llama.cpp's top-10 tokens along its greedy continuation, per arithmetic path",
      prompt: LONG_PROMPT,
      positions: POSITIONS,
      clearMargin: CLEAR_MARGIN,
      adapter: engine.adapterDescription,
      date: new Date().toISOString(),
      results,
    };
    writeFileSync(out, `${JSON.stringify(record, null, 2)}\n`);
  });

  for (const [label, file] of Object.entries(models)) {
    it(`${label}: top-10 probabilities and clear greedy tokens match llama.cpp`, { timeout: 300_000 }, async () => {
      const modelPath = path.join(sharedModels, file);
      const ref = await referenceRun(modelPath, LONG_PROMPT, POSITIONS, { stopAtEog: false });
      for (const dtype of dtypesOf(engine)) {
        const m = await compareWithReference(engine, modelPath, ref, { ctxSize: 256, clearMargin: CLEAR_MARGIN, dtype });
        results.push({ model: label, dtype, ...m });
        expect(m.positions).toBe(POSITIONS);
        expect(m.clearDisagreements, dtype).toBe(0);
        expect(m.maxTop10ProbDiff, dtype).toBeLessThan(SHARED_TOLERANCE);
      }
    });
  }
});
