// Prefill (n > 1) has two matmul kernels: the register-blocked tiled one
// (matmul_tiled.wgsl, the default) and the simple 32 x 32 tile kernel
// (matmul.wgsl, `{ tiledMatmul: false }`). Both must give the CPU's product
// for every GPU weight type at ragged shapes: rows and tokens that are not
// multiples of either kernel's tile, a column count that ends mid-step, two
// tokens only, a bias, and a weight split into parts. Where the adapter has
// shader-f16 (wgpu on lavapipe in the second test lane), the tiled kernel's
// f16 variant (f16 tiles and products, f32 sums) must do the same within f16
// rounding.

import { beforeAll, describe, expect, it } from 'vitest';
import { GGML_TYPES, GgmlType } from '../../src/gguf/types';
import { createGpuOps, uploadF32, uploadWeight, type WebGpuOpsHandle } from '../../src/gpu/ops';
import { MATMUL_TILED } from '../../src/gpu/kernels';
import { weightRowBytes } from '../../src/gpu/weights';
import { dequantize, quantize } from '../../src/quant';
import { gpuTestContext, type GpuTestContext } from './gpu-test-context';
import { DECODE_TYPES, LATTICE_FP4_TERNARY_TYPES } from './helpers/random-blocks';
import { maxRelError, randomFloats } from './helpers/reference';

let t: GpuTestContext;
const variants: Record<'tiled' | 'simple' | 'tiledF16', () => WebGpuOpsHandle> = {
  tiled: () => createGpuOps(t.ctx),
  simple: () => createGpuOps(t.ctx, t.ctx.allocator, { tiledMatmul: false }),
  tiledF16: () => createGpuOps(t.ctx, t.ctx.allocator, { dtype: 'f16' }),
};
const hasF16 = (await gpuTestContext()).ctx.features.f16;

beforeAll(async () => {
  t = await gpuTestContext();
});

function cpuMatmul(w: Float32Array, rows: number, cols: number, x: Float32Array, n: number, bias?: Float32Array): Float32Array {
  const out = new Float32Array(n * rows);
  for (let tok = 0; tok < n; tok++) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += w[r * cols + c] * x[tok * cols + c];
      out[tok * rows + r] = sum + (bias ? bias[r] : 0);
    }
  }
  return out;
}

interface MatmulCase {
  type: GgmlType;
  rows: number;
  cols: number;
  n: number;
  bias?: boolean;
  rowsPerPart?: number;
}

async function matmulCase(variant: keyof typeof variants, c: MatmulCase) {
  const seed = c.type * 1009 + c.rows * 31 + c.cols + c.n;
  const bytes = quantize(c.type, randomFloats(c.rows * c.cols, seed));
  const w = dequantize(c.type, bytes, c.rows * c.cols);
  const x = randomFloats(c.n * c.cols, seed + 1);
  const biasValues = c.bias ? randomFloats(c.rows, seed + 2) : undefined;
  const maxPartBytes = c.rowsPerPart ? c.rowsPerPart * weightRowBytes(c.type, c.cols) + 4 : undefined;
  const ops = variants[variant]();
  const matrix = await uploadWeight(t.ctx, 'w', c.type, c.rows, c.cols, bytes, t.ctx.allocator, { maxPartBytes });
  const bias = biasValues ? await uploadF32(t.ctx, 'bias', biasValues, t.ctx.allocator) : undefined;
  const xBuf = await t.act(x);
  const out = await t.act(c.n * c.rows);
  ops.matmul(matrix, xBuf, out, c.n, bias);
  const got = await ops.read(out, 0, c.n * c.rows);
  for (const p of matrix.parts) t.ctx.allocator.free(p.buffer);
  for (const b of [xBuf.buffer, out.buffer, bias]) if (b) t.ctx.allocator.free(b);
  return { got, want: cpuMatmul(w, c.rows, c.cols, x, c.n, biasValues), parts: matrix.parts.length };
}

/**
 * Columns per type: 36 for the per-element types (ends mid-step: a step of
 * the tiled kernel is 32 columns), 3 blocks for the 32-element quants, one
 * super-block for the K-quants (their rows are always whole steps).
 */
function raggedCols(type: GgmlType): number {
  const blockSize = GGML_TYPES.get(type)?.blockSize ?? 1;
  return blockSize === 1 ? 36 : blockSize === 32 ? 96 : blockSize;
}

const TILED_ONLY = [GgmlType.IQ3_S, GgmlType.IQ2_XXS, GgmlType.IQ1_M, GgmlType.NVFP4, GgmlType.TQ1_0];

// Sums of up to 256 products of ~unit values: f32 summation order moves them
// by ~1e-6 relative; one wrong weight or token would move them by ~1e-2.
const TOLERANCE = 1e-4;

describe('tiled matmul tile shape', () => {
  it('computes 4 x 4 outputs per thread and fits the 16 KiB of workgroup memory every WebGPU device has', () => {
    expect(MATMUL_TILED.ROWS % 4).toBe(0);
    expect(MATMUL_TILED.TOKENS % 4).toBe(0);
    expect((MATMUL_TILED.ROWS + MATMUL_TILED.TOKENS) * MATMUL_TILED.K4 * 16).toBeLessThanOrEqual(16384);
    expect((MATMUL_TILED.ROWS / 4) * (MATMUL_TILED.TOKENS / 4)).toBeLessThanOrEqual(256);
  });
});

describe.each(['tiled', 'simple'] as const)('prefill matmul (%s kernel)', (variant) => {
  // Both kernels read weights through decode4, checked bit for bit per type in decode-exact.test.ts; of the
  // issue-12 types five run here (tiled kernel): IQ3_S, IQ2_XXS, IQ1_M (the largest grid; with the grids as WGSL
  // arrays this kernel took over 120 s to compile on naga + lavapipe, from the grid table 0.3 s), NVFP4
  // (64-element blocks), TQ1_0 (54 bytes). The end-to-end conformance prefills the rest.
  const types = DECODE_TYPES.filter((type) => !LATTICE_FP4_TERNARY_TYPES.includes(type) || (variant === 'tiled' && TILED_ONLY.includes(type))).map((type) => ({ type, name: GgmlType[type] }));

  it.each(types)('matches the CPU at rows and tokens past a tile edge ($name)', async ({ type }) => {
    // 70 rows: one full 64-row tile + 6; 37 tokens: one full 32-token tile + 5.
    const { got, want } = await matmulCase(variant, { type, rows: 70, cols: raggedCols(type), n: 37 });
    expect(maxRelError(got, want)).toBeLessThan(TOLERANCE);
  });

  // Parts and bias do not depend on the weight type's decoding: one type per row layout (per-element,
  // 32-element blocks, 256-element super-blocks, a lookup table), not every type (CI time).
  const PARTS_TYPES = [GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.IQ4_NL];
  it.each(types.filter(({ type }) => PARTS_TYPES.includes(type)))('matches the CPU for two tokens, with a bias, on a weight split into parts of 5 rows ($name)', async ({ type }) => {
    const { got, want, parts } = await matmulCase(variant, { type, rows: 13, cols: raggedCols(type), n: 2, bias: true, rowsPerPart: 5 });
    expect(parts).toBe(3);
    expect(maxRelError(got, want)).toBeLessThan(TOLERANCE);
  });
});

// Each weight and activation is rounded to f16 (2^-11 relative) and each
// 4-term dot is summed in f16 before the f32 sum: over 256 columns of
// ~unit products that is an error of about 4e-3 per output, and the largest
// of ~2600 outputs reaches ~1e-2 (measured on lavapipe: 4e-3 .. 9.9e-3).
// A wrong block, row or token moves outputs by ~0.1 or more.
const F16_TOLERANCE = 2.5e-2;

describe.skipIf(!hasF16)('prefill matmul on the f16 path (tiled kernel, f16 tiles, f32 sums)', () => {
  const types = DECODE_TYPES.filter((type) => !LATTICE_FP4_TERNARY_TYPES.includes(type) || TILED_ONLY.includes(type)).map((type) => ({ type, name: GgmlType[type] }));

  it.each(types)('matches the CPU within f16 rounding at rows and tokens past a tile edge ($name)', async ({ type }) => {
    const { got, want } = await matmulCase('tiledF16', { type, rows: 70, cols: raggedCols(type), n: 37 });
    expect(maxRelError(got, want)).toBeLessThan(F16_TOLERANCE);
  });

  it('matches the CPU for two tokens, with a bias, on a weight split into parts, and really rounds to f16', async () => {
    const c = { type: GgmlType.F32, rows: 13, cols: 256, n: 2, bias: true, rowsPerPart: 5 };
    const f16 = await matmulCase('tiledF16', c);
    const f32 = await matmulCase('tiled', c);
    expect(f16.parts).toBe(3);
    expect(maxRelError(f16.got, f16.want)).toBeLessThan(F16_TOLERANCE);
    // The f32 kernel is exact to ~1e-6: a difference this size is f16 arithmetic at work.
    expect(maxRelError(f16.got, f32.got)).toBeGreaterThan(1e-5);
  });
});
