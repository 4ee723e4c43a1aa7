// Cost of one GPU sampling step (src/gpu/gpu-sampler.ts) at real vocabulary
// sizes: greedy (argmax after penalties) against the full chain with
// llama.cpp's defaults (top-k 40, top-p 0.95, min-p 0.05, temperature 0.8),
// the full chain with a repeat penalty, and the heaviest case, top-p over
// the whole vocabulary (top-k off). Logits are random noise with a few
// dominant tokens. A timed run replays one step's dispatch list `repeats`
// times in one submit and waits for the queue; the figure is the median of
// RUNS runs after one warm-up, divided by `repeats`.
//
//   npm run ts -- bench/sampling.ts [--runs 3]
// Writes bench/results/sampling.json and prints a table. Not a test.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SamplingOptions } from '../src/engine/types';
import { createGpuContext, type GpuContext } from '../src/gpu/device';
import { GpuSampler } from '../src/gpu/gpu-sampler';
import { ensureSwiftShaderFallback, getNodeGpu } from '../src/gpu/gpu-node';
import { encodeDispatches, STEP_BYTES } from '../src/gpu/recorded';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3);
const VOCABS = [32000, 131072, 151936];
const REPEATS = 8;

const MODES: [string, SamplingOptions][] = [
  ['greedy', { temperature: 0 }],
  ['full chain (defaults)', { seed: 1 }],
  ['full chain + repeat penalty', { seed: 1, repeatPenalty: 1.1 }],
  ['top-p over the whole vocabulary', { seed: 1, topK: 0 }],
];

function logits(n: number): Float32Array {
  let s = 12345;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 8 - 6;
  }
  for (let j = 0; j < 5; j++) out[(j * 7919) % n] = 6 + j;
  return out;
}

async function timeSteps(ctx: GpuContext, run: () => void): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r <= RUNS; r++) {
    const t0 = performance.now();
    run();
    await ctx.device.queue.onSubmittedWorkDone();
    if (r > 0) times.push((performance.now() - t0) / REPEATS);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main() {
  ensureSwiftShaderFallback();
  const ctx = await createGpuContext(getNodeGpu());
  const results: { vocab: number; mode: string; dispatches: number; msPerStep: number }[] = [];
  const started = performance.now();
  for (const n of VOCABS) {
    const scope = ctx.allocator.scope();
    const logitsBuf = await scope.alloc('activations', n * 4, 0x80 | 0x08 | 0x04, 'bench logits');
    const step = await scope.alloc('uniforms', STEP_BYTES, 0x40 | 0x08, 'bench step');
    const tokenOut = await scope.alloc('activations', 16, 0x80 | 0x08 | 0x04, 'bench token');
    const l = logits(n);
    ctx.device.queue.writeBuffer(logitsBuf, 0, l.buffer, l.byteOffset, l.byteLength);
    ctx.device.queue.writeBuffer(step, 0, new Uint32Array([0, 0, 0, 0]));
    const sampler = await GpuSampler.create(ctx.device, scope, { logits: logitsBuf, step, tokenOut, nVocab: n }, { full: true });
    const history = Array.from({ length: 64 }, (_, i) => (i * 31) % n);
    for (const [mode, options] of MODES) {
      await sampler.begin(options, history);
      const list = sampler.dispatches();
      const ms = await timeSteps(ctx, () => {
        const encoder = ctx.device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        for (let r = 0; r < REPEATS; r++) encodeDispatches(pass, list);
        pass.end();
        ctx.device.queue.submit([encoder.finish()]);
      });
      results.push({ vocab: n, mode, dispatches: list.length, msPerStep: ms });
      console.error(`vocab ${n}, ${mode}: ${list.length} dispatches, ${ms.toFixed(3)} ms per step`);
    }
    sampler.destroy();
    scope.freeAll();
  }
  const errors = ctx.takeUncapturedErrors();
  if (errors.length > 0) throw new Error(`GPU errors during the benchmark: ${errors.join('; ')}`);
  const record = {
    benchmark: `GPU sampling, ms per sampling step: median of ${RUNS} runs (after 1 warm-up) of ${REPEATS} steps in one submit`,
    adapter: ctx.adapterDescription,
    date: new Date().toISOString(),
    node: process.version,
    seconds: Math.round((performance.now() - started) / 1000),
    results,
  };
  mkdirSync(path.join(here, 'results'), { recursive: true });
  writeFileSync(path.join(here, 'results', 'sampling.json'), `${JSON.stringify(record, null, 2)}\n`);
  console.log(`${record.benchmark}\non ${record.adapter}, ${record.seconds} s`);
  console.table(results.map((r) => ({ vocab: r.vocab, mode: r.mode, dispatches: r.dispatches, 'ms per step': r.msPerStep.toFixed(3) })));
  ctx.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
