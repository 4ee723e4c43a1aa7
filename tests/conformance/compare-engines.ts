// WebClaw against a llama.cpp reference run on the same file: along
// llama.cpp's greedy sequence, the largest difference over its top-10
// next-token probabilities, and how often the top-1 tokens agree (overall,
// and where llama.cpp's top-1/top-2 margin is clear); optionally the same
// against a second reference run along that sequence (another file, such
// as a dequantized copy), in the same pass, and against an independent
// float64 reference (f64-llama.ts: `exact`). The tests keep the numbers in
// records (records.ts), one per WebGPU implementation.

import type { ClawEngine } from '../../src/engine/engine';
import type { Dtype } from '../../src/gpu/ops-api';
import { argmax, softmax } from '../../src/engine/sampler';
import { openFileSource } from '../../src/gguf/source-node';
import type { ReferenceRun } from './llama-reference';

/** The arithmetic paths to check on this engine's adapter: f32 always, and f16 where it has shader-f16. */
export function dtypesOf(engine: ClawEngine): Dtype[] {
  return engine.ctx.features.f16 ? ['f32', 'f16'] : ['f32'];
}

/**
 * The conformance bound that does not come from WebClaw's own output: along
 * llama.cpp's run, WebClaw's largest |p - p_exact| over llama.cpp's top-10
 * tokens (p_exact: the float64 reference, f64-llama.ts) may be at most this
 * factor times llama.cpp's own. Then |p_webclaw - p_llama.cpp| is at most
 * (1 + factor) times llama.cpp's distance (the triangle inequality).
 *
 * - f32: 1.25. Both engines make the same dominant rounding, the KV cache
 *   stored in f16 (the default kvType), of values that differ only in f32
 *   accumulation order; llama.cpp also rounds queries and softmax weights to
 *   f16 and, for 8-bit weights, its activations to 8 bits. WebClaw should be
 *   the closer; the 25% is for where the f16 roundings of nearly equal
 *   values happen to fall at the worst position.
 * - f16 (shader-f16 adapters): 2. The prefill matmul also rounds its weight
 *   and activation tiles to f16 and multiplies in f16: about as many f16
 *   roundings again as llama.cpp's attention makes.
 */
export const EXACT_FACTOR: Readonly<Record<Dtype, number>> = { f32: 1.25, f16: 2 };

export interface Agreement {
  positions: number;
  maxTop10ProbDiff: number;
  /** With `exact` (an independent float64 reference): the largest |p_webclaw - p_exact| over llama.cpp's top-10 tokens. */
  maxTop10ExactDiff?: number;
  top1Agreement: number;
  clearPositions: number;
  clearDisagreements: number;
}

/** The same measures against a second reference run along the first one's sequence (llama-reference's `feed`). */
export interface SecondAgreement {
  second?: Omit<Agreement, 'positions'>;
}

/** Accumulates one reference's agreement with WebClaw's distributions, position by position. */
class Tally {
  maxDiff = 0;
  agree = 0;
  clear = 0;
  clearDisagree = 0;
  constructor(private readonly clearMargin: number) {}

  add(p: Float32Array, webclawTop1: number, top: ReferenceRun['top'][number], refTop1: number): void {
    for (const { id, p: want } of top) this.maxDiff = Math.max(this.maxDiff, Math.abs(p[id] - want));
    const same = webclawTop1 === refTop1;
    if (same) this.agree++;
    if (top[0].p - top[1].p > this.clearMargin) {
      this.clear++;
      if (!same) this.clearDisagree++;
    }
  }

  result(positions: number): Omit<Agreement, 'positions'> {
    return { maxTop10ProbDiff: this.maxDiff, top1Agreement: positions ? this.agree / positions : 0, clearPositions: this.clear, clearDisagreements: this.clearDisagree };
  }
}

export async function compareWithReference(
  engine: ClawEngine,
  modelPath: string,
  ref: ReferenceRun,
  options: { ctxSize: number; clearMargin: number; dtype?: Dtype; second?: ReferenceRun; exact?: Float64Array[] },
): Promise<Agreement & SecondAgreement> {
  const source = await openFileSource(modelPath);
  const first = new Tally(options.clearMargin);
  const second = options.second && new Tally(options.clearMargin);
  let maxExactDiff = 0;
  try {
    await engine.load(source, { ctxSize: options.ctxSize, dtype: options.dtype ?? 'f32' });
    for (let i = 0; i < ref.top.length; i++) {
      const logits = await engine.nextTokenLogits([...ref.promptIds, ...ref.tokens.slice(0, i)]);
      const p = softmax(logits);
      const top1 = argmax(logits);
      first.add(p, top1, ref.top[i], ref.tokens[i]);
      if (second) second.add(p, top1, options.second!.top[i], options.second!.tokens[i]);
      if (options.exact) for (const { id } of ref.top[i]) maxExactDiff = Math.max(maxExactDiff, Math.abs(p[id] - options.exact[i][id]));
    }
  } finally {
    await engine.unload();
    await source.close?.();
  }
  return {
    positions: ref.top.length,
    ...first.result(ref.top.length),
    ...(options.exact ? { maxTop10ExactDiff: maxExactDiff } : {}),
    ...(second ? { second: second.result(ref.top.length) } : {}),
  };
}

/** llama.cpp's own distance from an independent float64 reference: the largest |p_llama.cpp - p_exact| over its top-10 tokens along its run. */
export function referenceExactDiff(ref: ReferenceRun, exact: Float64Array[]): number {
  let max = 0;
  for (let i = 0; i < ref.top.length; i++) for (const { id, p } of ref.top[i]) max = Math.max(max, Math.abs(p - exact[i][id]));
  return max;
}
