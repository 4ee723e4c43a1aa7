// Attention of one token (decode): the split kernels (scores, per-chunk
// partial softmax, combine; ops' default) and the one-workgroup-per-head
// kernel (splitDecodeAttention: false) against a CPU softmax(qK^T)V, at
// positions around the 32-key chunk edges, with GQA, sliding windows,
// soft-capping, huge logits and several head sizes.

import { beforeAll, describe, expect, it } from 'vitest';
import { createGpuOps, type WebGpuOpsHandle } from '../../src/gpu/ops';
import type { AttentionParams } from '../../src/gpu/ops-api';
import { gpuTestContext, type GpuTestContext } from './gpu-test-context';
import { maxRelError, randomFloats } from './helpers/reference';

let t: GpuTestContext;
beforeAll(async () => {
  t = await gpuTestContext();
});

function cpuDecodeAttention(q: Float32Array, k: Float32Array, v: Float32Array, p: AttentionParams): Float32Array {
  const pos = p.startPos;
  const kvWidth = p.nKvHeads * p.headDim;
  const first = p.slidingWindow ? Math.max(0, pos - p.slidingWindow + 1) : 0;
  const out = new Float32Array(p.nHeads * p.headDim);
  for (let h = 0; h < p.nHeads; h++) {
    const kvh = Math.floor(h / (p.nHeads / p.nKvHeads));
    const scores: number[] = [];
    for (let j = first; j <= pos; j++) {
      let s = 0;
      for (let d = 0; d < p.headDim; d++) s += q[h * p.headDim + d] * k[j * kvWidth + kvh * p.headDim + d];
      s *= p.scale;
      if (p.softcap) s = p.softcap * Math.tanh(s / p.softcap);
      scores.push(s);
    }
    const max = Math.max(...scores);
    const e = scores.map((s) => Math.exp(s - max));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let d = 0; d < p.headDim; d++) {
      let acc = 0;
      for (let j = first; j <= pos; j++) acc += (e[j - first] / sum) * v[j * kvWidth + kvh * p.headDim + d];
      out[h * p.headDim + d] = acc;
    }
  }
  return out;
}

async function decodeCase(ops: WebGpuOpsHandle, p: AttentionParams, seed: number, qScale = 1) {
  const kvWidth = p.nKvHeads * p.headDim;
  const q = randomFloats(p.nHeads * p.headDim, seed, qScale);
  const k = randomFloats((p.startPos + 1) * kvWidth, seed + 1);
  const v = randomFloats((p.startPos + 1) * kvWidth, seed + 2);
  const qBuf = await t.act(q);
  const kCache = await t.f32(k);
  const vCache = await t.f32(v);
  const out = await t.act(q.length);
  ops.attention(qBuf, kCache, vCache, out, p);
  const got = await ops.read(out, 0, q.length);
  for (const b of [qBuf.buffer, kCache, vCache, out.buffer]) t.ctx.allocator.free(b);
  return { got, want: cpuDecodeAttention(q, k, v, p) };
}

const kernels: [string, () => WebGpuOpsHandle][] = [
  ['split', () => createGpuOps(t.ctx)],
  ['single', () => createGpuOps(t.ctx, t.ctx.allocator, { splitDecodeAttention: false })],
];

describe.each(kernels)('decode attention (%s kernel)', (_name, make) => {
  it.each([0, 1, 30, 31, 32, 33, 64, 100, 1000])('attends to every key up to position %i', async (startPos) => {
    const p = { nTokens: 1, startPos, nHeads: 8, nKvHeads: 4, headDim: 8, scale: 1 / Math.sqrt(8) };
    const { got, want } = await decodeCase(make(), p, startPos + 1);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it.each([4, 64, 128])('head size %i with 4 query heads per KV head', async (headDim) => {
    const p = { nTokens: 1, startPos: 77, nHeads: 8, nKvHeads: 2, headDim, scale: 1 / Math.sqrt(headDim) };
    const { got, want } = await decodeCase(make(), p, headDim);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('restricts the query to a sliding window that starts mid-chunk', async () => {
    const p = { nTokens: 1, startPos: 90, nHeads: 4, nKvHeads: 2, headDim: 16, scale: 0.25, slidingWindow: 37 };
    const { got, want } = await decodeCase(make(), p, 5);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('soft-caps the logits', async () => {
    const p = { nTokens: 1, startPos: 45, nHeads: 2, nKvHeads: 2, headDim: 16, scale: 0.25, softcap: 2 };
    const { got, want } = await decodeCase(make(), p, 6, 8);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('stays finite with huge logits whose maximum sits in one chunk', async () => {
    const p = { nTokens: 1, startPos: 130, nHeads: 2, nKvHeads: 1, headDim: 16, scale: 0.25 };
    const { got, want } = await decodeCase(make(), p, 7, 400);
    expect(got.every(Number.isFinite)).toBe(true);
    expect(maxRelError(got, want)).toBeLessThan(1e-3);
  });
});

describe('split decode attention scratch', () => {
  it('grows within one submit and keeps earlier results right', async () => {
    const ops = createGpuOps(t.ctx);
    const short = { nTokens: 1, startPos: 10, nHeads: 4, nKvHeads: 4, headDim: 8, scale: 0.3 };
    const long = { ...short, startPos: 3000 };
    const kvWidth = 32;
    const k = randomFloats(3001 * kvWidth, 20);
    const v = randomFloats(3001 * kvWidth, 21);
    const q = randomFloats(32, 22);
    const [qBuf, outShort, outLong] = [await t.act(q), await t.act(32), await t.act(32)];
    const [kCache, vCache] = [await t.f32(k), await t.f32(v)];
    ops.begin();
    ops.attention(qBuf, kCache, vCache, outShort, short);
    ops.attention(qBuf, kCache, vCache, outLong, long);
    ops.submit();
    expect(maxRelError(await ops.read(outShort, 0, 32), cpuDecodeAttention(q, k, v, short))).toBeLessThan(1e-4);
    expect(maxRelError(await ops.read(outLong, 0, 32), cpuDecodeAttention(q, k, v, long))).toBeLessThan(1e-4);
    for (const b of [qBuf.buffer, outShort.buffer, outLong.buffer, kCache, vCache]) t.ctx.allocator.free(b);
  });
});
