// Fuzzing the reader with damaged copies of real models: whatever the bytes,
// readGguf returns a consistent GgufFile or throws clw-model-invalid; it never
// throws anything else and never asks for a huge read (time per case: scripts/fuzz-gguf.ts).

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { BytesSource, GgmlType, GgufValueType, arrayValue, kv, readGguf, writeGguf, type GgufFile } from '../../src/gguf';
import { RecordingSource, STORIES_260K, TINYSTORIES_Q8, haveModels, mulberry32 } from './gguf-helpers';

const MAX_READ_BYTES = 64 << 20;
const MAX_HEAP_GROWTH = 256 << 20;

type Rng = () => number;
const randInt = (rng: Rng, n: number) => Math.floor(rng() * n);

/** Values that tend to break length and count fields. */
const INTERESTING_U64 = [0n, 1n, 2n, 31n, 32n, 255n, 0x7fffffffn, 0xffffffffn, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

/**
 * Where to damage: mostly the header, and within it mostly its two dense
 * ends (the header counts and first metadata entries, and the tensor table),
 * since the middle of a real header is vocabulary text.
 */
function pickRegion(rng: Rng, size: number, headerEnd: number): [number, number] {
  const header = Math.min(size, Math.max(24, headerEnd));
  const r = rng();
  if (r < 0.3) return [0, Math.min(header, 1024)];
  if (r < 0.6) return [Math.max(0, header - 4096), header];
  if (r < 0.85) return [0, header];
  return [0, size];
}

/** One damaged copy: flipped or overwritten bytes, boundary values in length fields, moved runs, or a truncation. */
function mutate(rng: Rng, original: Uint8Array, headerEnd: number): Uint8Array {
  const [lo, hi] = pickRegion(rng, original.length, headerEnd);
  const pos = () => lo + randInt(rng, hi - lo);
  const kind = randInt(rng, 5);
  if (kind === 0) return original.subarray(0, pos() + (rng() < 0.1 ? 1 : 0));
  const bytes = original.slice();
  const view = new DataView(bytes.buffer);
  const edits = 1 + randInt(rng, 6);
  for (let e = 0; e < edits; e++) {
    const at = pos();
    if (kind === 1) {
      bytes[at] ^= 1 << randInt(rng, 8);
    } else if (kind === 2) {
      bytes[at] = randInt(rng, 256);
    } else if (kind === 3 && at + 8 <= bytes.length) {
      const v = INTERESTING_U64[randInt(rng, INTERESTING_U64.length)];
      if (rng() < 0.5) view.setBigUint64(at, v, true);
      else view.setUint32(at, Number(v & 0xffffffffn), true);
    } else if (kind === 4) {
      // Copy a run of bytes elsewhere: shifts whole fields out of place.
      const len = 1 + randInt(rng, 64);
      const from = pos();
      bytes.copyWithin(at, from, from + len);
    }
  }
  return bytes;
}

/** What must hold for any file the reader accepts. */
function checkConsistent(file: GgufFile, size: number): void {
  expect(file.fileSize).toBe(size);
  expect(file.alignment & (file.alignment - 1)).toBe(0);
  expect(file.tensorDataOffset % file.alignment).toBe(0);
  expect(new Set(file.tensors.map((t) => t.name)).size).toBe(file.tensors.length);
  for (const t of file.tensors) {
    expect(t.shape.length).toBeGreaterThanOrEqual(1);
    expect(t.shape.length).toBeLessThanOrEqual(4);
    expect(Number.isSafeInteger(t.elements) && t.elements > 0).toBe(true);
    expect(t.offset % file.alignment).toBe(0);
    expect(t.fileOffset + t.byteSize).toBeLessThanOrEqual(size);
  }
}

interface FuzzSummary {
  parsed: number;
  rejected: number;
  fields: Set<string>;
}

async function fuzz(original: Uint8Array, iterations: number, seed: number): Promise<FuzzSummary> {
  const clean = await readGguf(new BytesSource(original));
  const rng = mulberry32(seed);
  const summary: FuzzSummary = { parsed: 0, rejected: 0, fields: new Set() };
  const heapStart = process.memoryUsage().heapUsed;
  let heapPeak = heapStart;

  for (let i = 0; i < iterations; i++) {
    const bytes = mutate(rng, original, clean.tensorDataOffset);
    const source = new RecordingSource(new BytesSource(bytes));
    let outcome: GgufFile | unknown;
    try {
      outcome = await readGguf(source);
    } catch (e) {
      outcome = e;
    }
    expect(source.largestRead).toBeLessThanOrEqual(MAX_READ_BYTES);

    if (outcome instanceof Error) {
      if (!(outcome instanceof ClawError) || outcome.code !== 'clw-model-invalid') {
        throw new Error(`iteration ${i} (seed ${seed}): expected clw-model-invalid, got ${String(outcome)}`, { cause: outcome });
      }
      const { field, offset } = outcome.details as { field: unknown; offset: unknown };
      expect(typeof field === 'string' && field.length > 0).toBe(true);
      expect(Number.isSafeInteger(offset) && (offset as number) >= 0 && (offset as number) <= bytes.length).toBe(true);
      summary.rejected++;
      summary.fields.add(field as string);
    } else {
      checkConsistent(outcome as GgufFile, bytes.length);
      summary.parsed++;
    }
    if (i % 100 === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }

  expect(heapPeak - heapStart).toBeLessThan(MAX_HEAP_GROWTH);
  return summary;
}

/** A writer-made model with every value type and nested arrays: the fallback corpus and extra coverage. */
function syntheticModel(): Uint8Array {
  const vocab = Array.from({ length: 300 }, (_, i) => `tok${i}`);
  return writeGguf({
    metadata: [
      kv.str('general.architecture', 'llama'),
      kv.u32('llama.block_count', 1),
      kv.u64('general.parameter_count', 12345n),
      kv.i64('t.i64', -5n),
      kv.f64('t.f64', 0.5),
      kv.bool('t.bool', true),
      kv.arr('t.u16', GgufValueType.UINT16, [1, 2, 3]),
      kv.arr('t.nested', GgufValueType.ARRAY, [arrayValue(GgufValueType.STRING, ['a', 'b']), arrayValue(GgufValueType.ARRAY, [arrayValue(GgufValueType.INT8, [1])])]),
      kv.strArr('tokenizer.ggml.tokens', vocab),
      kv.f32Arr('tokenizer.ggml.scores', vocab.map((_, i) => -i)),
      kv.i32Arr('tokenizer.ggml.token_type', vocab.map(() => 1)),
    ],
    tensors: [
      { name: 'token_embd.weight', shape: [64, 300], type: GgmlType.Q8_0 },
      { name: 'output_norm.weight', shape: [64], type: GgmlType.F32 },
      { name: 'blk.0.ffn_down.weight', shape: [256, 4], type: GgmlType.Q4_K },
      { name: 'blk.0.attn_norm.weight', shape: [64], type: GgmlType.F16 },
    ],
  });
}

describe('readGguf under fuzzing (fixed seeds)', () => {
  const perModel = haveModels ? 1250 : 2500;

  it.skipIf(!haveModels)(`survives ${perModel} damaged or truncated copies of stories260K.gguf`, async () => {
    const s = await fuzz(new Uint8Array(await readFile(STORIES_260K)), perModel, 0x5eed0001);
    expect(s.parsed).toBeGreaterThan(0);
    expect(s.rejected).toBeGreaterThan(perModel / 4);
    expect(s.fields.size).toBeGreaterThan(10);
  });

  it.skipIf(!haveModels)(`survives ${perModel} damaged or truncated copies of TinyStories-656K-Q8_0.gguf`, async () => {
    const s = await fuzz(new Uint8Array(await readFile(TINYSTORIES_Q8)), perModel, 0x5eed0002);
    expect(s.parsed).toBeGreaterThan(0);
    expect(s.rejected).toBeGreaterThan(perModel / 4);
    expect(s.fields.size).toBeGreaterThan(10);
  });

  it(`survives ${haveModels ? 500 : 2500} damaged or truncated copies of a writer-made model with every value type`, async () => {
    const n = haveModels ? 500 : 2500;
    const s = await fuzz(syntheticModel(), n, 0x5eed0003);
    expect(s.parsed).toBeGreaterThan(0);
    expect(s.rejected).toBeGreaterThan(n / 4);
    expect(s.fields.size).toBeGreaterThan(10);
  });
});
