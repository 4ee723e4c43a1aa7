// 100 generations in a row on one engine (stories260K on Dawn, sampled at
// temperature 0.8 with a fixed seed): the same tokens every time, no error,
// GPU live bytes equal first to last, and the JS heap flat (first vs last,
// after garbage collection). The long run is scripts/soak.ts.

import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import { BytesSource } from '../../src/gguf/source';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import { runStress } from '../fixtures/stress';
import { STORIES_260K, haveModels, noModelsReason } from '../unit/gguf-helpers';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Heap growth first to last that counts as flat: the engine's per-generation garbage is collected, a leak of a few KiB per generation (100 generations) is not. */
const HEAP_SLACK_BYTES = 2 * 2 ** 20;

describe.skipIf(!haveModels)('stress: 100 generations on one engine', () => {
  if (!haveModels) console.warn(noModelsReason);
  let engine: ClawEngine;
  beforeAll(async () => {
    ensureSwiftShaderFallback();
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    await engine.load(new BytesSource(readFileSync(STORIES_260K), 'stories260K.gguf'), { ctxSize: 256 });
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  it('the same output for the same seed every time, no errors, GPU bytes and heap flat', async () => {
    const r = await runStress(engine, { prompt: 'Once upon a time', options: { temperature: 0.8, seed: 42, maxTokens: 4 }, generations: 100, sampleEvery: 10, gc });
    expect(r.generations).toBe(100);
    expect(r.errors).toEqual([]);
    expect(r.mismatches).toBe(0);
    expect(r.tokens).toBe(100 * 4);
    const [first, last] = [r.samples[0], r.samples.at(-1)!];
    expect(last.generation).toBe(100);
    expect(last.gpuLiveBytes).toBe(first.gpuLiveBytes);
    expect(last.heapUsedBytes - first.heapUsedBytes).toBeLessThan(HEAP_SLACK_BYTES);
  });
});
