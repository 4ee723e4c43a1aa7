// Rope's attention factor (phi3 longrope) and YaRN against a CPU version of
// ggml's rope_yarn: theta_interp = freq_scale * theta_extrap, mixed with
// theta_extrap by a ramp over pairs corr_low..corr_high, and sin/cos scaled
// by attn_factor * (1 + 0.1 ln(1 / freq_scale)) when YaRN is on.

import { describe, expect, it } from 'vitest';
import type { RopeParams } from '../../src/gpu/ops-api';
import { gpuTestContext } from './gpu-test-context';
import { maxRelError, randomFloats } from './helpers/reference';

function cpuRopeYarn(x: Float32Array, n: number, p: RopeParams): Float32Array {
  const f = Math.fround;
  const out = x.slice();
  const half = p.nRot / 2;
  const thetaScale = f(p.freqBase ** (-2 / p.nRot));
  const ext = p.yarn?.extFactor ?? 0;
  let mscale = p.attnFactor ?? 1;
  if (ext !== 0) mscale *= 1 + 0.1 * Math.log(1 / p.freqScale);
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < p.nHeads; h++) {
      const base = (t * p.nHeads + h) * p.headDim;
      for (let i = 0; i < half; i++) {
        let extrap = p.startPos + t;
        for (let k = 0; k < i; k++) extrap = f(extrap * thetaScale);
        let theta = p.freqScale * extrap;
        if (ext !== 0) {
          const y = (i - p.yarn!.corrLow) / Math.max(0.001, p.yarn!.corrHigh - p.yarn!.corrLow);
          const ramp = (1 - Math.min(1, Math.max(0, y))) * ext;
          theta = theta * (1 - ramp) + extrap * ramp;
        }
        const [ia, ib] = p.neox ? [base + i, base + i + half] : [base + 2 * i, base + 2 * i + 1];
        const [a, b] = [x[ia], x[ib]];
        out[ia] = mscale * (a * Math.cos(theta) - b * Math.sin(theta));
        out[ib] = mscale * (a * Math.sin(theta) + b * Math.cos(theta));
      }
    }
  }
  return out;
}

async function runCase(n: number, p: RopeParams) {
  const t = await gpuTestContext();
  const x = randomFloats(n * p.nHeads * p.headDim, 7 + n);
  const buf = await t.act(x);
  t.ops.rope(buf, n, p);
  const got = await t.read(buf);
  t.ctx.allocator.free(buf.buffer);
  return { got, want: cpuRopeYarn(x, n, p) };
}

const base: RopeParams = { nHeads: 2, headDim: 32, nRot: 32, startPos: 5, freqBase: 10000, freqScale: 1, neox: true };

describe('rope attention factor and YaRN', () => {
  it('scales sin and cos by the attention factor (phi3 longrope), partial NeoX rotation', async () => {
    const { got, want } = await runCase(3, { ...base, nRot: 24, attnFactor: 1.19 });
    expect(maxRelError(got, want)).toBeLessThan(1e-5);
  });

  it('mixes interpolated and extrapolated frequencies over the correction ramp, with the magnitude correction', async () => {
    const { got, want } = await runCase(4, { ...base, startPos: 40, freqScale: 0.25, yarn: { extFactor: 1, corrLow: 2, corrHigh: 9 } });
    expect(maxRelError(got, want)).toBeLessThan(1e-5);
    // Not the same as plain linear scaling: the ramp must matter.
    const plain = cpuRopeYarn(randomFloats(4 * 2 * 32, 7 + 4), 4, { ...base, startPos: 40, freqScale: 0.25 });
    expect(maxRelError(plain, want)).toBeGreaterThan(1e-2);
  });
});
