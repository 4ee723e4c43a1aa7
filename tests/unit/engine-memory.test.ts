// The engine's memory plan: what it will really allocate, kept inside the
// budget, on real-size headers (no tensor data).

import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { decodeAttentionScratchBytes, engineBytes, planEngineMemory, shrinkEnginePlan, UNIFORM_RESERVE_BYTES, type EnginePlanOptions } from '../../src/model/engine-memory';
import { readHyperparams } from '../../src/model/hparams';
import { scratchBytes } from '../../src/model/model';
import { LLAMA_31_70B_Q4_K_M, LLAMA_31_8B_Q4_K_M, LLAMA_32_1B_Q8_0, realShapeFile, type LlamaShape } from '../fixtures/real-shapes';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const NOTHING_LIVE = { weights: 0, kv: 0, activations: 0, staging: 0, uniforms: 0 };

function options(budgetBytes: number, extra: Partial<EnginePlanOptions> = {}): EnginePlanOptions {
  return { budgetBytes, liveBytes: 0, liveByPurpose: NOTHING_LIVE, batchSize: 128, kvDynamic: true, maxPartBytes: 2 * GiB - 4, ...extra };
}

async function load(shape: LlamaShape) {
  const file = await realShapeFile(shape);
  return { file, hp: readHyperparams(file) };
}

describe('planEngineMemory', () => {
  const cases: [LlamaShape, number][] = [
    [LLAMA_31_8B_Q4_K_M, 4 * GiB],
    [LLAMA_31_8B_Q4_K_M, 1.5 * GiB],
    [LLAMA_31_70B_Q4_K_M, 4 * GiB],
    [LLAMA_32_1B_Q8_0, 1.5 * GiB],
    [LLAMA_32_1B_Q8_0, 8 * GiB],
  ];
  for (const [shape, budget] of cases) {
    it(`keeps the engine's own total within the budget: ${shape.name} in ${budget / GiB} GiB`, async () => {
      const { file, hp } = await load(shape);
      const live = 3 * MiB;
      const p = planEngineMemory(file, hp, options(budget, { liveBytes: live }));
      expect(p.fits).toBe(true);
      expect(p.bytes.total + live).toBeLessThanOrEqual(budget);
      expect(p.text).toMatch(/^\d+ of \d+ layers resident, \d+ streamed, context \d+: fits in [\d.]+ (GiB|MiB|KiB) of [\d.]+ (GiB|MiB)$/);
    });
  }

  it('counts scratch exactly, one KV layer buffer as transient, and the kernels\' ring, staging and attention scratch', async () => {
    const { file, hp } = await load(LLAMA_32_1B_Q8_0);
    const p = planEngineMemory(file, hp, options(8 * GiB, { ctxSize: 4096 }));
    expect(p.plan.ctxSize).toBe(4096);
    expect(p.bytes.kvCache).toBe(2 * hp.nLayers * hp.kvDim * 4 * 4096);
    expect(p.bytes.kvTransient).toBe(hp.kvDim * 4 * 4096);
    expect(p.bytes.scratch).toBe(scratchBytes(hp, 128));
    // Logits of 128256 floats need a 512 KiB staging buffer; decode attention at 4096 keys:
    // 32 heads x (4096 scores + 128 chunks x (64 + 2)) floats = 1,605,632 bytes -> 2 MiB, and 1 MiB outgrown.
    expect(decodeAttentionScratchBytes(hp, 4096)).toBe(3 * MiB);
    expect(p.bytes.kernels).toBe(UNIFORM_RESERVE_BYTES + 512 * 1024 + 3 * MiB);
    expect(p.bytes.streamSlots).toBe(0);
    const live = { ...NOTHING_LIVE, uniforms: UNIFORM_RESERVE_BYTES, staging: 512 * 1024 + 3 * MiB };
    expect(engineBytes(file, hp, p.plan, { ...options(8 * GiB), liveByPurpose: live }).kernels).toBe(0);
  });

  it('pays for streaming slots, one per kind of streamed matrix, when layers stream', async () => {
    const { file, hp } = await load(LLAMA_31_8B_Q4_K_M);
    const p = planEngineMemory(file, hp, options(4 * GiB));
    expect(p.plan.streamedLayers).toBeGreaterThan(0);
    let largestLayer = 0;
    for (let l = 0; l < hp.nLayers; l++) {
      largestLayer = Math.max(largestLayer, file.tensors.filter((t) => t.name.startsWith(`blk.${l}.`)).reduce((s, t) => s + t.byteSize, 0));
    }
    expect(p.bytes.streamSlots).toBeGreaterThan(0.9 * largestLayer);
    expect(p.bytes.streamSlots).toBeLessThan(2 * largestLayer);
  });

  it('leaves room for what is live before the load', async () => {
    const { file, hp } = await load(LLAMA_31_8B_Q4_K_M);
    const free = planEngineMemory(file, hp, options(4 * GiB));
    const busy = planEngineMemory(file, hp, options(4 * GiB, { liveBytes: 1 * GiB }));
    expect(busy.bytes.total).toBeLessThanOrEqual(3 * GiB);
    expect(busy.plan.residentLayers).toBeLessThan(free.plan.residentLayers);
  });

  it('does not fit when even no resident layer and the smallest context exceed the budget', async () => {
    const { file, hp } = await load(LLAMA_31_8B_Q4_K_M);
    const p = planEngineMemory(file, hp, options(512 * MiB));
    expect(p.fits).toBe(false);
    expect(p.text).toMatch(/does not fit/);
  });
});

describe('shrinkEnginePlan', () => {
  it('gives strictly smaller totals, halving the KV growth step, until nothing smaller exists', async () => {
    const { file, hp } = await load(LLAMA_32_1B_Q8_0);
    const o = options(2 * GiB);
    let p = planEngineMemory(file, hp, o);
    const seen = [p];
    for (let next = shrinkEnginePlan(p, file, hp, o); next; next = shrinkEnginePlan(p, file, hp, o)) {
      expect(next.bytes.total).toBeLessThan(p.bytes.total);
      expect(next.kvChunk).toBe(Math.max(16, Math.floor(p.kvChunk / 2)));
      p = next;
      seen.push(p);
      if (seen.length > 100) break;
    }
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.length).toBeLessThan(100);
    const last = seen[seen.length - 1].plan;
    expect(last.residentLayers).toBe(0);
    expect(last.ctxSize).toBe(512);
  });
});

it('treats vectors as f32 on the GPU whatever their file type', async () => {
  const { file, hp } = await load({ ...LLAMA_32_1B_Q8_0, typeOf: (_n, _l, _nl, shape) => (shape.length === 1 ? GgmlType.F16 : GgmlType.Q8_0) });
  const p = planEngineMemory(file, hp, options(8 * GiB, { ctxSize: 512 }));
  const vectors = file.tensors.filter((t) => t.shape.length === 1);
  const f32Bytes = vectors.reduce((s, t) => s + t.elements * 4, 0);
  const matrices = file.tensors.filter((t) => t.shape.length > 1).reduce((s, t) => s + t.byteSize, 0);
  expect(p.bytes.weightsResident).toBeGreaterThanOrEqual(matrices + f32Bytes);
});
