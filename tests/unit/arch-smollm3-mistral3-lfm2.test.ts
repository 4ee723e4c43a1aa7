// smollm3, mistral3 and lfm2 from their GGUF keys, as llama.cpp reads them
// (src/models/<arch>.cpp): which layers rope, YaRN's extra keys and the
// query temperature, lfm2's layer kinds and tensors; what the memory plan
// books for them; and the compatibility report's verdict. Their agreement
// with llama.cpp is in tests/conformance/architectures.test.ts.

import { describe, expect, it } from 'vitest';
import { buildCompatibilityReport, type CompatAdapter } from '../../src/engine/compat';
import { ClawError } from '../../src/errors';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import type { GgufFile, GgufMetadataEntry } from '../../src/gguf/types';
import { kv } from '../../src/gguf/writer';
import { engineBytes } from '../../src/model/engine-memory';
import { kvCacheWidths, layerAttention, readHyperparams } from '../../src/model/hparams';
import { planMemory } from '../../src/model/plan';
import { modelTensorPlan, TensorTable } from '../../src/model/weights';
import { makeSyntheticModel, type SyntheticModelOptions } from '../fixtures/synthetic-model';

const SHAPE = { nEmbd: 256, nLayers: 8, nHeads: 4, nKvHeads: 2, nFf: 512, nVocab: 512, seed: 1 };
const GiB = 2 ** 30;
const GPU: CompatAdapter = { description: 'NVIDIA GeForce RTX 4070', features: { f16: true, subgroups: true }, maxStorageBufferBindingSize: 2 * GiB, maxBufferSize: 4 * GiB };

async function header(opts: Partial<SyntheticModelOptions>, set: GgufMetadataEntry[] = []): Promise<GgufFile> {
  const file = await readGguf(new BytesSource(makeSyntheticModel({ ...SHAPE, ...opts, headerOnly: true })), { headerOnly: true });
  const metadata = new Map(file.metadata);
  for (const e of set) metadata.set(e.key, e);
  return { ...file, metadata };
}

function errorOf(fn: () => unknown): ClawError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ClawError) return e;
    throw e;
  }
  throw new Error('expected a ClawError');
}

describe('smollm3', () => {
  it('skips rope on every fourth layer (llama.cpp: (il + 1) % 4 == 0), otherwise reads as llama', async () => {
    const hp = readHyperparams(await header({ arch: 'smollm3' }));
    expect(Array.from({ length: 8 }, (_, l) => (layerAttention(hp, l).rope ? 'R' : 'N')).join('')).toBe('RRRNRRRN');
    expect(hp.traits.ropeNeox).toBe(false);
    expect(hp.attnTemperature).toBeNull();
  });
});

describe('mistral3', () => {
  const yarn = { type: 'yarn' as const, factor: 16, originalContext: 16384, yarnBetaFast: 24, yarnBetaSlow: 2, yarnLogMul: 1 };

  it("reads YaRN's beta and log-multiplier keys and the temperature, stepping every original context", async () => {
    const hp = readHyperparams(await header({ arch: 'mistral3', ctxLength: 262144, ropeScaling: yarn, attnTemperatureScale: 0.1 }));
    expect(hp.ropeScaling).toMatchObject({ type: 'yarn', factor: 16, originalContext: 16384, yarnBetaFast: 24, yarnBetaSlow: 2, yarnLogMul: 1 });
    expect(hp.ropeFreqScale).toBe(1 / 16);
    expect(hp.attnTemperature).toEqual({ scale: expect.closeTo(0.1, 7), length: 16384 });
  });

  it('has no temperature without the key, and llama ignores the keys as llama.cpp does', async () => {
    expect(readHyperparams(await header({ arch: 'mistral3', ropeScaling: yarn })).attnTemperature).toBeNull();
    const llama = readHyperparams(await header({ arch: 'llama', ropeScaling: yarn, attnTemperatureScale: 0.1 }));
    expect(llama.ropeScaling).toMatchObject({ yarnBetaFast: 32, yarnBetaSlow: 1, yarnLogMul: 0 });
    expect(llama.attnTemperature).toBeNull();
  });

  it('turns a mixture-of-experts file, or one with MLP biases, away with clw-arch-unsupported', async () => {
    const moe = await header({ arch: 'mistral3' }, [kv.u32('mistral3.expert_count', 8)]);
    expect(errorOf(() => readHyperparams(moe)).code).toBe('clw-arch-unsupported');
    const file = await header({ arch: 'mistral3' });
    const biased = { ...file, tensors: [...file.tensors, { ...file.tensors[1], name: 'blk.0.ffn_up.bias' }] };
    expect(errorOf(() => readHyperparams(biased)).details.tensor).toBe('blk.0.ffn_up.bias');
  });
});

describe('lfm2', () => {
  const lfm2 = { arch: 'lfm2' as const, lfm2AttentionLayers: [2, 5], shortConvL: 3 };

  it('takes the layers with head_count_kv 0 as short convolutions of width shortconv.l_cache', async () => {
    const hp = readHyperparams(await header(lfm2));
    expect(hp.recurrentLayers.map((r) => (r ? 'C' : 'A')).join('')).toBe('CCACCACC');
    expect(hp.nKvHeads).toBe(2);
    expect(hp.shortConvKernel).toBe(3);
    expect(kvCacheWidths(hp).filter((w) => w > 0)).toHaveLength(2);
    expect(hp.traits).toMatchObject({ ropeNeox: true, qkNorm: true });
  });

  it("plans llama.cpp's tensors: in_proj split into b, c, x; conv taps; q/k norms on attention layers; token_embd_norm", async () => {
    const file = await header(lfm2);
    const plan = modelTensorPlan(readHyperparams(file), new TensorTable(file));
    const names = plan.map((p) => p.name);
    expect(names).toContain('token_embd_norm.weight');
    expect(names).not.toContain('output_norm.weight');
    expect(plan.find((p) => p.name === 'blk.0.shortconv.conv.weight')?.shape).toEqual([3, 256]);
    expect(plan.find((p) => p.name === 'blk.0.shortconv.in_proj.weight')?.pieces?.map((p) => p.slot)).toEqual([
      'blk.0.shortconv.in_proj_b.weight',
      'blk.0.shortconv.in_proj_c.weight',
      'blk.0.shortconv.in_proj_x.weight',
    ]);
    expect(names).toContain('blk.0.shortconv.out_proj.weight');
    expect(names).not.toContain('blk.0.attn_q.weight');
    expect(names).toContain('blk.2.attn_q_norm.weight');
    expect(names).not.toContain('blk.2.shortconv.conv.weight');
    expect(names).not.toContain('blk.2.attn_output.bias');
  });

  it('rejects attention layers with different KV head counts, and a missing l_cache, naming the key', async () => {
    const mixed = await header(lfm2, [kv.i32Arr('lfm2.attention.head_count_kv', [0, 0, 2, 0, 0, 4, 0, 0])]);
    expect(errorOf(() => readHyperparams(mixed)).details.key).toBe('lfm2.attention.head_count_kv');
    const file = await header(lfm2);
    const metadata = new Map(file.metadata);
    metadata.delete('lfm2.shortconv.l_cache');
    expect(errorOf(() => readHyperparams({ ...file, metadata })).details.key).toBe('lfm2.shortconv.l_cache');
  });

  it('books K/V rows for the attention layers only, and the conv state of the others', async () => {
    const file = await header(lfm2);
    const hp = readHyperparams(file);
    const plan = planMemory(file, { budgetBytes: 4 * GiB, ctxSize: 1024, kvBytesPerElement: 2 });
    expect(plan.bytes.kvCache).toBe(2 * 2 * 1024 * hp.kvDim * 2);
    const bytes = engineBytes(file, hp, plan, { batchSize: 128, maxPartBytes: GiB, liveByPurpose: { weights: 0, kv: 0, activations: 0, uniforms: 0, staging: 0 }, kvType: 'f16' });
    expect(bytes.kvCache).toBe(2 * 2 * 1024 * hp.kvDim * 2);
    // 6 convolution layers, each (L - 1) x nEmbd f32 twice (the state's two halves) and a saved copy, and one 16-byte placeholder for their K/V.
    expect(bytes.recurrentState).toBe(3 * 6 * 2 * 256 * 4 + 16);
  });
});

describe('compatibility report', () => {
  it.each(['smollm3', 'mistral3', 'lfm2'] as const)('says "runs" for a %s file', async (arch) => {
    const file = await header({ arch });
    const report = buildCompatibilityReport(file, { fileBytes: 2_000_000, adapter: GPU, budgetBytes: 4 * GiB });
    expect(report.issues).toEqual([]);
    expect(report.architectureSupported).toBe(true);
    expect(report.verdict).toBe('runs');
  });
});
