// The int8 dot pieces (shaders/dot/i8/, the matvec tuning's int8Dot) through
// the decode pass's matvec_fused, every type side by side in its segments,
// against a CPU reference that quantizes the input block the way the kernel
// does (shaders/dot/i8/act.wgsl: d = amax / 127 in f32, q = round half to
// even of v * (127 / amax) in f32) and multiplies by the CPU-dequantized
// weights (src/quant) in f64.
//
// The pieces sum integers exactly; what is left is f32 rounding: the scales'
// products per block (a few), one addition per block a lane takes, the
// lanes' tree, 1 / rms. The bound is depth * 2^-24 times the magnitudes of
// what the kernel sums in integers (the quant part and the offset or min
// part of each half block, which may cancel each other). The
// kernel's 127 / amax is a division, which WGSL lets be 2.5 ulp off: where
// a quant would round the other way within 4 ulp of it (and the quotient is
// not exact in f32), that element may be one step off, and its |w| * d
// joins the bound. A wrong nibble,
// offset, scale or rounding is far outside it.

import { beforeAll, describe, expect, it } from 'vitest';
import { GGML_TYPES, GgmlType } from '../../src/gguf/types';
import { stepBufferBytes } from '../../src/gpu/decode-ops';
import type { MatvecTuning } from '../../src/gpu/matvec-tuning';
import { createGpuOps, uploadWeight } from '../../src/gpu/ops';
import { encodeDispatches } from '../../src/gpu/recorded';
import { INT8_DOT_PIECES } from '../../src/gpu/weight-pieces';
import { dequantize } from '../../src/quant';
import { gpuTestContext, type GpuTestContext } from './gpu-test-context';
import { randomBlocks } from './helpers/random-blocks';
import { rng } from './helpers/reference';

const TYPES = [...INT8_DOT_PIECES.keys()];
// Two K-quant super-blocks: 16 blocks of 32 (one per input pattern below).
const ROWS = 5;
const COLS = 512;
const BLOCKS = COLS / 32;
const EPS = 1e-5;

/** Bytes of each block that hold quants (ggml-common.h): zeroed, they give each weight's offset or min part, w(q = 0). */
const QUANT_BYTES: Partial<Record<GgmlType, [number, number]>> = {
  [GgmlType.Q8_0]: [2, 34],
  [GgmlType.Q4_0]: [2, 18],
  [GgmlType.Q4_1]: [4, 20],
  [GgmlType.Q5_0]: [2, 22],
  [GgmlType.Q5_1]: [4, 24],
  [GgmlType.Q4_K]: [16, 144],
  [GgmlType.Q5_K]: [16, 176],
  [GgmlType.Q6_K]: [0, 192],
};

/** The input: block b follows pattern b (zeros, exact ties, tiny, huge, one element, +-amax, the 0/1 boundary, ...). */
function adversarialInput(): Float32Array {
  const next = rng(1234);
  const x = new Float32Array(COLS);
  for (let b = 0; b < BLOCKS; b++) {
    for (let k = 0; k < 32; k++) {
      const u = 2 * next() - 1;
      let v: number;
      switch (b) {
        case 0: v = 0; break; // all zero: d = 0, no NaN
        case 1: v = k === 0 ? 127 : (k % 8) - 3.5 + (k >> 3); break; // amax 127: d = 1, quants at exact halves
        case 2: v = 1e-3 * u; break;
        case 3: v = 1e3 * u; break;
        case 4: v = k === 17 ? -5 : 0; break; // one element: q = -127
        case 5: v = k % 2 === 0 ? 3 : -3; break; // +-amax: every q +-127
        case 6: v = k === 0 ? 1 : ((k % 3) - 1) * (1 / 254); break; // at the 0 / +-1 boundary
        default: v = u * (1 + b);
      }
      x[b * 32 + k] = v;
    }
  }
  return x;
}

const f32 = Math.fround;
const ULP = 2 ** -23;

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The block's quants as the kernel makes them: its d, its q, and whether
 * each q is within 4 ulp of 127 / amax of rounding the other way. A
 * quotient that f32 holds exactly (amax 127 or 1: blocks 1 and 6, whose
 * quants fall on exact halves) is taken as exact on the GPU too, so those
 * blocks check the rounding itself (half to even).
 */
function quantizeBlock(v: Float32Array): { d: number; q: Int32Array; unsure: boolean[] } {
  const amax = v.reduce((m, a) => Math.max(m, Math.abs(a)), 0);
  const d = f32(amax / 127);
  const id = amax > 0 ? f32(127 / amax) : 0;
  const at = (s: number) => Array.from(v, (a) => roundHalfEven(f32(a * f32(s))));
  const q = at(id);
  if (id === 127 / amax) return { d, q: Int32Array.from(q), unsure: q.map(() => false) };
  const lo = at(id * (1 - 4 * ULP));
  const hi = at(id * (1 + 4 * ULP));
  return { d, q: Int32Array.from(q), unsure: q.map((_, k) => lo[k] !== q[k] || hi[k] !== q[k]) };
}

/** Bytes of the min field of the types with one (zeroed: each weight's quant part alone, exact in f32). */
const MIN_BYTES: Partial<Record<GgmlType, [number, number]>> = {
  [GgmlType.Q4_1]: [2, 4],
  [GgmlType.Q5_1]: [2, 4],
  [GgmlType.Q4_K]: [2, 4],
  [GgmlType.Q5_K]: [2, 4],
};

/** The CPU-dequantized weights with the given byte range of every block zeroed. */
function dequantizeZeroed(type: GgmlType, bytes: Uint8Array, range: [number, number] | undefined): Float32Array | undefined {
  if (!range) return undefined;
  const step = GGML_TYPES.get(type)!.blockBytes;
  const zeroed = bytes.slice();
  for (let o = 0; o < zeroed.length; o += step) zeroed.fill(0, o + range[0], o + range[1]);
  return dequantize(type, zeroed, ROWS * COLS);
}

/**
 * Each row's product with the quantized input (times norm, over rms) in f64
 * and its allowed error (see the top): per 16 elements, the quant part
 * (sum of d sc q x) and the offset or min part (sum of w(q = 0) x) are
 * summed apart, as the kernel's integer sums do, and the bound is
 * depth ulps of their magnitudes, plus one ulp per element for the CPU
 * codec's own rounding of w.
 */
function reference(type: GgmlType, bytes: Uint8Array, x: Float32Array, norm: Float32Array | undefined, depth: number) {
  const w = dequantize(type, bytes, ROWS * COLS);
  const w0 = dequantizeZeroed(type, bytes, QUANT_BYTES[type])!;
  const wq = dequantizeZeroed(type, bytes, MIN_BYTES[type]) ?? w.map((a, i) => a - w0[i]);
  const v = norm ? x.map((a, k) => f32(a * norm[k])) : x;
  const invRms = norm ? 1 / Math.sqrt(x.reduce((s, a) => s + a * a, 0) / COLS + f32(EPS)) : 1;
  const blocks = Array.from({ length: BLOCKS }, (_, b) => quantizeBlock(v.subarray(32 * b, 32 * b + 32)));
  const want = new Float64Array(ROWS);
  const tol = new Float64Array(ROWS);
  for (let r = 0; r < ROWS; r++) {
    let sum = 0;
    let parts = 0;
    let elements = 0;
    let unsure = 0;
    blocks.forEach(({ d, q, unsure: u }, b) => {
      for (let half = 0; half < 32; half += 16) {
        let quantPart = 0;
        let offsetPart = 0;
        for (let k = half; k < half + 16; k++) {
          const i = r * COLS + 32 * b + k;
          quantPart += wq[i] * q[k];
          offsetPart += w0[i] * q[k];
          elements += Math.abs(w[i] * q[k]) * d;
          if (u[k]) unsure += Math.abs(w[i]) * d;
        }
        sum += (quantPart + offsetPart) * d;
        parts += (Math.abs(quantPart) + Math.abs(offsetPart)) * d;
      }
    });
    want[r] = sum * invRms;
    tol[r] = (2 ** -24 * (depth * parts + elements) + unsure) * invRms;
  }
  return { want, tol };
}

interface Case {
  label: string;
  family: 'gpu' | 'cpu';
  matvec: Partial<MatvecTuning>;
  norm: boolean;
}

const CASES: Case[] = [
  // 8 lanes of 2 blocks each, 4 rows per block of lanes.
  { label: 'GPU family, lanes of 2 blocks', family: 'gpu', matvec: { int8Dot: true }, norm: false },
  // One thread per 3 rows takes all 16 blocks; the norm folded in.
  { label: 'CPU family, with the norm', family: 'cpu', matvec: { int8Dot: true, rowsPerBlock: 3 }, norm: true },
  // The input through workgroup memory, 64 elements at a time, then quantized per lane.
  { label: 'GPU family, x tiles, with the norm', family: 'gpu', matvec: { int8Dot: true, xTile: 64, blocksPerLane: 1 }, norm: true },
  // Tiles of 3 blocks (the last holds 1), 4 blocks of 8 lanes per workgroup of 32; and tiles with the wide int8 pieces.
  { label: 'GPU family, x tiles of 3 blocks', family: 'gpu', matvec: { int8Dot: true, xTile: 96, workgroup: 32, rowsPerBlock: 2 }, norm: false },
  { label: 'GPU family, x tiles and wide loads, with the norm', family: 'gpu', matvec: { int8Dot: true, xTile: 128, wideLoads: true }, norm: true },
  // Q4_K and Q5_K through their wide int8 pieces (vec4 loads), the other types' word pieces beside them.
  { label: 'GPU family, wide loads', family: 'gpu', matvec: { int8Dot: true, wideLoads: true, rowsPerBlock: 2 }, norm: false },
];

let t: GpuTestContext;
beforeAll(async () => {
  t = await gpuTestContext();
});

describe('matvec_fused with int8 activations (int8Dot)', () => {
  it.each(CASES)('every int8 piece matches the quantized-input CPU product to f32 rounding ($label)', { timeout: 120_000 }, async (c) => {
    const ops = createGpuOps(t.ctx, t.ctx.allocator, { matvec: c.matvec, decodeVariant: c.family });
    const x = adversarialInput();
    const next = rng(99);
    const normValues = Float32Array.from({ length: COLS }, (_, k) => (k >= 32 && k < 64 ? 1 : 0.5 + next()));
    const bytes = TYPES.map((type) => randomBlocks(type, (ROWS * COLS) / GGML_TYPES.get(type)!.blockSize, 700 + type));
    const matrices = await Promise.all(TYPES.map((type, i) => uploadWeight(t.ctx, `w ${GgmlType[type]}`, type, ROWS, COLS, bytes[i], t.ctx.allocator)));
    const xBuf = await t.act(x);
    const out = await t.act(ROWS * TYPES.length);
    const norm = c.norm ? await t.f32(normValues) : undefined;
    const step = t.ctx.device.createBuffer({ size: stepBufferBytes(0), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const rec = ops.recordDecode(t.ctx.allocator, step, 16, { nHeads: 1, headDim: 32 });
    rec.project(xBuf, matrices.map((w, i) => ({ w, outOffset: i * ROWS })), out, norm ? { norm: { weight: norm, eps: EPS } } : {});
    const encoder = t.ctx.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    encodeDispatches(pass, rec.finish());
    pass.end();
    t.ctx.device.queue.submit([encoder.finish()]);
    const got = await t.read(out, 0, ROWS * TYPES.length);
    rec.free();
    step.destroy();
    for (const b of [...matrices.map((m) => m.parts[0].buffer), xBuf.buffer, out.buffer, ...(norm ? [norm] : [])]) t.ctx.allocator.free(b);

    const bad: string[] = [];
    TYPES.forEach((type, i) => {
      const { want, tol } = reference(type, bytes[i], x, c.norm ? normValues : undefined, 8 + BLOCKS + 8);
      for (let r = 0; r < ROWS; r++) {
        const g = got[i * ROWS + r];
        if (!(Math.abs(g - want[r]) <= tol[r])) bad.push(`${GgmlType[type]} row ${r}: got ${g}, want ${want[r]} +- ${tol[r]}`);
      }
    });
    expect(bad).toEqual([]);
  });

  it('is refused, naming int8Dot, where the WGSL lacks packed_4x8_integer_dot_product', () => {
    const ctx = { ...t.ctx, features: { ...t.ctx.features, packedInt8Dot: false } };
    let error: unknown;
    try {
      createGpuOps(ctx, t.ctx.allocator, { matvec: { int8Dot: true } });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'clw-bad-request', message: expect.stringContaining('int8Dot') });
    // The f32 pieces need no such feature.
    expect(() => createGpuOps(ctx, t.ctx.allocator, {})).not.toThrow();
  });
});
