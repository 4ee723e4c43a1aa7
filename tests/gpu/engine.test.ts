// The engine end to end on a small synthetic llama (Dawn, or wgpu under Deno): streaming,
// abort, the request queue, KV-prefix reuse across turns, stop strings,
// chat messages, and unload returning every model buffer.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent, GenerateOptions } from '../../src/engine/types';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType } from '../../src/gguf/types';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import { compareDraws, referenceDraws } from '../fixtures/clear-draws';

const model = makeSyntheticModel({ nEmbd: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, nFf: 128, ctxLength: 256, type: GgmlType.F32, seed: 7 });

async function collect(it: AsyncIterable<GenerateEvent>) {
  const tokens: number[] = [];
  let text = '';
  let done: Extract<GenerateEvent, { type: 'done' }> | undefined;
  let prompt: number[] = [];
  for await (const e of it) {
    if (e.type === 'token') {
      if (e.tokenId >= 0) tokens.push(e.tokenId);
      text += e.text;
    } else if (e.type === 'done') done = e;
    else if (e.type === 'prompt') prompt = e.tokenIds;
  }
  return { tokens, text, done: done!, prompt };
}

/**
 * How far logits after a prefix whose cached rows came partly from the
 * decode pass may lie from a fresh evaluation's (the prompt as one batch),
 * relative to the step's largest |logit|. Measured (nextTokenLogits along
 * the fresh run's 12 draws in the extended-prompt test below, with ' and'
 * and ' and then'): 0 on Dawn/SwiftShader (f32 arithmetic: the decode pass
 * writes the same K and V bits as the batch here), 1.1e-3 on wgpu/lavapipe
 * (f16 arithmetic); four times the largest. A wrong cached row moves logits
 * by O(1).
 */
const CACHED_PREFIX_AGREEMENT = 5e-3;

describe('ClawEngine on a synthetic llama', () => {
  let engine: ClawEngine;
  let baseline = { weights: 0, kv: 0, activations: 0 };
  const greedy: GenerateOptions = { temperature: 0, maxTokens: 12 };
  const ids = (prompt: string) => engine.tokenizer!.encode(prompt, { addSpecial: true });

  beforeAll(async () => {
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    // What the kernels themselves hold before any model (the uniform ring and
    // staging buffers come later and are not the model's).
    baseline = engine.allocator.liveBytesByPurpose();
    await engine.load(new BytesSource(model, 'synthetic.gguf'), { ctxSize: 256 });
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  it('streams tokens, then a done event with statistics', async () => {
    const r = await collect(engine.generate('Once upon a time', greedy));
    expect(r.prompt[0]).toBe(engine.tokenizer!.bosId);
    expect(r.tokens.length).toBeGreaterThan(0);
    expect(r.done.stats.nGenerated).toBe(r.tokens.length);
    expect(r.done.stats.decodeTokPerS).toBeGreaterThan(0);
  });

  // The same arithmetic twice, so the same tokens bit for bit: with the prompt in the cache (whatever ran
  // before), each run evaluates its last prompt token again through the decode pass over the same cached rows.
  // (A first run evaluates it in the prompt's batch, which adds in another order.)
  it('is deterministic when greedy, and reuses the cached prompt on a repeat', async () => {
    await engine.nextTokenLogits(ids('Once upon a time'));
    const a = await collect(engine.generate('Once upon a time', greedy));
    const b = await collect(engine.generate('Once upon a time', greedy));
    expect(a.done.stats.nCached).toBe(a.prompt.length - 1);
    expect(b.tokens).toEqual(a.tokens);
    expect(b.done.stats.nCached).toBe(b.prompt.length - 1);
  });

  it('a longer prompt that extends the previous one evaluates only the new tokens', async () => {
    const first = await collect(engine.generate('Once upon a time', greedy));
    const second = await collect(engine.generate(`Once upon a time${first.text} and`, greedy));
    expect(second.done.stats.nCached).toBeGreaterThanOrEqual(first.prompt.length);
    // The tokens of a fresh evaluation (nothing cached) wherever its draws were clear: the cached rows came
    // partly from the decode pass, which adds in another order than the prompt's batch.
    await engine.unload();
    await engine.load(new BytesSource(model, 'synthetic.gguf'), { ctxSize: 256 });
    const fresh = await referenceDraws((t) => engine.nextTokenLogits(t), second.prompt, greedy, greedy.maxTokens!, engine.tokenizer!.eogIds);
    const c = compareDraws({ tokens: second.tokens, endedOnEog: second.done.reason === 'stop' }, fresh, greedy, engine.tokenizer!.eogIds, CACHED_PREFIX_AGREEMENT);
    expect(c.mismatch).toBeNull();
    // None of the fresh run's 12 draws is close at twice the bound (' and then' had two among the first four).
    expect(c.compared, `the runs parted at a close draw (${c.divergedAt}) before 8 draws`).toBeGreaterThanOrEqual(8);
  });

  // Each request the same arithmetic as alone, so the same tokens bit for bit: the queue runs them one after
  // the other, and each prompt follows one that shares only BOS with it, alone and in the queue, so each
  // evaluates its prompt after BOS as a batch (whose rows do not depend on the batch's start or size: the
  // kernels work per token), then its draws through the decode pass.
  it('concurrent requests queue and each gets the result it would get alone', async () => {
    const xAlone = await collect(engine.generate('The cat', greedy));
    const yAlone = await collect(engine.generate('Once upon a time', greedy));
    const [x, y] = await Promise.all([collect(engine.generate('The cat', greedy)), collect(engine.generate('Once upon a time', greedy))]);
    expect([x.done.stats.nCached, y.done.stats.nCached, yAlone.done.stats.nCached]).toEqual([1, 1, 1]);
    expect(x.tokens).toEqual(xAlone.tokens);
    expect(y.tokens).toEqual(yAlone.tokens);
  });

  it('an AbortSignal stops generation with reason abort', async () => {
    const controller = new AbortController();
    let seen = 0;
    let reason = '';
    for await (const e of engine.generate('Once upon a time', { temperature: 0, maxTokens: 200, signal: controller.signal })) {
      if (e.type === 'token' && ++seen === 3) controller.abort();
      if (e.type === 'done') reason = e.reason;
    }
    expect(reason).toBe('abort');
    expect(seen).toBeLessThan(6);
  });

  // Both runs the same arithmetic (the prompt in the cache, its last token through the decode pass, as above).
  it('stop strings end the reply and are not shown', async () => {
    await engine.nextTokenLogits(ids('Once upon a time'));
    const full = await collect(engine.generate('Once upon a time', { temperature: 0, maxTokens: 20 }));
    const stop = full.text.slice(Math.floor(full.text.length / 2), Math.floor(full.text.length / 2) + 2);
    expect(stop.length).toBe(2);
    const cut = await collect(engine.generate('Once upon a time', { temperature: 0, maxTokens: 20, stop: [stop] }));
    expect(cut.done.reason).toBe('stop');
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
  });

  // Both runs the same arithmetic (the prompt in the cache, its last token through the decode pass, as above).
  it('the same seed gives the same sampled tokens', async () => {
    const opts: GenerateOptions = { temperature: 1, seed: 1234, maxTokens: 10 };
    await engine.nextTokenLogits(ids('Once upon a time'));
    const a = await collect(engine.generate('Once upon a time', opts));
    const b = await collect(engine.generate('Once upon a time', opts));
    expect(a.tokens).toEqual(b.tokens);
  });

  it('chat messages go through the template', async () => {
    const r = await collect(engine.generate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], greedy));
    expect(engine.tokenizer!.decode(r.prompt)).toContain('User: Hi');
    expect(r.tokens.length).toBeGreaterThan(0);
  });

  it('an empty prompt is a clw-bad-request, and the engine keeps working', async () => {
    await expect(collect(engine.generate('', { ...greedy, addBos: false }))).rejects.toMatchObject({ code: 'clw-bad-request' });
    const r = await collect(engine.generate('Once upon a time', greedy));
    expect(r.tokens.length).toBeGreaterThan(0);
  });

  it('unload frees every buffer of the model', async () => {
    expect(engine.allocator.liveBytesByPurpose().weights).toBeGreaterThan(0);
    await engine.unload();
    const after = engine.allocator.liveBytesByPurpose();
    expect({ weights: after.weights, kv: after.kv, activations: after.activations }).toEqual({ weights: 0, kv: 0, activations: baseline.activations });
    await expect(collect(engine.generate('Once', greedy))).rejects.toMatchObject({ code: 'clw-bad-request' });
    await engine.load(new BytesSource(model, 'synthetic.gguf'), { ctxSize: 256 });
  });

  it('runs the arithmetic path LoadOptions.dtype asks for: f16 only where the adapter has shader-f16, else f32 with a note', async () => {
    const hasF16 = engine.ctx.features.f16;
    const load = (dtype?: 'auto' | 'f32' | 'f16') => engine.load(new BytesSource(model, 'synthetic.gguf'), { ctxSize: 256, dtype });
    expect((await load()).dtype).toBe(hasF16 ? 'f16' : 'f32');
    expect((await load('auto')).dtype).toBe(hasF16 ? 'f16' : 'f32');
    expect((await load('f32')).dtype).toBe('f32');
    const f16 = await load('f16');
    expect(f16.dtype).toBe(hasF16 ? 'f16' : 'f32');
    expect(f16.planNotes!.some((n) => n.includes('lacks shader-f16'))).toBe(!hasF16);
    expect((await collect(engine.generate('Once upon a time', greedy))).tokens.length).toBeGreaterThan(0);
    await load();
  });

  // Both runs the same arithmetic: each evaluates the prompt as one batch in a freshly loaded model (the load
  // before, the recovery's reload), with the same kernels on the same kind of device.
  it('after the GPU device is lost, the next request rebuilds it, reloads the model and answers the same', async () => {
    const before = await collect(engine.generate('Once upon a time', greedy));
    engine.ctx.device.destroy(); // what a driver reset looks like to the page
    await new Promise((r) => setTimeout(r, 50));
    const warnings: string[] = [];
    const tokens: number[] = [];
    for await (const e of engine.generate('Once upon a time', greedy)) {
      if (e.type === 'warning') warnings.push(e.code);
      if (e.type === 'token' && e.tokenId >= 0) tokens.push(e.tokenId);
    }
    expect(warnings).toContain('clw-device-lost');
    expect(engine.deviceRecoveries).toBe(1);
    expect(tokens).toEqual(before.tokens);
  });
});
