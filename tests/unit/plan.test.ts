import { describe, expect, test } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { isClawError } from '../../src/errors';
import { planMemory, shrinkPlan, type LoadPlan, type PlanOptions } from '../../src/model/plan';
import { LLAMA_31_70B_Q4_K_M, LLAMA_31_8B_Q4_K_M, LLAMA_32_1B_Q8_0, realShapeFile, totalTensorBytes, type LlamaShape } from '../fixtures/real-shapes';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * A toy all-F32 llama whose plan is easy to work out by hand:
 * 8 layers, nEmbd 256, 4 heads of 64 (kv heads 4, kvDim 256), ffn 512, vocab 1000, trained context 1024.
 *   layer     = (2 norms * 256 + 4 * 256*256 + 3 * 256*512) * 4 B = 655872 * 4 = 2,623,488 B
 *   non-layer = (rope_freqs 32 + token_embd 256000 + output_norm 256 + output 256000) * 4 = 2,049,152 B
 *   KV        = 2 * 8 layers * 256 * 4 B = 16,384 B per token
 *   activations at batch 16 = (x 4096 + xb 4096 + q,attn 8192 + k,v 8192 + gate,up 16384
 *                              + ids 16 + last 256 + logits 1000) * 4 = 168,928 B
 *                             + scores 16 * 4 heads * ctx * 4 B = 256 B per token of context
 *   streaming buffers (any layer streamed) = 2 * 2,623,488 = 5,246,976 B
 */
const TOY: LlamaShape = {
  name: 'toy',
  nLayers: 8,
  nEmbd: 256,
  nFf: 512,
  nHeads: 4,
  nKvHeads: 4,
  nVocab: 1000,
  nCtxTrain: 1024,
  ropeFreqBase: 10000,
  tiedEmbeddings: false,
  fileType: 0,
  typeOf: () => GgmlType.F32,
};
const TOY_OPTIONS = { batchSize: 16 } as const;

function sumLayers(file: Awaited<ReturnType<typeof realShapeFile>>, from: number, to: number): number {
  let bytes = 0;
  for (const t of file.tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m && Number(m[1]) >= from && Number(m[1]) < to) bytes += t.byteSize;
  }
  return bytes;
}

describe('planMemory, hand-computed cases (toy F32 model)', () => {
  test('3 of 8 layers fit in 32 MiB: 2,049,152 + 3 layers + 2 buffers + 1024 ctx * 16384 + 168,928 = 32,112,736 B', async () => {
    const file = await realShapeFile(TOY);
    const plan = planMemory(file, { budgetBytes: 32 * MiB, ...TOY_OPTIONS });
    expect(plan.bytes).toEqual({
      weightsResident: 2_049_152 + 3 * 2_623_488,
      weightsStreamedBuffers: 5_246_976,
      kvCache: 16_384 * 1024,
      activations: 168_928,
      total: 32_112_736,
    });
    expect(plan.text).toBe('3 of 8 layers resident, 5 streamed, context 1024: fits in 30.6 of 32.0 MiB');
  });

  test('all 8 layers fit in 40 MiB and the streaming buffers disappear: 39,983,200 B', async () => {
    const plan = planMemory(await realShapeFile(TOY), { budgetBytes: 40 * MiB, ...TOY_OPTIONS });
    expect(plan.bytes.weightsStreamedBuffers).toBe(0);
    expect(plan.bytes.total).toBe(39_983_200);
    expect(plan.text).toBe('8 of 8 layers resident, 0 streamed, context 1024: fits in 38.1 of 40.0 MiB');
  });

  test('at 16 MiB the context shrinks: 7,465,056 + 16,384 * ctx fits up to 568 tokens, rounded down to 512', async () => {
    const plan = planMemory(await realShapeFile(TOY), { budgetBytes: 16 * MiB, ...TOY_OPTIONS });
    expect(plan.fits).toBe(true);
    expect(plan.ctxSize).toBe(512);
    expect(plan.bytes.total).toBe(15_853_664);
    expect(plan.text).toBe('0 of 8 layers resident, 8 streamed, context 512: fits in 15.1 of 16.0 MiB');
    expect(plan.notes.some((n) => n.includes('context capped at 512'))).toBe(true);
  });

  test('a budget too small for anything gives fits = false with a reason', async () => {
    const plan = planMemory(await realShapeFile(TOY), { budgetBytes: 12 * MiB, ...TOY_OPTIONS });
    expect(plan.fits).toBe(false);
    expect(plan.residentLayers).toBe(0);
    expect(plan.ctxSize).toBe(512);
    expect(plan.text).toBe('0 of 8 layers resident, 8 streamed, context 512: does not fit, needs 15.1 of 12.0 MiB');
    expect(plan.reason).toMatch(/more than the 12\.0 MiB budget/);
  });

  test('an explicit context that does not fit is shrunk with a note', async () => {
    const plan = planMemory(await realShapeFile(TOY), { budgetBytes: 16 * MiB, ctxSize: 1024, ...TOY_OPTIONS });
    expect(plan.ctxSize).toBe(512);
    expect(plan.notes).toContain('context 1024 does not fit the budget; shrunk to 512');
  });

  test('an explicit context that fits is honoured ahead of resident layers', async () => {
    const file = await realShapeFile(TOY);
    const auto = planMemory(file, { budgetBytes: 32 * MiB, ctxSize: 600, ...TOY_OPTIONS });
    expect(auto.ctxSize).toBe(600);
    expect(auto.fits).toBe(true);
  });
});

describe('planMemory on real-size headers', () => {
  test('the fixtures have the real tensor bytes of the published files (tensor data only)', async () => {
    // Published Q4_K_M / Q8_0 files are these plus ~7.8 MB of tokenizer metadata.
    expect(totalTensorBytes(await realShapeFile(LLAMA_31_8B_Q4_K_M))).toBe(4_912_898_304);
    expect(totalTensorBytes(await realShapeFile(LLAMA_31_70B_Q4_K_M))).toBe(42_512_531_712);
    expect(totalTensorBytes(await realShapeFile(LLAMA_32_1B_Q8_0))).toBe(1_313_251_456);
  });

  test('every plan stays within its budget and keeps whole layers, 0..n from the first', async () => {
    for (const shape of [LLAMA_31_8B_Q4_K_M, LLAMA_31_70B_Q4_K_M, LLAMA_32_1B_Q8_0]) {
      const file = await realShapeFile(shape);
      const nonLayer = totalTensorBytes(file) - sumLayers(file, 0, shape.nLayers);
      for (let budget = 0.25 * GiB; budget <= 64 * GiB; budget *= 1.5) {
        const plan = planMemory(file, { budgetBytes: budget });
        if (!plan.fits) continue;
        expect(plan.bytes.total).toBeLessThanOrEqual(budget);
        expect(Number.isInteger(plan.residentLayers)).toBe(true);
        expect(plan.residentLayers + plan.streamedLayers).toBe(shape.nLayers);
        expect(plan.bytes.weightsResident).toBe(nonLayer + sumLayers(file, 0, plan.residentLayers));
      }
    }
  });

  test('resident layers never decrease as the budget grows', async () => {
    for (const shape of [LLAMA_31_8B_Q4_K_M, LLAMA_31_70B_Q4_K_M, LLAMA_32_1B_Q8_0]) {
      const file = await realShapeFile(shape);
      let previous = -1;
      for (let budget = 0.5 * GiB; budget <= 48 * GiB; budget += 0.25 * GiB) {
        const plan = planMemory(file, { budgetBytes: budget });
        const resident = plan.fits ? plan.residentLayers : -1;
        expect(resident).toBeGreaterThanOrEqual(previous);
        previous = resident;
      }
      expect(previous).toBe(shape.nLayers);
    }
  });

  test('auto picks the most resident layers that fit: one more does not fit at the same context', async () => {
    const file = await realShapeFile(LLAMA_31_8B_Q4_K_M);
    for (const gib of [3, 3.5, 4, 4.5]) {
      const plan = planMemory(file, { budgetBytes: gib * GiB });
      expect(plan.fits).toBe(true);
      expect(plan.residentLayers).toBeGreaterThan(0);
      expect(plan.residentLayers).toBeLessThan(32);
      for (let more = plan.residentLayers + 1; more <= 32; more++) {
        const forced = planMemory(file, { budgetBytes: gib * GiB, ctxSize: plan.ctxSize, nGpuLayers: more });
        expect(forced.residentLayers).toBeLessThan(more);
      }
    }
  });

  test('nGpuLayers = N keeps at most N layers resident, fewer when N do not fit', async () => {
    const file = await realShapeFile(LLAMA_31_8B_Q4_K_M);
    const few = planMemory(file, { budgetBytes: 16 * GiB, nGpuLayers: 10 });
    expect(few.residentLayers).toBe(10);
    expect(few.streamedLayers).toBe(22);
    const tooMany = planMemory(file, { budgetBytes: 3 * GiB, nGpuLayers: 30 });
    expect(tooMany.residentLayers).toBeLessThan(30);
    expect(tooMany.notes.some((n) => n.startsWith('asked for 30 resident layers'))).toBe(true);
  });

  test('the 70B at a 4 GiB budget streams most of its layers', async () => {
    const plan = planMemory(await realShapeFile(LLAMA_31_70B_Q4_K_M), { budgetBytes: 4 * GiB });
    expect(plan.fits).toBe(true);
    expect(plan.streamedLayers).toBeGreaterThan(plan.nLayers * 0.9);
    expect(plan.bytes.weightsStreamedBuffers).toBeGreaterThan(0);
    expect(plan.ctxSize).toBeGreaterThanOrEqual(512);
  });

  test('the 1B Q8_0 at 8 GiB is all resident with its full 131072 context when the KV cache is f16', async () => {
    const plan = planMemory(await realShapeFile(LLAMA_32_1B_Q8_0), { budgetBytes: 8 * GiB, kvBytesPerElement: 2 });
    expect(plan.residentLayers).toBe(16);
    expect(plan.ctxSize).toBe(131072);
    expect(plan.notes).toEqual([]);
    // 2 * 16 layers * 512 * 2 B * 131072 tokens
    expect(plan.bytes.kvCache).toBe(4 * GiB);
  });

  test('the 1B Q8_0 at 8 GiB with an f32 KV cache keeps all layers and caps the context, saying so', async () => {
    const plan = planMemory(await realShapeFile(LLAMA_32_1B_Q8_0), { budgetBytes: 8 * GiB });
    expect(plan.residentLayers).toBe(16);
    expect(plan.ctxSize).toBeLessThan(131072);
    expect(plan.ctxSize % 256).toBe(0);
    expect(plan.notes.some((n) => n.includes('context capped at'))).toBe(true);
  });

  test('a 1 GiB budget cannot hold even the 70B non-layer tensors: fits = false', async () => {
    const plan = planMemory(await realShapeFile(LLAMA_31_70B_Q4_K_M), { budgetBytes: 1 * GiB });
    expect(plan.fits).toBe(false);
    expect(plan.reason).toBeDefined();
  });

  test('tensors larger than the binding limit are noted as split', async () => {
    const plan = planMemory(await realShapeFile(LLAMA_31_8B_Q4_K_M), { budgetBytes: 8 * GiB, maxBindingBytes: 128 * MiB });
    expect(plan.notes.some((n) => n.includes('binding limit') && n.includes('output.weight'))).toBe(true);
  });

  test('rejects a budget, context or layer count that is not a number it can use', async () => {
    const file = await realShapeFile(TOY);
    const bad: PlanOptions[] = [
      { budgetBytes: 0 },
      { budgetBytes: Number.NaN },
      { budgetBytes: GiB, ctxSize: 0 },
      { budgetBytes: GiB, ctxSize: 1.5 },
      { budgetBytes: GiB, nGpuLayers: -1 },
      { budgetBytes: GiB, batchSize: 0 },
    ];
    for (const options of bad) {
      let caught: unknown;
      try {
        planMemory(file, options);
      } catch (e) {
        caught = e;
      }
      expect(isClawError(caught) && caught.code).toBe('clw-bad-request');
    }
  });
});

describe('shrinkPlan', () => {
  test('walks down to smaller totals, first layers then context, and ends with null', async () => {
    const file = await realShapeFile(LLAMA_31_8B_Q4_K_M);
    const options = { budgetBytes: 8 * GiB };
    let plan: LoadPlan | null = planMemory(file, options);
    expect(plan.residentLayers).toBe(32);
    const seen: LoadPlan[] = [];
    while (plan) {
      seen.push(plan);
      plan = shrinkPlan(plan, file, options);
      if (plan) expect(plan.bytes.total).toBeLessThan(seen[seen.length - 1].bytes.total);
      expect(seen.length).toBeLessThan(200);
    }
    const last = seen[seen.length - 1];
    expect(last.residentLayers).toBe(0);
    expect(last.ctxSize).toBe(512);
    // Context only shrinks once no layer is left resident.
    const firstCtxShrink = seen.findIndex((p, i) => i > 0 && p.ctxSize < seen[i - 1].ctxSize);
    expect(seen[firstCtxShrink - 1].residentLayers).toBe(0);
  });

  test('leaving the all-resident plan drops enough layers to pay for the two streaming buffers', async () => {
    const file = await realShapeFile(LLAMA_32_1B_Q8_0);
    const options = { budgetBytes: 8 * GiB, kvBytesPerElement: 2 as const };
    const all = planMemory(file, options);
    const next = shrinkPlan(all, file, options)!;
    expect(next.residentLayers).toBe(13);
    expect(next.ctxSize).toBe(all.ctxSize);
    expect(next.notes).toContain('shrunk after an allocation failure: 16 -> 13 resident layers');
  });
});
