import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { createSampler, samplingDistribution, selectTopK, softmax, topKProbs } from '../../src/engine/sampler';
import { exp32, gumbel, log32, streamHash, topPTarget, topPWeight } from '../../src/engine/sampling-math';

const f32 = (xs: number[]) => Float32Array.from(xs);
/** Logits whose softmax is exactly `probs`. */
const logitsOf = (probs: number[]) => f32(probs.map(Math.log));
const OFF = { topK: 0, topP: 1, minP: 0 };

function frequencies(logits: Float32Array, options: Parameters<typeof createSampler>[0], draws: number): Map<number, number> {
  const s = createSampler(options);
  const counts = new Map<number, number>();
  for (let i = 0; i < draws; i++) {
    const id = s.sample(logits, []);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return new Map([...counts].map(([id, c]) => [id, c / draws]));
}

describe('greedy (temperature 0)', () => {
  it('picks the largest logit', () => {
    expect(createSampler({ temperature: 0 }).sample(f32([0.1, 3, -2, 2.9]), [])).toBe(1);
  });

  it('picks the lowest id among equal maxima', () => {
    expect(createSampler({ temperature: 0 }).sample(f32([1, 5, 2, 5, 5]), [])).toBe(1);
  });

  it('never picks a NaN logit', () => {
    expect(createSampler({ temperature: 0 }).sample(f32([NaN, -1, NaN]), [])).toBe(1);
  });
});

describe('penalties', () => {
  it('divides positive and multiplies negative logits of repeated tokens by the repeat penalty', () => {
    // [2, -2, 1] with 0 and 1 seen: [1, -4, 1] -> greedy picks the lower id of the tie.
    const s = createSampler({ temperature: 0, repeatPenalty: 2 });
    expect(s.sample(f32([2, -2, 1.5]), [0, 1])).toBe(2);
    const d = samplingDistribution(f32([2, -2, 1]), [0, 1], { ...OFF, temperature: 1, repeatPenalty: 2 });
    // Remaining logits [1, -4, 1]: probabilities e/(2e+e^-4) for ids 0 and 2.
    const z = 2 * Math.E + Math.exp(-4);
    expect(d.ids).toEqual([0, 2, 1]);
    expect(d.probs[0]).toBeCloseTo(Math.E / z, 6);
    expect(d.probs[2]).toBeCloseTo(Math.exp(-4) / z, 6);
  });

  it('subtracts count * frequency + presence', () => {
    // id 0 seen twice: 2 - 2*0.5 - 0.25 = 0.75; id 1 once: 1 - 0.5 - 0.25 = 0.25; id 2 unseen: 0.5.
    const d = samplingDistribution(f32([2, 1, 0.5]), [0, 1, 0], { ...OFF, temperature: 1, frequencyPenalty: 0.5, presencePenalty: 0.25 });
    const e = [0.75, 0.5, 0.25].map(Math.exp);
    const z = e[0] + e[1] + e[2];
    expect(d.ids).toEqual([0, 2, 1]);
    d.probs.forEach((p, i) => expect(p).toBeCloseTo(e[i] / z, 6));
  });

  it('only looks at the last repeatLastN tokens', () => {
    // Penalising token 0 (2 -> 0.5) hands the win to token 1 (1.5); token 2 never matters.
    const logits = f32([2, 1.5, 0]);
    const pick = (repeatLastN: number, history: number[]) => createSampler({ temperature: 0, repeatPenalty: 4, repeatLastN }).sample(logits, history);
    expect(pick(3, [0, 2, 2, 2])).toBe(0);
    expect(pick(4, [0, 2, 2, 2])).toBe(1);
    expect(pick(-1, [0, 2, 2, 2])).toBe(1);
    expect(pick(0, [0])).toBe(0);
  });
});

describe('candidate filters', () => {
  it('top-k keeps the k largest logits, best first, lower id first on ties', () => {
    expect(Array.from(selectTopK(f32([1, 3, 2, 3, 0]), 3))).toEqual([1, 3, 2]);
    expect(samplingDistribution(f32([0, 5, 4, -1]), [], { ...OFF, temperature: 1, topK: 2 }).ids).toEqual([1, 2]);
  });

  it('top-p keeps the shortest prefix whose mass reaches p', () => {
    const logits = logitsOf([0.5, 0.3, 0.15, 0.05]);
    expect(samplingDistribution(logits, [], { ...OFF, temperature: 1, topP: 0.75 }).ids).toEqual([0, 1]);
    expect(samplingDistribution(logits, [], { ...OFF, temperature: 1, topP: 0.9 }).ids).toEqual([0, 1, 2]);
    expect(samplingDistribution(logits, [], { ...OFF, temperature: 1, topP: 0.1 }).ids).toEqual([0]);
    const d = samplingDistribution(logits, [], { ...OFF, temperature: 1, topP: 0.75 });
    expect(d.probs[0]).toBeCloseTo(0.5 / 0.8, 6);
  });

  it('min-p keeps tokens at least minP times as likely as the best', () => {
    const logits = logitsOf([0.5, 0.3, 0.15, 0.05]);
    expect(samplingDistribution(logits, [], { ...OFF, temperature: 1, minP: 0.2 }).ids).toEqual([0, 1, 2]);
    expect(samplingDistribution(logits, [], { ...OFF, temperature: 1, minP: 0.5 }).ids).toEqual([0, 1]);
  });

  it('applies top-p before temperature, as llama.cpp does', () => {
    // At temperature 1, 0.5 + 0.3 reaches 0.75; a high temperature must not widen the set.
    const d = samplingDistribution(logitsOf([0.5, 0.3, 0.15, 0.05]), [], { ...OFF, temperature: 5, topP: 0.75 });
    expect(d.ids).toEqual([0, 1]);
  });

  it('temperature divides the logits before the softmax', () => {
    const logits = f32([0, Math.log(3)]);
    expect(samplingDistribution(logits, [], { ...OFF, temperature: 1 }).probs).toEqual([expect.closeTo(0.75, 6), expect.closeTo(0.25, 6)]);
    const hot = samplingDistribution(logits, [], { ...OFF, temperature: 2 });
    expect(hot.probs[0]).toBeCloseTo(Math.sqrt(3) / (1 + Math.sqrt(3)), 6);
  });
});

describe('drawing', () => {
  it('draws in proportion to the final probabilities', () => {
    const freq = frequencies(f32([0, 5, 4, -1]), { ...OFF, temperature: 1, topK: 2, seed: 7 }, 20000);
    expect([...freq.keys()].sort()).toEqual([1, 2]);
    expect(freq.get(1)).toBeCloseTo(1 / (1 + Math.exp(-1)), 1);
    expect(Math.abs((freq.get(1) as number) - 1 / (1 + Math.exp(-1)))).toBeLessThan(0.015);
  });

  it('gives the same tokens for the same seed and logits', () => {
    const logits = f32(Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 4));
    const run = (seed: number) => {
      const s = createSampler({ temperature: 1.5, topK: 100, topP: 1, minP: 0, seed });
      return Array.from({ length: 64 }, () => s.sample(logits, []));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('is random when no seed is given', () => {
    const logits = f32(Array.from({ length: 1000 }, () => 0));
    const run = () => {
      const s = createSampler({ temperature: 1, topK: 0, topP: 1, minP: 0 });
      return Array.from({ length: 16 }, () => s.sample(logits, []));
    };
    expect(run()).not.toEqual(run());
  });

  // Its speed is a benchmark's business, not a test's (no timed assertions here).
  it('samples a 150k vocabulary with top-k: every draw is one of the k best', () => {
    const logits = f32(Array.from({ length: 150_000 }, (_, i) => Math.sin(i) * 10));
    const k = 40;
    const best = new Set(Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, k));
    const s = createSampler({ seed: 1, topK: k, repeatPenalty: 1 });
    for (let i = 0; i < 50; i++) expect(best.has(s.sample(logits, [1, 2, 3]))).toBe(true);
  });

  it('rejects invalid options with a typed error', () => {
    expect(() => createSampler({ temperature: -1 })).toThrow(ClawError);
    expect(() => createSampler({ topP: 1.5 })).toThrow(/topP/);
    expect(() => createSampler({ topK: 2.5 })).toThrow(/topK/);
    expect(() => createSampler({ repeatPenalty: 0 })).toThrow(/repeatPenalty/);
    expect(() => createSampler({ temperature: NaN })).toThrow(/temperature/);
    expect(() => createSampler({}).sample(f32([]), [])).toThrow(ClawError);
  });
});

describe('helpers', () => {
  it('softmax matches hand-computed values and survives large logits', () => {
    expect(Array.from(softmax([0, Math.log(3)]))).toEqual([expect.closeTo(0.25, 6), expect.closeTo(0.75, 6)]);
    expect(Array.from(softmax([1000, 1000]))).toEqual([0.5, 0.5]);
  });

  it('topKProbs gives the k most likely tokens with full-softmax probabilities', () => {
    const r = topKProbs([0, Math.log(3), Math.log(2), Math.log(3)], 2);
    expect(r.map((x) => x.id)).toEqual([1, 3]);
    expect(r[0].prob).toBeCloseTo(3 / 9, 6);
  });
});

describe('the random stream and the f32 arithmetic the GPU sampler shares', () => {
  it('draw k is the Gumbel-max over the candidates with gumbel(seed, k, id)', () => {
    const logits = f32(Array.from({ length: 300 }, (_, i) => Math.cos(i * 0.37) * 3));
    const s = createSampler({ ...OFF, temperature: 0.7, seed: 12345 });
    const f = Math.fround;
    const max = Math.max(...logits);
    for (let k = 0; k < 20; k++) {
      let best = 0;
      let bestScore = -Infinity;
      for (let id = 0; id < logits.length; id++) {
        const score = f(f(f(logits[id] - max) * f(1 / 0.7)) + gumbel(12345, k, id));
        if (score > bestScore) [best, bestScore] = [id, score];
      }
      expect(s.sample(logits, [])).toBe(best);
    }
  });

  it('gumbel variates have the standard Gumbel mean and variance (200k draws, 4-sigma bounds)', () => {
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const g = gumbel(7, i >> 10, i & 1023);
      sum += g;
      sq += g * g;
    }
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    // Gumbel: mean = Euler's gamma, variance = pi^2 / 6 (standard deviation of the mean ~ 0.0029).
    expect(Math.abs(mean - 0.5772156649)).toBeLessThan(4 * Math.sqrt(Math.PI ** 2 / 6 / n));
    expect(Math.abs(variance - Math.PI ** 2 / 6)).toBeLessThan(0.05);
  });

  it('the stream depends on every input', () => {
    const h = streamHash(1, 2, 3);
    expect(streamHash(1, 2, 3)).toBe(h);
    expect(new Set([h, streamHash(0, 2, 3), streamHash(1, 0, 3), streamHash(1, 2, 0), streamHash(2 ** 32 - 1, 2, 3)]).size).toBe(5);
  });

  it('exp32 and log32 are close to exp and log in f32', () => {
    for (let x = -23; x <= 0; x += 0.0137) expect(Math.abs(exp32(x) / Math.exp(x) - 1)).toBeLessThan(4e-6);
    expect(exp32(0)).toBe(1);
    expect(exp32(-24)).toBe(0);
    for (let e = -25; e <= 20; e += 0.31) {
      const x = Math.fround(Math.exp(e));
      expect(Math.abs(log32(x) - Math.log(x))).toBeLessThan(4e-6);
    }
  });

  it('top-p targets are exact integers: max(1, ceil(p * total))', () => {
    for (const [pFixed, total] of [[15938355, 32000 * 2 ** 32], [1, 3], [2 ** 24, 2 ** 49 + 12345], [0, 5], [8388608, 2 ** 32 + 1]]) {
      const exact = (BigInt(pFixed) * BigInt(total) + BigInt(2 ** 24 - 1)) / BigInt(2 ** 24);
      expect(topPTarget(pFixed, total)).toBe(Math.max(1, Number(exact)));
    }
    expect(topPWeight(0)).toBe(2 ** 32);
    expect(topPWeight(-30)).toBe(0);
  });

  it('top-p over equal logits cuts at the integer boundary: 0.95 of 32000 keeps 30400', () => {
    // round(0.95 * 2^24) / 2^24 of 32000 equal masses is 30399.9996 tokens: the 30400th reaches it.
    expect(samplingDistribution(new Float32Array(32000), [], { ...OFF, temperature: 1, topP: 0.95 }).ids.length).toBe(30400);
  });

  it('a sampler counts its draws: two samplers with one seed give the same sequence, a fresh one starts over', () => {
    const logits = f32(Array.from({ length: 64 }, (_, i) => (i % 7) * 0.3));
    const a = createSampler({ ...OFF, temperature: 1, seed: 9 });
    const b = createSampler({ ...OFF, temperature: 1, seed: 9 });
    const seqA = Array.from({ length: 30 }, () => a.sample(logits, []));
    expect(Array.from({ length: 30 }, () => b.sample(logits, []))).toEqual(seqA);
    expect(new Set(seqA).size).toBeGreaterThan(5);
  });

  it('+Infinity is the largest finite logit and NaN is never drawn', () => {
    const logits = f32([1, Infinity, NaN, 2]);
    expect(createSampler({ temperature: 0 }).sample(logits, [])).toBe(1);
    const s = createSampler({ ...OFF, temperature: 1, seed: 3 });
    for (let i = 0; i < 50; i++) expect([1, 3]).not.toContain(s.sample(f32([0, NaN, 0.5, NaN]), []));
  });
});
