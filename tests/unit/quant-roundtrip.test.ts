import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { GGML_TYPES, GgmlType } from '../../src/gguf/types';
import { dequantize, dequantizeRows, quantize, quantizedByteLength, QUANT_TYPES, QUANT_ERROR_BOUNDS } from '../../src/quant';

/** Gaussian values from a small deterministic generator (mulberry32 + Box-Muller). */
function gaussian(n: number, seed: number, sigma: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

function relativeRmsError(x: Float32Array, y: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < x.length; i++) {
    err += (x[i] - y[i]) ** 2;
    ref += x[i] ** 2;
  }
  return Math.sqrt(err / ref);
}

function thrown(f: () => unknown): ClawError | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ClawError) return e;
    throw e;
  }
  return undefined;
}

const TYPES = QUANT_TYPES.map((t) => [GgmlType[t], t] as const);

describe('quantize then dequantize', () => {
  it('has an error bound for every type it encodes', () => {
    expect(QUANT_TYPES.filter((t) => !QUANT_ERROR_BOUNDS.has(t))).toEqual([]);
  });

  it.each(TYPES)('%s stays within its relative RMS error bound on Gaussian data', (_name, type) => {
    const bound = QUANT_ERROR_BOUNDS.get(type)!;
    for (const [seed, sigma] of [
      [1, 0.02],
      [2, 1],
      [3, 0.1],
    ]) {
      const x = gaussian(256 * 16, seed * 31 + type, sigma);
      const bytes = quantize(type, x);
      expect(bytes.length).toBe(quantizedByteLength(type, x.length));
      const error = relativeRmsError(x, dequantize(type, bytes, x.length));
      if (bound === 0) expect(error).toBe(0);
      else expect(error).toBeLessThan(bound);
    }
  });

  it.each(TYPES)('%s turns an all-zero input into blocks that decode to zeros', (_name, type) => {
    const x = new Float32Array(512);
    const y = dequantize(type, quantize(type, x), x.length);
    expect(y.every((v) => v === 0)).toBe(true);
  });

  it.each(TYPES)('%s keeps a constant block close to its value', (_name, type) => {
    const x = new Float32Array(256).fill(0.75);
    const y = dequantize(type, quantize(type, x), x.length);
    const bound = Math.max(QUANT_ERROR_BOUNDS.get(type)!, 0.001);
    expect(relativeRmsError(x, y)).toBeLessThan(bound);
  });

  it.each(TYPES.filter(([, t]) => GGML_TYPES.get(t)!.blockSize > 1))(
    '%s rejects a length that is not a whole number of blocks',
    (_name, type) => {
      const blockSize = GGML_TYPES.get(type)!.blockSize;
      const e = thrown(() => quantize(type, new Float32Array(blockSize + 1)));
      expect(e?.code).toBe('clw-bad-request');
      const e2 = thrown(() => dequantize(type, new Uint8Array(1024), blockSize - 1));
      expect(e2?.code).toBe('clw-bad-request');
    },
  );

  it('rejects data shorter than the element count needs', () => {
    const e = thrown(() => dequantize(GgmlType.Q4_K, new Uint8Array(143), 256));
    expect(e?.code).toBe('clw-bad-request');
    expect(e?.details).toMatchObject({ needed: 144, available: 143 });
  });

  it.each([GgmlType.Q8_1, GgmlType.Q8_K, 999 as GgmlType])(
    'rejects type %i, which has no CPU reference, with clw-quant-unsupported',
    (type) => {
      expect(thrown(() => dequantize(type, new Uint8Array(1024), 256))?.code).toBe('clw-quant-unsupported');
      expect(thrown(() => quantize(type, new Float32Array(256)))?.code).toBe('clw-quant-unsupported');
    },
  );
});

describe('dequantizeRows', () => {
  it('decodes just the requested rows of a matrix', () => {
    const rowLength = 512;
    const x = gaussian(rowLength * 5, 99, 0.1);
    const bytes = quantize(GgmlType.Q4_K, x);
    const all = dequantize(GgmlType.Q4_K, bytes, x.length);
    const rows = dequantizeRows(GgmlType.Q4_K, bytes, rowLength, 2, 2);
    expect(rows).toEqual(all.subarray(2 * rowLength, 4 * rowLength));
  });

  it('rejects rows past the end of the data', () => {
    const bytes = quantize(GgmlType.Q8_0, new Float32Array(64));
    expect(thrown(() => dequantizeRows(GgmlType.Q8_0, bytes, 32, 1, 2))?.code).toBe('clw-bad-request');
    expect(thrown(() => dequantizeRows(GgmlType.Q8_0, bytes, 32, -1, 1))?.code).toBe('clw-bad-request');
  });
});
