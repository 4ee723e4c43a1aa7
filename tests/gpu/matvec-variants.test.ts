// The decode-path kernels come in two families: subgroup kernels (no
// workgroup barriers) where the device has `subgroups`, and the
// shared-memory kernels every device runs. Both must give the CPU's result
// on edge shapes. SwiftShader has subgroups (of 4 lanes), so both families
// run here: the default ops pick the subgroup one, `{ subgroups: false }`
// forces the fallback.

import { beforeAll, describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { createGpuOps, uploadF32, uploadWeight, type WebGpuOpsHandle } from '../../src/gpu/ops';
import { dequantize, quantize } from '../../src/quant';
import { runtimeGpuName } from '../../src/gpu/gpu-node';
import { gpuTestContext, type GpuTestContext } from './gpu-test-context';
import { maxRelError, randomFloats } from './helpers/reference';

let t: GpuTestContext;
const variants: Record<'subgroup' | 'fallback', () => WebGpuOpsHandle> = {
  subgroup: () => createGpuOps(t.ctx),
  fallback: () => createGpuOps(t.ctx, t.ctx.allocator, { subgroups: false }),
};

beforeAll(async () => {
  t = await gpuTestContext();
});

function cpuMatvec(w: Float32Array, rows: number, cols: number, x: Float32Array, bias?: Float32Array): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += w[r * cols + c] * x[c];
    out[r] = sum + (bias ? bias[r] : 0);
  }
  return out;
}

interface MatvecCase {
  type: GgmlType;
  rows: number;
  cols: number;
  bias?: boolean;
  maxPartBytes?: number;
  maxGroupsPerDim?: number;
}

async function matvecCase(variant: keyof typeof variants, c: MatvecCase) {
  const seed = c.rows * 7919 + c.cols * 31 + c.type;
  const bytes = quantize(c.type, randomFloats(c.rows * c.cols, seed));
  const w = dequantize(c.type, bytes, c.rows * c.cols);
  const x = randomFloats(c.cols, seed + 1);
  const biasValues = c.bias ? randomFloats(c.rows, seed + 2) : undefined;
  let ops = variants[variant]();
  if (c.maxGroupsPerDim) {
    const ctx = { ...t.ctx, limits: { ...t.ctx.limits, maxComputeWorkgroupsPerDimension: c.maxGroupsPerDim } };
    ops = createGpuOps(ctx, t.ctx.allocator, { subgroups: variant === 'subgroup' });
  }
  const matrix = await uploadWeight(t.ctx, 'w', c.type, c.rows, c.cols, bytes, t.ctx.allocator, { maxPartBytes: c.maxPartBytes });
  const bias = biasValues ? await uploadF32(t.ctx, 'bias', biasValues, t.ctx.allocator) : undefined;
  const xBuf = await t.act(x);
  const out = await t.act(c.rows);
  ops.matmul(matrix, xBuf, out, 1, bias);
  const got = await ops.read(out, 0, c.rows);
  for (const p of matrix.parts) t.ctx.allocator.free(p.buffer);
  for (const b of [xBuf.buffer, out.buffer, bias]) if (b) t.ctx.allocator.free(b);
  return { got, want: cpuMatvec(w, c.rows, c.cols, x, biasValues), parts: matrix.parts.length, ops };
}

describe('kernel family choice', () => {
  it('picks the subgroup kernels on a device with subgroups, and the fallback when told', () => {
    // SwiftShader (Dawn, the main lane) has subgroups; without them this
    // suite would test the fallback twice. lavapipe (wgpu, the second lane)
    // has none: there the fallback is what must run.
    if (runtimeGpuName() === 'dawn') expect(t.ctx.features.subgroups).toBe(true);
    expect(variants.subgroup().subgroups).toBe(t.ctx.features.subgroups);
    expect(variants.fallback().subgroups).toBe(false);
  });
});

describe.each(['subgroup', 'fallback'] as const)('matvec (%s kernel)', (variant) => {
  const types = [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0];
  it.each(types)('rows not a multiple of the rows per workgroup (type %s)', async (type) => {
    for (const rows of [37, 17, 5]) {
      const { got, want } = await matvecCase(variant, { type, rows, cols: 96 });
      expect(maxRelError(got, want)).toBeLessThan(1e-4);
    }
  });

  it.each(types)('a single row of 32 columns (type %s)', async (type) => {
    const { got, want } = await matvecCase(variant, { type, rows: 1, cols: 32 });
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('a long row of 4096 columns', async () => {
    for (const type of [GgmlType.F32, GgmlType.Q4_0]) {
      const { got, want } = await matvecCase(variant, { type, rows: 19, cols: 4096 });
      expect(maxRelError(got, want)).toBeLessThan(1e-4);
    }
  });

  it('K-quant rows (256-element blocks), with a bias', async () => {
    for (const type of [GgmlType.Q4_K, GgmlType.Q6_K]) {
      const { got, want } = await matvecCase(variant, { type, rows: 21, cols: 512, bias: true });
      expect(maxRelError(got, want)).toBeLessThan(1e-4);
    }
  });

  it('many workgroups: 1000 rows', async () => {
    const { got, want } = await matvecCase(variant, { type: GgmlType.Q8_0, rows: 1000, cols: 64 });
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('weights split into parts, each with its own row offset', async () => {
    // 68-byte Q8_0 rows, 5 per part: 23 rows -> 5 parts, the last one short.
    const { got, want, parts } = await matvecCase(variant, { type: GgmlType.Q8_0, rows: 23, cols: 64, maxPartBytes: 68 * 5 + 4, bias: true });
    expect(parts).toBe(5);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('workgroups spread over a 2D grid with idle surplus workgroups', async () => {
    const { got, want } = await matvecCase(variant, { type: GgmlType.F32, rows: 301, cols: 64, maxGroupsPerDim: 3 });
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });
});

describe('subgroup matvec when rows and subgroups do not line up', () => {
  // SwiftShader's subgroups have 4 lanes: 2 lanes per row puts two rows in a
  // subgroup (reduced one after the other), 8 or 16 lanes per row split each
  // row over several subgroups (its first lane then computes it alone).
  it.each([1, 2, 8, 16, 64])('gives the CPU result with %i lanes per row', async (lanes) => {
    const ops = createGpuOps(t.ctx, t.ctx.allocator, { subgroupLanes: lanes });
    for (const [type, rows, cols] of [[GgmlType.F32, 37, 96], [GgmlType.Q4_0, 9, 256]] as const) {
      const seed = rows + cols + lanes;
      const bytes = quantize(type, randomFloats(rows * cols, seed));
      const w = dequantize(type, bytes, rows * cols);
      const x = randomFloats(cols, seed + 1);
      const matrix = await uploadWeight(t.ctx, 'w', type, rows, cols, bytes, t.ctx.allocator);
      const xBuf = await t.act(x);
      const out = await t.act(rows);
      ops.matmul(matrix, xBuf, out, 1);
      expect(maxRelError(await ops.read(out, 0, rows), cpuMatvec(w, rows, cols, x))).toBeLessThan(1e-4);
      for (const b of [matrix.parts[0].buffer, xBuf.buffer, out.buffer]) t.ctx.allocator.free(b);
    }
  });
});

function cpuRmsNorm(x: Float32Array, w: Float32Array | null, rows: number, dim: number, eps: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i] ** 2;
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[r * dim + i] = x[r * dim + i] * inv * (w ? w[i] : 1);
  }
  return out;
}

describe('rmsNorm kernels', () => {
  const cases: [string, () => WebGpuOpsHandle][] = [
    ['subgroup', variants.subgroup],
    ['fallback', variants.fallback],
    // 16 lanes per row: SwiftShader's 4-lane subgroups split each row, so its first lane works alone.
    ['subgroup, row split over subgroups', () => createGpuOps(t.ctx, t.ctx.allocator, { subgroupLanes: 16 })],
  ];
  it.each(cases)('normalizes rows of odd, tiny and large widths (%s)', async (_name, make) => {
    const ops = make();
    for (const [rows, dim, withWeight] of [[1, 64, true], [3, 301, true], [2, 3, false], [1, 4096, true]] as const) {
      const x = randomFloats(rows * dim, rows + dim, 3);
      const w = withWeight ? randomFloats(dim, dim) : null;
      const xb = await t.act(x);
      const wb = w ? await t.f32(w) : null;
      ops.rmsNorm(xb, wb, xb, rows, dim, 1e-5);
      expect(maxRelError(await ops.read(xb, 0, rows * dim), cpuRmsNorm(x, w, rows, dim, 1e-5))).toBeLessThan(1e-5);
      for (const b of [xb.buffer, wb]) if (b) t.ctx.allocator.free(b);
    }
  });
});
