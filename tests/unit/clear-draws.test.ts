// The judge of close draws (tests/fixtures/clear-draws.ts) that the decode
// loop's token comparisons rest on: a draw it calls clear is the same for
// every logits vector within eps (random and adversarial changes), for
// greedy and for each sampling stage; most draws of ordinary logits are
// clear at the bound the GPU tests use; the comparison finds a token
// drawn differently at a clear step; and a reference run records what the
// CPU sampler drew from the logits after each history.

import { describe, expect, it } from 'vitest';
import { createSampler, planSampling, samplingDistribution } from '../../src/engine/sampler';
import { gumbel } from '../../src/engine/sampling-math';
import type { SamplingOptions } from '../../src/engine/types';
import { compareDraws, isClearDraw, LOGIT_AGREEMENT, referenceDraws, type ReferenceDraw } from '../fixtures/clear-draws';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const N = 256;
type Shape = 'random' | 'peaked' | 'near-ties' | 'cut-edge';

function logitsFor(shape: Shape, r: () => number): Float32Array {
  const out = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const noise = (r() + r() + r() - 1.5) * 4;
    out[i] = shape === 'peaked' ? noise - 6 : shape === 'near-ties' ? Math.round(noise * 20) / 20 + (r() - 0.5) * 1e-3 : noise;
  }
  if (shape === 'peaked') for (let j = 0; j < 4; j++) out[Math.floor(r() * N)] = 6 + 2 * r();
  // cut-edge: random, then one token moved (atTheCut).
  return out;
}

const COMBOS: Record<string, SamplingOptions> = {
  greedy: { temperature: 0 },
  'greedy + penalties': { temperature: 0, repeatPenalty: 1.3, frequencyPenalty: 0.2, presencePenalty: 0.1, repeatLastN: 8 },
  'temperature only': { temperature: 0.9, topK: 0, topP: 1, minP: 0, seed: 5 },
  'top-k': { temperature: 1.2, topK: 7, topP: 1, minP: 0, seed: 6 },
  'top-p': { temperature: 1, topK: 0, topP: 0.8, minP: 0, seed: 7 },
  'min-p': { temperature: 1.5, topK: 0, topP: 1, minP: 0.2, seed: 8 },
  'full chain + penalties': { temperature: 0.9, topK: 40, topP: 0.9, minP: 0.02, repeatPenalty: 1.3, frequencyPenalty: 0.2, presencePenalty: 0.1, repeatLastN: 16, seed: 9 },
};

/**
 * Puts the token the draw favours most (the largest Gumbel variate) within
 * a hair of the filters' cut, where a small change lets it in or out.
 */
function atTheCut(l: Float32Array, history: readonly number[], options: SamplingOptions, index: number, r: () => number): void {
  const seed = planSampling(options).seed;
  let favoured = 0;
  for (let i = 1; i < N; i++) if (gumbel(seed, index, i) > gumbel(seed, index, favoured)) favoured = i;
  l[favoured] = -10;
  const kept = samplingDistribution(l, history, options).ids;
  const sorted = Array.from(l.keys()).sort((a, b) => l[b] - l[a]);
  // Beside the last kept token, the first cut one, or min-p's threshold.
  const edges = [l[kept[kept.length - 1]], l[sorted[kept.length]], Math.max(...l) + Math.log(options.minP ?? 0.05)];
  l[favoured] = edges[Math.floor(r() * edges.length)] + (r() - 0.5) * 0.02;
}

/** The sampler's draw number `index` (its draws before are spent on a one-token vocabulary). */
function drawAt(options: SamplingOptions, index: number, logits: Float32Array, history: readonly number[]): number {
  const s = createSampler(options);
  const one = new Float32Array(1);
  for (let i = 0; i < index; i++) s.sample(one, []);
  return s.sample(logits, history);
}

/** Changes within eps: uniform, random signs, and pushes against the drawn token and the cut. */
function* changes(l: Float32Array, chosen: number, eps: number, r: () => number): Generator<Float32Array> {
  const top = l.indexOf(Math.max(...l));
  yield l.map((v, i) => v + (i === chosen ? -eps : eps));
  yield l.map((v, i) => v + (i === top ? -eps : eps));
  yield l.map((v, i) => v + (i === top ? eps : -eps));
  yield l.map((v) => v + (v > l[chosen] ? eps : -eps));
  for (let t = 0; t < 8; t++) yield l.map((v) => v + (r() < 0.5 ? -eps : eps));
  for (let t = 0; t < 8; t++) yield l.map((v) => v + (2 * r() - 1) * eps);
}

describe('clear draws', () => {
  for (const [name, options] of Object.entries(COMBOS)) {
    it(`${name}: a clear draw survives every change within eps; most ordinary draws are clear`, () => {
      const r = rng(name.length * 7919);
      let clear = 0;
      let ordinary = 0;
      let flipped = 0;
      const shapes: Shape[] = options.temperature === 0 ? ['random', 'peaked', 'near-ties'] : ['random', 'peaked', 'near-ties', 'cut-edge'];
      for (const shape of shapes) {
        const sampler = createSampler(options);
        const history = [3, 9, 3, 27];
        for (let step = 0; step < (shape === 'cut-edge' ? 40 : 10); step++) {
          const l = logitsFor(shape, r);
          for (const id of history.slice(-3)) l[id] += 2; // tokens seen recently are likely again (penalties act)
          if (shape === 'cut-edge') atTheCut(l, history, options, step, r);
          const chosen = sampler.sample(l, history);
          let largest = 0;
          for (const v of l) largest = Math.max(largest, Math.abs(v));
          for (const eps of [LOGIT_AGREEMENT * largest, 0.05, 0.3]) {
            const isClear = isClearDraw(l, history, options, step, chosen, eps);
            if (eps < 0.05 && (shape === 'random' || shape === 'peaked')) {
              ordinary++;
              if (isClear) clear++;
            }
            for (const changed of changes(l, chosen, eps, r)) {
              const other = drawAt(options, step, changed, history);
              if (isClear) expect(other, `${shape} step ${step} eps ${eps}`).toBe(chosen);
              else if (other !== chosen) flipped++;
            }
          }
          history.push(chosen);
        }
      }
      expect(clear / ordinary).toBeGreaterThan(0.8);
      // The judgement is not vacuous the other way either: some draws it called close did change.
      expect(flipped).toBeGreaterThan(0);
    });
  }

  it('compareDraws: equal runs compare in full; a different token at a clear draw is a mismatch, at a close one the end', () => {
    const options = { temperature: 0 };
    const ref: ReferenceDraw[] = [];
    const history = [1];
    for (let i = 0; i < 6; i++) {
      const logits = new Float32Array(8).fill(0);
      logits[i + 1] = 5;
      logits[7] = i === 3 ? 5 - 1e-4 : 0; // draw 3: token 4 by a hair over token 7
      ref.push({ logits, history: history.slice(), id: i + 1 });
      history.push(i + 1);
    }
    const eog = new Set([0]);
    expect(compareDraws({ tokens: [1, 2, 3, 4, 5, 6], endedOnEog: false }, ref, options, eog)).toEqual({ compared: 6, mismatch: null, divergedAt: null });
    expect(compareDraws({ tokens: [1, 2, 7, 4, 5, 6], endedOnEog: false }, ref, options, eog).mismatch).toMatch(/draw 2/);
    expect(compareDraws({ tokens: [1, 2, 3, 7, 1, 1], endedOnEog: false }, ref, options, eog)).toEqual({ compared: 3, mismatch: null, divergedAt: 3 });
    expect(compareDraws({ tokens: [1, 2], endedOnEog: true }, ref, options, eog).mismatch).toMatch(/draw 2: end-of-generation/);
    expect(compareDraws({ tokens: [1, 2, 3], endedOnEog: false }, ref, options, eog).mismatch).toMatch(/ended after 3/);
  });

  it('referenceDraws: the CPU sampler over the logits after the prompt and each draw, up to maxTokens or an end-of-generation draw', async () => {
    // Logits favouring (last token + 1) mod 8; token 0 ends generation.
    const next = async (tokens: readonly number[]) => {
      const logits = new Float32Array(8);
      logits[(tokens[tokens.length - 1] + 1) % 8] = 3;
      return logits;
    };
    const eog = new Set([0]);
    const short = await referenceDraws(next, [4], { temperature: 0 }, 10, eog);
    expect(short.map((d) => d.id)).toEqual([5, 6, 7, 0]);
    expect(short.map((d) => d.history)).toEqual([[4], [4, 5], [4, 5, 6], [4, 5, 6, 7]]);
    expect(short[3].logits[0]).toBe(3);
    expect((await referenceDraws(next, [1], { temperature: 0 }, 3, eog)).map((d) => d.id)).toEqual([2, 3, 4]);
    // Seeded: a fresh sampler's draws, numbered from 0, over the histories recorded.
    const seeded = { temperature: 1, seed: 3 };
    const flat = async () => new Float32Array(8).fill(1);
    const draws = await referenceDraws(flat, [1], seeded, 6, new Set());
    const ids = draws.map((d) => d.id);
    expect(draws.map((d) => d.history)).toEqual(ids.map((_, i) => [1, ...ids.slice(0, i)]));
    const sampler = createSampler(seeded);
    expect(draws.map((d) => sampler.sample(d.logits, d.history))).toEqual(ids);
    expect(new Set(ids).size).toBeGreaterThan(1);
  });
});
