// qwen35's recurrent state through the engine: it cannot be rewound, so a
// prompt that reuses a shorter prefix than the state has seen and a context
// shift start again from position 0; the state saved at the end of the last
// prompt lets the same prompt again (a regenerated reply) and a prompt
// extending it continue from there. Each is checked against the same tokens
// evaluated from position 0 (the numbers against llama.cpp are in
// tests/conformance/architectures.test.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent } from '../../src/engine/types';
import { BytesSource } from '../../src/gguf/source';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { argmax } from '../../src/engine/sampler';
import { readGguf } from '../../src/gguf/reader';
import { readHyperparams, recurrentStateShape } from '../../src/model/hparams';
import { recurrentStateBytes } from '../../src/model/kv-cache';
import { makeSyntheticModel } from '../fixtures/synthetic-model';

const model = makeSyntheticModel({
  arch: 'qwen35', nEmbd: 32, nFf: 64, nLayers: 4, nHeads: 2, nKvHeads: 1, headDim: 16, seed: 11,
  deltaNet: { stateSize: 8, kHeads: 2, vHeads: 4, convKernel: 4, ropeSections: [1, 1, 1, 1] },
});
const CTX = 16;

function maxDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('qwen35 recurrent state in the engine', () => {
  let engine: ClawEngine;
  const prompt = [1, 40, 41, 42, 43, 44, 45, 46];
  let fresh: Float32Array;

  beforeAll(async () => {
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    await engine.load(new BytesSource(model, 'qwen35.gguf'), { ctxSize: CTX });
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  it('re-runs the prompt when it does not extend what the state has seen', async () => {
    const other = [1, 40, 41, 90, 91, 92];
    fresh = await engine.nextTokenLogits(prompt);
    // A shorter shared prefix (3 tokens) than the state has seen (8), then the first prompt again.
    await engine.nextTokenLogits(other);
    const afterOther = await engine.nextTokenLogits(prompt);
    // The same prompt twice: the logits kept with the saved state.
    const again = await engine.nextTokenLogits(prompt);
    expect(maxDiff(afterOther, fresh)).toBeLessThan(1e-5);
    expect(maxDiff(again, fresh)).toBeLessThan(1e-5);
  });

  it('the same prompt after a reply continues from the state saved at its end, and so does a prompt extending it', async () => {
    const run = async (text: string) => {
      const events: GenerateEvent[] = [];
      for await (const e of engine.generate(text, { temperature: 0, maxTokens: 3 })) events.push(e);
      const done = events.find((e) => e.type === 'done');
      return {
        prompt: events.find((e) => e.type === 'prompt')!.tokenIds,
        tokens: events.flatMap((e) => (e.type === 'token' && e.tokenId >= 0 ? [e.tokenId] : [])),
        nCached: done?.type === 'done' ? done.stats.nCached : -1,
      };
    };
    const first = await run('Once upon');
    // A prompt that leaves the generated reply after the first prompt's end, evaluated from position 0 first.
    const extended = [...first.prompt, (first.tokens[0] + 1) % 256, 40];
    const fromZero = await engine.nextTokenLogits(extended);
    await run('Once upon');
    // The state has moved past the prompt (the reply): the saved copy serves the same prompt again.
    const again = await run('Once upon');
    expect(again.nCached).toBe(first.prompt.length);
    expect(again.tokens).toEqual(first.tokens);
    expect(maxDiff(await engine.nextTokenLogits(extended), fromZero)).toBeLessThan(1e-5);
  });

  it('a context shift re-evaluates the kept tokens from position 0', { timeout: 60_000 }, async () => {
    const events: GenerateEvent[] = [];
    for await (const e of engine.generate('Once upon a time', { temperature: 0, maxTokens: CTX })) events.push(e);
    expect(events.some((e) => e.type === 'warning' && e.code === 'clw-ctx-overflow')).toBe(true);
    const prompt = events.find((e) => e.type === 'prompt')!.tokenIds;
    const generated = events.flatMap((e) => (e.type === 'token' && e.tokenId >= 0 ? [e.tokenId] : []));
    // At CTX cached tokens, BOS stays and the older half of the rest goes; the token then fed is all[CTX].
    const all = [...prompt, ...generated];
    expect(all[0]).toBe(1);
    const drop = Math.floor((CTX - 1) / 2);
    const kept = [all[0], ...all.slice(1 + drop, CTX)];
    // Diverging from what the state has seen, these run from position 0 (checked above).
    for (let i = CTX + 1; i < all.length; i++) {
      const logits = await engine.nextTokenLogits([...kept, ...all.slice(CTX, i)]);
      expect(argmax(logits), `token ${i}`).toBe(all[i]);
    }
  });

  it('carries the state across prefill batches (a prompt in batches of 3)', async () => {
    await engine.load(new BytesSource(model, 'qwen35.gguf'), { ctxSize: CTX, batchSize: 3 });
    expect(maxDiff(await engine.nextTokenLogits(prompt), fresh)).toBeLessThan(1e-5);
  });

  it('holds K/V for the attention layer only, plus the recurrent state, and frees both on unload', async () => {
    const hp = readHyperparams(await readGguf(new BytesSource(model), { headerOnly: true }));
    // The context (16 positions) of f16 K and V for the one attention layer; the 3 delta-net layers share one placeholder K/V.
    const kv = 2 * CTX * hp.kvDim * 2;
    // Per delta-net layer: 3 taps x 64 conv channels (q, k: 2 heads of 8 each; v: 4 heads of 8), and 4 heads of 8 x 8, f32.
    expect(recurrentStateShape(hp)).toEqual([3 * 64 * 4, 4 * 8 * 8 * 4]);
    expect(engine.allocator.liveBytesByPurpose().kv).toBe(kv + recurrentStateBytes(hp.recurrentLayers, recurrentStateShape(hp)));
    await engine.unload();
    expect(engine.allocator.liveBytesByPurpose().kv).toBe(0);
  });
});
