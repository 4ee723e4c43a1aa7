// Benchmark (not a test): prefill and decode tokens/s of the f32 and the f16
// arithmetic paths on the same adapter, same files, same prompt. Meant for
// an adapter with shader-f16: `npm run bench:dtype` runs it under Deno's
// WebGPU (wgpu) on lavapipe, a CPU Vulkan, so the f16/f32 ratio is the
// point, not the absolute speed. Writes bench/results/dtype-<wgpu|dawn>.json.
// BENCH_REPEATS (default 3): runs per model and path; the median is kept.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClawEngine } from '../src/engine/engine';
import { openFileSource } from '../src/gguf/source-node';
import { GgmlType } from '../src/gguf/types';
import { getRuntimeGpu, runtimeGpuName } from '../src/gpu/gpu-node';
import type { Dtype } from '../src/gpu/ops-api';
import { makeSyntheticModel } from '../tests/fixtures/synthetic-model';

const root = process.cwd();
const PROMPT =
  'Once upon a time there was a little girl who lived in a house near the woods. Every day she walked to the river with her dog, ' +
  'and every evening she told her mother what she had seen: a fox, a heron, a boat with a red sail, and once a very old man who sang.';
const N_DECODE = Number(process.env.BENCH_TOKENS ?? 16);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

interface Row {
  model: string;
  dtype: Dtype;
  nPrompt: number;
  prefillTokS: number;
  decodeTokS: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One load and one measured run (after a warm-up round on that load). */
async function runOnce(engine: ClawEngine, file: string, dtype: Dtype): Promise<Omit<Row, 'model'>> {
  const source = await openFileSource(file);
  try {
    await engine.load(source, { ctxSize: 512, dtype });
    let row: Omit<Row, 'model'> | undefined;
    for (let round = 0; round < 2; round++) {
      // A short other prompt first: compiles every pipeline on the first
      // round (not counted) and leaves only BOS for the measured prompt to reuse.
      for await (const _ of engine.generate('Hello', { temperature: 0, maxTokens: 2 })) void _;
      for await (const e of engine.generate(PROMPT, { temperature: 0, maxTokens: N_DECODE })) {
        if (e.type === 'done' && round === 1) {
          row = { dtype, nPrompt: e.stats.nPrompt - e.stats.nCached, prefillTokS: e.stats.prefillTokPerS, decodeTokS: e.stats.decodeTokPerS };
        }
      }
    }
    await engine.unload();
    return row!;
  } finally {
    await source.close?.();
  }
}

/**
 * The paths take turns (f32, f16, f32, f16, ...) so that a slow spell of a
 * shared machine falls on both alike; the median of each path is kept.
 */
async function measure(engine: ClawEngine, file: string, dtypes: Dtype[]): Promise<Omit<Row, 'model'>[]> {
  const runs = new Map<Dtype, Omit<Row, 'model'>[]>(dtypes.map((d) => [d, []]));
  for (let i = 0; i < REPEATS; i++) for (const dtype of dtypes) runs.get(dtype)!.push(await runOnce(engine, file, dtype));
  return dtypes.map((dtype) => {
    const r = runs.get(dtype)!;
    return { dtype, nPrompt: r[0].nPrompt, prefillTokS: median(r.map((x) => x.prefillTokS)), decodeTokS: median(r.map((x) => x.decodeTokS)) };
  });
}

const files: [string, string][] = [];
const shared = path.resolve(root, '../shared/models/TinyStories-656K-Q8_0.gguf');
if (existsSync(shared)) files.push(['TinyStories-656K (Q8_0)', shared]);
const dir = path.join(os.tmpdir(), 'webclaw-bench');
mkdirSync(dir, { recursive: true });
for (const [label, type] of [['F16', GgmlType.F16], ['Q8_0', GgmlType.Q8_0], ['Q4_K_M', undefined]] as const) {
  const p = path.join(dir, `synthetic-512x4-${label}.gguf`);
  writeFileSync(p, makeSyntheticModel({ nEmbd: 512, nLayers: 4, nHeads: 8, nKvHeads: 4, nFf: 1536, ctxLength: 512, seed: 3, ...(type !== undefined ? { type } : { mix: 'Q4_K_M' }) }));
  files.push([`synthetic llama 512x4 (${label})`, p]);
}

const engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
const dtypes: Dtype[] = engine.ctx.features.f16 ? ['f32', 'f16'] : ['f32'];
const rows: Row[] = [];
for (const [model, file] of files) {
  for (const r of await measure(engine, file, dtypes)) rows.push({ model, ...r });
}
await engine.destroy();

const lane = runtimeGpuName();
const result = { date: new Date().toISOString(), adapter: engine.adapterDescription, runtime: lane, cpus: os.cpus().length, nDecode: N_DECODE, repeats: REPEATS, prompt: PROMPT, rows };
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, `bench/results/dtype-${lane}.json`), `${JSON.stringify(result, null, 2)}\n`);
console.log(`adapter: ${result.adapter} (${lane}); ${result.cpus} CPUs; median of ${REPEATS}; ${N_DECODE} decoded tokens`);
console.log('| model | prompt tokens | f32 prefill tok/s | f16 prefill tok/s | prefill f16/f32 | f32 decode tok/s | f16 decode tok/s | decode f16/f32 |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [model] of files) {
  const a = rows.find((r) => r.model === model && r.dtype === 'f32')!;
  const b = rows.find((r) => r.model === model && r.dtype === 'f16');
  const cell = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(1));
  const ratio = (x: number | undefined, y: number) => (x === undefined ? 'n/a' : `${(x / y).toFixed(2)}x`);
  console.log(`| ${model} | ${a.nPrompt} | ${cell(a.prefillTokS)} | ${cell(b?.prefillTokS)} | ${ratio(b?.prefillTokS, a.prefillTokS)} | ${cell(a.decodeTokS)} | ${cell(b?.decodeTokS)} | ${ratio(b?.decodeTokS, a.decodeTokS)} |`);
}
process.exit(0);
