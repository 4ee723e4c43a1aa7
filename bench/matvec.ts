// Matrix-vector throughput per weight type: a ROWS x COLS matrix (default
// 4096 x 4096, the decode step of a 7B-class layer) times one f32 vector,
// with the engine's matvec (GpuOps.matmul, n = 1, the kernel family the
// device gets by default). Per type: GB/s of weight bytes read, that as a
// fraction of a plain copy kernel's bandwidth on the same adapter (the
// ceiling, bench/copy-bandwidth.ts), and weights per second against F32's
// matvec of the same shape. "before" runs the matvec kernels of commit
// BASELINE (the decode4-per-4-elements kernels, read with `git show`) on
// the same buffers in the same run, interleaved with "after" run by run.
//
//   npm run ts -- bench/matvec.ts [--rows 4096] [--cols 4096] [--runs 7] [--repeats 8] [--warmup 2]
//                                 [--types Q4_K,Q8_0] [--baseline <commit> | --no-baseline] [--stat median|min]
//                                 [--shared-memory] (the fallback kernel family, where the device has subgroups)
//                                 [--lanes N] (lanes per row of the subgroup matvec; default: the adapter's smallest subgroup)
//                                 [--out file.json] (write the results there, whatever the type list)
//                                 [--decode] (the decode pass's matvec_fused, recorded once and replayed, instead of GpuOps.matmul)
//                                 [--tune 'default;maxLanes=128'] (with --decode: each type under each matvec tuning, syntax at parseMatvecTunings in src/gpu/matvec-tuning.ts; `candidates`: the matvec search's list, MATVEC_AUTOTUNE_CANDIDATES)
//                                 [--variant gpu|cpu] (with --decode: the decode pass's kernel family; default the device's)
//                                 [--interleave] (with --decode --tune: every tuning in each run, for a shared machine; no GPU time then)
// (SwiftShader, a CPU Vulkan, needs up to a quarter second per 4096 x 4096
// matvec: use e.g. --runs 3 --repeats 2 --warmup 1 there.)
// Writes bench/results/matvec.json (matvec-shared-memory.json with
// --shared-memory; only for the full type list; or --out) and prints a table. Not a test.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GGML_TYPES, GgmlType } from '../src/gguf/types';
import type { WeightMatrix } from '../src/gpu/ops-api';
import type { ShaderDefines } from '../src/gpu/shaders';
import { quantize } from '../src/quant';
import { copyBandwidth, summarize, type Timing } from './copy-bandwidth';

register('./raw-text-hooks.mjs', import.meta.url);

const here = path.dirname(fileURLToPath(import.meta.url));

const ALL_TYPES = [
  GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q6_K, GgmlType.Q5_K, GgmlType.Q5_1, GgmlType.Q5_0,
  GgmlType.Q4_K, GgmlType.Q4_1, GgmlType.Q4_0, GgmlType.IQ4_NL, GgmlType.IQ4_XS, GgmlType.Q3_K, GgmlType.Q2_K,
  GgmlType.NVFP4, GgmlType.MXFP4, GgmlType.IQ3_S, GgmlType.IQ3_XXS, GgmlType.IQ2_S, GgmlType.IQ2_XS, GgmlType.IQ2_XXS,
  GgmlType.TQ2_0, GgmlType.IQ1_M, GgmlType.TQ1_0, GgmlType.IQ1_S,
];
/** The last commit before the dot32 matvec kernels. */
const DEFAULT_BASELINE = 'bb72dcd3868e741d02318b1180b031598fb82c4e';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (name: string, fallback: number) => Number(arg(name) ?? fallback);

const ROWS = num('rows', 4096);
const COLS = num('cols', 4096);
const TIMING: Timing = { runs: num('runs', 7), warmup: num('warmup', 2), repeats: num('repeats', 8), stat: arg('stat') === 'min' ? 'min' : 'median' };
const TYPES = arg('types')?.split(',').map((name) => GgmlType[name as keyof typeof GgmlType]) ?? ALL_TYPES;
const INTERLEAVE = process.argv.includes('--interleave');
const BASELINE = process.argv.includes('--no-baseline') ? undefined : (arg('baseline') ?? DEFAULT_BASELINE);
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

function gitShow(commit: string, file: string): string {
  return execFileSync('git', ['show', `${commit}:${file}`], { cwd: path.join(here, '..'), encoding: 'utf8' });
}

interface Row {
  type: string;
  /** The matvec tuning (--decode --tune), else absent. */
  tuning?: string;
  bitsPerWeight: number;
  weightMiB: number;
  msPerMatvec: number;
  gbPerS: number;
  /** gbPerS over the copy kernel's GB/s (read + written). */
  fractionOfCopy: number;
  /** Weights per second over F32's: > 1, this type gets through the matrix faster. */
  speedVsF32: number;
  beforeMs?: number;
  /** From GPU timestamps (where the adapter has them): ms per matvec, weight GB/s, and that over the copy kernel's GB/s also timed on the GPU. */
  gpuMs?: number;
  gpuGbPerS?: number;
  gpuFractionOfCopy?: number;
  /** Median over runs of (before / after) within a run: the pair ran back to back, so a busy spell of the machine mostly cancels. */
  speedup?: number;
}

async function main() {
  const { createGpuContext } = await import('../src/gpu/device');
  const { createDawnGpu, ensureSwiftShaderFallback } = await import('../src/gpu/gpu-node');
  const { FULL_RESOLUTION_TIMESTAMPS, watchGpuTime, withTimestamps } = await import('./lib/gpu-time');
  const { allocActivations, createGpuOps, uploadWeight } = await import('../src/gpu/ops');
  const { assembleKernel, PipelineCache, usesGridTable } = await import('../src/gpu/shaders');
  const { GRID_TABLE_BINDING } = await import('../src/gpu/quant-tables');
  const { MATVEC_ROWS, MATVEC_SUBGROUP_WG, MATVEC_WG } = await import('../src/gpu/kernels');
  const { weightRowBytes } = await import('../src/gpu/weights');
  ensureSwiftShaderFallback();
  // GPU timestamps, where the adapter has them.
  const ctx = await createGpuContext(withTimestamps(createDawnGpu(FULL_RESOLUTION_TIMESTAMPS)));
  const device = ctx.device;
  const timer = watchGpuTime(device);
  /** Median GPU ms per dispatch of the passes since the last reset (REPEATS dispatches each, warm-up runs included). */
  const gpuMsPerDispatch = async (): Promise<number | undefined> => {
    if (!timer) return undefined;
    const passes = await timer.read();
    timer.reset();
    return summarize(passes.map((p) => p.ms / p.dispatches), 'median');
  };
  const { expandTunings } = await import('../src/gpu/matvec-autotune');
  const { encodeDispatches } = await import('../src/gpu/recorded');
  const { stepBufferBytes } = await import('../src/gpu/decode-ops');
  const lanesArg = arg('lanes');
  const decode = process.argv.includes('--decode');
  const tunings = decode ? expandTunings(arg('tune') ?? 'default') : [{ label: '', matvec: {} }];
  const variant = arg('variant') as 'gpu' | 'cpu' | undefined;
  const opsByTuning = new Map<object, ReturnType<typeof createGpuOps>>();
  const opsFor = (matvec: object) => {
    let o = opsByTuning.get(matvec);
    if (!o) {
      o = createGpuOps(ctx, ctx.allocator, {
        subgroups: !process.argv.includes('--shared-memory'),
        subgroupLanes: lanesArg === undefined ? undefined : Number(lanesArg),
        matvec,
        decodeVariant: variant,
      });
      opsByTuning.set(matvec, o);
    }
    return o;
  };
  const ops = opsFor({});
  const step = device.createBuffer({ size: stepBufferBytes(0), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  /** The decode pass's matvec of w (no norm, stored), recorded once under a tuning, as a replay into a pass. */
  async function decodeRecorder(w: WeightMatrix, matvec: object): Promise<(pass: GPUComputePassEncoder) => void> {
    const rec = opsFor(matvec).recordDecode(ctx.allocator, step, 64, { nHeads: 1, headDim: 64 });
    rec.project(x, [{ w, outOffset: 0 }], out);
    await rec.compile();
    const list = rec.finish();
    return (pass) => encodeDispatches(pass, list);
  }
  const x = await allocActivations(ctx.allocator, COLS, 'x');
  const xValues = randomRow(COLS, 99);
  device.queue.writeBuffer(x.buffer, 0, xValues.buffer, xValues.byteOffset, xValues.byteLength);
  const out = await allocActivations(ctx.allocator, ROWS, 'out');

  timer?.reset();
  const copy = await copyBandwidth(device, ROWS * COLS * 4, TIMING);
  const copyGpuMs = await gpuMsPerDispatch();
  const copyGpuGbPerS = copyGpuMs === undefined ? undefined : (2 * ROWS * COLS * 4) / (copyGpuMs * 1e6);
  console.error(
    `copy of ${((ROWS * COLS * 4) / 2 ** 20).toFixed(0)} MiB: ${copy.ms.toFixed(2)} ms, ${copy.gbPerS.toFixed(3)} GB/s (read + written)` +
      (copyGpuMs === undefined ? '' : `; GPU time ${copyGpuMs.toFixed(4)} ms, ${copyGpuGbPerS!.toFixed(1)} GB/s`),
  );

  // The baseline kernel, dispatched by hand with the same bindings and Params as GpuOps.matmul.
  const lanes = Math.min(MATVEC_SUBGROUP_WG, 2 ** Math.floor(Math.log2(ctx.adapter.info?.subgroupMinSize ?? 32)));
  const baselineText = BASELINE ? gitShow(BASELINE, ops.subgroups ? 'shaders/matvec_subgroup.wgsl' : 'shaders/matvec.wgsl') : undefined;
  const baselineDefines: ShaderDefines = ops.subgroups ? { WG: MATVEC_SUBGROUP_WG, LANES: lanes } : { WG: MATVEC_WG, ROWS: MATVEC_ROWS };
  const baselineRowsPerGroup = ops.subgroups ? MATVEC_SUBGROUP_WG / lanes : MATVEC_ROWS;
  const pipelines = new PipelineCache(device);
  const params = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const placeholder = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  function baselineRecorder(w: WeightMatrix): ((pass: GPUComputePassEncoder) => void) | undefined {
    if (!baselineText || w.parts.length !== 1) return undefined;
    const pipeline = pipelines.get(assembleKernel(baselineText, { weightType: w.type, defines: baselineDefines }), 'baseline matvec');
    device.queue.writeBuffer(params, 0, new Uint32Array([ROWS, COLS, weightRowBytes(w.type, COLS), 0, 0, 1, ROWS]));
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        ...[params, w.parts[0].buffer, x.buffer, out.buffer, placeholder].map((buffer, binding) => ({ binding, resource: { buffer } })),
        ...(usesGridTable({ weightType: w.type }) ? [{ binding: GRID_TABLE_BINDING, resource: { buffer: ops.gridTable() } }] : []),
      ],
    });
    const groups = Math.ceil(ROWS / baselineRowsPerGroup);
    return (pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(Math.min(groups, ctx.limits.maxComputeWorkgroupsPerDimension), Math.ceil(groups / ctx.limits.maxComputeWorkgroupsPerDimension));
    };
  }

  const timeOps = async (w: WeightMatrix) => {
    const t0 = performance.now();
    ops.begin();
    for (let i = 0; i < TIMING.repeats; i++) ops.matmul(w, x, out, 1);
    ops.submit();
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / TIMING.repeats;
  };
  const timeRecorder = async (record: (pass: GPUComputePassEncoder) => void) => {
    const t0 = performance.now();
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (let i = 0; i < TIMING.repeats; i++) record(pass);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / TIMING.repeats;
  };

  const results: Row[] = [];
  let f32Ms = NaN;
  for (const type of TYPES) {
    const info = GGML_TYPES.get(type)!;
    const bytes = weightBytes(type);
    const w = await uploadWeight(ctx, GgmlType[type], type, ROWS, COLS, bytes, ctx.allocator);
    // With --interleave, every tuning's matvec runs in each run (a busy spell of the machine hits them all); else one tuning at a time.
    const groups = decode && INTERLEAVE ? [tunings] : tunings.map((tuning) => [tuning]);
    for (const group of groups) {
      const replays: ((pass: GPUComputePassEncoder) => void)[] = [];
      if (decode) for (const tuning of group) replays.push(await decodeRecorder(w, tuning.matvec));
      const before = decode ? undefined : baselineRecorder(w);
      timer?.reset();
      const after: number[][] = group.map(() => []);
      const old: number[] = [];
      // Interleaved run by run, so a busy spell of the machine hits both.
      for (let run = 0; run < TIMING.warmup + TIMING.runs; run++) {
        await device.queue.onSubmittedWorkDone();
        const a: number[] = [];
        if (decode) for (const replay of replays) a.push(await timeRecorder(replay));
        else a.push(await timeOps(w));
        const b = before ? await timeRecorder(before) : NaN;
        if (run >= TIMING.warmup) {
          a.forEach((ms, k) => after[k].push(ms));
          old.push(b);
        }
      }
      // With a baseline or interleaved tunings the passes mix; GPU time is read for one kernel alone.
      const gpuMs = before || group.length > 1 ? undefined : await gpuMsPerDispatch();
      group.forEach((tuning, k) => {
        const ms = summarize(after[k], TIMING.stat);
        const beforeMs = before ? summarize(old, TIMING.stat) : undefined;
        if (type === GgmlType.F32 && tuning === tunings[0]) f32Ms = ms;
        const gbPerS = bytes.byteLength / (ms * 1e6);
        results.push({
          type: info.name,
          tuning: decode ? tuning.label : undefined,
          bitsPerWeight: (info.blockBytes * 8) / info.blockSize,
          weightMiB: bytes.byteLength / 2 ** 20,
          msPerMatvec: ms,
          gbPerS,
          fractionOfCopy: gbPerS / copy.gbPerS,
          speedVsF32: f32Ms / ms,
          beforeMs,
          speedup: before ? summarize(old.map((b, i) => b / after[k][i]), 'median') : undefined,
          gpuMs,
          gpuGbPerS: gpuMs === undefined ? undefined : bytes.byteLength / (gpuMs * 1e6),
          gpuFractionOfCopy: gpuMs === undefined || copyGpuGbPerS === undefined ? undefined : bytes.byteLength / (gpuMs * 1e6) / copyGpuGbPerS,
        });
        console.error(`${info.name}${decode ? ` [${tuning.label}]` : ''}: ${ms.toFixed(2)} ms${beforeMs === undefined ? '' : `, before ${beforeMs.toFixed(2)} ms`}`);
      });
    }
    for (const p of w.parts) ctx.allocator.free(p.buffer);
  }
  const errors = ctx.takeUncapturedErrors();
  if (errors.length > 0) throw new Error(`GPU errors during the benchmark: ${errors.join('; ')}`);

  const record = {
    benchmark: `matvec ${ROWS}x${COLS} f32 vector (${decode ? `the decode pass's matvec_fused${variant ? `, ${variant} family` : ''}${INTERLEAVE ? ', tunings interleaved run by run' : ''}` : ops.subgroups ? `subgroup kernels, ${lanesArg ?? lanes} lanes per row` : 'shared-memory kernels'}), ${TIMING.stat === 'min' ? 'fastest' : 'median'} of ${TIMING.runs} runs of ${TIMING.repeats} dispatches after ${TIMING.warmup} warm-up runs`,
    adapter: ctx.adapterDescription,
    date: new Date().toISOString(),
    node: process.version,
    copy: { mib: (ROWS * COLS * 4) / 2 ** 20, ms: copy.ms, gbPerS: copy.gbPerS, gpuMs: copyGpuMs, gpuGbPerS: copyGpuGbPerS, counts: 'bytes read + bytes written' },
    baseline: BASELINE && !decode ? { commit: BASELINE, kernel: ops.subgroups ? 'matvec_subgroup.wgsl' : 'matvec.wgsl' } : null,
    results,
  };
  const outFile = arg('out') ?? (TYPES === ALL_TYPES && !decode ? path.join(here, 'results', ops.subgroups ? 'matvec.json' : 'matvec-shared-memory.json') : undefined);
  if (outFile) {
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(record, null, 2)}\n`);
  }
  console.log(`${record.benchmark} on ${record.adapter}; copy kernel ${copy.gbPerS.toFixed(3)} GB/s`);
  console.table(
    results.map((r) => ({
      type: r.type,
      ...(decode ? { tuning: r.tuning } : {}),
      'bits/weight': r.bitsPerWeight,
      MiB: r.weightMiB.toFixed(1),
      ms: r.msPerMatvec.toFixed(2),
      'GB/s': r.gbPerS.toPrecision(3),
      'of copy': `${(100 * r.fractionOfCopy).toFixed(1)}%`,
      'weights/s vs F32': Number.isFinite(r.speedVsF32) ? `${r.speedVsF32.toFixed(2)}x` : '-',
      'before ms': r.beforeMs?.toFixed(2) ?? '-',
      speedup: r.speedup === undefined ? '-' : `${r.speedup.toFixed(2)}x`,
      'GPU ms': r.gpuMs?.toFixed(4) ?? '-',
      'GPU GB/s': r.gpuGbPerS?.toPrecision(3) ?? '-',
      'GPU of copy': r.gpuFractionOfCopy === undefined ? '-' : `${(100 * r.gpuFractionOfCopy).toFixed(1)}%`,
    })),
  );
  timer?.stop();
  params.destroy();
  placeholder.destroy();
  step.destroy();
  ctx.allocator.freeAll();
  ctx.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
