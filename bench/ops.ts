// Per-op microbenchmark of the decode path (n = 1): every op at the shapes
// of stories260K (dim 64, all F32) and of a 1B llama (nEmbd 2048, nFf 8192,
// 32 heads / 8 KV heads of 64, vocab 32000, Q4_0 weights), each timed with
// the shared-memory kernels (the fallback every device runs: the kernels as
// they were before the subgroup work) and with the default kernels (subgroup
// matvec and rmsNorm, split decode attention), in the same run on the same
// device. "prefill" cases time the prefill matmul (n = 32 and 128 tokens),
// simple tile kernel (fallback column) against the tiled one. A timed run records
// `repeats` dispatches of the op in one submit and waits on
// queue.onSubmittedWorkDone; the figure is the median of RUNS runs after one
// warm-up run, divided by `repeats`. Big shapes get fewer repeats, so the
// whole benchmark stays within a few minutes on SwiftShader.
//
//   npm run ts -- bench/ops.ts [--runs 3] [--only <substring of the case name>]
// Writes bench/results/ops.json and prints a table. Not a test.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgmlType } from '../src/gguf/types';
import type { GpuAllocator } from '../src/gpu/allocator';
import { createGpuContext, type GpuContext } from '../src/gpu/device';
import { ensureSwiftShaderFallback, getNodeGpu } from '../src/gpu/gpu-node';
import { allocActivations, createGpuOps, uploadF32, uploadWeight, type WebGpuOpsHandle } from '../src/gpu/ops';
import type { ActBuffer, GpuOps, WeightMatrix } from '../src/gpu/ops-api';
import { quantize } from '../src/quant';

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const RUNS = Number(arg('runs') ?? 3);
const ONLY = arg('only');

interface ModelShape {
  name: string;
  dim: number;
  ffn: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  vocab: number;
  weightType: GgmlType;
}

const STORIES_260K: ModelShape = { name: 'stories260K', dim: 64, ffn: 172, nHeads: 8, nKvHeads: 4, headDim: 8, vocab: 512, weightType: GgmlType.F32 };
const LLAMA_1B: ModelShape = { name: '1B', dim: 2048, ffn: 8192, nHeads: 32, nKvHeads: 8, headDim: 64, vocab: 32000, weightType: GgmlType.Q4_0 };

/** One op at one shape: `prepare` allocates its inputs and returns the call to repeat. */
interface OpCase {
  name: string;
  /** Dispatches per timed submit. */
  repeats: number;
  prepare(ctx: GpuContext): Promise<(ops: GpuOps) => void>;
}

function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.1;
  }
  return out;
}

async function act(ctx: GpuContext, values: Float32Array): Promise<ActBuffer> {
  const buf = await allocActivations(ctx.allocator, values.length, 'bench act');
  ctx.device.queue.writeBuffer(buf.buffer, 0, values.buffer, values.byteOffset, values.byteLength);
  return buf;
}

/** Quantized rows are tiled from 16 distinct ones: quantizing 65M values in JS would dominate the run. */
async function weight(ctx: GpuContext, type: GgmlType, rows: number, cols: number): Promise<WeightMatrix> {
  const distinct = Math.min(16, rows);
  const sample = quantize(type, randomValues(distinct * cols, rows + cols));
  const rowBytes = sample.byteLength / distinct;
  const bytes = new Uint8Array(rowBytes * rows);
  for (let r = 0; r < rows; r += distinct) bytes.set(sample.subarray(0, Math.min(distinct, rows - r) * rowBytes), r * rowBytes);
  return uploadWeight(ctx, `bench ${rows}x${cols}`, type, rows, cols, bytes, ctx.allocator);
}

/** Repeats so that one timed submit reads roughly 64 MB of weights (at least 2, at most 64 dispatches). */
function repeatsFor(bytes: number): number {
  return Math.max(2, Math.min(64, Math.round(64e6 / bytes)));
}

function matvecCase(m: ModelShape, what: string, rows: number, cols: number): OpCase {
  const type = m.weightType;
  const bytes = type === GgmlType.F32 ? rows * cols * 4 : type === GgmlType.Q4_0 ? (rows * cols * 18) / 32 : rows * cols * 2;
  return {
    name: `${m.name} matvec ${what} ${rows}x${cols} ${GgmlType[type]}`,
    repeats: repeatsFor(bytes),
    async prepare(ctx) {
      const w = await weight(ctx, type, rows, cols);
      const x = await act(ctx, randomValues(cols, 7));
      const out = await allocActivations(ctx.allocator, rows, 'bench out');
      return (ops) => ops.matmul(w, x, out, 1);
    },
  };
}

/**
 * Prefill: one matmul of n tokens (n > 1), simple 32 x 32 tile kernel in the
 * fallback column, register-blocked tiled kernel in the default column.
 * Repeats aim at ~2 G multiply-adds per timed submit (at least 1).
 */
function prefillCase(n: number, rows: number, cols: number, type: GgmlType): OpCase {
  return {
    name: `prefill matmul n=${n} ${rows}x${cols} ${GgmlType[type]}`,
    repeats: Math.max(1, Math.min(16, Math.round(2e8 / (n * rows * cols)))),
    async prepare(ctx) {
      const w = await weight(ctx, type, rows, cols);
      const x = await act(ctx, randomValues(n * cols, 11));
      const out = await allocActivations(ctx.allocator, n * rows, 'bench out');
      return (ops) => ops.matmul(w, x, out, n);
    },
  };
}

function prefillCases(): OpCase[] {
  const shapes: [number, number][] = [
    [512, 512],
    [1536, 512],
    [512, 1536],
  ];
  const result: OpCase[] = [];
  for (const n of [32, 128]) {
    for (const type of [GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_K]) {
      for (const [rows, cols] of shapes) result.push(prefillCase(n, rows, cols, type));
    }
  }
  result.push(prefillCase(32, 2048, 2048, GgmlType.Q4_K));
  return result;
}

function attentionCase(m: ModelShape, positions: number): OpCase {
  const kvWidth = m.nKvHeads * m.headDim;
  return {
    name: `${m.name} attention ${m.nHeads}/${m.nKvHeads}x${m.headDim} @${positions}`,
    repeats: repeatsFor(positions * kvWidth * 8),
    async prepare(ctx) {
      const q = await act(ctx, randomValues(m.nHeads * m.headDim, 1));
      const k = await uploadF32(ctx, 'bench k', randomValues(positions * kvWidth, 2), ctx.allocator);
      const v = await uploadF32(ctx, 'bench v', randomValues(positions * kvWidth, 3), ctx.allocator);
      const out = await allocActivations(ctx.allocator, m.nHeads * m.headDim, 'bench out');
      const params = { nTokens: 1, startPos: positions - 1, nHeads: m.nHeads, nKvHeads: m.nKvHeads, headDim: m.headDim, scale: 1 / Math.sqrt(m.headDim) };
      return (ops) => ops.attention(q, k, v, out, params);
    },
  };
}

function rowOpCases(m: ModelShape): OpCase[] {
  const repeats = m.dim >= 1024 ? 64 : 128;
  return [
    {
      name: `${m.name} rmsNorm ${m.dim}`,
      repeats,
      async prepare(ctx) {
        const x = await act(ctx, randomValues(m.dim, 4));
        const w = await uploadF32(ctx, 'bench norm', randomValues(m.dim, 5), ctx.allocator);
        return (ops) => ops.rmsNorm(x, w, x, 1, m.dim, 1e-5);
      },
    },
    {
      name: `${m.name} add ${m.dim}`,
      repeats,
      async prepare(ctx) {
        const a = await act(ctx, randomValues(m.dim, 6));
        const b = await act(ctx, randomValues(m.dim, 7));
        return (ops) => ops.add(a, b, a, m.dim);
      },
    },
    {
      name: `${m.name} siluMul ${m.ffn}`,
      repeats,
      async prepare(ctx) {
        const g = await act(ctx, randomValues(m.ffn, 8));
        const u = await act(ctx, randomValues(m.ffn, 9));
        return (ops) => ops.siluMul(g, u, g, m.ffn);
      },
    },
    {
      name: `${m.name} rope ${m.nHeads}x${m.headDim}`,
      repeats,
      async prepare(ctx) {
        const x = await act(ctx, randomValues(m.nHeads * m.headDim, 10));
        const p = { nHeads: m.nHeads, headDim: m.headDim, nRot: m.headDim, startPos: 99, freqBase: 10000, freqScale: 1, neox: false };
        return (ops) => ops.rope(x, 1, p);
      },
    },
  ];
}

function cases(): OpCase[] {
  const s = STORIES_260K;
  const b = LLAMA_1B;
  return [
    matvecCase(s, 'attn_q', s.dim, s.dim),
    matvecCase(s, 'ffn_up', s.ffn, s.dim),
    matvecCase(s, 'ffn_down', s.dim, s.ffn),
    matvecCase(s, 'output', s.vocab, s.dim),
    attentionCase(s, 100),
    attentionCase(s, 1000),
    ...rowOpCases(s),
    matvecCase(b, 'attn_q', b.dim, b.dim),
    matvecCase(b, 'attn_k', b.nKvHeads * b.headDim, b.dim),
    matvecCase(b, 'ffn_up', b.ffn, b.dim),
    matvecCase(b, 'ffn_down', b.dim, b.ffn),
    matvecCase(b, 'output', b.vocab, b.dim),
    attentionCase(b, 512),
    attentionCase(b, 2048),
    ...rowOpCases(b),
    ...prefillCases(),
  ].filter((c) => !ONLY || c.name.includes(ONLY));
}

function median(values: number[]): number {
  const s = [...values].sort((a, c) => a - c);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timeOp(ctx: GpuContext, ops: GpuOps, call: (ops: GpuOps) => void, repeats: number): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < 1 + RUNS; run++) {
    await ctx.device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    ops.begin();
    for (let i = 0; i < repeats; i++) call(ops);
    ops.submit();
    await ctx.device.queue.onSubmittedWorkDone();
    if (run > 0) times.push((performance.now() - t0) / repeats);
  }
  return median(times);
}

interface OpResult {
  op: string;
  repeats: number;
  fallbackMs: number;
  subgroupMs: number;
  /** > 1: the subgroup kernels are that many times faster. */
  speedup: number;
}

async function main() {
  ensureSwiftShaderFallback();
  const ctx = await createGpuContext(getNodeGpu());
  if (!ctx.features.subgroups) console.error('this adapter has no subgroups: both columns run the fallback kernels');
  const variants: [string, WebGpuOpsHandle][] = [
    ['fallback', createGpuOps(ctx, ctx.allocator, { subgroups: false, splitDecodeAttention: false, tiledMatmul: false })],
    ['subgroup', createGpuOps(ctx)],
  ];
  const results: OpResult[] = [];
  const started = performance.now();
  for (const c of cases()) {
    // Each case's buffers live in a scope, freed after it (the ops' own uniform rings stay).
    const scope: GpuAllocator = ctx.allocator.scope();
    const call = await c.prepare({ ...ctx, allocator: scope });
    const ms: Record<string, number> = {};
    for (const [name, ops] of variants) ms[name] = await timeOp(ctx, ops, call, c.repeats);
    results.push({ op: c.name, repeats: c.repeats, fallbackMs: ms.fallback, subgroupMs: ms.subgroup, speedup: ms.fallback / ms.subgroup });
    console.error(`${c.name}: fallback ${ms.fallback.toFixed(3)} ms, subgroup ${ms.subgroup.toFixed(3)} ms`);
    scope.freeAll();
  }
  const errors = ctx.takeUncapturedErrors();
  if (errors.length > 0) throw new Error(`GPU errors during the benchmark: ${errors.join('; ')}`);

  const record = {
    benchmark: `decode-path ops, ms per dispatch: median of ${RUNS} runs (after 1 warm-up) of <repeats> dispatches in one submit; fallback = the shared-memory kernels and the simple 32x32-tile prefill matmul (before), subgroup = subgroup matvec/rmsNorm, split decode attention and the register-blocked tiled prefill matmul (after), same device, same run`,
    adapter: ctx.adapterDescription,
    date: new Date().toISOString(),
    node: process.version,
    seconds: Math.round((performance.now() - started) / 1000),
    results,
  };
  if (!ONLY) {
    mkdirSync(path.join(here, 'results'), { recursive: true });
    writeFileSync(path.join(here, 'results', 'ops.json'), `${JSON.stringify(record, null, 2)}\n`);
  }
  console.log(`${record.benchmark}\non ${record.adapter}, ${record.seconds} s`);
  console.table(
    results.map((r) => ({
      op: r.op,
      repeats: r.repeats,
      'fallback ms': r.fallbackMs.toFixed(3),
      'subgroup ms': r.subgroupMs.toFixed(3),
      speedup: `${r.speedup.toFixed(2)}x`,
    })),
  );
  ctx.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
