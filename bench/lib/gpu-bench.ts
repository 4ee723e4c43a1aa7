// The GPU benchmark (npm run bench:gpu; bench/gpu.ts is its command line):
// on whatever adapter Dawn finds (a real GPU through Vulkan; SwiftShader
// where there is none), measure the memory bandwidth with a copy kernel,
// then decode tok/s per model and the fraction of that bandwidth the
// decode reaches: weight bytes per token x tok/s / copy bandwidth.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClawEngine, type EngineOptions } from '../../src/engine/engine';
import { ensureSwiftShaderFallback, getNodeGpu } from '../../src/gpu/gpu-node';
import type { WebClawRun } from './measure-engine';
import { measureWebClaw } from './measure-webclaw';
import { LLAMA_32_1B, QUANTS, shapeOptions, TINYLLAMA_1_1B, writeTiledModel, type ModelShape, type Quant } from './real-shape-models';

const COPY_WG = 256;
const COPY_GROUPS = 4096;
/** Grid-stride copy of vec4<u32>: each thread moves 16 bytes per step. */
const COPY_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@compute @workgroup_size(${COPY_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = arrayLength(&src);
  for (var i = gid.x; i < n; i += ${COPY_WG * COPY_GROUPS}u) { dst[i] = src[i]; }
}`;

export interface Bandwidth {
  /** Bytes copied per buffer. */
  bytes: number;
  /** Bytes read plus bytes written per second, median of the runs. */
  gbPerS: number;
  runsMs: number[];
}

/** Copy bandwidth: `repeats` copies of `bytes` in one submit, timed to the queue's completion; median of `runs`. */
export async function copyBandwidth(device: GPUDevice, bytes: number, repeats = 8, runs = 3): Promise<Bandwidth> {
  const size = Math.min(bytes, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) & ~15;
  const src = device.createBuffer({ size, usage: 0x80, label: 'bandwidth src' });
  const dst = device.createBuffer({ size, usage: 0x80, label: 'bandwidth dst' });
  const module = device.createShaderModule({ code: COPY_WGSL, label: 'bandwidth copy' });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'bandwidth copy' });
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
  const once = async (n: number) => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(COPY_GROUPS);
    pass.end();
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  try {
    await once(1);
    const runsMs: number[] = [];
    for (let r = 0; r < runs; r++) runsMs.push(await once(repeats));
    const median = [...runsMs].sort((a, b) => a - b)[Math.floor(runs / 2)];
    return { bytes: size, gbPerS: (2 * size * repeats) / (median / 1000) / 1e9, runsMs };
  } finally {
    src.destroy();
    dst.destroy();
  }
}

export interface GpuBenchOptions {
  shapes: ModelShape[];
  quants: readonly Quant[];
  /** Decoded tokens measured (after 2 warm ones). */
  tokens: number;
  copyBytes: number;
  engine?: EngineOptions;
  log?: (line: string) => void;
}

export interface GpuBenchRow {
  model: string;
  fileBytes: number;
  tokenWeightBytes: number;
  decodeTokS: number;
  /** Weight bytes per token (those the dispatches bind, measured) x tok/s. */
  weightGbPerS: number;
  /** weightGbPerS over the copy bandwidth. */
  bandwidthFraction: number;
  run: WebClawRun;
}

export interface GpuBenchResult {
  date: string;
  adapter: string;
  bandwidth: Bandwidth;
  rows: GpuBenchRow[];
}

export const REAL_SHAPES: ModelShape[] = [TINYLLAMA_1_1B, LLAMA_32_1B];
export const ALL_QUANTS = QUANTS;

export async function runGpuBench(o: GpuBenchOptions): Promise<GpuBenchResult> {
  const log = o.log ?? (() => {});
  ensureSwiftShaderFallback();
  const create = (e: EngineOptions) => ClawEngine.create({ gpu: getNodeGpu(), ...o.engine, ...e });
  const probe = await create({});
  const adapter = probe.adapterDescription;
  const bandwidth = await copyBandwidth(probe.ctx.device, o.copyBytes);
  await probe.destroy();
  log(`${adapter}: copy bandwidth ${bandwidth.gbPerS.toFixed(2)} GB/s (${(bandwidth.bytes / 2 ** 20).toFixed(0)} MiB buffers)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webclaw-gpu-bench-'));
  const rows: GpuBenchRow[] = [];
  try {
    for (const shape of o.shapes) {
      for (const quant of o.quants) {
        const label = `${shape.name} (${quant})`;
        const file = path.join(dir, 'model.gguf');
        const written = await writeTiledModel(file, shapeOptions(shape, quant));
        const facts = { nLayers: written.nLayers, nVocab: written.nVocab, tokenWeightBytes: written.tokenWeightBytes };
        const run = await measureWebClaw(create, {}, file, facts, 'Once upon a time there was a little', { from: 2, to: 2 + o.tokens, tail: 3 }, 256);
        rmSync(file, { force: true });
        const weightGbPerS = (run.perToken.weightBytes * run.decodeTokS) / 1e9;
        rows.push({ model: label, fileBytes: written.fileBytes, tokenWeightBytes: written.tokenWeightBytes, decodeTokS: run.decodeTokS, weightGbPerS, bandwidthFraction: weightGbPerS / bandwidth.gbPerS, run });
        log(`${label}: ${run.decodeTokS.toFixed(2)} tok/s, ${weightGbPerS.toFixed(2)} GB/s of weights = ${(100 * weightGbPerS / bandwidth.gbPerS).toFixed(1)}% of copy bandwidth`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { date: new Date().toISOString(), adapter, bandwidth, rows };
}

export function gpuBenchTable(r: GpuBenchResult): string {
  const lines = [
    `${r.adapter}; copy bandwidth ${r.bandwidth.gbPerS.toFixed(2)} GB/s (read + write, ${(r.bandwidth.bytes / 2 ** 20).toFixed(0)} MiB buffers)`,
    '',
    '| model | file MiB | decode tok/s | weight MB / token | weight GB/s | fraction of copy bandwidth | dispatches / token | submits / token |',
    '|---|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.model} | ${(x.fileBytes / 2 ** 20).toFixed(1)} | ${x.decodeTokS.toFixed(2)} | ${(x.run.perToken.weightBytes / 1e6).toFixed(1)} | ${x.weightGbPerS.toFixed(3)} | ${(100 * x.bandwidthFraction).toFixed(1)}% | ${x.run.perToken.dispatches.toFixed(0)} | ${x.run.perToken.submits.toFixed(0)} |`,
    ),
  ];
  return lines.join('\n');
}
