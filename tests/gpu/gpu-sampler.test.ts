// GPU sampling (src/gpu/gpu-sampler.ts) against its reference, the CPU
// sampler: the same ids for the same seed, options and logits, step after
// step with the history growing (penalties), on random, peaked, flat and
// tied logits, and with a grammar's token bitmask; the draws follow the
// softmax; no allocation per token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { createSampler, softmax } from '../../src/engine/sampler';
import type { SamplingOptions } from '../../src/engine/types';
import { gpuTestContext } from './gpu-test-context';
import { rng } from './helpers/reference';
import { samplerRig, type SamplerRig } from './helpers/sampler-harness';

type Shape = 'random' | 'peaked' | 'flat' | 'ties' | 'special';

/** Logits of one step: normal-ish noise, a few dominant tokens, all equal, few distinct values, or with NaN/inf. */
function logitsFor(shape: Shape, n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const noise = (r() + r() + r() - 1.5) * 4;
    if (shape === 'random') out[i] = noise;
    else if (shape === 'peaked') out[i] = noise - 6;
    else if (shape === 'ties') out[i] = Math.round(noise / 2);
    else if (shape === 'special') out[i] = noise;
  }
  if (shape === 'peaked') for (let j = 0; j < 5; j++) out[Math.floor(r() * n)] = 8 + j * r();
  if (shape === 'special') {
    out[1] = NaN;
    out[2] = -Infinity;
    out[Math.floor(n / 2)] = NaN;
    out[n - 1] = 7.5;
  }
  return out;
}

/** The CPU sampler over the same steps, its own ids feeding its history. */
function cpuRun(options: SamplingOptions, history: readonly number[], steps: readonly Float32Array[]): number[] {
  const s = createSampler(options);
  const h = history.slice();
  return steps.map((l) => {
    const id = s.sample(l, h);
    h.push(id);
    return id;
  });
}

const COMBOS: Record<string, SamplingOptions> = {
  greedy: { temperature: 0 },
  'greedy + penalties': { temperature: 0, repeatPenalty: 1.3, frequencyPenalty: 0.4, presencePenalty: 0.3, repeatLastN: 8 },
  'temperature only': { temperature: 0.9, topK: 0, topP: 1, minP: 0 },
  'top-k': { temperature: 1.2, topK: 7, topP: 1, minP: 0 },
  'top-p': { temperature: 1, topK: 0, topP: 0.8, minP: 0 },
  'min-p': { temperature: 1.5, topK: 0, topP: 1, minP: 0.2 },
  defaults: {},
  'full chain + penalties': { temperature: 0.7, topK: 50, topP: 0.9, minP: 0.02, repeatPenalty: 1.5, frequencyPenalty: 0.5, presencePenalty: 0.5, repeatLastN: 16 },
  'penalties over all history': { temperature: 1, topK: 20, topP: 0.95, repeatPenalty: 2, frequencyPenalty: 1, repeatLastN: -1 },
};

function history(n: number, length: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length }, () => Math.floor(r() * Math.min(n, 64)));
}

describe('GPU sampler = CPU sampler, vocabulary 512', () => {
  let rig: SamplerRig;
  beforeAll(async () => {
    rig = await samplerRig((await gpuTestContext()).ctx, 512);
  });
  afterAll(() => rig.destroy());

  const shapes: Shape[] = ['random', 'peaked', 'flat', 'ties', 'special'];
  for (const [name, options] of Object.entries(COMBOS)) {
    it(`${name}: same ids over 4 seeds x 5 logit shapes, 12 steps each`, async () => {
      for (let seed = 1; seed <= 4; seed++) {
        for (const shape of shapes) {
          const steps = Array.from({ length: 12 }, (_, k) => logitsFor(shape, 512, seed * 100 + k));
          const h = history(512, 20, seed);
          const o = { ...options, seed: seed * 7919 };
          expect(await rig.run(o, h, steps), `${name} seed ${seed} ${shape}`).toEqual(cpuRun(o, h, steps));
        }
      }
    });
  }

  it('the same logits at every step: sample_index moves the random stream, penalties see the new tokens', async () => {
    const logits = logitsFor('flat', 512, 3);
    const steps = Array.from({ length: 40 }, () => logits);
    const o = { temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 3, presencePenalty: 2, repeatLastN: 4, seed: 5 };
    const ids = await rig.run(o, [], steps);
    expect(ids).toEqual(cpuRun(o, [], steps));
    expect(new Set(ids).size).toBeGreaterThan(20);
  });

  it('a penalty window longer than the ring grows it; tokens leave the window; ids outside the vocabulary are ignored', async () => {
    // Token 7 has by far the best logit but sits once in the history, at position 45: with a
    // 100-token window over 142 tokens it leaves after draw 3, and only then can it win.
    const h = history(512, 142, 77).map((id) => 20 + (id % 40));
    h[45] = 7;
    h[60] = 9999;
    h[61] = 600;
    const steps = Array.from({ length: 12 }, (_, k) => {
      const l = logitsFor('random', 512, 500 + k).map((x) => x / 4);
      l[7] = 10;
      return l;
    });
    for (const repeatLastN of [100, 300]) {
      const o = { temperature: 0.5, topK: 30, topP: 1, minP: 0, repeatPenalty: 50, frequencyPenalty: 0.3, repeatLastN, seed: repeatLastN };
      const ids = await rig.run(o, h, steps);
      expect(ids, `repeatLastN ${repeatLastN}`).toEqual(cpuRun(o, h, steps));
      expect(ids.slice(0, 4)).not.toContain(7);
      if (repeatLastN === 100) expect(ids[4]).toBe(7);
    }
  });

  it('continues a request whose first draws were made on the CPU sampler', async () => {
    const o = { temperature: 0.8, topK: 20, topP: 0.9, repeatPenalty: 1.5, frequencyPenalty: 0.5, repeatLastN: 6, seed: 4242 };
    const steps = Array.from({ length: 10 }, (_, k) => logitsFor('ties', 512, 900 + k));
    const h = history(512, 12, 5);
    const all = cpuRun(o, h, steps);
    const gpu = await rig.run(o, [...h, ...all.slice(0, 3)], steps.slice(3), 3);
    expect(gpu).toEqual(all.slice(3));
  });

  it('a token bitmask (grammars) gives the CPU sampler ids on logits masked to -inf, every combination of stages', async () => {
    const n = 512;
    const r = rng(31);
    const sparse = new Uint32Array(Math.ceil(n / 32));
    for (let id = 0; id < n; id++) if (r() < 0.3) sparse[id >> 5] |= 1 << (id & 31);
    // One allowed token, far from the best logits: the mask must win over the logits.
    const single = new Uint32Array(Math.ceil(n / 32));
    single[400 >> 5] |= 1 << (400 & 31);
    const masked = (l: Float32Array, mask: Uint32Array) => l.map((x, id) => ((mask[id >> 5] >>> (id & 31)) & 1 ? x : -Infinity));
    for (const [name, options] of Object.entries(COMBOS)) {
      for (const [shape, mask] of [['random', sparse], ['special', sparse], ['peaked', single]] as const) {
        const steps = Array.from({ length: 8 }, (_, k) => logitsFor(shape, n, 700 + k));
        const h = history(n, 20, 9);
        const o = { ...options, seed: 77 };
        const ids = await rig.run(o, h, steps, 0, mask);
        expect(ids, `${name} ${shape}`).toEqual(cpuRun(o, h, steps.map((l) => masked(l, mask))));
        for (const id of ids) expect((mask[id >> 5] >>> (id & 31)) & 1, `${name} ${shape}: ${id}`).toBe(1);
      }
    }
    // The next request without the flag ignores the mask left in the buffer.
    const steps = [logitsFor('peaked', n, 5)];
    expect(await rig.run({ temperature: 0 }, [], steps)).toEqual(cpuRun({ temperature: 0 }, [], steps));
  });

  it('validates options as the CPU sampler does', async () => {
    await expect(rig.sampler.begin({ topP: 1.5 }, [])).rejects.toThrow(/topP/);
    await expect(rig.sampler.begin({ repeatLastN: -2 }, [])).rejects.toThrow(ClawError);
    await expect(rig.sampler.begin({ temperature: 0 }, [1, 2], 3)).rejects.toThrow(ClawError);
    await rig.sampler.begin({ temperature: 0 }, []);
    expect(rig.sampler.dispatches().length).toBe(2);
  });

  it('draws follow the softmax of the candidates (chi-square, 7 degrees of freedom, below 24.3: p = 0.001)', async () => {
    // 8 candidates after top-k with probabilities spread from ~0.3 to ~0.03.
    const logits = new Float32Array(512).fill(-5);
    const top = [0.9, 0.6, 0.3, 0.1, -0.2, -0.5, -0.9, -1.4];
    top.forEach((l, j) => (logits[100 + 37 * j] = l));
    const draws = 2000;
    const ids = await rig.run({ temperature: 1, topK: 8, topP: 1, minP: 0, seed: 99 }, [], Array.from({ length: draws }, () => logits));
    const p = Array.from(softmax(top));
    let chi2 = 0;
    top.forEach((_, j) => {
      const observed = ids.filter((id) => id === 100 + 37 * j).length;
      chi2 += (observed - draws * p[j]) ** 2 / (draws * p[j]);
    });
    expect(ids.every((id) => (id - 100) % 37 === 0 && id >= 100 && id < 100 + 37 * 8)).toBe(true);
    expect(chi2).toBeLessThan(24.3);
  });

  it('compiles greedy at create and the full chain at the first sampling request; creates no buffer and no bind group per token', async () => {
    const t = await gpuTestContext();
    const counts = { createBuffer: 0, createBindGroup: 0, createComputePipelineAsync: 0 };
    const device = new Proxy(t.ctx.device, {
      get(target, key) {
        const v = Reflect.get(target, key);
        if (key === 'createBuffer' || key === 'createBindGroup' || key === 'createComputePipelineAsync') {
          return (...args: unknown[]) => {
            counts[key]++;
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const counted = await samplerRig(t.ctx, 512, device);
    const before = { ...counts };
    expect(before.createBindGroup).toBeGreaterThan(0);
    // Greedy's argmax and final kernels only.
    expect(before.createComputePipelineAsync).toBe(2);
    await counted.sampler.begin({ temperature: 0 }, [1, 2, 3]);
    expect(counts).toEqual(before);
    const o = { temperature: 0.8, topK: 10, topP: 0.9, minP: 0.05, repeatPenalty: 1.2, seed: 1 };
    await counted.sampler.begin(o, [1, 2, 3]);
    const afterBegin = { ...counts };
    // The first sampling request compiled the rest of the chain, and made no buffer or bind group.
    expect(afterBegin.createComputePipelineAsync).toBeGreaterThan(before.createComputePipelineAsync);
    expect({ ...afterBegin, createComputePipelineAsync: 0 }).toEqual({ ...before, createComputePipelineAsync: 0 });
    const steps = Array.from({ length: 16 }, (_, k) => logitsFor('random', 512, k));
    expect(await counted.run(o, [1, 2, 3], steps)).toEqual(cpuRun(o, [1, 2, 3], steps));
    // Nothing more for the steps, or for a later request.
    await counted.sampler.begin({ ...o, seed: 2, topK: 0 }, [1]);
    expect(counts).toEqual(afterBegin);
    counted.destroy();
  });
});

describe.each([32000, 151936])('GPU sampler = CPU sampler, vocabulary %i', (n) => {
  let rig: SamplerRig;
  beforeAll(async () => {
    rig = await samplerRig((await gpuTestContext()).ctx, n);
  });
  afterAll(() => rig.destroy());

  const cases: [string, Shape][] = n > 100000 ? [['greedy', 'random'], ['full chain + penalties', 'peaked'], ['top-p', 'flat']] : [
    ['greedy + penalties', 'random'],
    ['temperature only', 'random'],
    ['top-p', 'peaked'],
    ['full chain + penalties', 'ties'],
    ['min-p', 'flat'],
  ];
  for (const [name, shape] of cases) {
    const seeds = n > 100000 ? 2 : 3;
    it(`${name}, ${shape} logits: same ids over ${seeds} seeds, 4 steps each`, async () => {
      for (let seed = 1; seed <= seeds; seed++) {
        const steps = Array.from({ length: 4 }, (_, k) => logitsFor(shape, n, seed * 10 + k));
        const h = history(n, 30, seed);
        const o = { ...COMBOS[name], seed: seed * 31 };
        expect(await rig.run(o, h, steps), `seed ${seed}`).toEqual(cpuRun(o, h, steps));
      }
    });
  }
});
