// npm run bench:gpu: decode tok/s of the real-shape models (TinyLlama-1.1B
// and Llama-3.2-1B shapes; Q4_K_M, Q4_0, Q8_0) on this machine's GPU (Dawn
// over Vulkan; SwiftShader where there is none) and the fraction of the
// GPU's copy bandwidth each reaches. See bench/lib/gpu-bench.ts and
// BENCHMARKS.md ("On a real GPU") for running it on a machine without Node.
//
//   npm run bench:gpu -- [--tiny] [--tokens 16] [--quants Q4_0,Q8_0] [--shapes tinyllama,llama32] [--copy-mib 512] [--out file.json]
// --tiny: a tiny llama instead of the real shapes (a smoke test of the script or its bundle).
// Writes bench/results/gpu.json (or --out) and prints a markdown table.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ALL_QUANTS, gpuBenchTable, REAL_SHAPES, runGpuBench } from './lib/gpu-bench';
import { TINY_LLAMA, type Quant } from './lib/real-shape-models';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const shapeKeys: Record<string, string> = { tinyllama: 'TinyLlama', llama32: 'Llama-3.2' };
const wantShapes = arg('shapes')?.split(',').map((s) => shapeKeys[s] ?? s);
const result = await runGpuBench({
  shapes: process.argv.includes('--tiny') ? [TINY_LLAMA] : REAL_SHAPES.filter((s) => !wantShapes || wantShapes.some((w) => s.name.includes(w))),
  quants: (arg('quants')?.split(',') as Quant[] | undefined) ?? ALL_QUANTS,
  tokens: Number(arg('tokens') ?? 16),
  copyBytes: Number(arg('copy-mib') ?? 512) * 2 ** 20,
  log: (line) => process.stderr.write(`[gpu bench] ${line}\n`),
});
const out = path.resolve(arg('out') ?? path.join(import.meta.dirname ?? '.', 'results/gpu.json'));
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(gpuBenchTable(result));
console.log(`\nwrote ${out}`);
process.exit(0);
