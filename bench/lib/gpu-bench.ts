// The GPU benchmark (npm run bench:gpu; bench/gpu.ts is its command line):
// on whatever adapter Dawn finds (a real GPU through Vulkan; SwiftShader
// where there is none), measure the memory bandwidth with the copy kernel
// of bench/copy-bandwidth.ts, then per model: load MB/s, time to first
// token, prefill tok/s on a long prompt, decode tok/s, and the fraction of
// the copy bandwidth the decode reaches: weight bytes per token x tok/s /
// copy bandwidth, and where the wall and CPU time of a decoded token go
// (token-cpu.ts), beside whether waiting for the GPU costs CPU here
// (wait-probe.ts). Optionally first checks the engine's greedy tokens on
// this adapter against llama.cpp's (recorded by bench/gpu-reference.ts).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClawEngine, type EngineOptions } from '../../src/engine/engine';
import { readGguf } from '../../src/gguf/reader';
import { openFileSource } from '../../src/gguf/source-node';
import { ensureSwiftShaderFallback, getNodeGpu } from '../../src/gpu/gpu-node';
import { expandTunings, type MatvecAutotuneReport } from '../../src/gpu/matvec-autotune';
import type { MatvecTuning } from '../../src/gpu/matvec-tuning';

/** A tuning of the sweep: fields over the defaults, or 'auto' (the engine's own search at load, src/gpu/matvec-autotune.ts). */
export interface BenchTuning {
  label: string;
  matvec: Partial<MatvecTuning> | 'auto';
}

/** The --tune of bench:gpu: expandTunings' syntax (`candidates`: the search's list), where a tuning may also be `auto`. */
export function benchTunings(spec: string): BenchTuning[] {
  return spec.split(';').flatMap((s): BenchTuning[] => (s.trim() === 'auto' ? [{ label: 'auto', matvec: 'auto' }] : expandTunings(s)));
}
import { awaitingPolls } from '../../src/gpu/read-pacer';
import { createTokenizer } from '../../src/tokenizer';
import { copyBandwidth } from '../copy-bandwidth';
import { groupPasses, watchGpuTime, withTimestamps, type GpuTimer, type PassTimes } from './gpu-time';
import { promptOfTokens, type WebClawRun } from './measure-engine';
import { measureWebClaw } from './measure-webclaw';
import { kernelProfileTable, profileDecodeKernels, type KernelTime } from './kernel-profile';
import { tokenCpuTable } from './token-cpu';
import { probeGpuWait, waitProbeLines, type WaitProbe } from './wait-probe';
import { LLAMA_31_8B, LLAMA_32_1B, QUANTS, QWEN35_08B, shapeOptions, TINYLLAMA_1_1B, writeTiledModel, type ModelShape, type Quant } from './real-shape-models';

export interface Bandwidth {
  /** Bytes copied per buffer. */
  bytes: number;
  /** Bytes read plus bytes written per second, median of the runs. */
  gbPerS: number;
  /** Median ms per copy. */
  ms: number;
}

/** Greedy tokens llama.cpp produced for a model file (bench/gpu-reference.ts writes a list of these). */
export interface ReferenceCase {
  /** File name, relative to the reference JSON's folder. */
  file: string;
  prompt: string;
  promptIds: number[];
  tokens: number[];
}

export interface ReferenceCheck {
  file: string;
  promptIdsEqual: boolean;
  /** Leading greedy tokens equal to llama.cpp's, of `expected`. */
  agreeing: number;
  expected: number;
  generated: number[];
}

export interface GpuBenchOptions {
  shapes: ModelShape[];
  quants: readonly Quant[];
  /** Decoded tokens measured (after 2 warm ones). */
  tokens: number;
  /** Prompt tokens of the measured request (its prefill tok/s). */
  prefill: number;
  copyBytes: number;
  /** Length of the dispatch the wait probe waits for (default 200 ms). */
  waitMs?: number;
  /** A reference JSON from bench/gpu-reference.ts: checked before the benchmark. */
  reference?: string;
  /** Per-kernel GPU time of the decode pass, per model (kernel-profile.ts), where the adapter has timestamps. */
  profile?: boolean;
  /** Matvec tunings to measure each model under (default: the engine's own); see benchTunings. */
  tunings?: BenchTuning[];
  engine?: EngineOptions;
  /** The WebGPU entry point (default: the engine's Node one). */
  gpu?: GPU;
  log?: (line: string) => void;
  /** Called with the result so far after each step (so a run cut short keeps its rows). */
  progress?: (partial: GpuBenchResult) => void;
}

export interface GpuBenchRow {
  model: string;
  /** The matvec tuning it ran under ('default' unless swept; 'auto -> label' for the one chosen at load). */
  tuning: string;
  /** With the 'auto' tuning: what the search at load measured and chose. */
  autotune?: MatvecAutotuneReport;
  fileBytes: number;
  tokenWeightBytes: number;
  writeMs: number;
  decodeTokS: number;
  /** Weight bytes per token (those the dispatches bind, measured) x tok/s. */
  weightGbPerS: number;
  /** weightGbPerS over the copy bandwidth. */
  bandwidthFraction: number;
  /**
   * GPU time of the compute passes after load (timestamp queries, where the
   * adapter has them), grouped by dispatch count, most passes first.
   */
  gpuPasses: PassTimes[];
  /** Median GPU ms of the decode pass (the group with the per-token dispatch count); undefined without timestamps. */
  decodePassGpuMs?: number;
  /** With `profile`: GPU ms per token by kernel, most first (null without timestamps). */
  kernels?: KernelTime[] | null;
  run: WebClawRun;
}

export interface GpuBenchResult {
  date: string;
  adapter: string;
  bandwidth: Bandwidth;
  /** What waiting for one long dispatch costs the CPU, per way of waiting. */
  wait: WaitProbe;
  /** Whether the decode loop paced its read-backs (EngineOptions.readPacing, as resolved). */
  readPacing: boolean;
  checks: ReferenceCheck[];
  rows: GpuBenchRow[];
}

export const REAL_SHAPES: ModelShape[] = [TINYLLAMA_1_1B, LLAMA_32_1B, LLAMA_31_8B, QWEN35_08B];
export const ALL_QUANTS = QUANTS;

type Create = (e: EngineOptions) => Promise<ClawEngine>;

/** Greedy generation on this adapter against llama.cpp's recorded tokens. */
async function checkReference(create: Create, referenceFile: string): Promise<ReferenceCheck[]> {
  const cases = JSON.parse(readFileSync(referenceFile, 'utf8')) as ReferenceCase[];
  const out: ReferenceCheck[] = [];
  for (const c of cases) {
    const engine = await create({});
    const source = await openFileSource(path.join(path.dirname(referenceFile), c.file));
    try {
      await engine.load(source, { ctxSize: 256 });
      const promptIds = engine.tokenizer?.encode(c.prompt, { addSpecial: true }) ?? [];
      const generated: number[] = [];
      for await (const e of engine.generate(c.prompt, { temperature: 0, maxTokens: c.tokens.length })) if (e.type === 'token' && e.tokenId >= 0) generated.push(e.tokenId);
      let agreeing = 0;
      while (agreeing < c.tokens.length && generated[agreeing] === c.tokens[agreeing]) agreeing++;
      out.push({ file: c.file, promptIdsEqual: JSON.stringify(promptIds) === JSON.stringify(c.promptIds), agreeing, expected: c.tokens.length, generated });
    } finally {
      await source.close?.();
      await engine.destroy();
    }
  }
  return out;
}

/** A prompt of about `n` tokens under the file's own tokenizer. */
async function longPrompt(file: string, n: number): Promise<string> {
  const source = await openFileSource(file);
  try {
    const tokenizer = createTokenizer(await readGguf(source));
    return promptOfTokens((text) => tokenizer.encode(text, { addSpecial: true }), n);
  } finally {
    await source.close?.();
  }
}

export async function runGpuBench(o: GpuBenchOptions): Promise<GpuBenchResult> {
  const log = o.log ?? (() => {});
  ensureSwiftShaderFallback();
  const gpu = withTimestamps(o.gpu ?? getNodeGpu());
  const create: Create = (e) => ClawEngine.create({ gpu, ...o.engine, ...e });
  const probe = await create({});
  const adapter = probe.adapterDescription;
  const size = Math.min(o.copyBytes, probe.ctx.limits.maxStorageBufferBindingSize, probe.ctx.limits.maxBufferSize) & ~15;
  const copy = await copyBandwidth(probe.ctx.device, size, { runs: 5, warmup: 2, repeats: 16, stat: 'median' });
  const wait = await probeGpuWait(probe.ctx.device, o.waitMs ?? 200);
  await probe.destroy();
  const readPacing = o.engine?.readPacing ?? awaitingPolls();
  const result: GpuBenchResult = { date: new Date().toISOString(), adapter, bandwidth: { bytes: size, ...copy }, wait, readPacing, checks: [], rows: [] };
  log(`${adapter}: copy bandwidth ${copy.gbPerS.toFixed(2)} GB/s (${(size / 2 ** 20).toFixed(0)} MiB buffers)`);
  for (const line of waitProbeLines(wait)) log(line);
  o.progress?.(result);
  if (o.reference) {
    result.checks = await checkReference(create, o.reference);
    for (const c of result.checks) log(`${c.file}: prompt ids ${c.promptIdsEqual ? 'equal' : 'DIFFER'}, ${c.agreeing} of ${c.expected} greedy tokens equal llama.cpp's`);
    o.progress?.(result);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webclaw-gpu-bench-'));
  try {
    for (const shape of o.shapes) {
      for (const quant of o.quants) {
        const label = `${shape.name} (${quant})`;
        const file = path.join(dir, 'model.gguf');
        const written = await writeTiledModel(file, shapeOptions(shape, quant));
        const facts = { nLayers: written.nLayers, nVocab: written.nVocab, tokenWeightBytes: written.tokenWeightBytes };
        const prompt = await longPrompt(file, o.prefill);
        const window = { from: 2, to: 2 + o.tokens, tail: 3 };
        const ctxSize = Math.max(256, o.prefill + window.to + window.tail + 16);
        for (const tuning of o.tunings ?? [{ label: 'default', matvec: {} }]) {
          let timer: GpuTimer | null = null;
          let gpuPasses: PassTimes[] = [];
          const timed: Create = async (e) => {
            const engine = await create({ ...e, kernels: { ...o.engine?.kernels, ...e.kernels, matvec: tuning.matvec } });
            timer = watchGpuTime(engine.ctx.device);
            return engine;
          };
          let kernels: KernelTime[] | null | undefined;
          let autotune: MatvecAutotuneReport | undefined;
          const run = await measureWebClaw(timed, {}, file, facts, prompt, window, ctxSize, {}, async (engine) => {
            gpuPasses = timer ? groupPasses(await timer.read()) : [];
            timer?.stop();
            autotune = engine.info?.matvecTuning;
            if (o.profile) kernels = await profileDecodeKernels(engine);
          });
          const tuningLabel = autotune ? `auto -> ${autotune.chosen}` : tuning.label;
          const weightGbPerS = (run.perToken.weightBytes * run.decodeTokS) / 1e9;
          const cpu = run.cpu;
          const decodePassGpuMs = gpuPasses.find((g) => g.dispatches === Math.round(run.perToken.dispatches))?.medianMs;
          result.rows.push({ model: label, tuning: tuningLabel, autotune, fileBytes: written.fileBytes, tokenWeightBytes: written.tokenWeightBytes, writeMs: written.writeMs, decodeTokS: run.decodeTokS, weightGbPerS, bandwidthFraction: weightGbPerS / copy.gbPerS, gpuPasses, decodePassGpuMs, kernels, run });
          log(
            `${label}${o.tunings ? ` [${tuningLabel}]` : ''}: load ${run.loadMBs.toFixed(0)} MB/s, first token ${run.ttftMs.toFixed(0)} ms, prefill ${run.prefillTokS.toFixed(1)} tok/s (${run.nPrompt} tokens), ` +
              `decode ${run.decodeTokS.toFixed(2)} tok/s, ${weightGbPerS.toFixed(2)} GB/s of weights = ${((100 * weightGbPerS) / copy.gbPerS).toFixed(1)}% of copy bandwidth` +
              (decodePassGpuMs === undefined ? '' : `; decode pass ${decodePassGpuMs.toFixed(3)} ms on the GPU`) +
              `; per token ${cpu.wallMs.toFixed(3)} ms wall: encode ${cpu.encodeMs.toFixed(3)}, writeBuffer ${cpu.writeBufferMs.toFixed(3)}, submit ${cpu.submitMs.toFixed(3)}, read-back ${cpu.readbackMs.toFixed(3)}, Dawn polling ${cpu.pollMs.toFixed(3)} ms, main thread CPU ${cpu.mainCpuMs?.toFixed(3) ?? '?'} ms` +
              (gpuPasses.length ? `; GPU ms per pass: ${gpuPasses.map((g) => `${g.passes} x ${g.dispatches} dispatches ${g.medianMs.toFixed(3)}`).join(', ')}` : '') +
              (autotune ? `; matvec search at load (${autotune.tookMs.toFixed(0)} ms): ${autotune.candidates.map((c) => `${c.label} ${c.ms === null ? `skipped (${c.skipped})` : `${c.ms.toFixed(3)} ms`}`).join(', ')}` : '') +
              (autotune?.confirm ? `; again, alternately: ${autotune.confirm.label} ${autotune.confirm.ms.toFixed(3)} ms, default ${autotune.confirm.defaultMs.toFixed(3)} ms` : ''),
          );
          o.progress?.(result);
        }
        rmSync(file, { force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

export function gpuBenchTable(r: GpuBenchResult): string {
  const lines = [
    `${r.adapter}; copy bandwidth ${r.bandwidth.gbPerS.toFixed(2)} GB/s (read + write, ${(r.bandwidth.bytes / 2 ** 20).toFixed(0)} MiB buffers)`,
    '',
    ...r.checks.map((c) => `- ${c.file}: prompt ids ${c.promptIdsEqual ? 'equal' : 'differ'}; ${c.agreeing} of ${c.expected} greedy tokens equal llama.cpp's`),
    ...(r.checks.length ? [''] : []),
    '| model | matvec tuning | file MiB | load MB/s | first token ms | prompt tokens | prefill tok/s | decode tok/s | weight MB / token | weight GB/s | fraction of copy bandwidth | GPU ms / decode pass | dispatches / token | submits / token |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.model} | ${x.tuning} | ${(x.fileBytes / 2 ** 20).toFixed(1)} | ${x.run.loadMBs.toFixed(0)} | ${x.run.ttftMs.toFixed(0)} | ${x.run.nPrompt} | ${x.run.prefillTokS.toFixed(1)} | ${x.decodeTokS.toFixed(2)} | ${(x.run.perToken.weightBytes / 1e6).toFixed(1)} | ${x.weightGbPerS.toFixed(3)} | ${(100 * x.bandwidthFraction).toFixed(1)}% | ${x.decodePassGpuMs?.toFixed(3) ?? '-'} | ${x.run.perToken.dispatches.toFixed(0)} | ${x.run.perToken.submits.toFixed(0)} |`,
    ),
    '',
    `Per decoded token (bench/lib/token-cpu.ts), read-backs ${r.readPacing ? 'paced' : 'mapped at submit'}: the main thread\'s WebGPU calls, Dawn\'s event polling, the rest of its CPU, and its time off the CPU.`,
    '',
    tokenCpuTable(r.rows.map((x) => ({ model: x.tuning === 'default' ? x.model : `${x.model} [${x.tuning}]`, cpu: x.run.cpu, gpuMs: x.decodePassGpuMs }))),
    ...r.rows.flatMap((x) => (x.kernels ? ['', kernelProfileTable(x.tuning === 'default' ? x.model : `${x.model} [${x.tuning}]`, x.kernels)] : [])),
    '',
    ...waitProbeLines(r.wait),
  ];
  return lines.join('\n');
}
