// Soak: generate on one engine for a given time, and report tokens, errors,
// output mismatches and memory (GPU live bytes, JS heap) over time.
//   npm run ts -- scripts/soak.ts [minutes=3] [model=../shared/models/stories260K.gguf]
// CI runs a few minutes; the documented run is 60. Writes bench/results/soak.json
// (not the lead's bench files: a file of its own) and exits 1 on any error,
// mismatch, or GPU/heap growth.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ClawEngine } from '../src/engine/engine';
import { openFileSource } from '../src/gguf/source-node';
import { ensureSwiftShaderFallback, getNodeGpu } from '../src/gpu/gpu-node';
import { runStress } from '../tests/fixtures/stress';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const minutes = Number(process.argv[2] ?? 3);
const modelPath = process.argv[3] ?? path.resolve('../shared/models/stories260K.gguf');
const MiB = 2 ** 20;
/** Heap growth first to last that still counts as flat. */
const HEAP_SLACK_BYTES = 4 * MiB;

ensureSwiftShaderFallback();
const engine = await ClawEngine.create({ gpu: getNodeGpu() });
const source = await openFileSource(modelPath);
await engine.load(source, { ctxSize: 256 });
console.log(`soak: ${minutes} min on ${path.basename(modelPath)}, ${engine.adapterDescription}`);
const r = await runStress(engine, {
  prompt: 'Once upon a time',
  options: { temperature: 0.8, seed: 42, maxTokens: 32 },
  seconds: minutes * 60,
  sampleEvery: 25,
  gc,
  onSample: (s) =>
    console.log(
      `${s.seconds.toFixed(0).padStart(5)} s  gen ${String(s.generation).padStart(5)}  tokens ${String(s.tokens).padStart(7)}  gpu ${(s.gpuLiveBytes / MiB).toFixed(2)} MiB  heap ${(s.heapUsedBytes / MiB).toFixed(1)} MiB`,
    ),
});
await engine.destroy();
await source.close?.();
const [first, last] = [r.samples[0], r.samples.at(-1)!];
const summary = {
  date: new Date().toISOString(),
  minutes,
  model: path.basename(modelPath),
  generations: r.generations,
  tokens: r.tokens,
  errors: r.errors.length,
  firstErrors: r.errors.slice(0, 5),
  mismatches: r.mismatches,
  gpuLiveBytes: { first: first.gpuLiveBytes, last: last.gpuLiveBytes },
  heapUsedBytes: { first: first.heapUsedBytes, last: last.heapUsedBytes },
  samples: r.samples,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/soak.json', `${JSON.stringify(summary, null, 1)}\n`);
const ok = r.errors.length === 0 && r.mismatches === 0 && last.gpuLiveBytes === first.gpuLiveBytes && last.heapUsedBytes - first.heapUsedBytes < HEAP_SLACK_BYTES;
console.log(
  `${ok ? 'ok' : 'FAILED'}: ${r.generations} generations, ${r.tokens} tokens, ${r.errors.length} errors, ${r.mismatches} mismatches; ` +
    `GPU ${(first.gpuLiveBytes / MiB).toFixed(2)} -> ${(last.gpuLiveBytes / MiB).toFixed(2)} MiB, heap ${(first.heapUsedBytes / MiB).toFixed(1)} -> ${(last.heapUsedBytes / MiB).toFixed(1)} MiB`,
);
process.exit(ok ? 0 : 1);
