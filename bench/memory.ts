// GPU memory overhead of a real-size model: a Llama-3.2-1B-shaped synthetic
// model with every matrix in Q4_K (about 0.7 GB) is loaded all-resident,
// one token runs through the whole model, and the allocator's peak of
// live bytes is divided by what the model itself needs: its tensor bytes
// plus the KV cache it allocated. Target: at most 1.10. Runs twice: the KV
// cache allocated whole for the context, and growing in chunks (the default).
//
//   npx tsx bench/memory.ts [--ctx 2048] [--layers 16]
// Writes bench/results/memory.json and prints it. Not a test.
//
// The tensor data: quantizing 1.2 billion weights to Q4_K in JS would take
// over 10 minutes (about 750 s on a busy 2-core machine; the estimate from a
// timed sample is in the result), so each tensor tiles a few distinct
// quantized rows of Gaussian weights and the file is written in seconds.
// Memory does not depend on the values; the blocks are still valid Q4_K.

import { mkdtempSync, rmSync } from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClawEngine } from '../src/engine/engine';
import { readGguf } from '../src/gguf/reader';
import { openFileSource } from '../src/gguf/source-node';
import { GgmlType } from '../src/gguf/types';
import { ensureSwiftShaderFallback, getNodeGpu } from '../src/gpu/gpu-node';
import { quantize } from '../src/quant';
import { DISTINCT_ROWS, gaussianRow, writeTiledModel } from './lib/real-shape-models';

// The engine imports WGSL as `?raw` text: register the hooks before importing it (dynamically, in main).
register('./raw-text-hooks.mjs', import.meta.url);

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const CTX = arg('ctx', 2048);

const SHAPE = { nEmbd: 2048, nLayers: arg('layers', 16), nHeads: 32, nKvHeads: 8, nFf: 8192, nVocab: 128256, ctxLength: 131072, tied: true, type: GgmlType.Q4_K, seed: 1 };
/** Seconds quantizing every weight of the model to Q4_K in JS would take, from a timed 4M-value sample. */
function fullQuantizationEstimateS(tensorElements: number): number {
  const sample = gaussianRow(4 * 2 ** 20, 9, 0.02);
  const t0 = performance.now();
  quantize(GgmlType.Q4_K, sample);
  const perValueMs = (performance.now() - t0) / sample.length;
  return (perValueMs * tensorElements) / 1000;
}

function log(line: string): void {
  process.stderr.write(`[memory bench] ${line}\n`);
}

async function measure(engine: ClawEngine, file: string, kvCacheDynamic: boolean, tensorBytes: number) {
  const source = await openFileSource(file);
  try {
    engine.allocator.resetPeak();
    const liveBefore = engine.allocator.liveBytes();
    const t0 = performance.now();
    const info = await engine.load(source, { ctxSize: CTX, batchSize: 64, vramLimit: { bytes: 2 * 2 ** 30 }, nGpuLayers: 'auto', kvCacheDynamic });
    const loadMs = performance.now() - t0;
    log(`loaded in ${Math.round(loadMs)} ms: ${info.plan}`);
    // One token through the whole model: the first pass allocates the kernels' uniform ring and the logits'
    // staging buffer; later tokens allocate nothing (a decode step is many seconds on SwiftShader).
    const t1 = performance.now();
    await engine.nextTokenLogits([1]);
    const evalMs = performance.now() - t1;
    log(`one token in ${Math.round(evalMs)} ms`);
    const peakBy = engine.allocator.peakBytesByPurpose();
    const peak = engine.allocator.peakBytes;
    const kvBytes = peakBy.kv;
    await engine.unload();
    return {
      kvCacheDynamic,
      plan: info.plan,
      residentLayers: info.residentLayers,
      ctxSize: info.ctxSize,
      budgetBytes: info.budgetBytes,
      liveBytesBeforeLoad: liveBefore,
      peakBytes: peak,
      peakBytesByPurpose: peakBy,
      tensorBytes,
      kvBytes,
      ratio: Number((peak / (tensorBytes + kvBytes)).toFixed(4)),
      liveBytesAfterUnload: engine.allocator.liveBytes(),
      loadMs: Math.round(loadMs),
      evalMs: Math.round(evalMs),
    };
  } finally {
    await source.close?.();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'claw-memory-bench-'));
  const file = path.join(dir, 'llama-1b-shape-q4_k.gguf');
  try {
    const written = await writeTiledModel(file, SHAPE);
    log(`wrote ${written.fileBytes} bytes in ${Math.round(written.writeMs)} ms`);
    const header = await openFileSource(file);
    const gguf = await readGguf(header);
    await header.close?.();
    const elements = gguf.tensors.reduce((s, t) => s + t.elements, 0);
    const { ClawEngine: Engine } = await import('../src/engine/engine');
    ensureSwiftShaderFallback();
    const engine = await Engine.create({ gpu: getNodeGpu() });
    const runs = [];
    try {
      runs.push(await measure(engine, file, false, written.tensorBytes));
      runs.push(await measure(engine, file, true, written.tensorBytes));
    } finally {
      await engine.destroy();
    }
    const result = {
      model: { ...SHAPE, type: 'Q4_K', fileBytes: written.fileBytes, tensorBytes: written.tensorBytes, parameters: elements },
      adapter: engine.adapterDescription,
      ctxSize: CTX,
      target: 1.1,
      runs,
      generation: {
        writeMs: Math.round(written.writeMs),
        note: `tensor data tiles ${DISTINCT_ROWS} quantized rows per tensor; quantizing all ${elements} weights in JS would take about the estimate below`,
        fullQuantizationEstimateS: Math.round(fullQuantizationEstimateS(elements)),
      },
      date: new Date().toISOString(),
    };
    mkdirSync(path.join(here, 'results'), { recursive: true });
    writeFileSync(path.join(here, 'results', 'memory.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
