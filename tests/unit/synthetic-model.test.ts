import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType, type GgufFile } from '../../src/gguf/types';
import { dequantize } from '../../src/quant';
import { makeSyntheticModel, type SyntheticModelOptions } from '../fixtures/synthetic-model';
import { usesMoreBits } from '../fixtures/synthetic-mix';
import { syntheticSpmVocab } from '../fixtures/synthetic-vocab';

const SMALL: SyntheticModelOptions = { nEmbd: 256, nLayers: 2, nHeads: 4, nKvHeads: 2, nFf: 512, seed: 7 };

async function read(bytes: Uint8Array, headerOnly = false): Promise<GgufFile> {
  return readGguf(new BytesSource(bytes), { headerOnly });
}

function meta(file: GgufFile, key: string): unknown {
  return file.metadata.get(key)?.value;
}

function tensor(file: GgufFile, name: string) {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
}

function values(bytes: Uint8Array, file: GgufFile, name: string): Float32Array {
  const t = tensor(file, name);
  return dequantize(t.type, bytes.subarray(t.fileOffset, t.fileOffset + t.byteSize), t.elements);
}

/** Byte equality without the cost of a deep-equality diff on megabytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function stats(x: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of x) sum += v;
  const mean = sum / x.length;
  let sq = 0;
  for (const v of x) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / x.length) };
}

describe('makeSyntheticModel', () => {
  it('writes a llama model that reads back with the tensor names, shapes and metadata llama.cpp expects', async () => {
    const bytes = makeSyntheticModel(SMALL);
    const file = await read(bytes);
    const nVocab = (meta(file, 'tokenizer.ggml.tokens') as { values: string[] }).values.length;
    expect(file.tensors.map((t) => t.name)).toEqual([
      'token_embd.weight',
      ...[0, 1].flatMap((i) =>
        ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down'].map((n) => `blk.${i}.${n}.weight`),
      ),
      'output_norm.weight',
      'output.weight',
    ]);
    expect(tensor(file, 'token_embd.weight').shape).toEqual([256, nVocab]);
    expect(tensor(file, 'blk.1.attn_k.weight').shape).toEqual([256, 128]); // 2 kv heads of 64
    expect(tensor(file, 'blk.1.ffn_down.weight').shape).toEqual([512, 256]);
    expect(tensor(file, 'output_norm.weight').shape).toEqual([256]);
    expect(file.tensors.every((t) => t.type === GgmlType.F32)).toBe(true);

    expect(meta(file, 'general.architecture')).toBe('llama');
    expect(meta(file, 'llama.embedding_length')).toBe(256);
    expect(meta(file, 'llama.block_count')).toBe(2);
    expect(meta(file, 'llama.feed_forward_length')).toBe(512);
    expect(meta(file, 'llama.attention.head_count')).toBe(4);
    expect(meta(file, 'llama.attention.head_count_kv')).toBe(2);
    expect(meta(file, 'llama.rope.dimension_count')).toBe(64);
    expect(meta(file, 'llama.context_length')).toBe(2048);
    expect(meta(file, 'llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 10);
    expect(meta(file, 'tokenizer.ggml.model')).toBe('llama');
    expect(meta(file, 'tokenizer.ggml.bos_token_id')).toBe(1);
    expect(meta(file, 'tokenizer.ggml.eos_token_id')).toBe(2);
    expect(meta(file, 'tokenizer.ggml.unknown_token_id')).toBe(0);
    expect(meta(file, 'tokenizer.ggml.add_bos_token')).toBe(true);
    const tokens = (meta(file, 'tokenizer.ggml.tokens') as { values: string[] }).values;
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(tokens[3 + 0xff]).toBe('<0xFF>');
    expect(tokens).toContain('▁the');
    expect(nVocab).toBeGreaterThan(350);
  });

  it('draws weights at the documented scales: matrices N(0, 1/sqrt(row)), norms near 1', async () => {
    const bytes = makeSyntheticModel(SMALL);
    const file = await read(bytes);
    const q = stats(values(bytes, file, 'blk.0.attn_q.weight'));
    expect(Math.abs(q.mean)).toBeLessThan(0.002);
    expect(q.std).toBeGreaterThan(0.0625 * 0.97);
    expect(q.std).toBeLessThan(0.0625 * 1.03);
    const down = stats(values(bytes, file, 'blk.0.ffn_down.weight'));
    expect(down.std).toBeCloseTo(1 / Math.sqrt(512) / 2, 3); // divided by sqrt(2 * nLayers) = 2
    const norm = stats(values(bytes, file, 'blk.1.ffn_norm.weight'));
    expect(norm.mean).toBeCloseTo(1, 2);
    expect(norm.std).toBeLessThan(0.05);
  });

  it('is deterministic in the seed, and one tensor type change leaves other tensors unchanged', async () => {
    const a = makeSyntheticModel(SMALL);
    expect(sameBytes(makeSyntheticModel(SMALL), a)).toBe(true);
    const other = makeSyntheticModel({ ...SMALL, seed: 8 });
    expect(other.length).toBe(a.length);
    expect(sameBytes(other, a)).toBe(false);

    const overridden = makeSyntheticModel({ ...SMALL, typeOverrides: { 'blk.0.attn_q.weight': GgmlType.Q8_0 } });
    const fa = await read(a);
    const fo = await read(overridden);
    expect(tensor(fo, 'blk.0.attn_q.weight').type).toBe(GgmlType.Q8_0);
    const up = (bytes: Uint8Array, file: GgufFile) => new Uint8Array(values(bytes, file, 'blk.1.ffn_up.weight').buffer);
    expect(sameBytes(up(overridden, fo), up(a, fa))).toBe(true);
  });

  it('quantizes every matrix to `type` and keeps norms F32', async () => {
    const bytes = makeSyntheticModel({ ...SMALL, type: GgmlType.Q4_K });
    const file = await read(bytes);
    for (const t of file.tensors) expect([t.name, t.type]).toEqual([t.name, t.shape.length === 1 ? GgmlType.F32 : GgmlType.Q4_K]);
    expect(meta(file, 'general.file_type')).toBe(14); // LLAMA_FTYPE_MOSTLY_Q4_K_S
  });

  it('falls back like llama-quantize when rows do not split into 256-element blocks', async () => {
    const file = await read(makeSyntheticModel({ ...SMALL, nFf: 320, type: GgmlType.Q4_K, headerOnly: true }), true);
    expect(tensor(file, 'blk.0.ffn_down.weight').type).toBe(GgmlType.Q5_0); // rows of 320
    expect(tensor(file, 'blk.0.ffn_up.weight').type).toBe(GgmlType.Q4_K); // rows of 256
  });

  it('omits output.weight when the embeddings are tied', async () => {
    const file = await read(makeSyntheticModel({ ...SMALL, tied: true, headerOnly: true }), true);
    expect(file.tensors.some((t) => t.name === 'output.weight')).toBe(false);
  });

  it('applies llama.cpp Q4_K_M choices: Q6_K output, Q6_K attn_v/ffn_down in the more-bits layers', async () => {
    const file = await read(makeSyntheticModel({ ...SMALL, nLayers: 8, mix: 'Q4_K_M', headerOnly: true }), true);
    // use_more_bits for 8 layers, by hand: i < 1, i >= 7, or (i - 1) % 3 == 2.
    const moreBits = [0, 3, 6, 7];
    expect([...Array(8).keys()].filter((i) => usesMoreBits(i, 8))).toEqual(moreBits);
    for (let i = 0; i < 8; i++) {
      const want = moreBits.includes(i) ? GgmlType.Q6_K : GgmlType.Q4_K;
      expect([i, tensor(file, `blk.${i}.attn_v.weight`).type]).toEqual([i, want]);
      expect([i, tensor(file, `blk.${i}.ffn_down.weight`).type]).toEqual([i, want]);
      expect(tensor(file, `blk.${i}.attn_q.weight`).type).toBe(GgmlType.Q4_K);
      expect(tensor(file, `blk.${i}.ffn_gate.weight`).type).toBe(GgmlType.Q4_K);
      expect(tensor(file, `blk.${i}.attn_norm.weight`).type).toBe(GgmlType.F32);
    }
    expect(tensor(file, 'output.weight').type).toBe(GgmlType.Q6_K);
    expect(tensor(file, 'token_embd.weight').type).toBe(GgmlType.Q4_K);
    expect(meta(file, 'general.file_type')).toBe(15);
  });

  it('applies Q5_K_M choices, and gives tied embeddings the output type', async () => {
    const file = await read(makeSyntheticModel({ ...SMALL, nLayers: 8, mix: 'Q5_K_M', tied: true, headerOnly: true }), true);
    expect(tensor(file, 'token_embd.weight').type).toBe(GgmlType.Q6_K);
    expect(tensor(file, 'blk.1.attn_v.weight').type).toBe(GgmlType.Q5_K);
    expect(tensor(file, 'blk.3.ffn_down.weight').type).toBe(GgmlType.Q6_K);
    expect(meta(file, 'general.file_type')).toBe(17);
  });

  it('builds a 70B-shaped header without generating tensor data', async () => {
    const bytes = makeSyntheticModel({
      nEmbd: 8192,
      nLayers: 80,
      nHeads: 64,
      nKvHeads: 8,
      nFf: 28672,
      nVocab: 128256,
      mix: 'Q4_K_M',
      seed: 1,
      headerOnly: true,
    });
    const file = await read(bytes, true);
    expect(bytes.length).toBeLessThan(8 << 20);
    expect(file.tensors.length).toBe(1 + 80 * 9 + 2);
    const total = file.tensors.reduce((s, t) => s + t.byteSize, 0);
    expect(total).toBeGreaterThan(38e9); // a real Llama-3-70B Q4_K_M is about 42.5 GB
    expect(total).toBeLessThan(45e9);
    expect(tensor(file, 'blk.9.attn_v.weight').type).toBe(GgmlType.Q6_K); // first eighth: more bits
    expect(tensor(file, 'blk.11.attn_v.weight').type).toBe(GgmlType.Q5_K); // the 70B rule, instead of Q4_K
  });

  it('rejects inconsistent shapes', () => {
    expect(() => makeSyntheticModel({ ...SMALL, nHeads: 3 })).toThrow(/multiple of nHeads/);
    expect(() => makeSyntheticModel({ ...SMALL, nKvHeads: 3 })).toThrow(/multiple of nKvHeads/);
    expect(() => makeSyntheticModel({ ...SMALL, nVocab: 100 })).toThrow(/at least/);
  });
});

// llama.cpp must accept the files: load, tokenize, and evaluate a few tokens.
const llamaCpp = await import('node-llama-cpp').catch(() => undefined);
if (!llamaCpp) console.warn('skipping llama.cpp loading of synthetic models: node-llama-cpp is not installed');

describe.skipIf(!llamaCpp)('synthetic models in llama.cpp', () => {
  const dir = mkdtempSync(join(tmpdir(), 'claw-synth-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['F32', { type: GgmlType.F32 }],
    ['Q8_0', { type: GgmlType.Q8_0 }],
    ['Q4_K_M', { mix: 'Q4_K_M' as const }],
  ])('loads a small %s model, tokenizes with its vocabulary and evaluates it', async (name, variant) => {
    const modelPath = join(dir, `synthetic-${name}.gguf`);
    writeFileSync(modelPath, makeSyntheticModel({ ...SMALL, ...variant }));
    const llama = await llamaCpp!.getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    const model = await llama.loadModel({ modelPath });
    try {
      const ids = model.tokenize('Once upon a time', false).map(Number);
      const vocab = syntheticSpmVocab();
      expect(ids).toEqual(['▁Once', '▁upon', '▁a', '▁time'].map((t) => vocab.tokens.indexOf(t)));
      // A character outside the vocabulary goes through the byte-fallback tokens (<0xE2> <0x82> <0xAC> for €),
      // after the "▁" SPM puts in front of the text.
      expect(model.tokenize('€', false).map(Number)).toEqual([vocab.tokens.indexOf('▁'), 3 + 0xe2, 3 + 0x82, 3 + 0xac]);

      const context = await model.createContext({ contextSize: 64 });
      try {
        const seq = context.getSequence();
        // A fixed seed: node-llama-cpp's default is the time, and a first draw of end-of-generation ends the iterator with no value.
        const it = seq.evaluateWithMetadata([1, ...ids] as never[], { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 });
        const step = await it.next();
        await it.return();
        const probs = [...(step.value as { probabilities: Map<number, number> }).probabilities.values()];
        expect(probs.length).toBeGreaterThan(10);
        expect(probs.every((p) => Number.isFinite(p))).toBe(true);
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  });
});
