// npm run bench:gpu: on this machine's GPU (Dawn over Vulkan; SwiftShader
// where there is none), per real-shape model (TinyLlama-1.1B, Llama-3.2-1B,
// Llama-3.1-8B and Qwen3.5-0.8B shapes; Q4_K_M, Q4_0, Q8_0): load MB/s, time to first
// token, prefill tok/s, decode tok/s and the fraction of the GPU's copy
// bandwidth the decode reaches. See bench/lib/gpu-bench.ts and
// BENCHMARKS.md ("On a real GPU") for running it on a machine without Node.
//
//   npm run bench:gpu -- [--tiny] [--tokens 16] [--prefill 512] [--quants Q4_0,Q8_0] [--shapes tinyllama,llama32,llama8b,qwen35]
//                        [--copy-mib 1024] [--reference file.json] [--out file.json] [--read-pacing off] [--dawn-flag F]
//                        [--tune 'default;maxLanes=128'] [--profile]
// --tiny: a tiny llama instead of the real shapes (a smoke test of the script or its bundle).
// --reference: llama.cpp's greedy tokens (bench/gpu-reference.ts) to check on this adapter first.
// --read-pacing off: the decode loop maps each read-back at submit (EngineOptions.readPacing; on by default in Node).
// --dawn-flag F: one more Dawn flag, e.g. enable-dawn-features=skip_validation (what validation costs per token).
// --tune: measure every model under each matvec tuning (src/gpu/matvec-tuning.ts; syntax at parseMatvecTunings), or `auto`: the engine's own search at load (src/gpu/matvec-autotune.ts), its choice and timings in the row.
// --profile: GPU time per kernel of the decode pass, per model (bench/lib/kernel-profile.ts).
// Writes bench/results/gpu.json (or --out) after every model and prints a markdown table.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ALL_QUANTS, benchTunings, gpuBenchTable, REAL_SHAPES, runGpuBench, type GpuBenchResult } from './lib/gpu-bench';
import { FULL_RESOLUTION_TIMESTAMPS } from './lib/gpu-time';
import { TINY_LLAMA, type Quant } from './lib/real-shape-models';
import { createDawnGpu, ensureSwiftShaderFallback } from '../src/gpu/gpu-node';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const shapeKeys: Record<string, string> = { tinyllama: 'TinyLlama', llama32: 'Llama-3.2', llama8b: 'Llama-3.1-8B', qwen35: 'Qwen3.5-0.8B' };
const wantShapes = arg('shapes')?.split(',').map((s) => shapeKeys[s] ?? s);
const out = path.resolve(arg('out') ?? path.join(import.meta.dirname ?? '.', 'results/gpu.json'));
mkdirSync(path.dirname(out), { recursive: true });
const save = (r: GpuBenchResult) => writeFileSync(out, `${JSON.stringify(r, null, 2)}\n`);
ensureSwiftShaderFallback();
const result = await runGpuBench({
  gpu: createDawnGpu([...FULL_RESOLUTION_TIMESTAMPS, ...(arg('dawn-flag') ? [arg('dawn-flag')!] : [])]),
  // In the order asked (the first ones are measured first, should a run be cut short).
  shapes: process.argv.includes('--tiny') ? [TINY_LLAMA] : wantShapes ? wantShapes.flatMap((w) => REAL_SHAPES.filter((s) => s.name.includes(w))) : REAL_SHAPES,
  quants: (arg('quants')?.split(',') as Quant[] | undefined) ?? ALL_QUANTS,
  tokens: Number(arg('tokens') ?? 16),
  prefill: Number(arg('prefill') ?? 512),
  copyBytes: Number(arg('copy-mib') ?? 1024) * 2 ** 20,
  reference: arg('reference'),
  tunings: arg('tune') === undefined ? undefined : benchTunings(arg('tune')!),
  engine: arg('read-pacing') === 'off' ? { readPacing: false } : undefined,
  profile: process.argv.includes('--profile'),
  log: (line) => process.stderr.write(`[gpu bench] ${line}\n`),
  progress: save,
});
save(result);
console.log(gpuBenchTable(result));
console.log(`\nwrote ${out}`);
process.exit(0);
