// Picks the next token from the model's logits. The stages and their order
// are llama.cpp's defaults: repetition/frequency/presence penalties over the
// recent tokens -> top-k -> top-p -> min-p -> temperature -> softmax -> a
// draw from a seeded PRNG. Temperature 0 is plain argmax (after penalties).
// Built for 150k-token vocabularies: top-k keeps a k-sized heap instead of
// sorting the vocabulary, and per-call buffers are reused.

import { ClawError } from '../errors';
import { DEFAULT_SAMPLING } from './defaults';
import type { SamplingOptions } from './types';

export interface Sampler {
  /** The next token id. `history` holds the tokens so far (prompt and output), oldest first. */
  sample(logits: Float32Array, history: readonly number[]): number;
}

type ResolvedSampling = { -readonly [K in keyof typeof DEFAULT_SAMPLING]: number } & { seed: number };

export function createSampler(options: SamplingOptions = {}): Sampler {
  const o = resolveOptions(options);
  const random = createRng(o.seed);
  const scratch = { logits: new Float32Array(0) };
  return {
    sample(logits: Float32Array, history: readonly number[]): number {
      const d = distribution(logits, history, o, scratch);
      return 'greedy' in d ? d.greedy : draw(d.ids, d.probs, random());
    },
  };
}

/**
 * What the sampler would draw from, for tests and tools: the surviving
 * candidates best first and their final probabilities (greedy: one token).
 */
export function samplingDistribution(logits: Float32Array, history: readonly number[], options: SamplingOptions = {}): { ids: number[]; probs: number[] } {
  const d = distribution(logits, history, resolveOptions({ seed: 0, ...options }), { logits: new Float32Array(0) });
  return 'greedy' in d ? { ids: [d.greedy], probs: [1] } : { ids: Array.from(d.ids), probs: Array.from(d.probs) };
}

type Distribution = { greedy: number } | { ids: Int32Array; probs: Float64Array };

function distribution(logits: Float32Array, history: readonly number[], o: ResolvedSampling, scratch: { logits: Float32Array }): Distribution {
  const n = logits.length;
  if (n === 0) throw new ClawError('clw-bad-request', 'cannot sample from empty logits');
  if (scratch.logits.length !== n) scratch.logits = new Float32Array(n);
  const l = scratch.logits;
  // NaN would poison every comparison below; such a token is never picked.
  for (let i = 0; i < n; i++) l[i] = Number.isNaN(logits[i]) ? -Infinity : logits[i];
  applyPenalties(l, history, o);

  if (o.temperature <= 0) return { greedy: argmax(l) };

  let ids = o.topK > 0 && o.topK < n ? selectTopK(l, o.topK) : sortAll(l);
  ids = keepTopP(l, ids, o.topP);
  ids = keepMinP(l, ids, o.minP);
  // All candidates at -Infinity leave no distribution; take the best-ranked.
  if (l[ids[0]] === -Infinity) return { greedy: ids[0] };
  return { ids, probs: probabilities(l, ids, o.temperature) };
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

/**
 * llama.cpp's penalties: a repeated token's logit is divided by the repeat
 * penalty when positive and multiplied when negative (so it always becomes
 * less likely), then lowered by count * frequency + presence.
 */
function applyPenalties(logits: Float32Array, history: readonly number[], o: ResolvedSampling): void {
  if (o.repeatLastN === 0 || (o.repeatPenalty === 1 && o.frequencyPenalty === 0 && o.presencePenalty === 0)) return;
  const start = o.repeatLastN < 0 ? 0 : Math.max(0, history.length - o.repeatLastN);
  const counts = new Map<number, number>();
  for (let i = start; i < history.length; i++) counts.set(history[i], (counts.get(history[i]) ?? 0) + 1);
  for (const [id, count] of counts) {
    if (!(id >= 0 && id < logits.length)) continue;
    let l = logits[id];
    l = l <= 0 ? l * o.repeatPenalty : l / o.repeatPenalty;
    logits[id] = l - count * o.frequencyPenalty - o.presencePenalty;
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

/** The shortest best-first prefix whose probability mass reaches p (at least one token). */
function keepTopP(logits: ArrayLike<number>, ids: Int32Array, p: number): Int32Array {
  if (p >= 1) return ids;
  const probs = probabilities(logits, ids);
  let cumulative = 0;
  for (let i = 0; i < ids.length; i++) {
    cumulative += probs[i];
    if (cumulative >= p) return ids.subarray(0, i + 1);
  }
  return ids;
}

/** Tokens at least minP times as likely as the best one: logit >= best + ln(minP). */
function keepMinP(logits: ArrayLike<number>, ids: Int32Array, minP: number): Int32Array {
  if (minP <= 0) return ids;
  const threshold = logits[ids[0]] + Math.log(minP);
  let keep = 1;
  while (keep < ids.length && logits[ids[keep]] >= threshold) keep++;
  return ids.subarray(0, keep);
}

function draw(ids: Int32Array, probs: Float64Array, r: number): number {
  let cumulative = 0;
  for (let i = 0; i < ids.length; i++) {
    cumulative += probs[i];
    if (r < cumulative) return ids[i];
  }
  // Rounding can leave the sum a hair under 1.
  return ids[ids.length - 1];
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

/** A small seeded PRNG (mulberry32) giving uniform numbers in [0, 1). */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSeed(): number {
  const c = globalThis.crypto;
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0];
  return Math.floor(Math.random() * 2 ** 32);
}
