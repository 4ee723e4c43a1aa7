// Shared helpers for the GGUF tests: where the shared models live, byte
// sources that record what the reader asks for, and the malformed-file check.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ClawError } from '../../src/errors';
import type { ByteSource } from '../../src/gguf/types';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const modelsDir = path.resolve(repoRoot, '../shared/models');
export const STORIES_260K = path.join(modelsDir, 'stories260K.gguf');
export const TINYSTORIES_Q8 = path.join(modelsDir, 'TinyStories-656K-Q8_0.gguf');
export const haveModels = existsSync(STORIES_260K) && existsSync(TINYSTORIES_Q8);
export const noModelsReason = `shared models not found in ${modelsDir}: skipping the tests that read real GGUF files`;

/** Wraps a source and records every read: total bytes, count and largest request. */
export class RecordingSource implements ByteSource {
  bytesRead = 0;
  reads = 0;
  largestRead = 0;

  constructor(private readonly inner: ByteSource) {}

  get size(): number {
    return this.inner.size;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    this.bytesRead += length;
    this.reads++;
    this.largestRead = Math.max(this.largestRead, length);
    return this.inner.read(offset, length);
  }
}

/** A huge virtual file: `head` at the start, zeros after it, nothing allocated beyond what is read. */
export class SparseSource implements ByteSource {
  constructor(
    private readonly head: Uint8Array,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new RangeError(`read ${offset}+${length} outside ${this.size}`);
    const out = new Uint8Array(length);
    if (offset < this.head.length) out.set(this.head.subarray(offset, Math.min(this.head.length, offset + length)));
    return out;
  }
}

/** Awaits `p` and checks it failed with clw-model-invalid naming `field` at byte `offset`. */
export async function expectModelInvalid(p: Promise<unknown>, field: string, offset: number): Promise<ClawError> {
  const outcome = await p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  if (outcome.ok) throw new Error(`expected clw-model-invalid at ${field}@${offset}, but it succeeded`);
  const e = outcome.e;
  expect(e).toBeInstanceOf(ClawError);
  const err = e as ClawError;
  expect({ code: err.code, field: err.details.field, offset: err.details.offset }).toEqual({ code: 'clw-model-invalid', field, offset });
  return err;
}

/** Little-endian patches on a copy of a file. */
export function patched(bytes: Uint8Array, edit: (view: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer));
  return copy;
}

/** mulberry32: a tiny seeded PRNG so the fuzz runs are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
