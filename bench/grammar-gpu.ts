// What a grammar-constrained token costs on each decode route, through the
// engine (Node + Dawn, on whatever Vulkan device this machine has), with a
// tiny random-weights synthetic llama at 32,000 and 128,256 tokens (its
// vocabulary is the synthetic SPM one padded with "▁wN" words), so the
// vocabulary-wide work (classifier, sampler, read-back, mask) dominates:
//   gpu route    the grammar's bitmask written each token and applied in the
//                GPU sampler, one draw in flight, 4-byte id read back;
//   cpu route    the same request with logprobs: 0 (logits read back, masked
//                and drawn on the CPU; also computes the one logprob);
//   unconstrained  GPU sampling without a grammar (two draws in flight).
// Per route, from the 4th streamed token to the last: ms per token and the
// per-token counters (bytes read back, bytes written, maps, submits).
// The grammar (`[a-z0-9 ]*`) keeps one state: every mask after the first is
// a cache hit, as inside a JSON string.
//
//   npm run ts -- bench/grammar-gpu.ts [--tokens 40]
// Writes bench/results/grammar-gpu.json and prints a table. Not a test.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClawEngine } from '../src/engine/engine';
import type { GenerateOptions } from '../src/engine/types';
import { BytesSource } from '../src/gguf/source';
import { GgmlType } from '../src/gguf/types';
import { countGpuWork, zeroCounts } from '../src/gpu/counters';
import { getRuntimeGpu } from '../src/gpu/gpu-node';
import { makeSyntheticModel } from '../tests/fixtures/synthetic-model';

const here = path.dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf('--tokens');
const TOKENS = at > 0 ? Number(process.argv[at + 1]) : 40;
const FROM = 4;
const GRAMMAR: GenerateOptions['responseFormat'] = { type: 'grammar', grammar: 'root ::= [a-z0-9 ]*' };
const ROUTES: [string, GenerateOptions][] = [
  ['gpu route', { responseFormat: GRAMMAR }],
  ['cpu route (logprobs: 0)', { responseFormat: GRAMMAR, logprobs: 0 }],
  ['unconstrained, GPU sampling', {}],
];

const rows = [];
for (const nVocab of [32_000, 128_256]) {
  const model = makeSyntheticModel({ nEmbd: 64, nLayers: 1, nHeads: 2, nKvHeads: 1, nFf: 128, nVocab, ctxLength: 256, type: GgmlType.F32, seed: 3 });
  const engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
  await engine.load(new BytesSource(model, 'bench.gguf'), { ctxSize: 256 });
  for (const [route, extra] of ROUTES) {
    const options: GenerateOptions = { temperature: 0.8, seed: 1, maxTokens: TOKENS, ...extra };
    // Warm: kernels compiled, the grammar's table and first mask built.
    for await (const _ of engine.generate('Once upon a time', { ...options, maxTokens: 4 }));
    // Steady state: from the FROM-th streamed token to the last (the prefill and first draws left out).
    const counter = countGpuWork(engine.ctx.device);
    let n = 0;
    let t0 = 0;
    let t1 = 0;
    let c = zeroCounts();
    try {
      for await (const e of engine.generate('Once upon a time', options)) {
        if (e.type !== 'token' || e.tokenId < 0) continue;
        n++;
        if (n === FROM) {
          counter.reset();
          t0 = performance.now();
        }
        t1 = performance.now();
        c = { ...counter.counts };
      }
    } finally {
      counter.stop();
    }
    const k = n - FROM;
    if (k < 4) throw new Error(`${route}: only ${n} tokens`);
    const row = {
      nVocab,
      route,
      tokens: k,
      msPerToken: (t1 - t0) / k,
      bytesReadBackPerToken: c.bytesReadBack / k,
      bytesWrittenPerToken: c.bytesWritten / k,
      mapsPerToken: c.maps / k,
      submitsPerToken: c.submits / k,
    };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  await engine.destroy();
}

mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(path.join(here, 'results/grammar-gpu.json'), JSON.stringify({ date: new Date().toISOString(), tokens: TOKENS, rows }, null, 2) + '\n');
const f = (x: number, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d });
console.log('| vocabulary | route | tokens | ms per token | bytes read back per token | bytes written per token | maps per token | submits per token |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${f(r.nVocab)} | ${r.route} | ${r.tokens} | ${f(r.msPerToken, 2)} | ${f(r.bytesReadBackPerToken)} | ${f(r.bytesWrittenPerToken)} | ${f(r.mapsPerToken, 2)} | ${f(r.submitsPerToken, 2)} |`);
