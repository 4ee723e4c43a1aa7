import { describe, expect, test } from 'vitest';
import { buildCompatibilityReport, formatCompatibilityReport, type CompatAdapter } from '../../src/engine/compat';
import { GGML_TYPES, GgmlType, GgufValueType } from '../../src/gguf/types';
import { kvCacheWidths, readHyperparams, recurrentStateShape, SUPPORTED_ARCHITECTURES } from '../../src/model/hparams';
import { recurrentStateBytes } from '../../src/model/kv-cache';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { makeSyntheticModel } from '../fixtures/synthetic-model';

const SUPPORTED = SUPPORTED_ARCHITECTURES.join(', ');
import { LLAMA_31_70B_Q4_K_M, LLAMA_32_1B_Q8_0, fullFileBytes, realShapeFile, type HeaderSpec } from '../fixtures/real-shapes';

const GiB = 2 ** 30;

const BIG_GPU: CompatAdapter = {
  description: 'NVIDIA GeForce RTX 4070',
  features: { f16: true, subgroups: true },
  maxStorageBufferBindingSize: 2 * GiB,
  maxBufferSize: 4 * GiB,
};

function withoutKey(key: string) {
  return (spec: HeaderSpec): HeaderSpec => ({ ...spec, metadata: spec.metadata.filter((m) => m.key !== key) });
}

function withMeta(key: string, value: string) {
  return (spec: HeaderSpec): HeaderSpec => ({
    ...spec,
    metadata: spec.metadata.map((m) => (m.key === key ? { key, type: GgufValueType.STRING, value } : m)),
  });
}

describe('buildCompatibilityReport', () => {
  test('a supported model that fits the budget runs with no issues', async () => {
    const file = await realShapeFile(LLAMA_32_1B_Q8_0);
    const report = buildCompatibilityReport(file, { fileName: 'Llama-3.2-1B-Instruct-Q8_0.gguf', fileBytes: fullFileBytes(file), adapter: BIG_GPU, budgetBytes: 8 * GiB });
    expect(report.issues).toEqual([]);
    expect(report.verdict).toBe('runs');
    expect(report.architecture).toBe('llama');
    expect(report.architectureSupported).toBe(true);
    expect(report.modelName).toBe('Llama 3.2 1B Instruct');
    expect(report.contextLength).toBe(131072);
    // 1.24 B parameters: 128256*2048 embeddings + 16 layers of 60.8 M + norms and rope factors.
    expect(report.parameterCount).toBe(1_235_814_432);
    expect(report.tensorTypes).toEqual([
      { type: 'Q8_0', count: 113, bytes: 1_313_251_456 - (16 * 2 * 2048 + 2048 + 32) * 4, supported: true },
      { type: 'F32', count: 34, bytes: (16 * 2 * 2048 + 2048 + 32) * 4, supported: true },
    ]);
    expect(report.plan).toMatch(/^16 of 16 layers resident, 0 streamed, context \d+: fits in /);
  });

  test('names an unsupported type (Q8_K) with its tensor count and share of the model bytes', async () => {
    expect(GGML_TYPES.get(GgmlType.Q8_K)?.gpuSupported).toBe(false);
    const toQ8K = (spec: HeaderSpec): HeaderSpec => ({
      ...spec,
      tensors: spec.tensors.map((t) => (/ffn_(gate|up)\.weight$/.test(t.name) ? { ...t, type: GgmlType.Q8_K } : t)),
    });
    const file = await realShapeFile(LLAMA_32_1B_Q8_0, toQ8K);
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file) });
    const q8kBytes = 32 * (2048 * 8192 / 256) * 292; // 32 tensors of 65536 blocks of 292 bytes
    const total = file.tensors.reduce((a, t) => a + t.byteSize, 0);
    const share = ((100 * q8kBytes) / total).toFixed(1);
    expect(report.tensorTypes.find((t) => t.type === 'Q8_K')).toEqual({ type: 'Q8_K', count: 32, bytes: q8kBytes, supported: false });
    const issue = report.issues.find((i) => i.code === 'clw-quant-unsupported');
    expect(issue?.severity).toBe('error');
    expect(issue?.message).toContain('Q8_K: 32 tensor(s)');
    expect(issue?.message).toContain(`${share}% of the model's bytes`);
    expect(report.verdict).toBe('will-not-run');
  });

  test('counts the lattice, FP4 and ternary types as supported: an IQ3_S / MXFP4 / TQ2_0 file runs', async () => {
    const types: Record<string, GgmlType> = { gate: GgmlType.IQ3_S, up: GgmlType.MXFP4, down: GgmlType.TQ2_0 };
    const mixed = (spec: HeaderSpec): HeaderSpec => ({
      ...spec,
      tensors: spec.tensors.map((t) => {
        const m = /ffn_(gate|up|down)\.weight$/.exec(t.name);
        return m ? { ...t, type: types[m[1]] } : t;
      }),
    });
    const file = await realShapeFile(LLAMA_32_1B_Q8_0, mixed);
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), adapter: BIG_GPU, budgetBytes: 8 * GiB });
    for (const type of ['IQ3_S', 'MXFP4', 'TQ2_0']) expect(report.tensorTypes.find((t) => t.type === type)).toMatchObject({ count: 16, supported: true });
    expect(report.issues.filter((i) => i.code === 'clw-quant-unsupported')).toEqual([]);
    expect(report.verdict).toBe('runs');
  });

  test('an unknown architecture gives clw-arch-unsupported listing the supported ones', async () => {
    const file = await realShapeFile(LLAMA_32_1B_Q8_0, withMeta('general.architecture', 'mamba'));
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), adapter: BIG_GPU });
    expect(report.architecture).toBe('mamba');
    expect(report.architectureSupported).toBe(false);
    expect(report.supportedArchitectures).toContain('llama');
    const issue = report.issues.find((i) => i.code === 'clw-arch-unsupported');
    expect(issue?.message).toBe(`architecture "mamba" is not supported; supported architectures: ${SUPPORTED}`);
    expect(report.plan).toBeUndefined();
    expect(report.verdict).toBe('will-not-run');
  });

  test('a missing required key is a clw-model-invalid issue naming the key, not an exception', async () => {
    const file = await realShapeFile(LLAMA_32_1B_Q8_0, withoutKey('llama.embedding_length'));
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), budgetBytes: 8 * GiB });
    const issue = report.issues.find((i) => i.code === 'clw-model-invalid');
    expect(issue?.message).toContain('llama.embedding_length');
    expect(issue?.message).toContain('missing');
    expect(report.verdict).toBe('will-not-run');
  });

  test('a missing general.architecture is reported, not thrown', async () => {
    const file = await realShapeFile(LLAMA_32_1B_Q8_0, withoutKey('general.architecture'));
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file) });
    expect(report.architecture).toBe('unknown');
    expect(report.issues.map((i) => i.code)).toContain('clw-model-invalid');
    expect(report.issues.find((i) => i.code === 'clw-model-invalid')?.message).toContain('general.architecture');
  });

  test('says which arithmetic path will run: f16 with shader-f16, f32 without it, and no warning when nothing is lost', async () => {
    const file = await realShapeFile(LLAMA_32_1B_Q8_0);
    const noF16 = { ...BIG_GPU, features: { f16: false, subgroups: true } };
    const withF16 = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), adapter: BIG_GPU, budgetBytes: 8 * GiB });
    expect(withF16.dtype).toBe('f16');
    expect(withF16.arithmetic).toMatch(/^f16 \(the GPU has shader-f16\)/);
    expect(withF16.verdict).toBe('runs');

    const without = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), adapter: noF16, budgetBytes: 8 * GiB });
    expect(without.dtype).toBe('f32');
    expect(without.arithmetic).toMatch(/^f32 \(the GPU lacks shader-f16/);
    expect(without.issues).toEqual([]);
    expect(without.verdict).toBe('runs');
    expect(formatCompatibilityReport(without)).toContain('arithmetic: f32 (the GPU lacks shader-f16');

    const asked = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), adapter: BIG_GPU, budgetBytes: 8 * GiB, load: { dtype: 'f32' } });
    expect(asked.dtype).toBe('f32');
    expect(asked.arithmetic).toBe('f32 (as asked)');
  });

  test('f16 asked for on a GPU without shader-f16 falls back to f32, as a warning', async () => {
    const file = await realShapeFile(LLAMA_32_1B_Q8_0);
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), adapter: { ...BIG_GPU, features: { f16: false, subgroups: true } }, budgetBytes: 8 * GiB, load: { dtype: 'f16' } });
    expect(report.dtype).toBe('f32');
    expect(report.issues).toEqual([
      { code: 'clw-feature-missing', severity: 'warning', message: 'dtype f16 was asked for, but the GPU lacks shader-f16: running the f32 path' },
    ]);
    expect(report.verdict).toBe('runs-with-warnings');
  });

  test('tensors over the binding limit are a warning naming the largest', async () => {
    const file = await realShapeFile(LLAMA_32_1B_Q8_0);
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), adapter: { ...BIG_GPU, maxStorageBufferBindingSize: 128 * 2 ** 20 }, budgetBytes: 8 * GiB });
    const issue = report.issues.find((i) => i.code === 'clw-feature-missing');
    expect(issue?.severity).toBe('warning');
    expect(issue?.message).toContain('token_embd.weight');
  });

  test('a model that does not fit the budget is a clw-gpu-oom error with the plan text', async () => {
    const file = await realShapeFile(LLAMA_31_70B_Q4_K_M);
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), budgetBytes: 1 * GiB });
    expect(report.plan).toMatch(/does not fit/);
    const oom = report.issues.find((i) => i.code === 'clw-gpu-oom');
    expect(oom?.severity).toBe('error');
    expect(oom?.message).toContain('1.0 GiB VRAM budget');
    expect(report.verdict).toBe('will-not-run');
  });

  test('streamed layers are a clw-gpu-oom warning', async () => {
    const file = await realShapeFile(LLAMA_31_70B_Q4_K_M);
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), budgetBytes: 4 * GiB });
    const oom = report.issues.find((i) => i.code === 'clw-gpu-oom');
    expect(oom).toEqual({ code: 'clw-gpu-oom', severity: 'warning', message: '80 of 80 layers do not fit the budget and stream for every token (slower)' });
  });

  test('a matrix whose rows are not a multiple of 4 is flagged for the kernels', async () => {
    const addOdd = (spec: HeaderSpec): HeaderSpec => ({ ...spec, tensors: [...spec.tensors, { name: 'blk.0.odd.weight', shape: [6, 2], type: GgmlType.F32 }] });
    const file = await realShapeFile(LLAMA_32_1B_Q8_0, addOdd);
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file) });
    const issue = report.issues.find((i) => i.message.includes('multiple of 4'));
    expect(issue?.code).toBe('clw-quant-unsupported');
    expect(issue?.message).toContain('blk.0.odd.weight (6 per row)');
  });
});

describe('qwen35 in the compatibility report and the memory plan', () => {
  // Qwen 3.5 0.8B's shape: 18 delta-net and 6 gated attention layers, one MTP block (its vocabulary cut to 32000).
  const header = (stateSize = 128) =>
    readGguf(
      new BytesSource(
        makeSyntheticModel({
          arch: 'qwen35', nEmbd: 1024, nLayers: 24, nHeads: 8, nKvHeads: 2, headDim: 256, ropeDim: 64, nFf: 3584, nVocab: 32000, ctxLength: 262144,
          ropeFreqBase: 1e7, type: GgmlType.Q8_0, seed: 1, headerOnly: true,
          deltaNet: { stateSize, kHeads: 16, vHeads: 16, convKernel: 4, ropeSections: [11, 11, 10, 0], mtpLayers: 1 },
        }),
      ),
      { headerOnly: true },
    );

  test('a Qwen 3.5 0.8B-shaped file runs; its MTP block is not counted', async () => {
    const file = await header();
    const report = buildCompatibilityReport(file, { fileBytes: fullFileBytes(file), adapter: BIG_GPU, budgetBytes: 8 * GiB });
    expect(report.issues).toEqual([]);
    expect(report.verdict).toBe('runs');
    const hp = readHyperparams(file);
    expect(hp.nLayers).toBe(24);
    expect(hp.recurrentLayers.filter(Boolean).length).toBe(18);
    expect(kvCacheWidths(hp).filter((w) => w > 0).length).toBe(6);
    // Per delta-net layer: 3 taps x 6144 conv channels and 16 heads of 128 x 128, f32, twice (the state's two halves) and a saved copy; one 16-byte placeholder K/V.
    expect(recurrentStateShape(hp)).toEqual([3 * 6144 * 4, 16 * 128 * 128 * 4]);
    expect(recurrentStateBytes(hp.recurrentLayers, recurrentStateShape(hp))).toBe(3 * 18 * (3 * 6144 + 16 * 128 * 128) * 4 + 16);
  });

  test('a delta-net state size the kernels cannot run is reported', async () => {
    const report = buildCompatibilityReport(await header(96), { fileBytes: 1 });
    expect(report.verdict).toBe('will-not-run');
    expect(report.issues[0]).toMatchObject({ code: 'clw-arch-unsupported', severity: 'error' });
  });
});

describe('formatCompatibilityReport', () => {
  test('prints the model, its types, the plan, the issues and the verdict', async () => {
    const file = await realShapeFile(LLAMA_32_1B_Q8_0, withMeta('general.architecture', 'mamba'));
    const text = formatCompatibilityReport(buildCompatibilityReport(file, { fileName: 'm.gguf', fileBytes: 1_321_000_000 }));
    expect(text.split('\n')).toEqual([
      'Llama 3.2 1B Instruct (m.gguf, 1.2 GiB)',
      `architecture: mamba (not supported; supported: ${SUPPORTED})`,
      'parameters: 1.24 B',
      'tensor types:',
      '  Q8_0    113 tensors     1.2 GiB  supported',
      '  F32      34 tensors   264.1 KiB  supported',
      'issues:',
      `  error clw-arch-unsupported: architecture "mamba" is not supported; supported architectures: ${SUPPORTED}`,
      'verdict: will-not-run',
    ]);
  });
});
