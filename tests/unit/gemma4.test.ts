// gemma4 from the header alone, on an E2B-sized shape: per-layer shapes and
// KV sharing as llama.cpp reads them, the memory plan (KV only for the
// layers that own a cache, the per-layer embedding table on the GPU or in
// the file), and the compatibility report.

import { describe, expect, it } from 'vitest';
import { buildCompatibilityReport, formatCompatibilityReport } from '../../src/engine/compat';
import { BytesSource, readGguf } from '../../src/gguf';
import { GgmlType, GgufValueType, type GgufMetadataEntry } from '../../src/gguf/types';
import { engineBytes, planEngineMemory, shrinkEnginePlan } from '../../src/model/engine-memory';
import { kvCacheWidths, readHyperparams } from '../../src/model/hparams';
import { makeSyntheticGemma4, type SyntheticGemma4Options } from '../fixtures/synthetic-gemma4';
import { fullFileBytes } from '../fixtures/real-shapes';
import { makeSyntheticModel } from '../fixtures/synthetic-model';

const GiB = 2 ** 30;
const NOTHING_LIVE = { weights: 0, kv: 0, activations: 0, staging: 0, uniforms: 0 };

/** Gemma 4 E2B's text shape (35 layers: 4 sliding to 1 full, the last 20 sharing KV), Q8_0 matrices. */
const E2B: SyntheticGemma4Options = {
  nEmbd: 1536, nVocab: 262144, layerTypes: Array.from({ length: 35 }, (_, l) => l % 5 !== 4), nHeads: 8, nKvHeadsSwa: 1, nKvHeadsFull: 1,
  headDimSwa: 256, headDimFull: 512, partialRotaryFull: 0.25, nFf: 6144, sharedKvLayers: 20, nEmbdPerLayer: 256, slidingWindow: 512,
  ropeFreqBase: 1000000, ropeFreqBaseSwa: 10000, finalSoftcap: 30, ctxLength: 131072, type: GgmlType.Q8_0, headerOnly: true, seed: 1,
};

const headers = new Map<string, Uint8Array>();

/** The header's bytes are made once per shape (a 262144-token vocabulary takes a while). */
async function header(o: SyntheticGemma4Options) {
  const key = JSON.stringify(o);
  if (!headers.has(key)) headers.set(key, makeSyntheticGemma4(o));
  return readGguf(new BytesSource(headers.get(key)!), { headerOnly: true });
}

describe('gemma4 hyperparameters', () => {
  it('reads per-layer head sizes, KV heads, FFN widths and which cache each layer uses', async () => {
    const hp = readHyperparams(await header(E2B));
    const g = hp.gemma4!;
    expect(g.nKvLayers).toBe(15);
    expect(g.nEmbdPerLayer).toBe(256);
    expect(hp.attnScale).toBe(1);
    expect(hp.finalSoftcap).toBe(30);
    // The shared fields hold the widest layer (they size the scratch).
    expect([hp.headDim, hp.kvDim, hp.nFf]).toEqual([512, 512, 12288]);
    expect(g.layers[0]).toMatchObject({ swa: true, headDim: 256, ropeDim: 256, kvDim: 256, nFf: 6144, ownsKv: true, kvLayer: 0 });
    expect(g.layers[4]).toMatchObject({ swa: false, headDim: 512, ropeDim: 512, kvDim: 512, ownsKv: true, kvLayer: 4 });
    // llama.cpp's reuse: shared sliding layers read layer 13's cache, shared full layers layer 14's.
    expect(g.layers[15]).toMatchObject({ swa: true, ownsKv: false, kvLayer: 13, nFf: 12288 });
    expect(g.layers[19]).toMatchObject({ swa: false, ownsKv: false, kvLayer: 14 });
    expect(g.layers.slice(15).every((l) => l.kvLayer === (l.swa ? 13 : 14))).toBe(true);
    expect(hp.swaLayers.filter((s) => !s).length).toBe(7);
    expect(hp.ropeFreqBaseSwa).toBe(10000);
    expect(kvCacheWidths(hp)).toEqual(g.layers.slice(0, 15).map((l) => (l.swa ? 256 : 512)));
  });

  it('rejects sharing when the last cache owners are not a sliding then a full layer', async () => {
    // Owners end at layer 13 (sliding), so full layers would read layer 13's sliding cache.
    const file = await header({ ...E2B, nVocab: 4096, sharedKvLayers: 21 });
    expect(() => readHyperparams(file)).toThrow(/reuses/);
  });

  it('refuses the mixture-of-experts gemma4 (26B-A4B) instead of running it as a dense model', async () => {
    const file = await header({ ...E2B, nVocab: 4096 });
    const router = { ...file.tensors[0], name: 'blk.0.ffn_gate_inp.weight' };
    const withRouter = { ...file, tensors: [...file.tensors, router] };
    expect(() => readHyperparams(withRouter)).toThrow(expect.objectContaining({ code: 'clw-arch-unsupported' }));
    const report = buildCompatibilityReport(withRouter, { fileBytes: fullFileBytes(file) });
    expect(report.verdict).toBe('will-not-run');
    expect(report.issues.map((i) => i.code)).toContain('clw-arch-unsupported');
  });

  it('takes per-layer arrays only where the architecture has per-layer shapes', async () => {
    const file = await readGguf(new BytesSource(makeSyntheticModel({ nEmbd: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, nFf: 128, seed: 1, headerOnly: true })), { headerOnly: true });
    const key = 'llama.attention.head_count_kv';
    const perLayer = (values: number[]) => (file.metadata as Map<string, GgufMetadataEntry>).set(key, { key, type: GgufValueType.ARRAY, value: { elementType: GgufValueType.UINT32, values } });
    perLayer([2, 2]);
    expect(readHyperparams(file).nKvHeads).toBe(2);
    perLayer([2, 4]);
    expect(() => readHyperparams(file)).toThrow(/per-layer values are not supported for llama/);
  });
});

describe('gemma4 memory plan', () => {
  const options = (budgetBytes: number, ctxSize?: number) => ({ budgetBytes, liveBytes: 0, liveByPurpose: NOTHING_LIVE, batchSize: 128, kvDynamic: true, maxPartBytes: 2 * GiB - 4, ctxSize, kvType: 'f16' as const });

  it('books KV only for the layers that own a cache, and the per-layer table on its own where it goes to the GPU', async () => {
    const file = await header(E2B);
    const hp = readHyperparams(file);
    const plan = planEngineMemory(file, hp, options(16 * GiB, 4096));
    expect(plan.fits).toBe(true);
    const ctx = plan.plan.ctxSize;
    // 15 owners: 12 sliding of 256 and 3 full of 512 per position, K and V, f16.
    expect(plan.bytes.kvCache).toBe(2 * ctx * (12 * 256 + 3 * 512) * 2);
    const table = file.tensors.find((t) => t.name === 'per_layer_token_embd.weight')!;
    const others = file.tensors.reduce((a, t) => a + t.byteSize, 0) - table.byteSize;
    // 16 GiB holds the table (2.3 GiB in Q8_0) beside everything else: booked as what the upload allocates (two parts here).
    expect(plan.perLayerTable).toBe(true);
    expect(plan.bytes.perLayerTable).toBeGreaterThanOrEqual(table.byteSize);
    expect(plan.bytes.perLayerTable).toBeLessThan(table.byteSize + 64);
    expect(plan.notes.join('\n')).toContain('per-layer embedding table (2.3 GiB) is on the GPU');
    const b = engineBytes(file, hp, plan.plan, { batchSize: 128, maxPartBytes: 2 * GiB - 4, liveByPurpose: NOTHING_LIVE, kvType: 'f16' });
    expect(b.perLayerTable).toBe(0);
    expect(b.weightsResident).toBeGreaterThanOrEqual(others);
    expect(b.weightsResident).toBeLessThan(others + 64 * file.tensors.length);
    // The planner counted it with the other non-layer weights.
    expect(plan.plan.bytes.weightsResident).toBe(others + table.byteSize);
  });

  it('leaves the table in the file where it would cost layers or the wanted context, and gives it back first after an allocation failure', async () => {
    const file = await header(E2B);
    const hp = readHyperparams(file);
    const big = planEngineMemory(file, hp, options(16 * GiB, 4096));
    // The same plan's need without the table, and half the table more: the table does not fit.
    const tight = big.bytes.total - big.bytes.perLayerTable / 2;
    const plan = planEngineMemory(file, hp, options(tight, 4096));
    expect(plan.fits).toBe(true);
    expect(plan.perLayerTable).toBe(false);
    expect(plan.bytes.perLayerTable).toBe(0);
    expect(plan.plan.residentLayers).toBe(35);
    expect(plan.plan.ctxSize).toBe(4096);
    expect(plan.notes.join('\n')).toContain('per-layer embedding table (2.3 GiB) stays in the file');
    // Without an asked context, the table comes before more than the usable one (4096).
    const auto = planEngineMemory(file, hp, options(big.bytes.total + GiB));
    expect(auto.perLayerTable).toBe(true);
    expect(auto.plan.ctxSize).toBeGreaterThan(4096);
    expect(auto.plan.ctxSize).toBeLessThan(hp.nCtxTrain);
    const shrunk = shrinkEnginePlan(big, file, hp, options(16 * GiB, 4096))!;
    expect(shrunk.perLayerTable).toBe(false);
    expect(shrunk.plan).toEqual(big.plan);
    expect(shrunk.bytes.total).toBe(big.bytes.total - big.bytes.perLayerTable);
    expect(shrunk.notes.join('\n')).toContain('the per-layer embedding table stays in the file');
  });

  it('reports a missing or misshapen per-layer table before loading (clw-model-invalid)', async () => {
    const file = await header(E2B);
    const adapter = { description: 'test GPU', features: { f16: true, subgroups: false }, maxStorageBufferBindingSize: GiB, maxBufferSize: 2 * GiB };
    const table = file.tensors.find((t) => t.name === 'per_layer_token_embd.weight')!;
    for (const [what, tensors] of [
      ['missing', file.tensors.filter((t) => t !== table)],
      ['misshapen', file.tensors.map((t) => (t === table ? { ...t, shape: [t.shape[0] / 2, t.shape[1] * 2] } : t))],
    ] as const) {
      const report = buildCompatibilityReport({ ...file, tensors: [...tensors] }, { fileBytes: fullFileBytes(file), adapter, budgetBytes: 8 * GiB });
      expect(report.verdict, what).toBe('will-not-run');
      expect(report.issues.find((i) => i.code === 'clw-model-invalid')?.message, what).toContain('per_layer_token_embd.weight');
    }
  });

  it('reports an E2B-shaped file as running', async () => {
    const file = await header(E2B);
    const report = buildCompatibilityReport(file, {
      fileBytes: fullFileBytes(file),
      adapter: { description: 'test GPU', features: { f16: true, subgroups: false }, maxStorageBufferBindingSize: GiB, maxBufferSize: 2 * GiB },
      budgetBytes: 8 * GiB,
    });
    expect(report.issues).toEqual([]);
    expect(report.verdict).toBe('runs');
    expect(report.architecture).toBe('gemma4');
    // Before loading, the report says where the per-layer table goes (8 GiB: the GPU), as the load's notes will.
    expect(report.planNotes?.join('\n')).toMatch(/per-layer embedding table \(2\.3 GiB\) is on the GPU/);
    expect(formatCompatibilityReport(report)).toContain('\n  the per-layer embedding table (2.3 GiB) is on the GPU');
    const small = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), adapter: { description: 'test GPU', features: { f16: true, subgroups: false }, maxStorageBufferBindingSize: GiB, maxBufferSize: 2 * GiB }, budgetBytes: 4 * GiB });
    expect(small.verdict).toBe('runs');
    expect(small.planNotes?.join('\n')).toMatch(/per-layer embedding table \(2\.3 GiB\) stays in the file/);
  });
});
