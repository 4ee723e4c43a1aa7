// The f16 KV cache: rows stored as packed f16 pairs (no shader-f16 needed).
// Writing rounds like ggml's fp32 -> fp16; attention over it equals attention
// over an f32 cache holding the same rounded values; growth and the context
// shift keep the rows; an engine on it generates the f32 cache's tokens
// (where the f32 run's draw was clear of the rounding) with half the KV
// bytes. Attention reads the cache as packed u32 pairs on the f32 arithmetic path and as native f16 on the f16 path (adapters with
// shader-f16: wgpu on lavapipe in the second test lane, not SwiftShader).

import { beforeAll, describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { createGpuOps, type WebGpuOpsHandle } from '../../src/gpu/ops';
import type { ActBuffer, AttentionParams } from '../../src/gpu/ops-api';
import { KvCache, kvTypeFor, type KeyRope } from '../../src/model/kv-cache';
import { bytesLimit, greedy, syntheticSource, testEngine } from './budget-helpers';
import { gpuTestContext, type GpuTestContext } from './gpu-test-context';
import { randomFloats } from './helpers/reference';
import { compareDraws, referenceDraws } from '../fixtures/clear-draws';

let t: GpuTestContext;
beforeAll(async () => {
  t = await gpuTestContext();
});
const hasF16 = (await gpuTestContext()).ctx.features.f16;

const f32Bits = new Uint32Array(1);
const f32View = new Float32Array(f32Bits.buffer);

/** The f16 bit pattern of an f32, round to nearest even, written from IEEE 754 directly (the reference for the kernel). */
function f16BitsOf(x: number): number {
  f32View[0] = x;
  const b = f32Bits[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | (mant ? 0x7e00 : 0x7c00);
  const a = Math.abs(f32View[0]);
  // Steps of the f16 grid at a's binade: 2^-24 below the normals, else 2^(e - 10).
  const e = exp - 127;
  const step = e < -14 ? 2 ** -24 : 2 ** (e - 10);
  const steps = a / step;
  let n = Math.floor(steps);
  const rest = steps - n;
  if (rest > 0.5 || (rest === 0.5 && n % 2 === 1)) n++;
  const rounded = n * step;
  if (rounded > 65504) return sign | 0x7c00;
  if (rounded < 2 ** -14) return sign | n; // subnormal: the count of 2^-24 steps
  const re = Math.floor(Math.log2(rounded)); // exact: rounded is a power of two times a 11-bit integer
  const fe = 2 ** re <= rounded ? re : re - 1;
  return sign | ((fe + 15) << 10) | (Math.round(rounded / 2 ** fe * 1024) - 1024);
}

function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const roundToF16 = (values: Float32Array) => Float32Array.from(values, (x) => f16ToNumber(f16BitsOf(x)));

/** The raw u16 halves of an f16 cache's first `elements` elements. */
async function cacheHalves(cache: GPUBuffer, elements: number): Promise<Uint16Array> {
  const words = await t.read({ buffer: cache, length: cache.size / 4 }, 0, elements / 2);
  return new Uint16Array(words.buffer, 0, elements);
}

async function f16Cache(values: Float32Array, rows: number, width: number): Promise<GPUBuffer> {
  const src = await t.act(values);
  const cache = await t.ctx.allocator.alloc('kv', Math.max(16, rows * width * 2), 0x80 | 0x08 | 0x04, 'test f16 cache');
  t.ops.writeCacheRows(src, cache, 0, rows, width, 'f16');
  t.ops.submit();
  t.ctx.allocator.free(src.buffer);
  return cache;
}

describe('f16 KV cache', () => {
  it('writes rows as f16 rounded to nearest even, ties to even, overflow to infinity, tiny values to subnormals', async () => {
    const special = [
      1, -2, 0.1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, -70000, 2 ** -14, 2 ** -20 + 2 ** -26, 3 * 2 ** -25, 2 ** -25, 1e-9, 0, -0,
    ];
    const values = new Float32Array([...special, ...randomFloats(64 - special.length, 11, 100)]);
    const width = 8;
    const cache = await f16Cache(values, values.length / width, width);
    const halves = await cacheHalves(cache, values.length);
    expect(Array.from(halves)).toEqual(Array.from(values, f16BitsOf));
    // Spot checks of the reference itself: ties go to the even neighbour.
    expect(f16BitsOf(1 + 2 ** -11)).toBe(0x3c00);
    expect(f16BitsOf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f16BitsOf(65520)).toBe(0x7c00);
    expect(f16BitsOf(3 * 2 ** -25)).toBe(0x0002);
    t.ctx.allocator.free(cache);
  });

  it('writes at the destination rows only and reads rows back as f32', async () => {
    const width = 6;
    const first = randomFloats(4 * width, 3);
    const row = randomFloats(width, 4);
    const cache = await f16Cache(first, 4, width);
    const src = await t.act(row);
    t.ops.writeCacheRows(src, cache, 2, 1, width, 'f16');
    const out = await t.act(4 * width);
    t.ops.readCacheRows(cache, 0, 4, width, out, 'f16');
    const got = await t.read(out);
    const want = roundToF16(first);
    want.set(roundToF16(row), 2 * width);
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(() => t.ops.writeCacheRows(src, cache, 4, 1, width, 'f16')).toThrow(expect.objectContaining({ code: 'clw-ctx-overflow' }));
    expect(() => t.ops.writeCacheRows(src, cache, 0, 1, 5, 'f16')).toThrow(expect.objectContaining({ code: 'clw-bad-request' }));
    for (const b of [cache, src.buffer, out.buffer]) t.ctx.allocator.free(b);
  });

  describe.each([
    { dtype: 'f32' as const, skip: false },
    { dtype: 'f16' as const, skip: !hasF16 },
  ])('attention over an f16 cache equals attention over an f32 cache of the same rounded values ($dtype arithmetic)', ({ dtype, skip }) => {
    async function compare(ops: WebGpuOpsHandle, p: AttentionParams, seed: number) {
      const kvWidth = p.nKvHeads * p.headDim;
      const rows = p.startPos + p.nTokens;
      const q = randomFloats(p.nTokens * p.nHeads * p.headDim, seed, 2);
      const k = randomFloats(rows * kvWidth, seed + 1);
      const v = randomFloats(rows * kvWidth, seed + 2);
      const qBuf = await t.act(q);
      const k16 = await f16Cache(k, rows, kvWidth);
      const v16 = await f16Cache(v, rows, kvWidth);
      const k32 = await t.f32(roundToF16(k));
      const v32 = await t.f32(roundToF16(v));
      const out16 = await t.act(q.length);
      const out32 = await t.act(q.length);
      ops.attention(qBuf, k16, v16, out16, { ...p, kvType: 'f16' });
      ops.attention(qBuf, k32, v32, out32, p);
      const got = await ops.read(out16, 0, q.length);
      const want = await ops.read(out32, 0, q.length);
      for (const b of [qBuf.buffer, k16, v16, k32, v32, out16.buffer, out32.buffer]) t.ctx.allocator.free(b);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      expect(want.every(Number.isFinite)).toBe(true);
      expect(worst).toBeLessThanOrEqual(1e-6);
    }

    const base = { nHeads: 4, nKvHeads: 2, headDim: 16, scale: 0.25 };
    it.skipIf(skip)('prefill (several tokens after a prefix, GQA)', async () => {
      const ops = createGpuOps(t.ctx, t.ctx.allocator, { dtype });
      await compare(ops, { ...base, nTokens: 5, startPos: 3 }, 21);
      await compare(ops, { ...base, nTokens: 7, startPos: 0, slidingWindow: 4, softcap: 5 }, 22);
    });

    for (const split of [true, false]) {
      it.skipIf(skip)(`decode (n = 1) at several positions, GQA, ${split ? 'split kernels' : 'one workgroup per head'}`, async () => {
        const ops = createGpuOps(t.ctx, t.ctx.allocator, { splitDecodeAttention: split, dtype });
        for (const [i, startPos] of [0, 1, 31, 32, 33, 70].entries()) {
          await compare(ops, { ...base, nTokens: 1, startPos }, 40 + i);
        }
        await compare(ops, { nHeads: 8, nKvHeads: 1, headDim: 32, scale: 0.2, nTokens: 1, startPos: 45 }, 50);
      });
    }
  });

  it('grows with its rows intact at half the bytes of an f32 cache', async () => {
    const width = 8;
    const kv = await KvCache.create(t.ctx.allocator, t.ctx.device, { nLayers: 2, kvDim: width, maxCapacity: 64, dynamic: true, growthChunk: 16, kvType: 'f16' });
    expect(kv.kvType).toBe('f16');
    expect(kv.capacity).toBe(16);
    expect(kv.keys[0].size).toBe(16 * width * 2);
    const rows = randomFloats(16 * width, 9);
    const src = await t.act(rows);
    for (let l = 0; l < 2; l++) {
      t.ops.writeCacheRows(src, kv.keys[l], 0, 16, width, 'f16');
      t.ops.writeCacheRows(src, kv.values[l], 0, 16, width, 'f16');
    }
    t.ops.submit();
    expect(await kv.reserve(40)).toBe(true);
    expect(kv.capacity).toBeGreaterThanOrEqual(40);
    expect(kv.keys[1].size).toBe(kv.capacity * width * 2);
    const out = await t.act(16 * width);
    const want = Array.from(roundToF16(rows));
    for (const cache of [...kv.keys, ...kv.values]) {
      t.ops.readCacheRows(cache, 0, 16, width, out, 'f16');
      expect(Array.from(await t.read(out))).toEqual(want);
    }
    kv.free();
    for (const b of [src.buffer, out.buffer]) t.ctx.allocator.free(b);
  });

  it('refuses an odd row width, and the engine falls back to f32 for one', async () => {
    await expect(KvCache.create(t.ctx.allocator, t.ctx.device, { nLayers: 1, kvDim: 7, maxCapacity: 4, dynamic: false, kvType: 'f16' })).rejects.toMatchObject({
      code: 'clw-bad-request',
    });
    expect(kvTypeFor('f16', 7)).toBe('f32');
    expect(kvTypeFor('f16', 8)).toBe('f16');
    expect(kvTypeFor('f32', 8)).toBe('f32');
  });

  for (const neox of [false, true]) {
    it(`shifts in place: kept rows untouched, values moved bit for bit, moved keys re-roped to their new positions (${neox ? 'NeoX' : 'adjacent'})`, async () => {
      const nKvHeads = 2;
      const headDim = 16;
      const width = nKvHeads * headDim;
      const rope: KeyRope = { headDim, nRot: headDim, freqBase: 10000, freqScale: 1, neox };
      const used = 60;
      const nKeep = 3;
      const drop = 20;
      const moved = used - nKeep - drop;
      const raw = randomFloats(used * width, 7);
      const keys = await t.act(raw);
      t.ops.rope(keys, used, { ...rope, nHeads: nKvHeads, startPos: 0 });
      const values = await t.act(raw);
      const kv = await KvCache.create(t.ctx.allocator, t.ctx.device, { nLayers: 1, kvDim: width, maxCapacity: used, dynamic: false, kvType: 'f16' });
      t.ops.writeCacheRows(keys, kv.keys[0], 0, used, width, 'f16');
      t.ops.writeCacheRows(values, kv.values[0], 0, used, width, 'f16');
      t.ops.submit();
      const keysBefore = await cacheHalves(kv.keys[0], used * width);
      const valuesBefore = await cacheHalves(kv.values[0], used * width);
      const liveBefore = t.ctx.allocator.liveBytes();

      await kv.shift(t.ops, () => rope, nKvHeads, nKeep, drop, used);
      expect(t.ctx.allocator.liveBytes()).toBe(liveBefore);

      const keysAfter = await cacheHalves(kv.keys[0], used * width);
      const valuesAfter = await cacheHalves(kv.values[0], used * width);
      expect(Array.from(keysAfter.subarray(0, nKeep * width))).toEqual(Array.from(keysBefore.subarray(0, nKeep * width)));
      expect(Array.from(valuesAfter.subarray(0, (nKeep + moved) * width))).toEqual([
        ...valuesBefore.subarray(0, nKeep * width),
        ...valuesBefore.subarray((nKeep + drop) * width, used * width),
      ]);
      const expected = await t.act(raw.slice((nKeep + drop) * width));
      t.ops.rope(expected, moved, { ...rope, nHeads: nKvHeads, startPos: nKeep });
      const want = await t.read(expected);
      let worst = 0;
      for (let i = 0; i < moved * width; i++) worst = Math.max(worst, Math.abs(f16ToNumber(keysAfter[nKeep * width + i]) - want[i]));
      // Two f16 roundings (at write and after the rotation) of values below ~1.5: a few 2^-11 steps at most.
      expect(worst).toBeLessThan(2e-3);
      expect(worst).toBeGreaterThan(0);
      kv.free();
      for (const b of [keys.buffer, values.buffer, expected.buffer]) t.ctx.allocator.free(b);
    });
  }

  // Different arithmetic: attention reads K and V rounded to f16, so the logits move (below), and the f16 run's
  // tokens are the f32 run's where the f32 run's draw was clear of that, over at least MIN_COMPARED draws.
  it('an engine on an f16 cache generates the f32 cache\'s greedy tokens with half the KV bytes', async () => {
    const model = await syntheticSource({ nEmbd: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, nFf: 128, ctxLength: 256, type: GgmlType.F32, seed: 5 });
    const engine = await testEngine();
    const prompt = 'Once upon a time the little girl';
    const options = { temperature: 0 };
    async function load(kvType: 'f32' | 'f16') {
      let plan = '';
      await engine.load(model.source, { ctxSize: 256, batchSize: 16, vramLimit: bytesLimit(256 * 2 ** 20), kvCacheDynamic: false, kvType }, (p) => {
        if (p.phase === 'plan' && p.message) plan = p.message;
      });
      return { plan, kvBytes: engine.allocator.liveBytesByPurpose().kv };
    }
    const f32 = await load('f32');
    const eog = engine.tokenizer!.eogIds;
    const reference = await referenceDraws((ids) => engine.nextTokenLogits(ids), engine.tokenizer!.encode(prompt, { addSpecial: true }), options, 24, eog);
    await engine.unload();
    const f16 = await load('f16');
    const run = await greedy(engine, prompt, 24);
    await engine.unload();
    expect(run.tokens).toHaveLength(24);
    expect(reference[0].history).toEqual(run.prompt);
    const c = compareDraws({ tokens: run.tokens, endedOnEog: false }, reference, options, eog, KV_F16_AGREEMENT);
    expect(c.mismatch).toBeNull();
    expect(c.compared, `the runs parted at a close draw (${c.divergedAt})`).toBeGreaterThanOrEqual(MIN_COMPARED);
    // 2 layers x (K + V) x 256 positions x kvDim 32.
    expect(f32.kvBytes).toBe(2 * 2 * 256 * 32 * 4);
    expect(f16.kvBytes).toBe(f32.kvBytes / 2);
    expect(f16.plan).toMatch(/\(KV cache f16\)$/);
    expect(f32.plan).toMatch(/\(KV cache f32\)$/);
  });
});

/**
 * How far the f16 cache's logits may lie from the f32 cache's, relative to
 * the step's largest |logit|. Measured (nextTokenLogits along the f32 run's
 * 24 draws): 5.0e-4 on Dawn/SwiftShader (f32 arithmetic), 1.7e-3 on
 * wgpu/lavapipe (f16 arithmetic); four times the largest. A cache written
 * or read wrong moves logits by O(1).
 */
const KV_F16_AGREEMENT = 7e-3;
/** Draws compared at least (of 24): the f32 run's first close draw at KV_F16_AGREEMENT is its ninth (then 11th, 16th). */
const MIN_COMPARED = 8;
