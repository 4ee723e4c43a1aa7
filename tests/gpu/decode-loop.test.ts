// The pipelined decode loop with sampling on the GPU, end to end: the same
// tokens as the CPU loop (batch path, CPU sampler) for greedy and seeded
// sampling, through KV-cache growth and context shifts, stop strings and
// end-of-generation; and, counted by wrapping the WebGPU objects, what one
// decoded token costs the CPU at steady state.
//
// The two loops' logits agree to rounding (the decode pass adds in another
// order than the batch path), so their tokens are compared draw by draw
// while the histories are equal: a different token where the CPU loop's
// decision was clear fails; one where it was close ends the comparison
// (tests/fixtures/clear-draws.ts), which must still cover a minimum of draws.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent, GenerateOptions } from '../../src/engine/types';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType } from '../../src/gguf/types';
import { countGpuWork, zeroCounts, type GpuCounts } from '../../src/gpu/counters';
import { ensureSwiftShaderFallback, getRuntimeGpu, runtimeGpuName } from '../../src/gpu/gpu-node';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import { haveSharedModels, sharedModels } from '../conformance/llama-reference';
import { compareDraws, unclearDraws, type ReferenceDraw } from '../fixtures/clear-draws';
import { readFileSync } from 'node:fs';
import path from 'node:path';

// What the CPU loop's sampler saw (logits, history) and drew, while a reference run records.
const recorder = vi.hoisted(() => ({ draws: null as ReferenceDraw[] | null }));
vi.mock(import('../../src/engine/sampler'), async (importOriginal) => {
  const m = await importOriginal();
  return {
    ...m,
    createSampler(options) {
      const sampler = m.createSampler(options);
      return {
        sample(logits, history) {
          const id = sampler.sample(logits, history);
          recorder.draws?.push({ logits: logits.slice(), history: history.slice(), id });
          return id;
        },
      };
    },
  };
});

const PROMPT = 'Once upon a time';

const N_LAYERS = 4;
const model = makeSyntheticModel({ nEmbd: 128, nLayers: N_LAYERS, nHeads: 4, nKvHeads: 2, nFf: 256, nVocab: 1024, ctxLength: 512, type: GgmlType.Q8_0, seed: 11 });

async function run(engine: ClawEngine, prompt: string, options: GenerateOptions, onToken?: (n: number) => void) {
  const tokens: number[] = [];
  let done: Extract<GenerateEvent, { type: 'done' }> | undefined;
  let text = '';
  for await (const e of engine.generate(prompt, options)) {
    if (e.type === 'token' && e.tokenId >= 0) {
      tokens.push(e.tokenId);
      onToken?.(tokens.length);
    }
    if (e.type === 'token') text += e.text;
    if (e.type === 'done') done = e;
  }
  return { tokens, text, done: done! };
}

describe('the pipelined GPU decode loop', () => {
  let gpu: ClawEngine;
  let cpu: ClawEngine;

  async function loadBoth(bytes: Uint8Array, name: string, ctxSize: number) {
    await gpu.load(new BytesSource(bytes, name), { ctxSize });
    await cpu.load(new BytesSource(bytes, name), { ctxSize });
    expect(gpu.usesDecodePass).toBe(true);
    expect(cpu.usesDecodePass).toBe(false);
  }

  /** A CPU-loop run with its draws recorded. */
  async function reference(prompt: string, options: GenerateOptions) {
    recorder.draws = [];
    try {
      const r = await run(cpu, prompt, options);
      return { ...r, draws: recorder.draws };
    } finally {
      recorder.draws = null;
    }
  }

  /** The GPU loop's tokens are the CPU loop's wherever its draw was clear, over at least `minDraws` draws (or all). */
  function expectCpuLoopTokens(a: Awaited<ReturnType<typeof run>>, b: Awaited<ReturnType<typeof reference>>, options: GenerateOptions, minDraws: number) {
    const endedOnEog = a.done.reason === 'stop' && !options.stop?.length;
    // The recording is the CPU loop's own: one draw per token it gave (and one for an end-of-generation token).
    expect(b.draws.slice(0, b.tokens.length).map((d) => d.id)).toEqual(b.tokens);
    expect(b.draws.length - b.tokens.length).toBe(b.done.reason === 'stop' && !options.stop?.length ? 1 : 0);
    const c = compareDraws({ tokens: a.tokens, endedOnEog }, b.draws, options, gpu.tokenizer!.eogIds);
    expect(c.mismatch).toBeNull();
    expect(c.compared, `the runs parted at a close draw (${c.divergedAt}) before ${minDraws} draws`).toBeGreaterThanOrEqual(Math.min(minDraws, b.draws.length));
    if (c.divergedAt === null) expect(a.done.reason).toBe(b.done.reason);
  }

  beforeAll(async () => {
    ensureSwiftShaderFallback();
    gpu = await ClawEngine.create({ gpu: getRuntimeGpu() });
    cpu = await ClawEngine.create({ gpu: getRuntimeGpu(), decodePass: false });
    await loadBoth(model, 'm.gguf', 96);
  });
  afterAll(async () => {
    await gpu?.destroy();
    await cpu?.destroy();
  });

  it('gives the CPU loop tokens: greedy, and seeded sampling with every stage on', { timeout: 300_000 }, async () => {
    // 20 draws: past the penalty window of 16.
    const cases: GenerateOptions[] = [
      { temperature: 0, maxTokens: 20 },
      { temperature: 0.9, topK: 40, topP: 0.9, minP: 0.02, seed: 7, maxTokens: 20 },
      { temperature: 1.2, repeatPenalty: 1.3, frequencyPenalty: 0.2, presencePenalty: 0.1, repeatLastN: 16, seed: 123, maxTokens: 20 },
    ];
    for (const options of cases) {
      const a = await run(gpu, PROMPT, options);
      const b = await reference(PROMPT, options);
      expect(a.tokens.length).toBeGreaterThan(0);
      expectCpuLoopTokens(a, b, options, 16);
    }
  });

  // One lane is enough: the growth and shift bookkeeping is the engine's JavaScript, the same under
  // both runtimes (tests/gpu/kv-cache.test.ts shifts a full context on wgpu too); 62 s on lavapipe.
  it.skipIf(runtimeGpuName() === 'wgpu')('runs past a full context (cache growth and shifts) with the CPU loop tokens', { timeout: 300_000 }, async () => {
    const options = { temperature: 0.8, seed: 5, maxTokens: 150 };
    const shifts = gpu.contextShifts;
    const a = await run(gpu, 'Once upon a time there was', options);
    const b = await reference('Once upon a time there was', options);
    expect(gpu.contextShifts).toBeGreaterThan(shifts);
    expect(a.tokens.length).toBe(150);
    // The first shift comes after about 90 draws (a context of 96): compared well past it.
    expectCpuLoopTokens(a, b, options, 120);
  });

  // One lane is enough: stop strings and dropping the draws made past one are the engine's JavaScript.
  it.skipIf(runtimeGpuName() === 'wgpu')('stops on a stop string at the same token as the CPU loop, and the next request reuses the cache', { timeout: 300_000 }, async () => {
    const greedy = { temperature: 0, maxTokens: 12 };
    const first = await reference(PROMPT, greedy);
    const stop = first.text.slice(8, 11);
    const options = { ...greedy, stop: [stop] };
    const a = await run(gpu, PROMPT, options);
    const b = await reference(PROMPT, options);
    // Clear draws up to the stop: the GPU loop must draw the same ones, so the stop ends both at the same token.
    expect(unclearDraws(b.draws, options), 'close draws before the stop string (choose another prompt)').toEqual([]);
    expectCpuLoopTokens(a, b, options, b.draws.length);
    expect(a.text).toBe(b.text);
    expect(a.done.reason).toBe('stop');
    // Draws made past the stop were dropped: the cache holds what the CPU loop's does, and the next request reuses it.
    const again = await run(gpu, PROMPT, greedy);
    expectCpuLoopTokens(again, first, greedy, 8);
    expect(again.done.stats.nCached).toBeGreaterThan(0);
  });

  /** Counts per token between the FROM-th and TO-th streamed token. */
  async function perTokenCounts(options: GenerateOptions): Promise<GpuCounts> {
    const FROM = 3;
    const TO = 8;
    const counter = countGpuWork(gpu.ctx.device);
    let measured: GpuCounts = zeroCounts();
    try {
      await run(gpu, PROMPT, { ...options, maxTokens: TO + 3 }, (n) => {
        if (n === FROM) counter.reset();
        if (n === TO) measured = { ...counter.counts };
      });
    } finally {
      counter.stop();
    }
    const perToken = zeroCounts();
    for (const k of Object.keys(perToken) as (keyof GpuCounts)[]) perToken[k] = measured[k] / (TO - FROM);
    return perToken;
  }

  it('costs one submit, no bind group, no error scope and 4 bytes read back per token at steady state', { timeout: 300_000 }, async () => {
    const greedy = await perTokenCounts({ temperature: 0 });
    const chain = await perTokenCounts({ temperature: 0.7, seed: 3 });
    for (const c of [greedy, chain]) {
      expect(c.submits).toBe(1);
      expect(c.bindGroups).toBe(0);
      expect(c.buffers).toBe(0);
      expect(c.pipelines).toBe(0);
      expect(c.errorScopes).toBe(0);
      expect(c.maps).toBe(1);
      expect(c.bytesReadBack).toBe(4);
      // One step write per token: the position, the draw counter and attention's workgroup counts.
      expect(c.writeBuffers).toBe(1);
    }
    // The model: embedding, 7 per layer (q/k/v, rope + KV write, 2 attention,
    // output + residual, gate/up/activation, down + residual), the
    // classifier; then the sampler: argmax alone when greedy.
    expect(greedy.dispatches).toBeLessThanOrEqual(2 + 7 * N_LAYERS + 2);
    expect(chain.dispatches - greedy.dispatches).toBeLessThanOrEqual(32);
  });

  // Last: they load other models into the two engines.
  it.skipIf(!haveSharedModels).each(['stories260K.gguf', 'TinyStories-656K-Q8_0.gguf'])('%s: the same seed gives the CPU loop tokens', { timeout: 300_000 }, async (name) => {
    await loadBoth(new Uint8Array(readFileSync(path.join(sharedModels, name))), name, 256);
    const options = { temperature: 0.9, seed: 1, maxTokens: 24 };
    const a = await run(gpu, PROMPT, options);
    const b = await reference(PROMPT, options);
    expect(a.tokens.length).toBeGreaterThan(0);
    expectCpuLoopTokens(a, b, options, 16);
  });
});

describe('kernels compiled at load', () => {
  it('leave nothing to compile or create for the first prompt and tokens', { timeout: 300_000 }, async () => {
    const engine = await ClawEngine.create({ gpu: getRuntimeGpu(), precompile: true });
    try {
      const small = makeSyntheticModel({ nEmbd: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, nFf: 128, nVocab: 512, ctxLength: 128, type: GgmlType.F32, seed: 3 });
      await engine.load(new BytesSource(small, 'small.gguf'), { ctxSize: 128 });
      const counter = countGpuWork(engine.ctx.device);
      try {
        const r = await run(engine, 'Once upon a time', { temperature: 0, maxTokens: 4 });
        expect(r.tokens.length).toBeGreaterThan(0);
        expect(counter.counts.pipelines).toBe(0);
        expect(counter.counts.bindGroups).toBeGreaterThan(0); // the prefill's (made per batch); the decode pass made its own at load
      } finally {
        counter.stop();
      }
    } finally {
      await engine.destroy();
    }
  });
});
