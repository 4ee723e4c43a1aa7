// Picks the next token from the model's logits. The stages and their order
// are llama.cpp's defaults: repetition/frequency/presence penalties over the
// recent tokens -> top-k -> top-p -> min-p -> temperature -> a seeded draw.
// Temperature 0 is plain argmax (after penalties). This is also the
// reference of the GPU sampler (src/gpu/gpu-sampler.ts): penalties, the
// top-p masses and the draw are computed in f32 with the formulas of
// sampling-math.ts, which the kernels mirror, and the draw is the Gumbel-max
// trick over a counter-based random stream, so the same seed gives the same
// tokens on both (docs/gpu-kernels.md, "GPU sampling").
// Built for 150k-token vocabularies: top-k keeps a k-sized heap instead of
// sorting the vocabulary, and per-call buffers are reused.

import { ClawError } from '../errors';
import { F32_MAX, TOP_P_BITS, gumbel, topPTarget, topPWeight } from './sampling-math';
import { DEFAULT_SAMPLING } from './defaults';
import type { SamplingOptions } from './types';

export interface Sampler {
  /** The next token id. `history` holds the tokens so far (prompt and output), oldest first. */
  sample(logits: Float32Array, history: readonly number[]): number;
}

type ResolvedSampling = { -readonly [K in keyof typeof DEFAULT_SAMPLING]: number } & { seed: number };

/**
 * Validated options and the f32 constants both samplers compute with. The
 * seed is taken modulo 2^32.
 */
export interface SamplingPlan {
  readonly options: Readonly<ResolvedSampling>;
  /** Temperature 0: argmax after penalties. */
  readonly greedy: boolean;
  readonly seed: number;
  /** Whether any penalty changes a logit (repeatLastN != 0 and some penalty not neutral). */
  readonly penalize: boolean;
  /** The f32 values of repeatPenalty, 1 / repeatPenalty, frequencyPenalty, presencePenalty, 1 / temperature, ln(minP). */
  readonly repeat: number;
  readonly invRepeat: number;
  readonly frequency: number;
  readonly presence: number;
  readonly invTemperature: number;
  readonly logMinP: number;
  /** topP in 2^-24 units. */
  readonly topPFixed: number;
}

export function planSampling(options: SamplingOptions = {}): SamplingPlan {
  const o = resolveOptions(options);
  const f = Math.fround;
  return {
    options: o,
    greedy: o.temperature <= 0,
    seed: o.seed >>> 0,
    penalize: o.repeatLastN !== 0 && !(o.repeatPenalty === 1 && o.frequencyPenalty === 0 && o.presencePenalty === 0),
    repeat: f(o.repeatPenalty),
    invRepeat: f(1 / o.repeatPenalty),
    frequency: f(o.frequencyPenalty),
    presence: f(o.presencePenalty),
    invTemperature: o.temperature > 0 ? f(1 / o.temperature) : 0,
    logMinP: o.minP > 0 ? f(Math.log(o.minP)) : -Infinity,
    topPFixed: Math.round(o.topP * 2 ** TOP_P_BITS),
  };
}

export function createSampler(options: SamplingOptions = {}): Sampler {
  const plan = planSampling(options);
  const scratch = { logits: new Float32Array(0) };
  let sampleIndex = 0;
  return {
    sample(logits: Float32Array, history: readonly number[]): number {
      const d = distribution(logits, history, plan, scratch);
      const index = sampleIndex++;
      return 'greedy' in d ? d.greedy : draw(scratch.logits, d.ids, d.max, plan, index);
    },
  };
}

/**
 * What the sampler would draw from, for tests and tools: the surviving
 * candidates best first and their final probabilities (greedy: one token).
 */
export function samplingDistribution(logits: Float32Array, history: readonly number[], options: SamplingOptions = {}): { ids: number[]; probs: number[] } {
  const scratch = { logits: new Float32Array(0) };
  const plan = planSampling({ seed: 0, ...options });
  const d = distribution(logits, history, plan, scratch);
  return 'greedy' in d ? { ids: [d.greedy], probs: [1] } : { ids: Array.from(d.ids), probs: Array.from(probabilities(scratch.logits, d.ids, plan.options.temperature)) };
}

type Distribution = { greedy: number } | { ids: Int32Array; max: number };

/**
 * The values top-k, top-p, min-p and the draw rank (NaN as -Infinity,
 * +Infinity as the largest f32, then the penalties), for tests that judge
 * how close a draw was (tests/fixtures/clear-draws.ts).
 */
export function penalizedLogits(logits: Float32Array, history: readonly number[], options: SamplingOptions = {}): Float32Array {
  const scratch = { logits: new Float32Array(0) };
  penalize(logits, history, planSampling({ seed: 0, ...options }), scratch);
  return scratch.logits;
}

function penalize(logits: Float32Array, history: readonly number[], plan: SamplingPlan, scratch: { logits: Float32Array }): Float32Array {
  const n = logits.length;
  if (n === 0) throw new ClawError('clw-bad-request', 'cannot sample from empty logits');
  if (scratch.logits.length !== n) scratch.logits = new Float32Array(n);
  const l = scratch.logits;
  // NaN would poison every comparison below; such a token is never picked.
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    l[i] = Number.isNaN(v) ? -Infinity : v === Infinity ? F32_MAX : v;
  }
  if (plan.penalize) applyPenalties(l, history, plan);
  return l;
}

function distribution(logits: Float32Array, history: readonly number[], plan: SamplingPlan, scratch: { logits: Float32Array }): Distribution {
  const l = penalize(logits, history, plan, scratch);
  const n = l.length;
  if (plan.greedy) return { greedy: argmax(l) };

  const o = plan.options;
  let ids = o.topK > 0 && o.topK < n ? selectTopK(l, o.topK) : sortAll(l);
  const max = l[ids[0]];
  // All candidates at -Infinity leave no distribution; take the best-ranked.
  if (max === -Infinity) return { greedy: ids[0] };
  if (o.topP < 1) ids = keepTopP(l, ids, max, plan.topPFixed);
  ids = keepMinP(l, ids, Math.fround(max + plan.logMinP));
  return { ids, max };
}

function resolveOptions(options: SamplingOptions): ResolvedSampling {
  const o: ResolvedSampling = { ...DEFAULT_SAMPLING, seed: options.seed ?? randomSeed() };
  for (const key of Object.keys(DEFAULT_SAMPLING) as (keyof typeof DEFAULT_SAMPLING)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw badOption(key, v, 'a finite number');
    o[key] = v;
  }
  if (o.temperature < 0) throw badOption('temperature', o.temperature, '>= 0');
  if (o.topP < 0 || o.topP > 1) throw badOption('topP', o.topP, 'between 0 and 1');
  if (o.minP < 0 || o.minP > 1) throw badOption('minP', o.minP, 'between 0 and 1');
  if (o.repeatPenalty <= 0) throw badOption('repeatPenalty', o.repeatPenalty, '> 0');
  if (!Number.isInteger(o.topK)) throw badOption('topK', o.topK, 'an integer (0 = off)');
  if (!Number.isInteger(o.repeatLastN) || o.repeatLastN < -1) throw badOption('repeatLastN', o.repeatLastN, 'an integer >= -1 (-1 = all)');
  if (!Number.isFinite(o.seed)) throw badOption('seed', o.seed, 'a finite number');
  return o;
}

function badOption(name: string, value: unknown, expected: string): ClawError {
  return new ClawError('clw-bad-request', `sampling option ${name} = ${String(value)}; expected ${expected}`, { details: { option: name, value } });
}

/** The tokens of the penalty window: the last repeatLastN of the history (-1: all of it). */
export function penaltyWindow(history: readonly number[], repeatLastN: number): { start: number; end: number } {
  return { start: repeatLastN < 0 ? 0 : Math.max(0, history.length - repeatLastN), end: history.length };
}

/**
 * llama.cpp's penalties, in f32: a repeated token's logit is divided by the
 * repeat penalty (times its f32 reciprocal) when positive and multiplied
 * when negative (so it always becomes less likely), then lowered by
 * count * frequency + presence.
 */
function applyPenalties(logits: Float32Array, history: readonly number[], plan: SamplingPlan): void {
  const f = Math.fround;
  const { start, end } = penaltyWindow(history, plan.options.repeatLastN);
  const counts = new Map<number, number>();
  for (let i = start; i < end; i++) counts.set(history[i], (counts.get(history[i]) ?? 0) + 1);
  for (const [id, count] of counts) {
    if (!(id >= 0 && id < logits.length)) continue;
    let l = logits[id];
    l = l <= 0 ? f(l * plan.repeat) : f(l * plan.invRepeat);
    logits[id] = f(f(l - f(count * plan.frequency)) - plan.presence);
  }
}

/** Index of the largest value; the lowest index among equals. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** `a` ranks before `b`: larger value, then lower id. */
const ranksBefore = (values: ArrayLike<number>, a: number, b: number): boolean => values[a] > values[b] || (values[a] === values[b] && a < b);

/**
 * The k best ids, best first, in O(n log k): a min-heap of the k best seen
 * so far whose root is the weakest, replaced whenever a better one arrives.
 */
export function selectTopK(values: ArrayLike<number>, k: number): Int32Array {
  const n = values.length;
  k = Math.min(k, n);
  const heap = new Int32Array(k);
  const weaker = (a: number, b: number) => ranksBefore(values, b, a);
  const siftDown = (i: number, size: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < size && weaker(heap[l], heap[w])) w = l;
      if (r < size && weaker(heap[r], heap[w])) w = r;
      if (w === i) return;
      const t = heap[i];
      heap[i] = heap[w];
      heap[w] = t;
      i = w;
    }
  };
  for (let i = 0; i < k; i++) heap[i] = i;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(i, k);
  for (let id = k; id < n; id++) {
    if (ranksBefore(values, id, heap[0])) {
      heap[0] = id;
      siftDown(0, k);
    }
  }
  return heap.sort((a, b) => (ranksBefore(values, a, b) ? -1 : 1));
}

function sortAll(values: ArrayLike<number>): Int32Array {
  const ids = new Int32Array(values.length);
  for (let i = 0; i < ids.length; i++) ids[i] = i;
  return ids.sort((a, b) => (ranksBefore(values, a, b) ? -1 : 1));
}

/** Probabilities of `ids` (sorted best first) under a softmax of `logits / temperature`. */
function probabilities(logits: ArrayLike<number>, ids: Int32Array, temperature = 1): Float64Array {
  const p = new Float64Array(ids.length);
  const max = logits[ids[0]];
  let sum = 0;
  for (let i = 0; i < ids.length; i++) {
    p[i] = Math.exp((logits[ids[i]] - max) / temperature);
    sum += p[i];
  }
  for (let i = 0; i < ids.length; i++) p[i] /= sum;
  return p;
}

/**
 * The shortest best-first prefix whose mass reaches p (at least one token),
 * in integers: each token weighs topPWeight(logit - max), so the sum is
 * exact in any order (the GPU adds them in another).
 */
function keepTopP(logits: ArrayLike<number>, ids: Int32Array, max: number, pFixed: number): Int32Array {
  let total = 0;
  for (let i = 0; i < ids.length; i++) total += topPWeight(Math.fround(logits[ids[i]] - max));
  const target = topPTarget(pFixed, total);
  let cumulative = 0;
  for (let i = 0; i < ids.length; i++) {
    cumulative += topPWeight(Math.fround(logits[ids[i]] - max));
    if (cumulative >= target) return ids.subarray(0, i + 1);
  }
  return ids;
}

/** Tokens at least minP times as likely as the best one: logit >= best + ln(minP), in f32 (at least one token). */
function keepMinP(logits: ArrayLike<number>, ids: Int32Array, threshold: number): Int32Array {
  let keep = 1;
  while (keep < ids.length && logits[ids[keep]] >= threshold) keep++;
  return ids.subarray(0, keep);
}

/**
 * The Gumbel-max draw: the candidate with the largest
 * (logit - max) / temperature + gumbel(seed, sampleIndex, id), lowest id on
 * ties, is distributed as the softmax of the candidates' logits / temperature.
 */
function draw(logits: Float32Array, ids: Int32Array, max: number, plan: SamplingPlan, sampleIndex: number): number {
  const f = Math.fround;
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const score = f(f(f(logits[id] - max) * plan.invTemperature) + gumbel(plan.seed, sampleIndex, id));
    if (best < 0 || score > bestScore || (score === bestScore && id < best)) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}

/** Softmax of the whole vocabulary (stable: shifted by the maximum). */
export function softmax(logits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(logits.length);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** The k most likely tokens with their probabilities under a full softmax, most likely first. */
export function topKProbs(logits: ArrayLike<number>, k: number): { id: number; prob: number }[] {
  const probs = softmax(logits);
  return Array.from(selectTopK(logits, k), (id) => ({ id, prob: probs[id] }));
}

function randomSeed(): number {
  const c = globalThis.crypto;
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0];
  return Math.floor(Math.random() * 2 ** 32);
}
