// Typed getters over one architecture's GGUF metadata keys (`<arch>.<name>`):
// every failure is a clw-model-invalid naming the key.

import { ClawError, modelInvalid } from '../errors';
import type { GgufFile, GgufMetadataEntry } from '../gguf/types';

export class MetadataReader {
  constructor(
    readonly file: GgufFile,
    readonly arch: string,
  ) {}

  key(name: string): string {
    return `${this.arch}.${name}`;
  }

  entry(name: string): GgufMetadataEntry | undefined {
    return this.file.metadata.get(this.key(name));
  }

  /** A number, or `fallback` when absent (absent and no fallback: missing key). */
  num(name: string, fallback?: number): number {
    const key = this.key(name);
    const e = this.entry(name);
    if (!e) {
      if (fallback !== undefined) return fallback;
      throw modelInvalid(key, 0, 'required metadata key is missing', { key });
    }
    const v = typeof e.value === 'bigint' ? Number(e.value) : e.value;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw modelInvalid(key, 0, `expected a number, found ${describe(v)}`, { key });
    return v;
  }

  positiveInt(name: string, fallback?: number): number {
    const v = this.num(name, fallback);
    if (!Number.isInteger(v) || v <= 0) throw modelInvalid(this.key(name), 0, `expected a positive integer, found ${v}`, { key: this.key(name) });
    return v;
  }

  positive(name: string, fallback?: number): number {
    const v = this.num(name, fallback);
    if (!(v > 0)) throw modelInvalid(this.key(name), 0, `expected a positive number, found ${v}`, { key: this.key(name) });
    return v;
  }

  /** A number or an array of numbers or booleans (one per layer; a flag reads as 0 or 1), as `nLayers` values; `fallback` when absent. */
  perLayer(name: string, nLayers: number, fallback: number): number[] {
    const e = this.entry(name);
    if (!e || typeof e.value !== 'object' || e.value === null || !('values' in e.value)) return new Array<number>(nLayers).fill(this.num(name, fallback));
    const values = e.value.values.map((v) => (typeof v === 'bigint' || typeof v === 'boolean' ? Number(v) : v));
    if (values.length !== nLayers || !values.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
      throw this.invalid(name, `expected ${nLayers} non-negative integers (one per layer)`);
    }
    return values as number[];
  }

  /**
   * A per-layer key (llama.cpp's get_key_or_arr): a number, or an array of
   * one per layer. Returns the largest; arrays whose values differ are only
   * accepted where the architecture has per-layer shapes.
   */
  widest(name: string, nLayers: number, perLayer: boolean, fallback?: number): number {
    const v = this.entry(name)?.value;
    if (!(v && typeof v === 'object' && 'values' in v)) return this.positiveInt(name, fallback);
    const values = this.perLayer(name, nLayers, 0);
    if (!values.every((x) => x > 0)) throw this.invalid(name, 'expected positive integers');
    if (!perLayer && values.some((x) => x !== values[0])) throw this.invalid(name, `per-layer values are not supported for ${this.arch}`);
    return Math.max(...values);
  }

  str(name: string): string | undefined {
    const e = this.entry(name);
    if (!e) return undefined;
    if (typeof e.value !== 'string') throw modelInvalid(this.key(name), 0, `expected a string, found ${describe(e.value)}`, { key: this.key(name) });
    return e.value;
  }

  invalid(name: string, problem: string): ClawError {
    return modelInvalid(this.key(name), 0, problem, { key: this.key(name) });
  }
}

function describe(v: unknown): string {
  if (typeof v === 'object' && v !== null && 'values' in v) return 'an array';
  return typeof v;
}
