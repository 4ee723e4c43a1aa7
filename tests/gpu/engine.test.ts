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

describe('ClawEngine on a synthetic llama', () => {
  let engine: ClawEngine;
  let baseline = { weights: 0, kv: 0, activations: 0 };
  const greedy: GenerateOptions = { temperature: 0, maxTokens: 12 };

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

  it('is deterministic when greedy, and reuses the cached prompt on a repeat', async () => {
    const a = await collect(engine.generate('Once upon a time', greedy));
    const b = await collect(engine.generate('Once upon a time', greedy));
    expect(b.tokens).toEqual(a.tokens);
    expect(b.done.stats.nCached).toBe(b.prompt.length - 1);
  });

  it('a longer prompt that extends the previous one evaluates only the new tokens', async () => {
    const first = await collect(engine.generate('Once upon a time', greedy));
    const second = await collect(engine.generate(`Once upon a time${first.text} and then`, greedy));
    expect(second.done.stats.nCached).toBeGreaterThanOrEqual(first.prompt.length);
    // Same logits whether the prefix came from the cache or not.
    await engine.unload();
    await engine.load(new BytesSource(model, 'synthetic.gguf'), { ctxSize: 256 });
    const fresh = await collect(engine.generate(`Once upon a time${first.text} and then`, greedy));
    expect(fresh.done.stats.nCached).toBe(0);
    expect(fresh.tokens).toEqual(second.tokens);
  });

  it('concurrent requests queue and each gets the result it would get alone', async () => {
    const alone = await collect(engine.generate('The cat', greedy));
    const [x, y] = await Promise.all([collect(engine.generate('The cat', greedy)), collect(engine.generate('Once upon a time', greedy))]);
    const yAlone = await collect(engine.generate('Once upon a time', greedy));
    expect(x.tokens).toEqual(alone.tokens);
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

  it('stop strings end the reply and are not shown', async () => {
    const full = await collect(engine.generate('Once upon a time', { temperature: 0, maxTokens: 20 }));
    const stop = full.text.slice(Math.floor(full.text.length / 2), Math.floor(full.text.length / 2) + 2);
    expect(stop.length).toBe(2);
    const cut = await collect(engine.generate('Once upon a time', { temperature: 0, maxTokens: 20, stop: [stop] }));
    expect(cut.done.reason).toBe('stop');
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
  });

  it('the same seed gives the same sampled tokens', async () => {
    const opts: GenerateOptions = { temperature: 1, seed: 1234, maxTokens: 10 };
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
