// Models that carry state from one decode step to the next besides the KV
// rows sample on the GPU through the recorded decode pass too: those with a
// recurrent state (lfm2's conv, qwen35's delta-net), whose token pipeline
// runs a step ahead of the ids read back and takes that step back at a stop
// (the state's two halves: KvCache.rewindState); and gemma4, whose per-layer
// table rows for a token are gathered by the pass where the table is on the
// GPU (the pipeline then runs ahead too), or read from the file once its id
// is known (a VRAM limit too small for the table: one draw in flight).
// Checked against the CPU route (a request with logprobs reads the logits
// back and samples on the CPU, with the same random stream): the same
// tokens, greedy and seeded, with only the ids read back; how far each runs
// ahead at a stop; and, for the recurrent models, after a stop the state
// holds exactly the accepted draws, so the next prompt continues from it,
// as a fresh evaluation of the same tokens does.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent, GenerateOptions } from '../../src/engine/types';
import { BytesSource } from '../../src/gguf/source';
import { countGpuWork, type GpuCounts } from '../../src/gpu/counters';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import { makeSyntheticGemma4 } from '../fixtures/synthetic-gemma4';
import { tableInFileLimit } from './helpers/per-layer-table';

const NVOCAB = 512;
const GEMMA4 = makeSyntheticGemma4({
  nEmbd: 64, nVocab: NVOCAB, layerTypes: [true, false, true, false], nHeads: 2, nKvHeadsSwa: 1, nKvHeadsFull: 1,
  headDimSwa: 32, headDimFull: 64, partialRotaryFull: 0.5, nFf: 128, sharedKvLayers: 2, nEmbdPerLayer: 16,
  slidingWindow: 8, ropeFreqBase: 1000000, ropeFreqBaseSwa: 10000, ctxLength: 256, seed: 9,
});
const MODELS = [
  {
    label: 'lfm2 (2 short convolutions, 1 attention layer)',
    recurrent: true,
    runsAhead: true,
    bytes: makeSyntheticModel({ arch: 'lfm2', nEmbd: 64, nLayers: 3, nHeads: 4, nKvHeads: 2, nFf: 128, nVocab: NVOCAB, ctxLength: 256, seed: 11 }),
  },
  {
    label: 'qwen35 (3 delta-net : 1 gated attention)',
    recurrent: true,
    runsAhead: true,
    bytes: makeSyntheticModel({
      arch: 'qwen35', nEmbd: 64, nFf: 128, nLayers: 4, nHeads: 2, nKvHeads: 1, headDim: 32, ropeDim: 16, nVocab: NVOCAB, ctxLength: 256, seed: 7,
      deltaNet: { stateSize: 16, kHeads: 2, vHeads: 4, convKernel: 4, ropeSections: [1, 1, 1, 5] },
    }),
  },
  {
    label: 'gemma4 (per-layer inputs, 2 of 4 layers on a shared cache), table on the GPU',
    recurrent: false,
    runsAhead: true,
    tableInFile: false,
    bytes: GEMMA4,
  },
  {
    label: 'gemma4, the same file with its per-layer table left in the file',
    recurrent: false,
    runsAhead: false,
    tableInFile: true,
    bytes: GEMMA4,
  },
];
const PROMPT = [40, 41, 42, 43, 44];
const TOKENS = 12;

function maxDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** A raw-text request of PROMPT's tokens: the ids it drew, its prompt's ids, and what it asked of the GPU. */
async function run(engine: ClawEngine, options: GenerateOptions): Promise<{ ids: number[]; prompt: number[]; counts: GpuCounts }> {
  const text = PROMPT.map((id) => engine.tokenizer!.tokenText(id)).join('');
  const counter = countGpuWork(engine.ctx.device);
  try {
    const events: GenerateEvent[] = [];
    for await (const e of engine.generate(text, { maxTokens: TOKENS, ...options })) events.push(e);
    const ids = events.flatMap((e) => (e.type === 'token' && e.tokenId >= 0 ? [e.tokenId] : []));
    const prompt = events.flatMap((e) => (e.type === 'prompt' ? e.tokenIds : []));
    return { ids, prompt, counts: { ...counter.counts } };
  } finally {
    counter.stop();
  }
}

describe.each(MODELS)('the GPU sampler through the decode pass: $label', ({ bytes, recurrent, runsAhead, tableInFile }) => {
  let engine: ClawEngine;
  const load = async () => {
    const vramLimit = tableInFile ? await tableInFileLimit(engine, bytes, { ctxSize: 64 }) : undefined;
    const info = await engine.load(new BytesSource(bytes, 'm.gguf'), { ctxSize: 64, vramLimit });
    if (tableInFile !== undefined) expect((info.planNotes ?? []).join('\n')).toMatch(tableInFile ? /table \(.*\) stays in the file/ : /table \(.*\) is on the GPU/);
  };

  beforeAll(async () => {
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    await load();
    expect(engine.usesDecodePass).toBe(true);
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  it('greedy and seeded draws give the CPU route\'s tokens, reading back only the ids', { timeout: 180_000 }, async () => {
    for (const sampling of [{ temperature: 0 }, { temperature: 0.9, topK: 40, topP: 0.95, seed: 5 }]) {
      // A different prompt first: each run then starts its state from position 0.
      await engine.nextTokenLogits([1, 90]);
      const gpu = await run(engine, sampling);
      await engine.nextTokenLogits([1, 90]);
      const cpu = await run(engine, { ...sampling, logprobs: 0 });
      expect(gpu.ids.length).toBeGreaterThan(2);
      expect(gpu.ids, JSON.stringify(sampling)).toEqual(cpu.ids);
      // The prompt's logits (read once by the prefill), then 4 bytes per draw;
      // the CPU route reads the logits back for every token.
      expect(gpu.counts.bytesReadBack).toBeLessThanOrEqual(NVOCAB * 4 + TOKENS * 4);
      expect(cpu.counts.bytesReadBack).toBeGreaterThanOrEqual(TOKENS * NVOCAB * 4);
    }
  });

  it(`a stop ${recurrent ? 'leaves the state at the last accepted draw: the next prompt continues from there, as a fresh evaluation would' : runsAhead ? 'after a step ahead' : 'after one draw in flight'}`, { timeout: 180_000 }, async () => {
    // Seeded draws (the same in every run: the random stream starts with each request), which unlike
    // greedy ones do not settle into repeating one token on every model here.
    const sampling = { temperature: 0.9, topK: 40, seed: 3 };
    await engine.nextTokenLogits([1, 90]);
    const drawn = await run(engine, sampling);
    const tok = engine.tokenizer!;
    // A draw whose text first appears there: a stop string on it ends generation at that draw.
    const k = [4, 5, 6, 7, 8, 3, 2, 1].find((i) => i < drawn.ids.length && tok.decode(drawn.ids.slice(i, i + 1)).trim() !== '' && !tok.decode(drawn.ids.slice(0, i)).includes(tok.decode(drawn.ids.slice(i, i + 1))));
    expect(k, `no usable stop among ${JSON.stringify(drawn.ids)}`).toBeDefined();
    // The same draws capped by maxTokens evaluate k of them (the last is only drawn).
    await engine.nextTokenLogits([1, 90]);
    const capped = await run(engine, { ...sampling, maxTokens: k! + 1 });
    await engine.nextTokenLogits([1, 90]);
    const stopped = await run(engine, { ...sampling, stop: [tok.decode(drawn.ids.slice(k!, k! + 1))] });
    // The stop's own draw comes as a token event too (its text before the stop string, here none).
    expect(stopped.ids).toEqual(drawn.ids.slice(0, k! + 1));
    expect(capped.ids).toEqual(stopped.ids);
    // At the stop, a pipeline that runs ahead had also submitted the step evaluating the stop's draw.
    expect(stopped.counts.submits - capped.counts.submits).toBe(runsAhead ? 1 : 0);
    if (!recurrent) return;
    // The draws before the stop were evaluated, the stop was not: one more token continues the state
    // (one token through the decode pass), where a state that had absorbed the stop would make the
    // engine run every token again from position 0, as a freshly loaded model must.
    const next = [...stopped.prompt, ...drawn.ids.slice(0, k), 7];
    const measured = async () => {
      const counter = countGpuWork(engine.ctx.device);
      try {
        return { logits: await engine.nextTokenLogits(next), dispatches: counter.counts.dispatches };
      } finally {
        counter.stop();
      }
    };
    const continued = await measured();
    await load();
    const fresh = await measured();
    expect(continued.dispatches).toBeLessThan(fresh.dispatches / 2);
    expect(maxDiff(continued.logits, fresh.logits)).toBeLessThan(1e-4);
  });
});
