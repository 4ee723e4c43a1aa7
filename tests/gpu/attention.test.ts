// Causal grouped-query attention over an f32 KV cache, against a direct CPU
// softmax(QK^T)V: decode (n = 1), prefill batches starting past 0, GQA
// ratios 1, 2 and 4, sliding window and logit soft-capping.

import { describe, expect, it } from 'vitest';
import type { AttentionParams } from '../../src/gpu/ops-api';
import { gpuTestContext } from './gpu-test-context';
import { maxRelError, randomFloats } from './helpers/reference';

function cpuAttention(q: Float32Array, k: Float32Array, v: Float32Array, p: AttentionParams): Float32Array {
  const { nTokens, startPos, nHeads, nKvHeads, headDim, scale } = p;
  const window = p.slidingWindow ?? 0;
  const cap = p.softcap ?? 0;
  const kvWidth = nKvHeads * headDim;
  const out = new Float32Array(nTokens * nHeads * headDim);
  for (let t = 0; t < nTokens; t++) {
    const pos = startPos + t;
    for (let h = 0; h < nHeads; h++) {
      const kvh = Math.floor(h / (nHeads / nKvHeads));
      const first = window > 0 ? Math.max(0, pos - window + 1) : 0;
      const scores: number[] = [];
      for (let j = first; j <= pos; j++) {
        let s = 0;
        for (let d = 0; d < headDim; d++) s += q[(t * nHeads + h) * headDim + d] * k[j * kvWidth + kvh * headDim + d];
        s *= scale;
        if (cap > 0) s = cap * Math.tanh(s / cap);
        scores.push(s);
      }
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < headDim; d++) {
        let acc = 0;
        for (let j = first; j <= pos; j++) acc += (e[j - first] / sum) * v[j * kvWidth + kvh * headDim + d];
        out[(t * nHeads + h) * headDim + d] = acc;
      }
    }
  }
  return out;
}

async function runCase(p: AttentionParams, seed: number, qScale = 1) {
  const t = await gpuTestContext();
  const kvRows = p.startPos + p.nTokens;
  const kvWidth = p.nKvHeads * p.headDim;
  const q = randomFloats(p.nTokens * p.nHeads * p.headDim, seed, qScale);
  const k = randomFloats(kvRows * kvWidth, seed + 1);
  const v = randomFloats(kvRows * kvWidth, seed + 2);
  const qBuf = await t.act(q);
  const kCache = await t.f32(k);
  const vCache = await t.f32(v);
  const out = await t.act(q.length);
  t.ops.attention(qBuf, kCache, vCache, out, p);
  const got = await t.read(out);
  for (const b of [qBuf.buffer, kCache, vCache, out.buffer]) t.ctx.allocator.free(b);
  return { got, want: cpuAttention(q, k, v, p) };
}

const base = { headDim: 16, scale: 1 / 4 };

describe('attention', () => {
  it('decodes one token at position 0 (attends only to itself)', async () => {
    const { got, want } = await runCase({ ...base, nTokens: 1, startPos: 0, nHeads: 2, nKvHeads: 2 }, 1);
    expect(maxRelError(got, want)).toBeLessThan(1e-5);
  });

  it('decodes one token over a cache longer than one workgroup chunk', async () => {
    const { got, want } = await runCase({ ...base, nTokens: 1, startPos: 150, nHeads: 4, nKvHeads: 2 }, 2);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it.each([
    [2, 2],
    [4, 2],
    [8, 2],
  ])('prefills a batch starting at startPos > 0 with %i query heads over %i KV heads', async (nHeads, nKvHeads) => {
    const { got, want } = await runCase({ ...base, nTokens: 7, startPos: 5, nHeads, nKvHeads }, 3 + nHeads);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('handles head sizes above the workgroup size (several dims per thread)', async () => {
    const { got, want } = await runCase({ headDim: 80, scale: 1 / Math.sqrt(80), nTokens: 3, startPos: 2, nHeads: 2, nKvHeads: 1 }, 9);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('restricts each query to the sliding window', async () => {
    const { got, want } = await runCase({ ...base, nTokens: 6, startPos: 10, nHeads: 2, nKvHeads: 1, slidingWindow: 4 }, 11);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('soft-caps the attention logits', async () => {
    const { got, want } = await runCase({ ...base, nTokens: 4, startPos: 3, nHeads: 2, nKvHeads: 2, softcap: 2 }, 12, 8);
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
  });

  it('stays finite with very large logits (stable softmax)', async () => {
    const { got, want } = await runCase({ ...base, nTokens: 2, startPos: 70, nHeads: 2, nKvHeads: 2 }, 13, 400);
    expect(got.every(Number.isFinite)).toBe(true);
    expect(maxRelError(got, want)).toBeLessThan(1e-3);
  });
});
