// The whole-sub-block dot products (shaders/dot/<type>.wgsl) of every GPU
// weight type, through the matvec kernels of both families and through a
// `//#include segments` kernel (names renamed per segment), against a CPU
// dot product in f64 over the CPU-dequantized weights (src/quant).
//
// Weights are random bytes with extreme, subnormal and signed-zero scales
// (helpers/random-blocks.ts). The pieces regroup the sum (a scale applied
// once per sub-block), so results are not bit-exact; the bound is the f32
// rounding of a sum: |got - want| <= depth * 2^-24 * sum_i |w_i * x_i|,
// depth = the most additions any one term goes through (32 inside a
// sub-block, one per sub-block a lane takes, the reduction tree, the
// scale). A wrong element, nibble, scale or min is far outside it.

import { beforeAll, describe, expect, it } from 'vitest';
import { GGML_TYPES, GgmlType } from '../../src/gguf/types';
import { KERNELS, MATVEC_SUBGROUP_RT } from '../../src/gpu/kernels';
import { createGpuOps, uploadWeight, type WebGpuOpsHandle } from '../../src/gpu/ops';
import { GRID_TABLE_BINDING } from '../../src/gpu/quant-tables';
import { assembleKernel, PipelineCache, SEGMENT_BINDING, usesGridTable } from '../../src/gpu/shaders';
import { WIDE_LOAD_TYPES } from '../../src/gpu/weight-pieces';
import { dequantize, quantize } from '../../src/quant';
import { gpuTestContext, type GpuTestContext } from './gpu-test-context';
import { DECODE_TYPES, randomBlocks } from './helpers/random-blocks';

const GENERIC_DOT32 = [
  GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S, GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.IQ1_S, GgmlType.IQ1_M,
  GgmlType.NVFP4, GgmlType.TQ1_0,
];
import { randomFloats } from './helpers/reference';

let t: GpuTestContext;
beforeAll(async () => {
  t = await gpuTestContext();
});

/** Weight bytes for `rows x cols`: adversarial blocks, or for F32/BF16 (whose random bit patterns overflow a sum) random values. */
function weightBytes(type: GgmlType, rows: number, cols: number, seed: number): Uint8Array {
  if (type === GgmlType.F32 || type === GgmlType.BF16) return quantize(type, randomFloats(rows * cols, seed, 100));
  const info = GGML_TYPES.get(type)!;
  return randomBlocks(type, (rows * cols) / info.blockSize, seed);
}

/** Rows' dot products in f64 and each row's allowed error (see the top of the file). */
function reference(w: Float32Array, rows: number, cols: number, x: Float32Array, depth: number) {
  const want = new Float64Array(rows);
  const tol = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    let magnitude = 0;
    for (let c = 0; c < cols; c++) {
      const p = w[r * cols + c] * x[c];
      sum += p;
      magnitude += Math.abs(p);
    }
    want[r] = sum;
    tol[r] = depth * 2 ** -24 * magnitude;
  }
  return { want, tol };
}

/** Rows whose error exceeds the bound, for the failure message. */
function outliers(got: Float32Array, want: Float64Array, tol: Float64Array): string[] {
  const bad: string[] = [];
  for (let r = 0; r < want.length; r++) {
    if (!(Math.abs(got[r] - want[r]) <= tol[r])) bad.push(`row ${r}: got ${got[r]}, want ${want[r]} +- ${tol[r]}`);
  }
  return bad;
}

const FAMILIES: Record<'subgroup' | 'fallback', () => WebGpuOpsHandle> = {
  subgroup: () => createGpuOps(t.ctx),
  fallback: () => createGpuOps(t.ctx, t.ctx.allocator, { subgroups: false }),
};

// 768 columns: 3 super-blocks, 24 blocks of 32. Q6_K and Q3_K rows (630 and
// 330 bytes) then start alternately on whole and half words, and every type
// with 18-, 22- or 34-byte blocks has blocks at both word phases in a row.
const ROWS = 11;
const COLS = 768;
/** The IQ1/IQ2/IQ3 types, NVFP4 and TQ1_0 go through the generic dot32 over their decode4 (no piece of their own yet). */
const OWN_DOT32 = new Set(DECODE_TYPES.filter((t) => !GENERIC_DOT32.includes(t)));

describe.each(DECODE_TYPES.map((type) => ({ type, name: GgmlType[type] })))('dot32 of $name', ({ type, name }) => {
  // The generic dot32 is the same code in both families: the types that use it run in the default (subgroup) one only.
  it.each(OWN_DOT32.has(type) ? (['subgroup', 'fallback'] as const) : (['subgroup'] as const))(`matvec (%s kernels) matches the f64 CPU dot product to f32 rounding (${name})`, async (family) => {
    const bytes = weightBytes(type, ROWS, COLS, 500 + type);
    const w = dequantize(type, bytes, ROWS * COLS);
    const x = randomFloats(COLS, 77 + type);
    const ops = FAMILIES[family]();
    const matrix = await uploadWeight(t.ctx, 'w', type, ROWS, COLS, bytes, t.ctx.allocator);
    const xBuf = await t.act(x);
    const out = await t.act(ROWS);
    ops.matmul(matrix, xBuf, out, 1);
    const got = await ops.read(out, 0, ROWS);
    for (const b of [matrix.parts[0].buffer, xBuf.buffer, out.buffer]) t.ctx.allocator.free(b);

    const { want, tol } = reference(w, ROWS, COLS, x, 32 + COLS / 32 + 8);
    expect(outliers(got, want, tol)).toEqual([]);
  });

  it.skipIf(!OWN_DOT32.has(type))(`has its own piece, not the generic one over decode4 (${name})`, () => {
    const text = assembleKernel(KERNELS.matvecSubgroup, { weightType: type, defines: { WG: 64, LANES: 32, RT: MATVEC_SUBGROUP_RT } });
    expect(text).toContain('fn dot32(');
    expect(text).not.toContain('decode4(row_byte_base, k4), act4(k4)');
  });
});

describe('matvec rows whose length is not a multiple of 32 (the decode4 path)', () => {
  it.each(['subgroup', 'fallback'] as const)('matches the CPU for 100- and 36-column float rows (%s kernels)', async (family) => {
    const ops = FAMILIES[family]();
    for (const [type, rows, cols] of [[GgmlType.F32, 9, 100], [GgmlType.F16, 5, 36], [GgmlType.BF16, 7, 100]] as const) {
      const bytes = weightBytes(type, rows, cols, 31 + cols);
      const w = dequantize(type, bytes, rows * cols);
      const x = randomFloats(cols, 32 + cols);
      const matrix = await uploadWeight(t.ctx, 'w', type, rows, cols, bytes, t.ctx.allocator);
      const xBuf = await t.act(x);
      const out = await t.act(rows);
      ops.matmul(matrix, xBuf, out, 1);
      const got = await ops.read(out, 0, rows);
      for (const b of [matrix.parts[0].buffer, xBuf.buffer, out.buffer]) t.ctx.allocator.free(b);
      const { want, tol } = reference(w, rows, cols, x, cols / 4 + 8);
      expect(outliers(got, want, tol)).toEqual([]);
    }
  });
});

describe('dot32 pieces in a segments kernel', () => {
  // Each segment's pieces are renamed (_s<i>); all types side by side must
  // compile together and each give its own matrix's dot products.
  const SEGMENT_KERNEL = `
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

//#include segments

fn act4(k4: u32) -> vec4<f32> {
  return x[k4];
}

// Workgroup (b, seg): sub-block b of segment seg's single row.
@compute @workgroup_size(1)
fn main(@builtin(workgroup_id) wid: vec3<u32>) {
  out[wid.y * BLOCKS + wid.x] = seg_dot32(wid.y, 0u, wid.x);
}
`;

  // Five segments per kernel: within any adapter's storage-buffer limit per stage (with the grid
  // table, which one binding serves for every lattice type among them).
  const groups = Array.from({ length: Math.ceil(DECODE_TYPES.length / 5) }, (_, i) => ({ types: DECODE_TYPES.slice(5 * i, 5 * i + 5), wide: false }));
  // The wide-load pieces (vec4 bindings), beside a type that keeps its word loads.
  groups.push({ types: [...WIDE_LOAD_TYPES, GgmlType.Q6_K], wide: true });
  it.each(groups.map((g) => [`${g.types.map((type) => GgmlType[type]).join(', ')}${g.wide ? ', wide loads' : ''}`, g.types, g.wide] as const))('gives every segment its own type\'s per-block dot products (%s)', async (_names, types, wide) => {
    const blocks = COLS / 32;
    const x = randomFloats(COLS, 4242);
    const matrices = await Promise.all(
      types.map((type) => uploadWeight(t.ctx, `seg ${GgmlType[type]}`, type, 1, COLS, weightBytes(type, 1, COLS, 900 + type), t.ctx.allocator)),
    );
    const code = assembleKernel(SEGMENT_KERNEL, { segmentTypes: types, defines: { BLOCKS: blocks }, wideLoads: wide });
    if (wide) expect(code.match(/var<storage, read> weights_s\d: array<vec4<u32>>/g)).toHaveLength(WIDE_LOAD_TYPES.length);
    const pipeline = new PipelineCache(t.ctx.device).get(code, 'dot32 segments test');
    const xBuf = await t.act(x);
    const out = await t.act(types.length * blocks);
    const bindGroup = t.ctx.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: xBuf.buffer } },
        { binding: 1, resource: { buffer: out.buffer } },
        ...matrices.map((m, i) => ({ binding: SEGMENT_BINDING + i, resource: { buffer: m.parts[0].buffer } })),
        ...(usesGridTable({ segmentTypes: types }) ? [{ binding: GRID_TABLE_BINDING, resource: { buffer: t.ops.gridTable() } }] : []),
      ],
    });
    const encoder = t.ctx.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(blocks, types.length);
    pass.end();
    t.ctx.device.queue.submit([encoder.finish()]);
    const got = await t.read(out, 0, types.length * blocks);

    const bad: string[] = [];
    types.forEach((type, s) => {
      const w = dequantize(type, weightBytes(type, 1, COLS, 900 + type), COLS);
      // Each block on its own: a 1 x 32 "matrix" per block.
      for (let b = 0; b < blocks; b++) {
        const { want, tol } = reference(w.subarray(b * 32, b * 32 + 32), 1, 32, x.subarray(b * 32, b * 32 + 32), 32 + 2);
        const g = got.subarray(s * blocks + b, s * blocks + b + 1);
        for (const o of outliers(g, want, tol)) bad.push(`${GgmlType[type]} block ${b} ${o}`);
      }
    });
    for (const m of matrices) t.ctx.allocator.free(m.parts[0].buffer);
    for (const b of [xBuf.buffer, out.buffer]) t.ctx.allocator.free(b);
    expect(bad).toEqual([]);
  });
});
