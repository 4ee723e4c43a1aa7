// Rotary embedding against a CPU version of ggml's rope (no YaRN): adjacent
// and NeoX pairs, partial rotation, linear scaling, frequency factors.

import { describe, expect, it } from 'vitest';
import type { RopeParams } from '../../src/gpu/ops-api';
import { gpuTestContext } from './gpu-test-context';
import { maxRelError, randomFloats } from './helpers/reference';

// f32 at every step, in ggml's order: theta_scale^i by repeated multiplication.
function cpuRope(x: Float32Array, n: number, p: RopeParams, freqFactors?: Float32Array): Float32Array {
  const f = Math.fround;
  const out = x.slice();
  const half = p.nRot / 2;
  const thetaScale = f(p.freqBase ** (-2 / p.nRot));
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < p.nHeads; h++) {
      const base = (t * p.nHeads + h) * p.headDim;
      for (let i = 0; i < half; i++) {
        let theta = p.startPos + t;
        for (let k = 0; k < i; k++) theta = f(theta * thetaScale);
        if (freqFactors) theta = f(theta / freqFactors[i]);
        theta = f(theta * p.freqScale);
        const [ia, ib] = p.neox ? [base + i, base + i + half] : [base + 2 * i, base + 2 * i + 1];
        const a = x[ia];
        const b = x[ib];
        out[ia] = a * Math.cos(theta) - b * Math.sin(theta);
        out[ib] = a * Math.sin(theta) + b * Math.cos(theta);
      }
    }
  }
  return out;
}

async function runCase(n: number, p: Omit<RopeParams, 'freqFactors'>, factors?: Float32Array) {
  const t = await gpuTestContext();
  const x = randomFloats(n * p.nHeads * p.headDim, n * 13 + p.nRot);
  const buf = await t.act(x);
  const ff = factors ? await t.f32(factors) : undefined;
  t.ops.rope(buf, n, { ...p, freqFactors: ff });
  const got = await t.read(buf);
  t.ctx.allocator.free(buf.buffer);
  if (ff) t.ctx.allocator.free(ff);
  return { got, want: cpuRope(x, n, p, factors) };
}

const llama = { nHeads: 3, headDim: 16, nRot: 16, startPos: 0, freqBase: 10000, freqScale: 1, neox: false };

describe('rope', () => {
  it('rotates adjacent pairs (llama style) for a prefill batch', async () => {
    const { got, want } = await runCase(5, llama);
    expect(maxRelError(got, want)).toBeLessThan(1e-6);
  });

  it('rotates NeoX halves at a later start position', async () => {
    const { got, want } = await runCase(3, { ...llama, neox: true, startPos: 37 });
    expect(maxRelError(got, want)).toBeLessThan(1e-6);
  });

  it('leaves dimensions past nRot untouched (partial rotary)', async () => {
    for (const neox of [false, true]) {
      const { got, want } = await runCase(2, { ...llama, nRot: 8, neox, startPos: 4 });
      expect(maxRelError(got, want)).toBeLessThan(1e-6);
    }
  });

  it('applies linear position scaling and per-pair frequency factors', async () => {
    const factors = new Float32Array([1, 1.5, 2, 4, 8, 8, 16, 32]);
    const { got, want } = await runCase(4, { ...llama, freqScale: 0.25, freqBase: 500000, startPos: 9 }, factors);
    expect(maxRelError(got, want)).toBeLessThan(1e-6);
  });
});

it('stays accurate at positions in the tens of thousands', async () => {
  const { got, want } = await runCase(2, { ...llama, nHeads: 1, startPos: 30000 });
  // theta ~ 3e4 carries f32 rounding of ~2e-3 rad in both versions; the rest must agree.
  expect(maxRelError(got, want)).toBeLessThan(1e-5);
});
