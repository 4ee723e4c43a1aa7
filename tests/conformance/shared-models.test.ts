// WebClaw against llama.cpp on the shared real models (and Q4_0 / F16
// versions of stories260K written by WebClaw's own quantizer and writer):
// prompt "Once upon a time", greedy, 40 tokens, token ids equal; on each
// arithmetic path the adapter has (f32, and f16 where it has shader-f16).
// The CLI, as a user runs it, on the first model and every path; the other
// files through the same engine in this process (what they add is their
// weights' kernels, not the CLI's: a CLI process costs ~13 s under Deno).
// The files written by WebClaw run in the Dawn lane only: what they add is
// the quantizer and writer (JavaScript); the wgpu lane decodes Q4_0 and F16
// in its kernel tests and F16 in the quant-type conformance (CI time).

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import { openFileSource } from '../../src/gguf/source-node';
import { GgmlType } from '../../src/gguf/types';
import { getRuntimeGpu, runtimeGpuName } from '../../src/gpu/gpu-node';
import { convertModel, weightsAs } from '../fixtures/convert-model';
import { runCliJson } from './cli-helpers';
import { compareWithReference, dtypesOf, EXACT_FACTOR, referenceExactDiff, type Agreement } from './compare-engines';
import { f64LlamaProbabilities } from './f64-llama';
import { haveSharedModels, referenceGreedy, referenceRun, sharedModels } from './llama-reference';
import { writeConformanceRecord } from './records';

const PROMPT = 'Once upon a time';
const N = 40;
const adapter = await getRuntimeGpu().requestAdapter();
const WGPU_LANE = runtimeGpuName() === 'wgpu';
const DTYPES = adapter?.features.has('shader-f16') ? (['f32', 'f16'] as const) : (['f32'] as const);

// One engine for the file (its kernels compile once per arithmetic path).
let engine: ClawEngine;
beforeAll(async () => {
  engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
});
afterAll(async () => {
  await engine?.destroy();
});

describe.skipIf(!haveSharedModels)('greedy output equals llama.cpp on the shared models', () => {
  const files: Record<string, string> = {};
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'claw-conf-'));
    files['stories260K F32'] = path.join(sharedModels, 'stories260K.gguf');
    files['TinyStories-656K Q8_0'] = path.join(sharedModels, 'TinyStories-656K-Q8_0.gguf');
    if (WGPU_LANE) return;
    for (const [label, type] of [['Q4_0', GgmlType.Q4_0], ['F16', GgmlType.F16]] as const) {
      const p = path.join(dir, `stories260K-${label}.gguf`);
      writeFileSync(p, await convertModel(files['stories260K F32'], weightsAs(type), type));
      files[`stories260K ${label} (written by WebClaw)`] = p;
    }
  });

  it(`stories260K F32, by the CLI: prompt ids and ${N} greedy tokens equal llama.cpp's (${DTYPES.join(', ')})`, { timeout: 300_000 }, async () => {
    const file = files['stories260K F32'];
    const ref = await referenceGreedy(file, PROMPT, N);
    for (const dtype of DTYPES) {
      const ours = runCliJson(['run', '--model', file, '--prompt', PROMPT, '--n-predict', String(N), '--temp', '0', '--dtype', dtype]);
      expect(ours.dtype).toBe(dtype);
      expect(ours.prompt_token_ids).toEqual(ref.promptIds);
      expect(ours.generated_token_ids, dtype).toEqual(ref.tokens);
      expect(ours.text).toBe(ref.text);
      expect(ours.n_generated).toBe(ref.tokens.length);
      expect(ours.gpu_bytes_peak).toBeGreaterThan(0);
    }
  });

  for (const label of ['TinyStories-656K Q8_0', 'stories260K Q4_0 (written by WebClaw)', 'stories260K F16 (written by WebClaw)']) {
    it.skipIf(WGPU_LANE && label.includes('written by WebClaw'))(`${label}: prompt ids and ${N} greedy tokens equal llama.cpp's (${DTYPES.join(', ')})`, { timeout: 300_000 }, async () => {
      const ref = await referenceGreedy(files[label], PROMPT, N);
      for (const dtype of DTYPES) {
        const source = await openFileSource(files[label]);
        try {
          await engine.load(source, { ctxSize: 256, dtype });
          const ids: number[] = [];
          let promptIds: number[] = [];
          let text = '';
          for await (const e of engine.generate(PROMPT, { temperature: 0, maxTokens: N })) {
            if (e.type === 'prompt') promptIds = e.tokenIds;
            if (e.type === 'token') text += e.text;
            if (e.type === 'token' && e.tokenId >= 0) ids.push(e.tokenId);
          }
          expect(promptIds).toEqual(ref.promptIds);
          expect(ids, dtype).toEqual(ref.tokens);
          expect(text).toBe(ref.text);
        } finally {
          await engine.unload();
          await source.close?.();
        }
      }
    });
  }
});

if (!haveSharedModels) console.warn(`skipping shared-model conformance: ${sharedModels} not found`);

// Next-token probabilities on the real models, per arithmetic path: a longer
// prompt, so that most of the context is computed by the prefill matmul (the
// kernel whose f16 variant rounds the most), then llama.cpp's greedy
// continuation fed back to both engines and to an independent float64
// forward pass of the same file (f64-llama.ts), the exact answer.
const LONG_PROMPT = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She';
const POSITIONS = 24;
const CLEAR_MARGIN = 0.05;
// The bound comes from outside WebClaw (EXACT_FACTOR, compare-engines.ts):
// WebClaw's distance from the float64 reference at most 1.25x (f32) or 2x
// (f16) llama.cpp's own, so the WebClaw-llama.cpp difference at most
// (1 + factor)x llama.cpp's distance (the triangle inequality). This
// replaces a tolerance set from WebClaw's measured output (0.025, 1.5x the
// largest measured difference), which a 2% error in the rope base passed.
// Measured (Dawn, wgpu/lavapipe): WebClaw at 0.89x (f32) and 1.25x (f16) of
// llama.cpp's distance on stories260K F32 (llama.cpp: 7.8e-4), 0.03x and
// 0.07x on TinyStories-656K Q8_0 (llama.cpp: 1.65e-2: its 8-bit activations).

describe.skipIf(!haveSharedModels)('next-token probabilities equal llama.cpp\'s on the shared models, on each arithmetic path', () => {
  const results: (Agreement & { model: string; dtype: string; llamaExactDiff: number })[] = [];
  const models = { 'stories260K F32': 'stories260K.gguf', 'TinyStories-656K Q8_0': 'TinyStories-656K-Q8_0.gguf' };

  afterAll(() => {
    if (results.length === 0) return;
    console.table(results.map((r) => ({ ...r, maxTop10ProbDiff: r.maxTop10ProbDiff.toExponential(2), maxTop10ExactDiff: r.maxTop10ExactDiff?.toExponential(2), llamaExactDiff: r.llamaExactDiff.toExponential(2) })));
    const record = {
      description: "WebClaw vs llama.cpp CPU (node-llama-cpp 3.21.1) on the shared real models: max |p| difference over llama.cpp's top-10 tokens along its greedy continuation, per arithmetic path (maxTop10ProbDiff); each engine's max |p - p_exact| against a float64 reference forward pass (maxTop10ExactDiff: WebClaw, llamaExactDiff: llama.cpp)",
      prompt: LONG_PROMPT,
      positions: POSITIONS,
      clearMargin: CLEAR_MARGIN,
      exactFactor: EXACT_FACTOR,
      adapter: engine.adapterDescription,
      date: new Date().toISOString(),
      results,
    };
    writeConformanceRecord('shared-models-conformance', record, results.length === Object.keys(models).length * dtypesOf(engine).length);
  });

  for (const [label, file] of Object.entries(models)) {
    it(`${label}: top-10 probabilities and clear greedy tokens match llama.cpp`, { timeout: 300_000 }, async () => {
      const modelPath = path.join(sharedModels, file);
      const ref = await referenceRun(modelPath, LONG_PROMPT, POSITIONS, { stopAtEog: false });
      const exact = await f64LlamaProbabilities(modelPath, [...ref.promptIds, ...ref.tokens.slice(0, POSITIONS - 1)], ref.promptIds.length);
      // The reference computes the same model as llama.cpp: the same greedy token wherever llama.cpp's lead is clear, and
      // llama.cpp's rounding (f16 KV cache, queries and softmax weights; 8-bit activations for Q8_0) far inside that lead.
      const argmax = (p: Float64Array) => p.indexOf(Math.max(...p));
      ref.top.forEach((top, i) => {
        if (top[0].p - top[1].p > CLEAR_MARGIN) expect(argmax(exact[i]), `position ${i}`).toBe(ref.tokens[i]);
      });
      const llamaExactDiff = referenceExactDiff(ref, exact);
      expect(llamaExactDiff).toBeLessThan(CLEAR_MARGIN);
      for (const dtype of dtypesOf(engine)) {
        const m = await compareWithReference(engine, modelPath, ref, { ctxSize: 256, clearMargin: CLEAR_MARGIN, dtype, exact });
        results.push({ model: label, dtype, llamaExactDiff, ...m });
        expect(m.positions).toBe(POSITIONS);
        expect(m.clearDisagreements, dtype).toBe(0);
        expect(m.maxTop10ExactDiff, dtype).toBeLessThanOrEqual(EXACT_FACTOR[dtype] * llamaExactDiff);
        expect(m.maxTop10ProbDiff, dtype).toBeLessThanOrEqual((1 + EXACT_FACTOR[dtype]) * llamaExactDiff);
      }
    });
  }
});
