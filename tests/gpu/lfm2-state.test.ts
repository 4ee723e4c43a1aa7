// lfm2's conv state through the engine (Dawn, or wgpu under Deno): it
// carries across prefill chunks, a prompt that leaves the cached one re-runs
// from position 0 (the state cannot be rewound; the same prompt again takes
// the state saved at its end), a full context re-runs the
// kept tokens instead of shifting rows, and unload frees the state with the
// KV cache. The model's agreement with llama.cpp is in
// tests/conformance/architectures.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent } from '../../src/engine/types';
import { BytesSource } from '../../src/gguf/source';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { makeSyntheticModel } from '../fixtures/synthetic-model';

// Layers 0 and 1 are short convolutions, layer 2 attention.
const model = makeSyntheticModel({ arch: 'lfm2', nEmbd: 64, nLayers: 3, nHeads: 4, nKvHeads: 2, nFf: 128, nVocab: 512, ctxLength: 256, seed: 11 });
const source = () => new BytesSource(model, 'lfm2.gguf');
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => 3 + ((from + i * 7) % 500));

function maxDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('lfm2 conv state in the engine', () => {
  let engine: ClawEngine;
  let baseline = { weights: 0, kv: 0, activations: 0 };

  beforeAll(async () => {
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    baseline = engine.allocator.liveBytesByPurpose();
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  it('prefill in chunks of 4 tokens gives the logits of one chunk', async () => {
    const prompt = ids(0, 19);
    await engine.load(source(), { ctxSize: 64 });
    const whole = await engine.nextTokenLogits(prompt);
    const info = await engine.load(source(), { ctxSize: 64, batchSize: 4 });
    expect(info.batchSize).toBe(4);
    const chunked = await engine.nextTokenLogits(prompt);
    expect(maxDiff(whole, chunked)).toBeLessThan(1e-4);
  });

  it('streamed layers (both kinds) give the logits of resident ones', async () => {
    const prompt = ids(5, 9);
    await engine.load(source(), { ctxSize: 64 });
    const resident = await engine.nextTokenLogits(prompt);
    const info = await engine.load(source(), { ctxSize: 64, nGpuLayers: 1 });
    expect(info.residentLayers).toBe(1);
    expect(maxDiff(resident, await engine.nextTokenLogits(prompt))).toBeLessThan(1e-4);
  });

  it('a prompt that leaves the cached one runs again from position 0; repeating it gives the same logits', async () => {
    await engine.load(source(), { ctxSize: 64 });
    const shared = ids(0, 10);
    const p1 = [...shared, ...ids(100, 6)];
    const p2 = [...shared, ...ids(200, 6)];
    const fresh = await engine.nextTokenLogits(p2);
    await engine.nextTokenLogits(p1);
    // Reusing the shared 10 positions would start from the state after all of p1.
    expect(maxDiff(await engine.nextTokenLogits(p2), fresh)).toBe(0);
    expect(maxDiff(await engine.nextTokenLogits(p2), fresh)).toBe(0);
    // Extending the cached prompt continues the state: the same as evaluating it whole.
    const longer = [...p2, ...ids(300, 3)];
    const continued = await engine.nextTokenLogits(longer);
    await engine.load(source(), { ctxSize: 64 });
    expect(maxDiff(continued, await engine.nextTokenLogits(longer))).toBeLessThan(1e-4);
  });

  it('a full context re-runs the kept tokens and generation goes on', async () => {
    await engine.load(source(), { ctxSize: 16 });
    const events: GenerateEvent[] = [];
    for await (const e of engine.generate(ids(0, 6).map((id) => engine.tokenizer!.tokenText(id)).join(''), { temperature: 0, maxTokens: 16 })) events.push(e);
    expect(events.some((e) => e.type === 'warning' && e.code === 'clw-ctx-overflow')).toBe(true);
    const done = events.find((e) => e.type === 'done');
    expect(done?.type === 'done' && done.reason).toBe('length');
  });

  it('unload frees the conv state with the KV cache', async () => {
    await engine.load(source(), { ctxSize: 64 });
    expect(engine.allocator.liveBytesByPurpose().kv).toBeGreaterThan(0);
    await engine.unload();
    const after = engine.allocator.liveBytesByPurpose();
    expect({ weights: after.weights, kv: after.kv, activations: after.activations }).toEqual({ weights: 0, kv: 0, activations: baseline.activations });
  });
});
