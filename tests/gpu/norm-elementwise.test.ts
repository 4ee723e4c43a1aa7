// RMS norm, the gated units, add/scale/softcap, copy and cache writes,
// against CPU formulas; including in-place calls and outputs that alias an
// input (WebGPU forbids binding one buffer twice writably, so ops.ts works
// around it).

import { describe, expect, it } from 'vitest';
import { gpuTestContext } from './gpu-test-context';
import { maxRelError, randomFloats } from './helpers/reference';

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

const silu = (g: number) => g / (1 + Math.exp(-g));
const gelu = (g: number) => 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * g * (1 + 0.044715 * g * g)));

describe('rmsNorm', () => {
  it('normalizes each row and applies the weight, into another buffer', async () => {
    const t = await gpuTestContext();
    const rows = 3;
    const dim = 300; // not a multiple of the workgroup size
    const x = randomFloats(rows * dim, 1, 3);
    const w = randomFloats(dim, 2);
    const xb = await t.act(x);
    const out = await t.act(rows * dim);
    t.ops.rmsNorm(xb, await t.f32(w), out, rows, dim, 1e-5);
    expect(maxRelError(await t.read(out), cpuRmsNorm(x, w, rows, dim, 1e-5))).toBeLessThan(1e-5);
    expect(await t.read(xb)).toEqual(x); // the input is left alone
  });

  it('normalizes in place without a weight', async () => {
    const t = await gpuTestContext();
    const x = randomFloats(64, 3);
    const xb = await t.act(x);
    t.ops.rmsNorm(xb, null, xb, 1, 64, 1e-6);
    expect(maxRelError(await t.read(xb), cpuRmsNorm(x, null, 1, 64, 1e-6))).toBeLessThan(1e-5);
  });
});

describe('gated units', () => {
  const count = 1000;
  const gate = randomFloats(count, 4, 6);
  const up = randomFloats(count, 5, 2);
  const cases = [
    ['siluMul', silu],
    ['geluMul', gelu],
  ] as const;

  it.each(cases)('%s writes into the gate buffer, the up buffer, or a third buffer', async (op, f) => {
    const t = await gpuTestContext();
    const want = Float32Array.from(gate, (g, i) => f(g) * up[i]);
    for (const target of ['gate', 'up', 'third'] as const) {
      const g = await t.act(gate);
      const u = await t.act(up);
      const out = target === 'gate' ? g : target === 'up' ? u : await t.act(count);
      t.ops[op](g, u, out, count);
      expect(maxRelError(await t.read(out, 0, count), want), `${op} into ${target}`).toBeLessThan(1e-5);
    }
  });

  it('geluMul stays finite for huge gate values', async () => {
    const t = await gpuTestContext();
    const g = await t.act(new Float32Array([1e6, -1e6, 50, -50]));
    const u = await t.act(new Float32Array([1, 1, 1, 1]));
    t.ops.geluMul(g, u, g, 4);
    expect(Array.from(await t.read(g))).toEqual([1e6, -0, 50, -0]);
  });
});

describe('add, scale, softcap, copy, writeCacheRows', () => {
  const count = 777;
  const a = randomFloats(count, 6);
  const b = randomFloats(count, 7);
  const sum = Float32Array.from(a, (v, i) => v + b[i]);

  it('adds into a, into b, into a third buffer, and a + a', async () => {
    const t = await gpuTestContext();
    for (const target of ['a', 'b', 'third'] as const) {
      const ab = await t.act(a);
      const bb = await t.act(b);
      const out = target === 'a' ? ab : target === 'b' ? bb : await t.act(count);
      t.ops.add(ab, bb, out, count);
      expect(maxRelError(await t.read(out), sum), `add into ${target}`).toBeLessThan(1e-6);
    }
    const ab = await t.act(a);
    t.ops.add(ab, ab, ab, count);
    expect(await t.read(ab)).toEqual(Float32Array.from(a, (v) => 2 * v));
  });

  it('scales and soft-caps in place, touching only count elements', async () => {
    const t = await gpuTestContext();
    const x = await t.act(a);
    t.ops.scale(x, -3, count - 1);
    const scaled = await t.read(x);
    expect(scaled.subarray(0, count - 1)).toEqual(Float32Array.from(a.subarray(0, count - 1), (v) => -3 * v));
    expect(scaled[count - 1]).toBe(a[count - 1]);
    t.ops.softcap(x, 1.5, count);
    const want = Float32Array.from(scaled, (v) => 1.5 * Math.tanh(v / 1.5));
    expect(maxRelError(await t.read(x), want)).toBeLessThan(1e-5);
  });

  it('copies a range between buffers and writes KV cache rows at startPos', async () => {
    const t = await gpuTestContext();
    const src = await t.act(a);
    const dst = await t.act(100);
    t.ops.copy(src, 10, dst, 5, 20);
    const got = await t.read(dst);
    expect(got.subarray(5, 25)).toEqual(a.subarray(10, 30));
    expect(got[4]).toBe(0);
    expect(got[25]).toBe(0);

    const width = 8;
    const cache = await t.act(10 * width);
    t.ops.writeCacheRows(src, cache.buffer, 3, 2, width);
    const rows = await t.read(cache);
    expect(rows.subarray(3 * width, 5 * width)).toEqual(a.subarray(0, 2 * width));
    expect(rows.subarray(0, 3 * width).every((v) => v === 0)).toBe(true);
  });

  it('refuses a cache write past the end of the cache as clw-ctx-overflow', async () => {
    const t = await gpuTestContext();
    const src = await t.act(a);
    const cache = await t.act(4 * 8);
    expect(() => t.ops.writeCacheRows(src, cache.buffer, 3, 2, 8)).toThrow(expect.objectContaining({ code: 'clw-ctx-overflow' }));
  });
});
