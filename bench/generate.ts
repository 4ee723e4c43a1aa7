// Benchmark (not a test): prefill and decode tokens/s of WebClaw (Node +
// Dawn, on whatever Vulkan device this machine has) next to llama.cpp's CPU
// path (node-llama-cpp 3.21.1) in the same run, on the same files.
// Run: npx tsx bench/generate.ts   (writes bench/results/generate.json)

import { mkdirSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Token } from 'node-llama-cpp';
import type { ClawEngine } from '../src/engine/engine';

// WGSL `?raw` imports outside Vite; the engine is imported after this.
register('./raw-text-hooks.mjs', import.meta.url);
const { ClawEngine: Engine } = await import('../src/engine/engine');
const { openFileSource } = await import('../src/gguf/source-node');
const { GgmlType } = await import('../src/gguf/types');
const { ensureSwiftShaderFallback, getNodeGpu } = await import('../src/gpu/gpu-node');
const { getReferenceLlama, haveSharedModels, repoRoot, sharedModels } = await import('../tests/conformance/llama-reference');
const { makeSyntheticModel } = await import('../tests/fixtures/synthetic-model');

const PROMPT = 'Once upon a time there was a little girl who lived in a house near the woods. Every day she';
const N_DECODE = Number(process.env.BENCH_TOKENS ?? 48);
// llama.cpp's worker threads spin while waiting; on a 2-core machine that
// shares its cores with Dawn, one thread is its fastest and steadiest setting.
const LLAMA_THREADS = Number(process.env.BENCH_LLAMA_THREADS ?? 1);

interface Row {
  model: string;
  bytes: number;
  webclaw: { prefillTokS: number; decodeTokS: number; nPrompt: number; nGenerated: number };
  llamacpp: { prefillTokS: number; decodeTokS: number };
  decodeRatio: number;
}

async function webclaw(engine: ClawEngine, file: string) {
  const source = await openFileSource(file);
  try {
    await engine.load(source, { ctxSize: 512 });
    // Warm-up: compile every pipeline once.
    for await (const _ of engine.generate('Once', { temperature: 0, maxTokens: 2 })) void _;
    let stats = null;
    // A different prompt start so the KV cache is not reused.
    for await (const e of engine.generate(PROMPT, { temperature: 0, maxTokens: N_DECODE, addBos: true })) if (e.type === 'done') stats = e.stats;
    await engine.unload();
    return { prefillTokS: stats!.prefillTokPerS, decodeTokS: stats!.decodeTokPerS, nPrompt: stats!.nPrompt - stats!.nCached, nGenerated: stats!.nGenerated };
  } finally {
    await source.close?.();
  }
}

async function llamacpp(file: string) {
  const llama = await getReferenceLlama();
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: 512, threads: LLAMA_THREADS });
  try {
    const seq = context.getSequence();
    const ids = [model.tokens.bos!, ...model.tokenize(PROMPT, false)] as Token[];
    const t0 = performance.now();
    let t1 = 0;
    let n = 0;
    for await (const t of seq.evaluate(ids, { temperature: 0 })) {
      void t;
      if (n === 0) t1 = performance.now();
      if (++n >= N_DECODE) break;
    }
    const t2 = performance.now();
    return { prefillTokS: (ids.length * 1000) / (t1 - t0), decodeTokS: ((n - 1) * 1000) / (t2 - t1) };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

async function main() {
  const files: [string, string][] = [];
  if (haveSharedModels) {
    files.push(['stories260K (F32)', path.join(sharedModels, 'stories260K.gguf')]);
    files.push(['TinyStories-656K (Q8_0)', path.join(sharedModels, 'TinyStories-656K-Q8_0.gguf')]);
  }
  const dir = path.join(os.tmpdir(), 'webclaw-bench');
  mkdirSync(dir, { recursive: true });
  for (const [label, type] of [['Q8_0', GgmlType.Q8_0], ['Q4_K_M', undefined]] as const) {
    const p = path.join(dir, `synthetic-512x4-${label}.gguf`);
    writeFileSync(p, makeSyntheticModel({ nEmbd: 512, nLayers: 4, nHeads: 8, nKvHeads: 4, nFf: 1536, ctxLength: 512, seed: 3, ...(type !== undefined ? { type } : { mix: 'Q4_K_M' }) }));
    files.push([`synthetic llama 512x4 (${label})`, p]);
  }
  ensureSwiftShaderFallback();
  const engine = await Engine.create({ gpu: getNodeGpu() });
  const rows: Row[] = [];
  for (const [label, file] of files) {
    const ours = await webclaw(engine, file);
    const ref = await llamacpp(file);
    const { size } = await import('node:fs').then((fs) => fs.statSync(file));
    rows.push({ model: label, bytes: size, webclaw: ours, llamacpp: ref, decodeRatio: ours.decodeTokS / ref.decodeTokS });
  }
  await engine.destroy();
  const result = { date: new Date().toISOString(), adapter: engine.adapterDescription, cpus: os.cpus().length, llamaThreads: LLAMA_THREADS, nDecode: N_DECODE, rows };
  mkdirSync(path.join(repoRoot, 'bench/results'), { recursive: true });
  writeFileSync(path.join(repoRoot, 'bench/results/generate.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`adapter: ${result.adapter}; ${result.cpus} CPUs; llama.cpp threads ${LLAMA_THREADS}; ${N_DECODE} decoded tokens`);
  console.log('| model | file MiB | WebClaw prefill tok/s | WebClaw decode tok/s | llama.cpp prefill tok/s | llama.cpp decode tok/s | decode ratio |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.model} | ${(r.bytes / 2 ** 20).toFixed(1)} | ${r.webclaw.prefillTokS.toFixed(1)} | ${r.webclaw.decodeTokS.toFixed(1)} | ${r.llamacpp.prefillTokS.toFixed(1)} | ${r.llamacpp.decodeTokS.toFixed(1)} | ${r.decodeRatio.toFixed(3)} |`);
  }
  process.exit(0);
}

await main();
