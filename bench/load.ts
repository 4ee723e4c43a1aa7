// Benchmark (not a test): how fast a model loads (parse, read, allocate,
// upload) under the loader's read settings (CHOICES): neighbouring tensors
// read together in reads of up to EngineOptions.readChunkBytes (0: a read
// per tensor) and the next reads made while one uploads
// (EngineOptions.readAheadBytes), the defaults among them, alternating run
// by run on the same file after one load not counted: in
// Node (Dawn, the file read from disk) and in headless Chromium (as the app
// does it: in a worker, on its WebGPU, the file kept in IndexedDB and read
// back as the app's library reads it).
//
//   npm run ts -- bench/load.ts [--shape llama32|tinyllama|tiny] [--quant Q4_K_M|Q4_0|Q8_0] [--runs 3] [--no-browser]
// Writes bench/results/load.json and prints a markdown table.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClawEngine } from '../src/engine/engine';
import { READ_AHEAD_BYTES, READ_CHUNK_BYTES } from '../src/gguf/read-ahead';
import { openFileSource } from '../src/gguf/source-node';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../src/gpu/gpu-node';
import { bundlePage, withChromium } from './lib/browser-peers';
import type { LoadSetting } from './lib/browser-load-page';
import { LLAMA_32_1B, shapeOptions, TINY_LLAMA, TINYLLAMA_1_1B, writeTiledModel, type Quant } from './lib/real-shape-models';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const shape = { llama32: LLAMA_32_1B, tinyllama: TINYLLAMA_1_1B, tiny: TINY_LLAMA }[flag('shape', 'llama32')];
if (!shape) throw new Error(`--shape: llama32, tinyllama or tiny`);
const quant = flag('quant', 'Q4_K_M') as Quant;
const runs = Number(flag('runs', '3'));
const browser = !args.includes('--no-browser');
const CTX = 256;
/** The settings compared (MiB; chunk 0: a read per tensor), the defaults among them. */
const MIB = 2 ** 20;
const CHOICES = [
  { chunk: 16, ahead: 16 },
  { chunk: 64, ahead: 16 },
  { chunk: 64, ahead: 64 },
  { chunk: 0, ahead: 16 },
  { chunk: 0, ahead: 0 },
];
const SETTINGS: { label: string; options: LoadSetting }[] = CHOICES.map(({ chunk, ahead }) => {
  const defaults = chunk * MIB === READ_CHUNK_BYTES && ahead * MIB === READ_AHEAD_BYTES ? ' (defaults)' : '';
  const label = `${chunk ? `reads of up to ${chunk} MiB` : 'a read per tensor'}, ${ahead ? `read-ahead ${ahead} MiB` : 'no read-ahead'}${defaults}`;
  return { label, options: { readChunkBytes: chunk * MIB, readAheadBytes: ahead * MIB } };
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function nodeTimes(file: string): Promise<{ adapter: string; ms: number[][] }> {
  ensureSwiftShaderFallback();
  const ms: number[][] = SETTINGS.map(() => []);
  let adapter = '';
  // One load first, not counted: the first read of the file comes off the disk, the later ones from the page cache.
  for (let r = -1; r < runs; r++) {
    for (const [i, s] of (r < 0 ? SETTINGS.slice(0, 1) : SETTINGS).entries()) {
      const engine = await ClawEngine.create({ gpu: getRuntimeGpu(), ...s.options });
      adapter = engine.adapterDescription;
      const source = await openFileSource(file);
      try {
        const t = performance.now();
        await engine.load(source, { ctxSize: CTX });
        if (r >= 0) ms[i].push(performance.now() - t);
      } finally {
        await engine.destroy();
        await source.close?.();
      }
    }
  }
  return { adapter, ms };
}

async function browserTimes(file: string): Promise<{ adapter: string; ms: number[][] }> {
  const script = await bundlePage(path.resolve(import.meta.dirname, 'lib/browser-load-page.ts'));
  const page = `<!doctype html><meta charset="utf-8"><title>load bench</title><script type="module" src="/load/bench.js"></script>`;
  const routes = { '/load/': { type: 'text/html', body: page }, '/load/bench.js': { type: 'text/javascript', body: script } };
  // A first load not counted, as in Node (the first read of the IndexedDB copy is cold).
  const order = [SETTINGS[0].options, ...Array.from({ length: runs }, () => SETTINGS.map((s) => s.options)).flat()];
  let result = { adapter: '', ms: [] as number[] };
  await withChromium([{ label: 'model', file, prompt: '', nDecode: 0, ctxSize: CTX }], routes, async (open, modelUrl) => {
    result = await open('/load/', 'loadReady', (p) =>
      p.evaluate((request) => (globalThis as unknown as { loadTimes: (r: typeof request) => Promise<{ adapter: string; ms: number[] }> }).loadTimes(request), { url: modelUrl(0), settings: order, ctxSize: CTX }),
    );
  });
  const counted = result.ms.slice(1);
  return { adapter: result.adapter, ms: SETTINGS.map((_, i) => counted.filter((_, k) => k % SETTINGS.length === i)) };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'claw-load-'));
try {
  const file = path.join(dir, 'model.gguf');
  const written = await writeTiledModel(file, shapeOptions(shape, quant));
  const mb = written.fileBytes / 1e6;
  console.log(`${shape.name} (${quant}): ${(written.fileBytes / 2 ** 20).toFixed(0)} MiB, ${runs} runs per setting, alternating`);
  const where: [string, { adapter: string; ms: number[][] }][] = [['Node (Dawn, file on disk)', await nodeTimes(file)]];
  if (browser) where.push(['Chromium (worker, file in IndexedDB)', await browserTimes(file)]);
  const rows = where.flatMap(([runtime, r]) =>
    SETTINGS.map((s, i) => ({ runtime, adapter: r.adapter, setting: s.label, runsMs: r.ms[i].map((x) => Math.round(x)), medianMs: median(r.ms[i]), mbPerS: mb / (median(r.ms[i]) / 1000) })),
  );
  const lines = [
    `| runtime | setting | load ms (median of ${runs}) | MB/s | runs (ms) |`,
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.runtime} | ${r.setting} | ${r.medianMs.toFixed(0)} | ${r.mbPerS.toFixed(0)} | ${r.runsMs.join(', ')} |`),
  ];
  console.log(lines.join('\n'));
  mkdirSync(path.resolve(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(
    path.resolve(import.meta.dirname, 'results/load.json'),
    JSON.stringify({ date: new Date().toISOString(), model: `${shape.name} (${quant})`, fileBytes: written.fileBytes, ctxSize: CTX, loadAverage: os.loadavg(), rows }, null, 1),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
