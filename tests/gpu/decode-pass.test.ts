// The recorded, fused decode pass against the batch path it replaces: the
// same synthetic model loaded twice (decodePass on and off), the same tokens
// fed one at a time, and the logits compared at every position. Covers each
// fused kernel's variants: norm folded into q/k/v (with and without biases),
// per-head q/k norms in rope_kv, NeoX and adjacent rope, rope factors, YaRN,
// f16 and f32 KV caches, sliding windows past their size, soft-caps, gemma's
// post-norms and GELU, quantized mixes (segments of different types),
// matrices split into parts, and more keys than one attention chunk, through
// a KV cache that grows (the pass is recorded again).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType } from '../../src/gguf/types';
import { countGpuWork } from '../../src/gpu/counters';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import type { LoadOptions } from '../../src/engine/types';
import { argmax } from '../../src/engine/sampler';
import { relativeDiff } from './helpers/reference';
import { readGguf } from '../../src/gguf/reader';
import { readHyperparams } from '../../src/model/hparams';
import { maxDecodeDispatches } from '../../src/model/decode-pass';
import { makeSyntheticModel, type SyntheticModelOptions } from '../fixtures/synthetic-model';
import { makeSyntheticGemma4, type SyntheticGemma4Options } from '../fixtures/synthetic-gemma4';
import { tableInFileLimit } from './helpers/per-layer-table';

const SHAPE = { nEmbd: 128, nFf: 256, nLayers: 2, nVocab: 512, seed: 99 };

interface Case {
  label: string;
  model?: Partial<SyntheticModelOptions> & Pick<SyntheticModelOptions, 'nHeads' | 'nKvHeads'>;
  /** gemma4 has its own writer (per-layer shapes and tensors). */
  gemma4?: SyntheticGemma4Options;
  load?: LoadOptions;
  /** Tokens fed one by one after the prompt. */
  steps: number;
  /**
   * The prompt (default 4 tokens, run by the batch path in every engine).
   * The quantized cases start from BOS alone: a prompt would compile each
   * engine's prefill matmul for their types (seconds each on SwiftShader),
   * and the prefill's KV rows read by the decode pass are covered by the
   * other cases.
   */
  prompt?: number[];
  /** Steps for the 'gpu' family (slower on SwiftShader), when fewer: still past one 64-key chunk. */
  gpuSteps?: number;
  /** gemma4: a VRAM limit that leaves the per-layer table in the file (rows uploaded before each step); else it is on the GPU. */
  tableInFile?: boolean;
}

const CASES: Case[] = [
  { label: 'llama, GQA, rope_freqs, f16 KV, 140 positions (3 attention chunks, KV growth)', model: { arch: 'llama', nHeads: 4, nKvHeads: 2, ropeFreqs: true }, steps: 136, gpuSteps: 68 },
  { label: 'llama, f32 KV cache', model: { arch: 'llama', nHeads: 4, nKvHeads: 4 }, load: { kvType: 'f32' }, steps: 8 },
  // 4608 classifier rows: more row groups than a CPU emulation's workgroups, so each workgroup of the
  // fused matvec takes several in turn (its sums must start from zero for each).
  { label: 'llama, a 4608-token vocabulary (workgroups loop over row groups)', model: { arch: 'llama', nHeads: 4, nKvHeads: 2, nVocab: 4608 }, steps: 3 },
  { label: 'llama with YaRN', model: { arch: 'llama', nHeads: 4, nKvHeads: 2, ctxLength: 256, ropeScaling: { type: 'yarn', factor: 4, originalContext: 64 } }, steps: 8 },
  { label: 'qwen2 (q/k/v biases, NeoX)', model: { arch: 'qwen2', nHeads: 4, nKvHeads: 2 }, steps: 8 },
  { label: 'qwen3 (q/k norms, 4 heads of 64)', model: { arch: 'qwen3', nHeads: 4, nKvHeads: 2, headDim: 64 }, steps: 8 },
  { label: 'phi3 (partial rotary, rope factors)', model: { arch: 'phi3', nHeads: 4, nKvHeads: 4, ropeDim: 16, ropeFactors: true, ctxLength: 131072, ropeScaling: { type: 'longrope', originalContext: 4096, attnFactor: 1.19 } }, steps: 8 },
  { label: 'gemma2 (GELU, post-norms, soft-caps, window 8)', model: { arch: 'gemma2', nHeads: 4, nKvHeads: 2, headDim: 64, slidingWindow: 8, attnSoftcap: 5, finalSoftcap: 5 }, steps: 12 },
  { label: 'gemma3 (q/k norms, windows, two rope bases)', model: { arch: 'gemma3', nLayers: 3, nHeads: 4, nKvHeads: 2, headDim: 64, slidingWindow: 8, slidingWindowPattern: 3 }, steps: 12 },
  { label: 'llama Q4_K_M mix (Q4_K, Q6_K segments)', model: { arch: 'llama', nEmbd: 256, nFf: 512, nHeads: 4, nKvHeads: 2, mix: 'Q4_K_M' }, prompt: [1], steps: 7 },
  {
    label: 'qwen35 (3 gated delta-net : 1 gated attention, IMROPE, 4 projections in one dispatch, split q/gate rows)',
    model: {
      arch: 'qwen35', nLayers: 4, nHeads: 4, nKvHeads: 2, headDim: 32, ropeDim: 16,
      deltaNet: { stateSize: 32, kHeads: 2, vHeads: 4, convKernel: 4, ropeSections: [1, 1, 1, 5] },
    },
    // Attention over several key chunks is the llama case's; here the layer kinds, over 16 positions.
    steps: 12,
  },
  {
    label: 'qwen35 Q4_K_M mix (Q4_K segments in the 4-projection dispatch, Q6_K where llama-quantize puts it)',
    model: {
      arch: 'qwen35', nEmbd: 256, nFf: 512, nLayers: 4, nHeads: 2, nKvHeads: 1, headDim: 64, ropeDim: 16, mix: 'Q4_K_M',
      deltaNet: { stateSize: 32, kHeads: 2, vHeads: 4, convKernel: 4, ropeSections: [1, 1, 1, 5] },
    },
    prompt: [1],
    steps: 6,
  },
  {
    label: 'gemma4 (sliding 32-wide / full 64-wide heads, 3 of 6 layers on a shared cache, V norm, per-layer inputs, output scales, window 8)',
    gemma4: {
      nEmbd: 64, nVocab: 512, layerTypes: [true, true, false, true, true, false], nHeads: 4, nKvHeadsSwa: 2, nKvHeadsFull: 1,
      headDimSwa: 32, headDimFull: 64, partialRotaryFull: 0.25, nFf: 128, sharedKvLayers: 3, nEmbdPerLayer: 16,
      slidingWindow: 8, ropeFreqBase: 1000000, ropeFreqBaseSwa: 10000, finalSoftcap: 10, ctxLength: 512, seed: 5,
    },
    // 16 positions: past the sliding window of 8.
    steps: 12,
  },
  {
    label: 'gemma4 without attn_v (V is K\'s projection), Q8_0, per-layer table in the file',
    gemma4: {
      nEmbd: 64, nVocab: 512, layerTypes: [true, false, true, false], nHeads: 2, nKvHeadsSwa: 1, nKvHeadsFull: 1,
      headDimSwa: 32, headDimFull: 64, partialRotaryFull: 0.5, nFf: 128, sharedKvLayers: 2, nEmbdPerLayer: 32,
      slidingWindow: 16, ropeFreqBase: 1000000, ropeFreqBaseSwa: 10000, noValueProjection: true, type: GgmlType.Q8_0, ctxLength: 512, seed: 8,
    },
    prompt: [1],
    steps: 6,
    tableInFile: true,
  },
  { label: 'llama Q8_0, nFf 96 (down projection in 4-element steps)', model: { arch: 'llama', nFf: 96, nHeads: 4, nKvHeads: 2, type: GgmlType.Q8_0 }, prompt: [1], steps: 11 },
];

// Both kernel families of the decode pass run here on SwiftShader: 'gpu'
// (rows, heads and key chunks shared by a workgroup's threads) and 'cpu'
// (barrier-free, what a CPU emulation picks by itself), each against the
// same batch-path logits (computed once per position for both).
const VARIANTS = ['gpu', 'cpu'] as const;

describe('recorded decode pass (gpu and cpu kernels) vs the batch path', () => {
  const fused = new Map<(typeof VARIANTS)[number], ClawEngine>();
  let batch: ClawEngine;

  beforeAll(async () => {
    ensureSwiftShaderFallback();
    for (const v of VARIANTS) fused.set(v, await ClawEngine.create({ gpu: getRuntimeGpu(), kernels: { decodeVariant: v } }));
    batch = await ClawEngine.create({ gpu: getRuntimeGpu(), decodePass: false });
  });
  afterAll(async () => {
    for (const e of fused.values()) await e.destroy();
    await batch?.destroy();
  });

  it.each(CASES)('$label', { timeout: 300_000 }, async (c) => {
    const stepsOf = { gpu: c.gpuSteps ?? c.steps, cpu: c.steps };
    const bytes = c.gemma4 ? makeSyntheticGemma4(c.gemma4) : makeSyntheticModel({ ...SHAPE, ctxLength: 512, ...c.model! });
    const load: LoadOptions = { ctxSize: 256, ...c.load };
    const hp = readHyperparams(await readGguf(new BytesSource(bytes, 'm.gguf')));
    await batch.load(new BytesSource(bytes, 'm.gguf'), load);
    expect(batch.usesDecodePass).toBe(false);
    for (const [v, engine] of fused) {
      const vramLimit = c.tableInFile ? await tableInFileLimit(engine, bytes, load) : undefined;
      const info = await engine.load(new BytesSource(bytes, 'm.gguf'), { ...load, vramLimit });
      expect(engine.usesDecodePass, v).toBe(true);
      // gemma4's per-layer table: gathered by the pass on the GPU, or each step's rows uploaded from the file.
      if (c.gemma4) expect((info.planNotes ?? []).join('\n'), v).toMatch(c.tableInFile ? /per-layer embedding table \(.*\) stays in the file/ : /per-layer embedding table \(.*\) is on the GPU/);
    }
    const tokens = [...(c.prompt ?? [1, 17, 42, 99])];
    const worst = { gpu: 0, cpu: 0 };
    for (let i = 0; i <= c.steps; i++) {
      const b = await batch.nextTokenLogits(tokens);
      for (const [v, engine] of fused) {
        if (i > stepsOf[v]) continue;
        // The first decoded token: its dispatches, within what the memory planner books parameter slots for.
        const counter = i === 1 ? countGpuWork(engine.ctx.device) : null;
        try {
          worst[v] = Math.max(worst[v], relativeDiff(await engine.nextTokenLogits(tokens), b));
          if (counter) expect(counter.counts.dispatches, `${v}: dispatches of one token`).toBeLessThanOrEqual(maxDecodeDispatches(hp));
        } finally {
          counter?.stop();
        }
      }
      // Feed the batch path's greedy token (every engine sees the same sequence).
      tokens.push(argmax(b));
    }
    // Same math in another summation order: f32 rounding only (a wrong
    // kernel moves logits by O(1) relative).
    for (const v of VARIANTS) expect(worst[v], `${v} kernels`).toBeLessThan(2e-4);
  });

  it('folds rope and the KV write into attention in the gpu family: one dispatch fewer per layer', { timeout: 120_000 }, async () => {
    const bytes = makeSyntheticModel({ ...SHAPE, ctxLength: 512, arch: 'llama', nHeads: 4, nKvHeads: 2 });
    const dispatches = { gpu: 0, cpu: 0 };
    for (const [v, engine] of fused) {
      await engine.load(new BytesSource(bytes, 'm.gguf'), { ctxSize: 64 });
      await engine.nextTokenLogits([1, 17, 42]);
      // One more token: one decode pass (and the logits read back).
      const counter = countGpuWork(engine.ctx.device);
      try {
        await engine.nextTokenLogits([1, 17, 42, 99]);
        dispatches[v] = counter.counts.dispatches;
      } finally {
        counter.stop();
      }
    }
    expect(dispatches.gpu).toBeGreaterThan(0);
    expect(dispatches.cpu - dispatches.gpu).toBe(SHAPE.nLayers);
  });

  it("folds gemma's post-norm residual adds into the matvec that reads x next: a gemma3 layer dispatches as a llama layer", { timeout: 120_000 }, async () => {
    const count = async (model: Partial<SyntheticModelOptions>) => {
      const engine = fused.get('gpu')!;
      await engine.load(new BytesSource(makeSyntheticModel({ ...SHAPE, ctxLength: 512, nHeads: 4, nKvHeads: 2, headDim: 64, ...model }), 'm.gguf'), { ctxSize: 64 });
      await engine.nextTokenLogits([1, 17, 42]);
      const counter = countGpuWork(engine.ctx.device);
      try {
        await engine.nextTokenLogits([1, 17, 42, 99]);
        return counter.counts.dispatches;
      } finally {
        counter.stop();
      }
    };
    const llama = await count({ arch: 'llama' });
    const gemma3 = await count({ arch: 'gemma3', nLayers: SHAPE.nLayers, slidingWindow: 8, slidingWindowPattern: 2 });
    // Only gemma's embedding scale more (the two rms_norm_add of each layer are folded in).
    expect(gemma3 - llama).toBe(1);
  });
});
