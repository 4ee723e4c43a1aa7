// How often the GPU sampler and its CPU reference pick different ids. Both
// compute the same f32 formulas (src/engine/sampling-math.ts), so they can
// differ only where a device rounds differently (a fused multiply-add, a
// non-IEEE operation) and that moves a near-tie. Counts disagreeing draws
// over many seeds at a real vocabulary size, option sets without penalties
// so every draw is independent of the earlier ones. It also counts the draws
// whose best and second-best scores lie within 4 ULP of each other: the
// most a device that rounds a step differently could turn (on SwiftShader
// both compute the same bits).
//
//   npm run ts -- bench/sampling-agreement.ts [--seeds 100] [--vocab 32000]
// Writes bench/results/sampling-agreement.json and prints a table. Not a test.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSampler, samplingDistribution } from '../src/engine/sampler';
import { gumbel } from '../src/engine/sampling-math';
import type { SamplingOptions } from '../src/engine/types';
import { createGpuContext } from '../src/gpu/device';
import { ensureSwiftShaderFallback, getNodeGpu } from '../src/gpu/gpu-node';
import { samplerRig } from '../tests/gpu/helpers/sampler-harness';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SEEDS = arg('seeds', 100);
const VOCAB = arg('vocab', 32000);
const STEPS = 8;

const COMBOS: [string, SamplingOptions][] = [
  ['temperature 1, no filters (whole vocabulary)', { temperature: 1, topK: 0, topP: 1, minP: 0 }],
  ['defaults (top-k 40, top-p 0.95, min-p 0.05, T 0.8)', {}],
  ['top-p 0.9 over the whole vocabulary', { temperature: 1, topK: 0, topP: 0.9, minP: 0 }],
];

/** Peaked logits as a language model gives them: noise and a handful of likely tokens. */
function logits(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() + next() + next() - 1.5) * 3;
  for (let j = 0; j < 8; j++) out[Math.floor(next() * n)] = 6 + 4 * next();
  return out;
}

/** The gap between the best and second-best draw scores, in ULPs of the best (the draw of sampler.ts, no penalties). */
function scoreGap(logits: Float32Array, options: SamplingOptions, seed: number, k: number): number {
  const f = Math.fround;
  const { ids } = samplingDistribution(logits, [], options);
  if (ids.length < 2) return Infinity;
  const max = logits[ids[0]];
  const invT = f(1 / (options.temperature ?? 0.8));
  const scores = ids.map((id) => f(f(f(logits[id] - max) * invT) + gumbel(seed, k, id))).sort((a, b) => b - a);
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(scores[0]) || 2 ** -126)) - 23);
  return (scores[0] - scores[1]) / ulp;
}

async function main() {
  ensureSwiftShaderFallback();
  const ctx = await createGpuContext(getNodeGpu());
  const rig = await samplerRig(ctx, VOCAB);
  const started = performance.now();
  const results = [];
  for (const [name, options] of COMBOS) {
    let draws = 0;
    let disagreements = 0;
    let nearTies = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const steps = Array.from({ length: STEPS }, (_, k) => logits(VOCAB, seed * 1000 + k));
      const o = { ...options, seed };
      const gpu = await rig.run(o, [], steps);
      const cpu = createSampler(o);
      steps.forEach((l, k) => {
        draws++;
        if (cpu.sample(l, []) !== gpu[k]) disagreements++;
        if (scoreGap(l, o, seed, k) <= 4) nearTies++;
      });
    }
    results.push({ options: name, draws, disagreements, nearTiesWithin4Ulp: nearTies });
    console.error(`${name}: ${disagreements} of ${draws} draws differ, ${nearTies} near-ties`);
  }
  rig.destroy();
  const errors = ctx.takeUncapturedErrors();
  if (errors.length > 0) throw new Error(`GPU errors: ${errors.join('; ')}`);
  const record = {
    benchmark: `GPU vs CPU sampler: draws whose ids differ, vocabulary ${VOCAB}, ${SEEDS} seeds x ${STEPS} steps per option set`,
    adapter: ctx.adapterDescription,
    date: new Date().toISOString(),
    seconds: Math.round((performance.now() - started) / 1000),
    results,
  };
  mkdirSync(path.join(here, 'results'), { recursive: true });
  writeFileSync(path.join(here, 'results', 'sampling-agreement.json'), `${JSON.stringify(record, null, 2)}\n`);
  console.log(`${record.benchmark}\non ${record.adapter}, ${record.seconds} s`);
  console.table(results);
  ctx.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
