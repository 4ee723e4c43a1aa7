// Benchmark (not a test): generation per model with WebClaw (Node + Dawn, on
// whatever Vulkan device this machine has) next to llama.cpp on the CPU
// (node-llama-cpp, 1 thread), in the same run on the same files; with
// --wllama, wllama (llama.cpp in wasm) in headless Chromium; with --browser,
// WebClaw itself in the same Chromium (its WebGPU), same prompt and window.
// Per model: load MB/s, time to first token, prefill tok/s, decode tok/s,
// CPU ms per token and the per-token counters (dispatches, bind groups,
// submits, bytes read back, JS recording ms, maps, error scopes, weight
// bytes read over the model's weight bytes). The decode pass ("after") runs
// next to the batch path (decodePass: false, "before") on the small models.
//
//   npm run ts -- bench/generate.ts [--wllama] [--browser] [--out FILE]
// Environment (real-shape models cost tens of seconds per token on a
// 2-core SwiftShader machine, and a prompt costs a whole 32-token prefill
// tile: the defaults give them one request, an 8-token prompt whose first
// token is the time to first token, and one measured token):
//   BENCH_MODELS=substr,...   only models whose label contains one of these
//   BENCH_PREFILL=512         prompt tokens, small models (8 at least)
//   BENCH_TOKENS=32           decoded tokens measured (after 4 warm ones), small models
//   BENCH_LAYERS_PREFILL=32   prompt tokens, the 32-layer narrow model
//   BENCH_LAYERS_TOKENS=16    decoded tokens measured (after 4 warm ones), the 32-layer model
//   BENCH_REAL_QUANTS=Q4_K_M,Q4_0,Q8_0  real-shape quantizations
//   BENCH_REAL_PREFILL=8      prompt tokens (8 at least), real-shape (1B) models
//   BENCH_REAL_TOKENS=1       decoded tokens measured (after 2 warm ones), real-shape models
//   BENCH_REAL_BEFORE=0       1: also the batch path on the real-shape models
//   BENCH_BROWSER_REAL=0      1: --browser runs the real shapes too (else the others only)
//   BENCH_VRAM_LIMIT=2GiB     the Node runs' VRAM budget (as --vram-limit; default: the engine's,
//                             1 GiB on SwiftShader, where the Q8_0 real shapes stream layers and so
//                             take the batch path, not the decode pass)
//   BENCH_LLAMA_THREADS=1
// Writes bench/results/generate.json (or --out FILE) and prints a markdown table.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineOptions } from '../src/engine/engine';
import { runWasmPeers, type BrowserModel } from './lib/browser-peers';
import { runWebClawInBrowser, type WebClawBrowserResult } from './lib/browser-webclaw';
import { measureLlamaCpp } from './lib/llamacpp';
import { promptOfTokens, type DecodeWindow, type PeerRun, type WebClawRun } from './lib/measure-engine';
import { measureWebClaw } from './lib/measure-webclaw';
import { benchModels, type BenchModel } from './lib/models';
import { QUANTS, type Quant } from './lib/real-shape-models';
import { markdownTable } from './lib/report';
import { parseVramLimit } from '../src/model/vram';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const PREFILL = env('BENCH_PREFILL', 512);
const TOKENS = env('BENCH_TOKENS', 32);
const LAYERS_PREFILL = env('BENCH_LAYERS_PREFILL', 32);
const LAYERS_TOKENS = env('BENCH_LAYERS_TOKENS', 16);
const REAL_PREFILL = env('BENCH_REAL_PREFILL', 8);
const REAL_TOKENS = env('BENCH_REAL_TOKENS', 1);
const REAL_QUANTS = (process.env.BENCH_REAL_QUANTS ?? QUANTS.join(',')).split(',').filter(Boolean) as Quant[];
const REAL_BEFORE = env('BENCH_REAL_BEFORE', 0) === 1;
const BROWSER_REAL = env('BENCH_BROWSER_REAL', 0) === 1;
const VRAM_LIMIT = process.env.BENCH_VRAM_LIMIT ? parseVramLimit(process.env.BENCH_VRAM_LIMIT) : undefined;
const LLAMA_THREADS = env('BENCH_LLAMA_THREADS', 1);
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.resolve(import.meta.dirname, 'results/generate.json');
/** wllama streams its chunks back to back when few are asked: a window this long at least. */
const WLLAMA_MIN_TOKENS = 8;
const ONLY = process.env.BENCH_MODELS?.split(',').filter(Boolean);

export interface GenerateRow {
  model: string;
  fileBytes: number;
  tensorBytes: number;
  tokenWeightBytes: number;
  nLayers: number;
  ctxSize: number;
  webclaw: WebClawRun;
  /** The batch path (decodePass: false), same run. */
  before?: WebClawRun;
  llamacpp: PeerRun;
  wllama?: PeerRun | { error: string };
  /** WebClaw in Chromium (--browser), same prompt and window. */
  browser?: WebClawBrowserResult;
  decodeRatio: number;
  /** What the Node run used, for the browser run. */
  prompt: string;
  window: DecodeWindow;
}

function log(line: string) {
  process.stderr.write(`[generate bench] ${line}\n`);
}

async function measureModel(m: BenchModel, create: (o: EngineOptions) => Promise<import('../src/engine/engine').ClawEngine>): Promise<GenerateRow> {
  const real = m.kind === 'real';
  const window: DecodeWindow = real
    ? { from: 2, to: 2 + REAL_TOKENS, tail: 1, firstTokenOfMeasured: true }
    : { from: 4, to: 4 + (m.kind === 'layers' ? LAYERS_TOKENS : TOKENS), tail: 3 };
  const want = real ? REAL_PREFILL : m.kind === 'layers' ? LAYERS_PREFILL : PREFILL;
  const ctxSize = Math.min(m.trainCtx, Math.max(256, want + window.to + 16));
  const prompt = promptOfTokens(m.encode, Math.max(8, Math.min(want, ctxSize - window.to - 8)));
  log(`${m.label}: WebClaw (decode pass)`);
  const after = await measureWebClaw(create, {}, m.file, m, prompt, window, ctxSize, { vramLimit: VRAM_LIMIT });
  let before: WebClawRun | undefined;
  if (!real || REAL_BEFORE) {
    log(`${m.label}: WebClaw (batch path, before)`);
    before = await measureWebClaw(create, { decodePass: false }, m.file, m, prompt, window, ctxSize, { vramLimit: VRAM_LIMIT });
  }
  log(`${m.label}: llama.cpp`);
  const llamacpp = await measureLlamaCpp(m.file, prompt, window.to - window.from, LLAMA_THREADS, ctxSize);
  return {
    model: m.label,
    fileBytes: m.fileBytes,
    tensorBytes: m.tensorBytes,
    tokenWeightBytes: m.tokenWeightBytes,
    nLayers: m.nLayers,
    ctxSize,
    webclaw: after,
    before,
    llamacpp,
    decodeRatio: after.decodeTokS / llamacpp.decodeTokS,
    prompt,
    window,
  };
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webclaw-generate-bench-'));
  const withWllama = process.argv.includes('--wllama');
  const withBrowser = process.argv.includes('--browser');
  try {
    const { ClawEngine } = await import('../src/engine/engine');
    const { ensureSwiftShaderFallback, getNodeGpu } = await import('../src/gpu/gpu-node');
    ensureSwiftShaderFallback();
    const create = (o: EngineOptions) => ClawEngine.create({ gpu: getNodeGpu(), ...o });
    const models = await benchModels(dir, (label) => !ONLY || ONLY.some((s) => label.includes(s)), REAL_QUANTS, log);
    const rows: GenerateRow[] = [];
    const probe = await create({});
    const adapter = probe.adapterDescription;
    await probe.destroy();
    const result = {
      date: new Date().toISOString(),
      adapter,
      cpus: os.cpus().length,
      loadAverage: os.loadavg(),
      llamaThreads: LLAMA_THREADS,
      settings: { PREFILL, TOKENS, LAYERS_PREFILL, LAYERS_TOKENS, REAL_QUANTS, REAL_PREFILL, REAL_TOKENS, REAL_BEFORE, browser: withBrowser, BROWSER_REAL, VRAM_LIMIT: process.env.BENCH_VRAM_LIMIT ?? 'default' },
      rows,
    };
    // Written after every model, so a run cut short keeps what it measured.
    const save = () => {
      result.loadAverage = os.loadavg();
      mkdirSync(path.dirname(OUT), { recursive: true });
      writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
    };
    for (const m of models) {
      const row = await measureModel(m, create);
      rows.push(row);
      log(`${m.label}: decode ${row.webclaw.decodeTokS.toFixed(2)} tok/s (before ${row.before?.decodeTokS.toFixed(2) ?? '-'}), llama.cpp ${row.llamacpp.decodeTokS.toFixed(1)}`);
      if (withWllama) {
        const prompt = promptOfTokens(m.encode, Math.min(row.webclaw.nPrompt, 64));
        const browserModel: BrowserModel = { label: m.label, file: m.file, prompt, nDecode: Math.max(WLLAMA_MIN_TOKENS, m.kind === 'real' ? REAL_TOKENS : TOKENS), ctxSize: 512 };
        row.wllama = (await runWasmPeers([browserModel], log)).get(m.label) ?? { error: 'not run' };
      }
      if (withBrowser && (m.kind !== 'real' || BROWSER_REAL)) {
        const model = { label: m.label, file: m.file, prompt: row.prompt, nDecode: 0, ctxSize: row.ctxSize, facts: { nLayers: m.nLayers, nVocab: m.nVocab, tokenWeightBytes: m.tokenWeightBytes }, window: row.window };
        row.browser = (await runWebClawInBrowser([model], log)).get(m.label) ?? { error: 'not run' };
        const b = row.browser;
        log(`${m.label}: in Chromium ${'error' in b ? b.error : `decode ${b.decodeTokS.toFixed(2)} tok/s`}`);
      }
      save();
    }
    console.log(`adapter: ${adapter}; ${result.cpus} CPUs, load average ${result.loadAverage.map((l) => l.toFixed(1)).join(' ')}; llama.cpp threads ${LLAMA_THREADS}`);
    console.log(markdownTable(rows));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

await main();
