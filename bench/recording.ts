// Benchmark (not a test): the JS time to record one decoded token, against
// the layer count. Per model (LLAMA_3_8B_LAYERS's narrow layout at 16, 22
// and 32 layers, Q4_K_M; the time depends on the layer count, not the
// width), after one greedy request has recorded the decode pass and
// compiled its kernels: REPS times, create a command encoder, begin a
// compute pass, encode the pass's recorded dispatch list, end and finish.
// That is what the pipelined loop does per token (src/model/decode-pass.ts,
// submit()) less queue.submit, so no GPU work runs and the machine's load
// shows only as preemption: the minimum over the repetitions is the figure,
// the median is printed beside it.
//
//   npm run ts -- bench/recording.ts [--reps 300] [--layers 16,22,32] [--dawn-flag enable-dawn-features=skip_validation] [--variant gpu|cpu]
// --variant: the decode pass's kernel family (GpuOpsOptions.decodeVariant;
// default the adapter's: 'cpu' on SwiftShader; 'gpu' folds rope into
// attention, one dispatch fewer per layer); the result file names it.
// --dawn-flag: one of Dawn's command-line flags for the device (e.g. to see
// what Dawn's validation costs per dispatch); the result file names it.
// Writes bench/results/recording.json (recording-<flag>.json with a flag).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClawEngine } from '../src/engine/engine';
import { openFileSource } from '../src/gguf/source-node';
import { encodeDispatches } from '../src/gpu/recorded';
import { createDawnGpu, ensureSwiftShaderFallback } from '../src/gpu/gpu-node';
import { decodeDispatches } from './lib/kernel-profile';
import { LLAMA_3_8B_LAYERS, shapeOptions, writeTiledModel } from './lib/real-shape-models';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const REPS = Number(arg('reps') ?? 300);
const LAYERS = (arg('layers') ?? '16,22,32').split(',').map(Number);
const DAWN_FLAG = arg('dawn-flag');
const VARIANT = arg('variant') as 'gpu' | 'cpu' | undefined;
const OUT = path.resolve(import.meta.dirname, `results/recording${DAWN_FLAG ? `-${DAWN_FLAG.replace(/[^a-z0-9_]+/gi, '-')}` : ''}${VARIANT ? `-${VARIANT}` : ''}.json`);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
  ensureSwiftShaderFallback();
  const gpu = createDawnGpu(DAWN_FLAG ? [DAWN_FLAG] : []);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webclaw-recording-bench-'));
  const rows = [];
  let adapter = '';
  try {
    for (const nLayers of LAYERS) {
      const file = path.join(dir, `layers-${nLayers}.gguf`);
      await writeTiledModel(file, shapeOptions({ ...LLAMA_3_8B_LAYERS, nLayers }, 'Q4_K_M'));
      const engine = await ClawEngine.create({ gpu, kernels: VARIANT ? { decodeVariant: VARIANT } : undefined });
      adapter = engine.adapterDescription;
      const source = await openFileSource(file);
      try {
        await engine.load(source, { ctxSize: 256 });
        for await (const e of engine.generate('Once upon a time', { temperature: 0, maxTokens: 2 })) void e;
        const list = decodeDispatches(engine);
        const device = engine.ctx.device;
        const times: number[] = [];
        for (let r = 0; r < REPS; r++) {
          const t0 = performance.now();
          const encoder = device.createCommandEncoder();
          const pass = encoder.beginComputePass();
          encodeDispatches(pass, list);
          pass.end();
          encoder.finish();
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        const row = { nLayers, dispatches: list.length, minMs: times[0], medianMs: quantile(times, 0.5), p90Ms: quantile(times, 0.9), minUsPerDispatch: (1000 * times[0]) / list.length };
        rows.push(row);
        process.stderr.write(`[recording bench] ${nLayers} layers: ${list.length} dispatches, min ${row.minMs.toFixed(3)} ms, median ${row.medianMs.toFixed(3)} ms\n`);
      } finally {
        await source.close?.();
        await engine.destroy();
        rmSync(file, { force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const result = { date: new Date().toISOString(), adapter, dawnFlag: DAWN_FLAG ?? null, variant: VARIANT ?? 'default', cpus: os.cpus().length, loadAverage: os.loadavg(), reps: REPS, shape: { ...LLAMA_3_8B_LAYERS, quant: 'Q4_K_M' }, rows };
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`${adapter}${DAWN_FLAG ? ` (${DAWN_FLAG})` : ''}; load average ${result.loadAverage.map((l) => l.toFixed(1)).join(' ')}; ${REPS} recordings each`);
  console.log('| layers | dispatches | min ms | median ms | p90 ms | min µs per dispatch |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.nLayers} | ${r.dispatches} | ${r.minMs.toFixed(3)} | ${r.medianMs.toFixed(3)} | ${r.p90Ms.toFixed(3)} | ${r.minUsPerDispatch.toFixed(1)} |`);
  process.exit(0);
}

await main();
