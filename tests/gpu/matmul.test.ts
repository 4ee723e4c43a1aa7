// matvec (n = 1) and tiled matmul (n > 1) for every GPU weight type, against
// a CPU product over the CPU-dequantized weights (src/quant).

import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { uploadWeight, uploadF32 } from '../../src/gpu/ops';
import { dequantize, quantize } from '../../src/quant';
import { gpuTestContext } from './gpu-test-context';
import { maxRelError, randomFloats } from './helpers/reference';

function cpuMatmul(w: Float32Array, rows: number, cols: number, x: Float32Array, n: number, bias?: Float32Array): Float32Array {
  const out = new Float32Array(n * rows);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += w[r * cols + c] * x[t * cols + c];
      out[t * rows + r] = sum + (bias ? bias[r] : 0);
    }
  }
  return out;
}

async function runCase(type: GgmlType, rows: number, cols: number, n: number, opts: { maxPartBytes?: number; bias?: boolean; seed?: number } = {}) {
  const t = await gpuTestContext();
  const seed = opts.seed ?? rows * 7919 + cols * 31 + n;
  const bytes = quantize(type, randomFloats(rows * cols, seed));
  const w = dequantize(type, bytes, rows * cols);
  const x = randomFloats(n * cols, seed + 1);
  const biasValues = opts.bias ? randomFloats(rows, seed + 2) : undefined;

  const matrix = await uploadWeight(t.ctx, 'w', type, rows, cols, bytes, t.ctx.allocator, { maxPartBytes: opts.maxPartBytes });
  const bias = biasValues ? await uploadF32(t.ctx, 'bias', biasValues, t.ctx.allocator) : undefined;
  const xBuf = await t.act(x);
  const out = await t.act(n * rows);
  t.ops.begin();
  t.ops.matmul(matrix, xBuf, out, n, bias);
  const got = await t.read(out, 0, n * rows);

  for (const p of matrix.parts) t.ctx.allocator.free(p.buffer);
  for (const b of [xBuf.buffer, out.buffer, bias]) if (b) t.ctx.allocator.free(b);
  return { got, want: cpuMatmul(w, rows, cols, x, n, biasValues), parts: matrix.parts.length };
}

const TYPES = [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0];

describe.each(TYPES)('matmul with weight type %s', (type) => {
  const name = GgmlType[type];

  it(`matvec of one token matches the CPU (${name}, rows not divisible by rows-per-workgroup)`, async () => {
    const { got, want } = await runCase(type, 37, 96, 1);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it(`matvec with a single 32-column row (${name})`, async () => {
    const { got, want } = await runCase(type, 1, 32, 1);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it(`tiled matmul of a batch matches the CPU at ragged tile edges (${name})`, async () => {
    const { got, want } = await runCase(type, 45, 160, 35);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it(`matvec and matmul add the bias (${name})`, async () => {
    for (const n of [1, 3]) {
      const { got, want } = await runCase(type, 20, 64, n, { bias: true });
      expect(maxRelError(got, want)).toBeLessThan(1e-4);
    }
  });

  it(`weights split into several parts give the same product (${name})`, async () => {
    // About 5 rows per part: 11 rows -> 3 parts, for both kernels.
    const rowBytes = type === GgmlType.F32 ? 256 : type === GgmlType.F16 ? 128 : type === GgmlType.Q8_0 ? 68 : 36;
    for (const n of [1, 4]) {
      const { got, want, parts } = await runCase(type, 11, 64, n, { maxPartBytes: rowBytes * 5 + 4 });
      expect(parts).toBe(3);
      expect(maxRelError(got, want)).toBeLessThan(1e-4);
    }
  });
});
