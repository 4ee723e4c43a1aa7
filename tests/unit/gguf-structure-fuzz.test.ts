// The structure-aware fuzzer, a fixed-seed slice for CI (scripts/fuzz-gguf.ts
// runs 100,000 cases): counts, lengths, value and tensor types, dimensions,
// offsets, the alignment and the version rewritten by role. Only a parsed
// file or clw-model-invalid naming a field; no read over 64 MiB.

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { mutateStructure, readCase, structureFields, writerModel, type FieldRole } from '../fixtures/gguf-structure-fuzz';
import { STORIES_260K, TINYSTORIES_Q8, haveModels, mulberry32 } from './gguf-helpers';

const MAX_READ_BYTES = 64 << 20;

async function slice(original: Uint8Array, cases: number, seed: number) {
  const fields = structureFields(original);
  const roles = new Set<FieldRole>(fields.map((f) => f.role));
  const rng = mulberry32(seed);
  const results = new Map<string, number>();
  for (let i = 0; i < cases; i++) {
    const outcome = await readCase(mutateStructure(rng, original, fields));
    expect(outcome.largestRead).toBeLessThanOrEqual(MAX_READ_BYTES);
    results.set(outcome.result, (results.get(outcome.result) ?? 0) + 1);
  }
  return { roles, results };
}

describe('readGguf under structure-aware fuzzing (fixed seeds)', () => {
  it('finds every structural field of a writer-made file, the alignment value included', () => {
    const roles = new Set(structureFields(writerModel()).map((f) => f.role));
    for (const role of ['version', 'tensorCount', 'kvCount', 'keyLength', 'valueType', 'stringLength', 'arrayType', 'arrayCount', 'nDims', 'dim', 'tensorType', 'tensorOffset', 'alignment'] as FieldRole[]) {
      expect(roles.has(role), role).toBe(true);
    }
  });

  it('1,000 cases of a writer-made file: only typed errors, many distinct fields named', async () => {
    const { results } = await slice(writerModel(), 1000, 0x57a0001);
    expect(results.size).toBeGreaterThan(12);
    expect(results.get('parsed') ?? 0).toBeLessThan(1000);
  });

  it.skipIf(!haveModels)('1,000 cases each of stories260K and TinyStories-656K-Q8_0', async () => {
    for (const [file, seed] of [
      [STORIES_260K, 0x57a0002],
      [TINYSTORIES_Q8, 0x57a0003],
    ] as const) {
      const { results } = await slice(new Uint8Array(await readFile(file)), 1000, seed);
      expect(results.size).toBeGreaterThan(10);
    }
  });
});
