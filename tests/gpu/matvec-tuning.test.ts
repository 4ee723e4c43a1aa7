// The decode pass's matvec under other tunings than the default (how rows
// spread over threads, wide weight loads) against the batch path: the same
// synthetic model, the same tokens fed one at a time, logits compared at
// every position (as tests/gpu/decode-pass.test.ts does for the defaults).
// bench:gpu --tune sweeps these settings on real GPUs; each must stay right.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType } from '../../src/gguf/types';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import type { MatvecTuning } from '../../src/gpu/matvec-tuning';
import { argmax } from '../../src/engine/sampler';
import { relativeDiff } from './helpers/reference';
import { makeSyntheticModel, type SyntheticModelOptions } from '../fixtures/synthetic-model';

// Rows of 256 and 512 inputs (8 and 16 blocks of 32).
const SHAPE = { arch: 'llama', nEmbd: 256, nFf: 512, nLayers: 1, nHeads: 4, nKvHeads: 2, nVocab: 512, seed: 5, ctxLength: 64 } as const;

interface Case {
  label: string;
  model: Partial<SyntheticModelOptions>;
  matvec: Partial<MatvecTuning>;
  family: 'gpu' | 'cpu';
}

const CASES: Case[] = [
  // A lane per block (8 and 16 lanes, all busy: every level of the tree adds), 3 rows per block (blocks straddle segments and the row count's end), 256 threads.
  { label: 'Q4_K_M, 256 threads, a lane per block, 3 rows per block', model: { mix: 'Q4_K_M' }, matvec: { workgroup: 256, maxLanes: 64, blocksPerLane: 1, rowsPerBlock: 3 }, family: 'gpu' },
  // 32 and 64 lanes on 8 and 16 blocks: idle lanes.
  { label: 'Q5_K_M, wide loads, one row per block of 64 threads (idle lanes)', model: { mix: 'Q5_K_M' }, matvec: { wideLoads: true, workgroup: 64, maxLanes: 64, rowsPerBlock: 1, blocksPerLane: 0.25 }, family: 'gpu' },
  { label: 'F16, wide loads, a thread per row block', model: { type: GgmlType.F16 }, matvec: { wideLoads: true, rowsPerBlock: 8 }, family: 'cpu' },
  { label: 'F32, wide loads', model: { type: GgmlType.F32 }, matvec: { wideLoads: true, maxLanes: 4 }, family: 'gpu' },
  // The input through workgroup memory, 64 elements at a time: 4 and 8 tiles per row, the norm's sum of squares from every
  // thread's share; wide loads for Q4_K beside Q6_K's word loads in one dispatch.
  { label: 'Q4_K_M, x tiles in workgroup memory, wide loads', model: { mix: 'Q4_K_M' }, matvec: { xTile: 64, wideLoads: true }, family: 'gpu' },
  { label: 'Q8_0, x tiles, a thread per row block', model: { type: GgmlType.Q8_0 }, matvec: { xTile: 96 }, family: 'cpu' },
  // gemma's post-norm adds folded into the next matvec (PRE_ADD), through x tiles and wide loads and through a thread per row block.
  { label: 'gemma3 Q4_K_M, folded residual adds, x tiles, wide loads, 3 rows per block', model: { arch: 'gemma3', headDim: 64, nLayers: 2, slidingWindow: 8, slidingWindowPattern: 2, mix: 'Q4_K_M' }, matvec: { xTile: 64, wideLoads: true, rowsPerBlock: 3 }, family: 'gpu' },
  { label: 'gemma2 F32, folded residual adds, a thread per row block', model: { arch: 'gemma2', headDim: 64, nLayers: 2, slidingWindow: 8, type: GgmlType.F32 }, matvec: { rowsPerBlock: 2 }, family: 'cpu' },
  // qwen35's conv in the projection's epilogue, a lane per block.
  {
    label: 'qwen35 Q4_K_M, the conv in the epilogue, a lane per block',
    model: { arch: 'qwen35', nLayers: 4, nHeads: 2, nKvHeads: 1, headDim: 64, ropeDim: 16, mix: 'Q4_K_M', deltaNet: { stateSize: 32, kHeads: 2, vHeads: 4, convKernel: 4, ropeSections: [1, 1, 1, 5] } },
    matvec: { blocksPerLane: 1, maxLanes: 64 },
    family: 'gpu',
  },
  // nFf 96: the down projection's rows are 24 blocks of 4 elements (DOT4), 3 tiles of 8.
  { label: 'Q8_0, nFf 96 (4-element blocks), x tiles', model: { type: GgmlType.Q8_0, nFf: 96 }, matvec: { xTile: 32 }, family: 'gpu' },
];

describe('decode pass matvec tunings vs the batch path', () => {
  let batch: ClawEngine;

  beforeAll(async () => {
    ensureSwiftShaderFallback();
    batch = await ClawEngine.create({ gpu: getRuntimeGpu(), decodePass: false });
  });
  afterAll(async () => {
    await batch?.destroy();
  });

  it.each(CASES)('$label', { timeout: 300_000 }, async (c) => {
    const bytes = makeSyntheticModel({ ...SHAPE, ...c.model } as SyntheticModelOptions);
    const fused = await ClawEngine.create({ gpu: getRuntimeGpu(), kernels: { decodeVariant: c.family, matvec: c.matvec } });
    try {
      await batch.load(new BytesSource(bytes, 'm.gguf'), { ctxSize: 32 });
      await fused.load(new BytesSource(bytes, 'm.gguf'), { ctxSize: 32 });
      expect(fused.usesDecodePass).toBe(true);
      const tokens = [1];
      let worst = 0;
      for (let i = 0; i < 2; i++) {
        const b = await batch.nextTokenLogits(tokens);
        worst = Math.max(worst, relativeDiff(await fused.nextTokenLogits(tokens), b));
        tokens.push(argmax(b));
      }
      // f32 rounding in another summation order only (a wrong decode or row moves logits by O(1) relative).
      expect(worst).toBeLessThan(2e-4);
    } finally {
      await fused.destroy();
    }
  });

  it('refuses a tuning the kernel cannot take, naming the field', async () => {
    const gpu = getRuntimeGpu();
    for (const [matvec, field] of [
      [{ workgroup: 96 }, 'workgroup'],
      [{ maxLanes: 3 }, 'maxLanes'],
      [{ rowsPerBlock: 0 }, 'rowsPerBlock'],
      [{ workgroup: 256, rowsPerBlock: 16 }, 'rowsPerBlock'],
      [{ blocksPerLane: 0 }, 'blocksPerLane'],
      [{ xTile: 48 }, 'xTile'],
      [{ xTile: 1 << 20 }, 'xTile'],
    ] as const) {
      const engine = await ClawEngine.create({ gpu, kernels: { matvec } }).catch((e: unknown) => e);
      expect(engine, field).toMatchObject({ code: 'clw-bad-request' });
      expect(String((engine as Error).message), field).toContain(field);
    }
  });
});
