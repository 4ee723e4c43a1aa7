// Matrix-vector throughput per weight type: a 4096 x 4096 matrix times one
// f32 vector (the decode step of a 7B-class layer), in GB/s of weight bytes
// read, next to an F32 matrix of the same shape in the same run. Each timed
// run records REPEATS dispatches in one submit and waits on
// queue.onSubmittedWorkDone; the median of RUNS runs after WARMUP runs.
//
//   npx tsx bench/matvec.ts [--rows 4096] [--cols 4096] [--runs 7] [--repeats 8] [--warmup 2]
// (SwiftShader, a CPU Vulkan, needs seconds per 4096 x 4096 matvec: use
// e.g. --runs 3 --repeats 2 --warmup 1 there.)
// Writes bench/results/matvec.json and prints a table. Not a test.

import { mkdirSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GGML_TYPES, GgmlType } from '../src/gguf/types';
import { quantize } from '../src/quant';

register('./raw-text-hooks.mjs', import.meta.url);

const here = path.dirname(fileURLToPath(import.meta.url));

const TYPES = [
  GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q6_K, GgmlType.Q5_K, GgmlType.Q5_1, GgmlType.Q5_0,
  GgmlType.Q4_K, GgmlType.Q4_1, GgmlType.Q4_0, GgmlType.IQ4_NL, GgmlType.IQ4_XS, GgmlType.Q3_K, GgmlType.Q2_K,
];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const ROWS = arg('rows', 4096);
const COLS = arg('cols', 4096);
const RUNS = arg('runs', 7);
const WARMUP = arg('warmup', 2);
const REPEATS = arg('repeats', 8);
/** Distinct quantized rows, tiled over the matrix: quantizing 16M values per type in JS would dominate the run, and throughput does not depend on the values. */
const DISTINCT_ROWS = 16;

function randomRow(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.1;
  }
  return out;
}

function weightBytes(type: GgmlType): Uint8Array {
  const rows = quantize(type, randomRow(DISTINCT_ROWS * COLS, type + 1));
  const rowBytes = rows.byteLength / DISTINCT_ROWS;
  const all = new Uint8Array(rowBytes * ROWS);
  for (let r = 0; r < ROWS; r += DISTINCT_ROWS) all.set(rows.subarray(0, Math.min(DISTINCT_ROWS, ROWS - r) * rowBytes), r * rowBytes);
  return all;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  const { createGpuContext } = await import('../src/gpu/device');
  const { getNodeGpu, ensureSwiftShaderFallback } = await import('../src/gpu/gpu-node');
  const { allocActivations, createGpuOps, uploadWeight } = await import('../src/gpu/ops');
  ensureSwiftShaderFallback();
  const ctx = await createGpuContext(getNodeGpu());
  const ops = createGpuOps(ctx);
  const x = await allocActivations(ctx.allocator, COLS, 'x');
  const xValues = randomRow(COLS, 99);
  ctx.device.queue.writeBuffer(x.buffer, 0, xValues.buffer, xValues.byteOffset, xValues.byteLength);
  const out = await allocActivations(ctx.allocator, ROWS, 'out');

  const results: { type: string; bitsPerWeight: number; weightMiB: number; msPerMatvec: number; gbPerS: number; speedVsF32: number }[] = [];
  let f32Ms = NaN;
  for (const type of TYPES) {
    const info = GGML_TYPES.get(type)!;
    const bytes = weightBytes(type);
    const w = await uploadWeight(ctx, GgmlType[type], type, ROWS, COLS, bytes, ctx.allocator);
    const times: number[] = [];
    for (let run = 0; run < WARMUP + RUNS; run++) {
      await ctx.device.queue.onSubmittedWorkDone();
      const t0 = performance.now();
      ops.begin();
      for (let i = 0; i < REPEATS; i++) ops.matmul(w, x, out, 1);
      ops.submit();
      await ctx.device.queue.onSubmittedWorkDone();
      if (run >= WARMUP) times.push((performance.now() - t0) / REPEATS);
    }
    for (const p of w.parts) ctx.allocator.free(p.buffer);
    const ms = median(times);
    if (type === GgmlType.F32) f32Ms = ms;
    results.push({
      type: info.name,
      bitsPerWeight: (info.blockBytes * 8) / info.blockSize,
      weightMiB: bytes.byteLength / 2 ** 20,
      msPerMatvec: ms,
      gbPerS: bytes.byteLength / (ms * 1e6),
      // > 1: this type's matvec finishes faster than F32's of the same shape.
      speedVsF32: f32Ms / ms,
    });
    console.error(`${info.name}: ${ms.toFixed(2)} ms`);
  }
  const errors = ctx.takeUncapturedErrors();
  if (errors.length > 0) throw new Error(`GPU errors during the benchmark: ${errors.join('; ')}`);

  const record = {
    benchmark: `matvec ${ROWS}x${COLS} f32 vector, median of ${RUNS} runs of ${REPEATS} dispatches after ${WARMUP} warm-up runs`,
    adapter: ctx.adapterDescription,
    date: new Date().toISOString(),
    node: process.version,
    results,
  };
  mkdirSync(path.join(here, 'results'), { recursive: true });
  writeFileSync(path.join(here, 'results', 'matvec.json'), `${JSON.stringify(record, null, 2)}\n`);
  console.log(`${record.benchmark} on ${record.adapter}`);
  console.table(
    results.map((r) => ({
      type: r.type,
      'bits/weight': r.bitsPerWeight,
      'MiB': r.weightMiB.toFixed(1),
      'ms': r.msPerMatvec.toFixed(2),
      'GB/s': r.gbPerS.toPrecision(3),
      'speed vs F32': `${r.speedVsF32.toFixed(2)}x`,
    })),
  );
  ctx.allocator.freeAll();
  ctx.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
