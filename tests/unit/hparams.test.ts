// Hyperparameters per architecture from GGUF metadata (as llama.cpp reads
// them), the errors for missing or contradictory keys, the per-architecture
// tensor plan, and unsupported architectures in the compatibility report.

import { describe, expect, it } from 'vitest';
import { buildCompatibilityReport } from '../../src/engine/compat';
import { ClawError } from '../../src/errors';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import type { GgufFile, GgufMetadataEntry } from '../../src/gguf/types';
import { kv } from '../../src/gguf/writer';
import { layerAttention, readHyperparams, SUPPORTED_ARCHITECTURES, type Hyperparams } from '../../src/model/hparams';
import { modelTensorPlan, TensorTable } from '../../src/model/weights';
import { makeSyntheticModel, type SyntheticModelOptions } from '../fixtures/synthetic-model';

const SHAPE = { nEmbd: 256, nLayers: 3, nHeads: 4, nKvHeads: 2, nFf: 512, nVocab: 512, seed: 1 };

async function header(opts: Partial<SyntheticModelOptions> = {}): Promise<GgufFile> {
  const bytes = makeSyntheticModel({ ...SHAPE, ...opts, headerOnly: true });
  return readGguf(new BytesSource(bytes), { headerOnly: true });
}

/** The same header with some keys removed and others set. */
function edit(file: GgufFile, remove: string[], set: GgufMetadataEntry[] = []): GgufFile {
  const metadata = new Map(file.metadata);
  for (const key of remove) metadata.delete(key);
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

function expectInvalidKey(file: GgufFile, key: string): void {
  const err = errorOf(() => readHyperparams(file));
  expect(err.code).toBe('clw-model-invalid');
  expect(err.details.key).toBe(key);
  expect(err.message).toContain(key);
}

const swaLayers = (hp: Hyperparams) => hp.swaLayers.map((s) => (s ? 'L' : 'G')).join('');

describe('readHyperparams per architecture', () => {
  it('reads a llama model: adjacent rope, SwiGLU, 1/sqrt(head) attention, no windows or caps', async () => {
    const hp = readHyperparams(await header({ ropeFreqBase: 500000 }));
    expect(hp).toMatchObject({ arch: 'llama', nLayers: 3, nEmbd: 256, nHeads: 4, nKvHeads: 2, headDim: 64, kvDim: 128, nFf: 512, nVocab: 512 });
    expect(hp.traits).toMatchObject({ ropeNeox: false, ffnActivation: 'silu', qkNorm: false, postNorms: false });
    expect(hp.ropeFreqBase).toBe(500000);
    expect(hp.attnScale).toBeCloseTo(1 / 8, 12);
    expect([hp.attnSoftcap, hp.finalSoftcap, hp.embedScale, hp.slidingWindow]).toEqual([0, 0, 1, 0]);
  });

  it('reads qwen2, qwen3 and phi3 as NeoX-rope architectures with their own traits', async () => {
    const qwen2 = readHyperparams(await header({ arch: 'qwen2' }));
    const qwen3 = readHyperparams(await header({ arch: 'qwen3', nHeads: 8, headDim: 64 }));
    const phi3 = readHyperparams(await header({ arch: 'phi3', ropeDim: 48 }));
    expect([qwen2.traits.ropeNeox, qwen3.traits.ropeNeox, phi3.traits.ropeNeox]).toEqual([true, true, true]);
    expect(qwen3.traits.qkNorm).toBe(true);
    expect(qwen3.headDim).toBe(64);
    expect(qwen3.nHeads * qwen3.headDim).toBe(512);
    expect(phi3.traits.fusedGateUp).toBe(true);
    expect(phi3.ropeDim).toBe(48);
  });

  it('reads gemma2: GELU, scaled embeddings, soft-caps with llama.cpp defaults, window on even layers', async () => {
    const hp = readHyperparams(await header({ arch: 'gemma2', nHeads: 8, headDim: 64, slidingWindow: 8, nLayers: 5 }));
    expect(hp.traits).toMatchObject({ ffnActivation: 'gelu', postNorms: true, ropeNeox: true });
    expect(hp.embedScale).toBeCloseTo(16, 12);
    expect([hp.attnSoftcap, hp.finalSoftcap]).toEqual([50, 30]);
    expect(hp.slidingWindow).toBe(8);
    expect(swaLayers(hp)).toBe('LGLGL');
    // key_length (64), not nEmbd / nHeads (32), sets the query scale.
    expect(hp.attnScale).toBeCloseTo(1 / 8, 12);
    expect(hp.tiedEmbeddings).toBe(true);
  });

  it('reads gemma3: 5 local : 1 global layers, local rope base 10000 without scaling, global base and scale from the file', async () => {
    const hp = readHyperparams(
      await header({ arch: 'gemma3', nLayers: 12, nHeads: 8, headDim: 64, slidingWindow: 512, ropeFreqBase: 1e6, ropeScaling: { type: 'linear', factor: 8 } }),
    );
    expect(swaLayers(hp)).toBe('LLLLLGLLLLLG');
    expect(layerAttention(hp, 0)).toEqual({ window: 512, freqBase: 10000, freqScale: 1, rope: true });
    expect(layerAttention(hp, 5)).toEqual({ window: 0, freqBase: 1e6, freqScale: 1 / 8, rope: true });
    expect(hp.finalSoftcap).toBe(0);
  });

  it('honours sliding_window_pattern and rope.freq_base_swa when a gemma3 file states them', async () => {
    const file = edit(await header({ arch: 'gemma3', nLayers: 4, nHeads: 8, headDim: 64, slidingWindow: 16, slidingWindowPattern: 2 }), [], [
      kv.f32('gemma3.rope.freq_base_swa', 20000),
    ]);
    const hp = readHyperparams(file);
    expect(swaLayers(hp)).toBe('LGLG');
    expect(layerAttention(hp, 0).freqBase).toBe(20000);
  });

  it('treats a gemma3 file without a sliding window as all-global', async () => {
    const hp = readHyperparams(await header({ arch: 'gemma3', nHeads: 8, headDim: 64 }));
    expect(hp.slidingWindow).toBe(0);
    expect(layerAttention(hp, 0).window).toBe(0);
  });

  it('scales gemma 27B queries by nEmbd / nHeads as llama.cpp does (46-layer gemma2)', async () => {
    const hp = readHyperparams(await header({ arch: 'gemma2', nLayers: 46, nHeads: 2, headDim: 64 }));
    expect(hp.attnScale).toBeCloseTo(1 / Math.sqrt(128), 12);
  });

  it("applies a llama (mistral) file's sliding window to every layer", async () => {
    const hp = readHyperparams(await header({ slidingWindow: 4096 }));
    expect(hp.slidingWindow).toBe(4096);
    expect(swaLayers(hp)).toBe('LLL');
  });

  it('reads rope scaling: linear and yarn scale positions, none and llama3 do not, attn_factor and original context kept', async () => {
    const linear = readHyperparams(await header({ ropeScaling: { type: 'linear', factor: 4 } }));
    expect(linear.ropeFreqScale).toBe(0.25);
    const yarn = readHyperparams(await header({ ctxLength: 4096, ropeScaling: { type: 'yarn', factor: 4, originalContext: 1024 } }));
    expect(yarn.ropeScaling).toMatchObject({ type: 'yarn', factor: 4, originalContext: 1024 });
    expect(yarn.ropeFreqScale).toBe(0.25);
    const none = readHyperparams(await header({ ropeScaling: { type: 'none', factor: 4 } }));
    expect(none.ropeFreqScale).toBe(1);
    const phi3 = readHyperparams(await header({ arch: 'phi3', ropeScaling: { type: 'longrope', originalContext: 4096, attnFactor: 1.25 } }));
    expect(phi3.ropeScaling).toMatchObject({ type: 'longrope', originalContext: 4096, attnFactor: 1.25 });
    expect(phi3.ropeFreqScale).toBe(1);
  });
});

describe('readHyperparams errors', () => {
  for (const key of ['block_count', 'embedding_length', 'attention.head_count', 'feed_forward_length', 'context_length', 'attention.layer_norm_rms_epsilon']) {
    it(`names llama.${key} when it is missing`, async () => {
      expectInvalidKey(edit(await header(), [`llama.${key}`]), `llama.${key}`);
    });
  }

  it('names the architecture-specific key when a qwen3 file lacks it', async () => {
    expectInvalidKey(edit(await header({ arch: 'qwen3' }), ['qwen3.attention.head_count']), 'qwen3.attention.head_count');
  });

  it('names general.architecture when it is missing', async () => {
    expectInvalidKey(edit(await header(), ['general.architecture']), 'general.architecture');
  });

  it('rejects a kv head count that does not divide the head count', async () => {
    expectInvalidKey(edit(await header(), [], [kv.u32('llama.attention.head_count_kv', 3)]), 'llama.attention.head_count_kv');
  });

  it('rejects a llama rope dimension that differs from the head size (llama.cpp does too)', async () => {
    expectInvalidKey(edit(await header(), [], [kv.u32('llama.rope.dimension_count', 32)]), 'llama.rope.dimension_count');
  });

  it('rejects a rope dimension larger than the head size', async () => {
    expectInvalidKey(edit(await header({ arch: 'phi3' }), [], [kv.u32('phi3.rope.dimension_count', 96)]), 'phi3.rope.dimension_count');
  });

  it('rejects a value length that differs from the key length', async () => {
    expectInvalidKey(edit(await header({ arch: 'gemma2', headDim: 64 }), [], [kv.u32('gemma2.attention.value_length', 128)]), 'gemma2.attention.value_length');
  });

  it('rejects a vocab_size that contradicts the token list', async () => {
    expectInvalidKey(edit(await header(), [], [kv.u32('llama.vocab_size', 1000)]), 'llama.vocab_size');
  });

  it('rejects an unknown rope scaling type', async () => {
    expectInvalidKey(edit(await header(), [], [kv.str('llama.rope.scaling.type', 'dynamic')]), 'llama.rope.scaling.type');
  });

  it('rejects a number key stored as a string', async () => {
    expectInvalidKey(edit(await header(), [], [kv.str('llama.embedding_length', '256')]), 'llama.embedding_length');
  });

  it('rejects a negative sliding window pattern', async () => {
    const file = edit(await header({ arch: 'gemma3', headDim: 64, slidingWindow: 8 }), [], [kv.i32('gemma3.attention.sliding_window_pattern', -1)]);
    expectInvalidKey(file, 'gemma3.attention.sliding_window_pattern');
  });

  for (const arch of ['mamba', 'bert']) {
    it(`gives clw-arch-unsupported for ${arch}, listing the supported ones`, async () => {
      const file = edit(await header(), [], [kv.str('general.architecture', arch)]);
      const err = errorOf(() => readHyperparams(file));
      expect(err.code).toBe('clw-arch-unsupported');
      expect(err.fix).toContain(SUPPORTED_ARCHITECTURES.join(', '));
    });
  }

  it('reports an unsupported architecture in the compatibility report before loading', async () => {
    const file = edit(await header(), [], [kv.str('general.architecture', 'bert')]);
    const report = buildCompatibilityReport(file, { fileBytes: 1000 });
    expect(report.architectureSupported).toBe(false);
    expect(report.supportedArchitectures).toEqual([...SUPPORTED_ARCHITECTURES]);
    expect(report.verdict).toBe('will-not-run');
    expect(report.issues.find((i) => i.code === 'clw-arch-unsupported')?.message).toContain('qwen2, qwen3, phi3, gemma2, gemma3');
  });
});

describe('modelTensorPlan', () => {
  it('splits phi3 fused qkv and gate-up tensors into q/k/v and gate/up slots', async () => {
    const file = await header({ arch: 'phi3' });
    const plan = modelTensorPlan(readHyperparams(file), new TensorTable(file));
    const qkv = plan.find((p) => p.name === 'blk.0.attn_qkv.weight');
    expect(qkv?.shape).toEqual([256, 256 + 2 * 128]);
    expect(qkv?.pieces).toEqual([
      { slot: 'blk.0.attn_q.weight', rows: 256 },
      { slot: 'blk.0.attn_k.weight', rows: 128 },
      { slot: 'blk.0.attn_v.weight', rows: 128 },
    ]);
    const up = plan.find((p) => p.name === 'blk.0.ffn_up.weight');
    expect(up?.shape).toEqual([256, 1024]);
    expect(up?.pieces?.map((p) => p.slot)).toEqual(['blk.0.ffn_gate.weight', 'blk.0.ffn_up.weight']);
    expect(plan.some((p) => p.name === 'blk.0.ffn_gate.weight')).toBe(false);
  });

  it('picks phi3 short rope factors up to the original context and long ones beyond it', async () => {
    const file = await header({ arch: 'phi3', ropeFactors: true, ctxLength: 131072, ropeScaling: { type: 'longrope', originalContext: 4096 } });
    const hp = readHyperparams(file);
    const factorNames = (ctx?: number) => modelTensorPlan(hp, new TensorTable(file), ctx).filter((p) => p.name.startsWith('rope_')).map((p) => p.name);
    expect(factorNames()).toEqual(['rope_factors_short.weight']);
    expect(factorNames(4096)).toEqual(['rope_factors_short.weight']);
    expect(factorNames(8192)).toEqual(['rope_factors_long.weight']);
  });

  it('plans q/k norms for qwen3 and gemma3, post-norms for gemma, never output.weight for gemma2', async () => {
    const qwen3 = await header({ arch: 'qwen3' });
    const names = (f: GgufFile) => modelTensorPlan(readHyperparams(f), new TensorTable(f)).map((p) => p.name);
    expect(names(qwen3)).toContain('blk.2.attn_k_norm.weight');
    const gemma2 = await header({ arch: 'gemma2', headDim: 64 });
    expect(names(gemma2)).toContain('blk.0.post_ffw_norm.weight');
    expect(names(gemma2)).not.toContain('output.weight');
    expect(names(await header({ arch: 'gemma3', headDim: 64 }))).toContain('blk.0.attn_q_norm.weight');
  });

  it('requires rope_freqs.weight when a file declares llama3 rope scaling', async () => {
    const file = edit(await header(), [], [kv.str('llama.rope.scaling.type', 'llama3')]);
    const plan = modelTensorPlan(readHyperparams(file), new TensorTable(file));
    expect(plan.find((p) => p.name === 'rope_freqs.weight')?.optional).toBe(false);
  });
});
