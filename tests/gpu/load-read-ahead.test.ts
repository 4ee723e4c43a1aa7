// The loader reads the next tensors while one uploads (src/gguf/read-ahead.ts),
// through the library's createEngine: with the default allowance several
// reads are in flight at once and the model is the same; readAheadBytes 0
// reads one at a time, and a negative value is refused. Tensors that follow
// each other in the file share a read (readChunkBytes); 0 reads each alone.

import { describe, expect, it } from 'vitest';
import { READ_AHEAD_BYTES } from '../../src/gguf/read-ahead';
import { readGguf } from '../../src/gguf';
import { BytesSource } from '../../src/gguf/source';
import type { ByteSource } from '../../src/gguf/types';
import { ensureSwiftShaderFallback } from '../../src/gpu/gpu-node';
import { createEngine } from '../../src/index-node';
import { GgmlType } from '../../src/gguf/types';
import { makeSyntheticModel } from '../fixtures/synthetic-model';

const model = makeSyntheticModel({ arch: 'llama', nEmbd: 64, nFf: 128, nLayers: 2, nHeads: 2, nKvHeads: 2, nVocab: 512, seed: 3, ctxLength: 64, type: GgmlType.Q8_0 });
const { tensors } = await readGguf(new BytesSource(model, 'm.gguf'));
const dataStart = Math.min(...tensors.map((t) => t.fileOffset));

/** A source whose reads settle a few milliseconds late, counting how many were pending at once and the most bytes pending. */
function countingSource() {
  const inner = new BytesSource(model, 'm.gguf');
  let pending = 0;
  let pendingBytes = 0;
  const seen = { maxPending: 0, maxPendingBytes: 0, reads: 0, tensorReads: 0 };
  const source: ByteSource = {
    size: inner.size,
    name: inner.name,
    read: async (offset, length) => {
      pending++;
      pendingBytes += length;
      seen.reads++;
      // The header's reads come before the first tensor.
      if (offset >= dataStart) seen.tensorReads++;
      seen.maxPending = Math.max(seen.maxPending, pending);
      seen.maxPendingBytes = Math.max(seen.maxPendingBytes, pendingBytes);
      await new Promise((r) => setTimeout(r, 2));
      pending--;
      pendingBytes -= length;
      return inner.read(offset, length);
    },
  };
  return { source, seen };
}

describe('read-ahead while loading', () => {
  ensureSwiftShaderFallback();

  it('reads several reads ahead by default, one at a time with readAheadBytes 0, neighbouring tensors together, and loads the same model', { timeout: 120_000 }, async () => {
    const ahead = countingSource();
    const api = await createEngine({ model: ahead.source, ctxSize: 32 });
    const one = countingSource();
    const serial = await createEngine({ model: one.source, ctxSize: 32, readAheadBytes: 0, readChunkBytes: 0 });
    const joined = countingSource();
    const together = await createEngine({ model: joined.source, ctxSize: 32, readChunkBytes: 8192 });
    try {
      // readChunkBytes 0: a read per tensor.
      const tensorReads = one.seen.tensorReads;
      expect(tensorReads).toBe(tensors.length);
      // Reads of up to 8 KiB: several in flight at once with the default allowance, one with none.
      expect(joined.seen.maxPending).toBeGreaterThan(2);
      expect(one.seen.maxPending).toBe(1);
      // This model's tensors are all far below the default chunk: the file's tensors in a few reads.
      expect(ahead.seen.tensorReads).toBeLessThan(4);
      // In chunks of 8 KiB: more reads, of neighbours (a norm and a matrix) or of one tensor.
      expect(joined.seen.tensorReads).toBeGreaterThan(4);
      expect(joined.seen.tensorReads).toBeLessThan(tensorReads);
      expect(ahead.seen.maxPendingBytes).toBeLessThanOrEqual(READ_AHEAD_BYTES + model.byteLength);
      const prompt = { prompt: 'hello', max_tokens: 4, temperature: 0 };
      const text = (await serial.completions.create(prompt)).choices[0].text;
      expect((await api.completions.create(prompt)).choices[0].text).toBe(text);
      expect((await together.completions.create(prompt)).choices[0].text).toBe(text);
    } finally {
      await Promise.all([api.unload(), serial.unload(), together.unload()]);
    }
    await expect(createEngine({ model: countingSource().source, ctxSize: 32, readAheadBytes: -1 })).rejects.toMatchObject({ code: 'clw-bad-request' });
    await expect(createEngine({ model: countingSource().source, ctxSize: 32, readChunkBytes: -1 })).rejects.toMatchObject({ code: 'clw-bad-request' });
  });
});
