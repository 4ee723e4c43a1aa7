// Allocation failures never crash a load: a refused allocation (injected
// here, as a GPU out-of-memory answer would be) shrinks the plan and
// retries, and only when nothing smaller exists does load fail, with
// clw-gpu-oom. Whatever happens, a model's buffers are all freed.

import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import type { LoadOptions } from '../../src/engine/types';
import { GgmlType } from '../../src/gguf/types';
import { BytesSource } from '../../src/gguf/source';
import { makeSyntheticGemma4 } from '../fixtures/synthetic-gemma4';
import { bytesLimit, greedy, modelBytesLeft, syntheticSource, testEngine } from './budget-helpers';
import { relativeDiff } from './helpers/reference';

const SMALL = { nEmbd: 64, nLayers: 3, nHeads: 4, nKvHeads: 2, nFf: 128, ctxLength: 1024, type: GgmlType.Q8_0, seed: 3 };
const LIMIT = bytesLimit(64 * 2 ** 20);

describe('allocation failures during load', () => {
  for (const [label, options] of [
    ['every layer resident', { ctxSize: 1024, batchSize: 32, vramLimit: LIMIT }],
    ['streamed layers', { ctxSize: 1024, batchSize: 32, vramLimit: LIMIT, nGpuLayers: 1 }],
  ] as [string, LoadOptions][]) {
    it(`a failure at each allocation site gives a smaller plan or clw-gpu-oom, and frees every buffer (${label})`, async () => {
      const model = await syntheticSource(SMALL);
      const engine = await testEngine();
      // A clean load, counting its allocations.
      let sites = 0;
      engine.allocator.injectFailure(() => (sites++, false));
      const clean = await engine.load(model.source, options);
      engine.allocator.injectFailure(undefined);
      await engine.unload();
      const activationsBefore = engine.allocator.liveBytesByPurpose().activations;
      expect(sites).toBeGreaterThan(20);

      let shrunk = 0;
      for (let site = 0; site < sites; site++) {
        let seen = 0;
        engine.allocator.injectFailure(() => seen++ === site);
        try {
          const info = await engine.load(model.source, options);
          shrunk++;
          expect(info.planNotes?.some((n) => n.startsWith('allocation failed'))).toBe(true);
          const smaller = info.batchSize! < clean.batchSize! || info.residentLayers! < clean.residentLayers! || info.ctxSize < clean.ctxSize;
          expect(smaller).toBe(true);
          engine.allocator.injectFailure(undefined);
          expect((await engine.nextTokenLogits([1, 300, 301])).every(Number.isFinite)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(ClawError);
          expect((e as ClawError).code).toBe('clw-gpu-oom');
        } finally {
          engine.allocator.injectFailure(undefined);
        }
        await engine.unload();
        expect(modelBytesLeft(engine, activationsBefore)).toBe(0);
      }
      // The model is small and has layers to shed: every failure found a smaller plan.
      expect(shrunk).toBe(sites);
    });
  }

  it("a refused per-layer table (gemma4) puts it back in the file, with the rest of the plan as it was, and the same logits", async () => {
    const bytes = makeSyntheticGemma4({
      nEmbd: 64, nVocab: 512, layerTypes: [true, false, true, false], nHeads: 2, nKvHeadsSwa: 1, nKvHeadsFull: 1,
      headDimSwa: 32, headDimFull: 64, partialRotaryFull: 0.5, nFf: 128, sharedKvLayers: 2, nEmbdPerLayer: 16,
      slidingWindow: 8, ropeFreqBase: 1000000, ropeFreqBaseSwa: 10000, ctxLength: 256, seed: 9,
    });
    const engine = await testEngine();
    const options: LoadOptions = { ctxSize: 64 };
    const activationsBefore = engine.allocator.liveBytesByPurpose().activations;
    const clean = await engine.load(new BytesSource(bytes, 'm.gguf'), options);
    expect(clean.planNotes?.join('\n')).toMatch(/per-layer embedding table \(.*\) is on the GPU/);
    // The last token goes through the decode pass (one token after a prompt): its row gathered from the table.
    const tokens = [1, 300, 301, 302];
    await engine.nextTokenLogits(tokens.slice(0, -1));
    const reference = await engine.nextTokenLogits(tokens);
    await engine.unload();
    engine.allocator.injectFailure((_purpose, _size, label) => label === 'per_layer_token_embd.weight');
    try {
      const info = await engine.load(new BytesSource(bytes, 'm.gguf'), options);
      const notes = info.planNotes?.join('\n') ?? '';
      expect(notes).toContain('allocation failed');
      expect(notes).toContain('shrunk after an allocation failure: the per-layer embedding table stays in the file');
      expect([info.residentLayers, info.batchSize, info.ctxSize]).toEqual([clean.residentLayers, clean.batchSize, clean.ctxSize]);
      engine.allocator.injectFailure(undefined);
      // The step's row comes from the file instead: the same logits (f32 rounding), through the decode pass as before.
      await engine.nextTokenLogits(tokens.slice(0, -1));
      expect(relativeDiff(await engine.nextTokenLogits(tokens), reference)).toBeLessThan(1e-4);
    } finally {
      engine.allocator.injectFailure(undefined);
      await engine.unload();
    }
    expect(modelBytesLeft(engine, activationsBefore)).toBe(0);
  });

  it('fails with clw-gpu-oom, before allocating anything, when even the smallest plan exceeds the budget', async () => {
    const model = await syntheticSource(SMALL);
    const engine = await testEngine();
    const live = engine.allocator.liveBytes();
    await expect(engine.load(model.source, { vramLimit: bytesLimit(64 * 1024) })).rejects.toMatchObject({ code: 'clw-gpu-oom' });
    expect(engine.allocator.liveBytes()).toBe(live);
  });

  it('fails with clw-gpu-oom when every allocation is refused, and leaves nothing allocated', async () => {
    const model = await syntheticSource(SMALL);
    const engine = await testEngine();
    const activationsBefore = engine.allocator.liveBytesByPurpose().activations;
    engine.allocator.injectFailure((purpose) => purpose === 'weights' || purpose === 'kv');
    await expect(engine.load(model.source, { ctxSize: 1024, vramLimit: LIMIT })).rejects.toMatchObject({ code: 'clw-gpu-oom', message: expect.stringContaining('no plan fits') });
    engine.allocator.injectFailure(undefined);
    expect(modelBytesLeft(engine, activationsBefore)).toBe(0);
  });
});

describe('the automatic budget is measured where the GPU refuses cleanly', () => {
  it('a weight buffer the GPU itself refuses is heard after later uploads (answers come in batches): the plan shrinks all the same, and nothing is left behind', async () => {
    const model = await syntheticSource(SMALL);
    const engine = await testEngine();
    const options: LoadOptions = { ctxSize: 1024, batchSize: 32, vramLimit: LIMIT };
    const clean = await engine.load(model.source, options);
    await engine.unload();
    const activationsBefore = engine.allocator.liveBytesByPurpose().activations;
    const device = engine.ctx.device;
    const create = device.createBuffer;
    const pop = device.popErrorScope;
    // The first time, the driver refuses this weight (MAP_READ beside STORAGE is no valid usage): only its error scope can say so.
    let refuse = true;
    const events: string[] = [];
    device.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
      events.push(`create ${d.label}`);
      if (refuse && d.label === 'blk.1.ffn_up.weight') {
        refuse = false;
        return create.call(this, { ...d, usage: 0x01 | 0x80 });
      }
      return create.call(this, d);
    };
    // Answers a timer late, as a GPU process behind the uploads does (Deno's wgpu answers at once).
    device.popErrorScope = function (this: GPUDevice) {
      const answer = pop.call(this);
      return new Promise<GPUError | null>((resolve, reject) =>
        setTimeout(() => answer.then((v) => (events.push('answer'), resolve(v)), reject), 1),
      );
    };
    try {
      const info = await engine.load(model.source, options);
      expect(refuse).toBe(false);
      expect(info.planNotes?.some((n) => n.startsWith('allocation failed') && n.includes('"blk.1.ffn_up.weight"'))).toBe(true);
      expect(info.batchSize! < clean.batchSize! || info.residentLayers! < clean.residentLayers! || info.ctxSize < clean.ctxSize).toBe(true);
      // The loader made weight buffers one after another without waiting for the GPU's answer to each.
      let run = 0;
      let longest = 0;
      for (const e of events) {
        run = e === 'answer' ? 0 : e.startsWith('create blk.') ? run + 1 : run;
        longest = Math.max(longest, run);
      }
      expect(longest).toBeGreaterThan(5);
      expect((await engine.nextTokenLogits([1, 300, 301])).every(Number.isFinite)).toBe(true);
      expect(engine.ctx.takeUncapturedErrors()).toEqual([]);
    } finally {
      device.createBuffer = create;
      device.popErrorScope = pop;
      await engine.unload();
    }
    expect(modelBytesLeft(engine, activationsBefore)).toBe(0);
  });

  it('a GPU out of memory part-way through the load sets the budget to what it took; the re-plan streams layers and gives the same logits', async () => {
    // Layers wide enough to be most of the model, so streaming some of them saves memory.
    const model = await syntheticSource({ ...SMALL, nEmbd: 128, nFf: 512, nLayers: 4 });
    const engine = await testEngine();
    const options: LoadOptions = { ctxSize: 128, batchSize: 16 };
    const base = engine.allocator.liveBytes();
    await engine.load(model.source, options);
    const whole = engine.allocator.liveBytes();
    const reference = await engine.nextTokenLogits([1, 300, 301]);
    await engine.unload();
    // A GPU with room for 75% of what the whole model took: it refuses the rest like an out-of-memory driver.
    const room = base + Math.floor((whole - base) * 0.75);
    engine.allocator.injectFailure((_p, size) => (engine.allocator.liveBytes() + size > room ? 'gpu' : false));
    try {
      const info = await engine.load(model.source, options);
      expect(info.budgetBytes).toBeLessThanOrEqual(room);
      expect(info.residentLayers).toBeLessThan(4);
      expect(info.planNotes?.some((n) => n.includes('budget measured at'))).toBe(true);
      expect(engine.allocator.liveBytes()).toBeLessThanOrEqual(info.budgetBytes!);
      // Streamed layers run the same kernels on the same bytes: the same logits.
      expect(await engine.nextTokenLogits([1, 300, 301])).toEqual(reference);
    } finally {
      engine.allocator.injectFailure(undefined);
      await engine.unload();
    }
  });
});

describe('allocation failures while generating', () => {
  it('a KV cache that cannot grow caps the context where it is: the prompt is truncated and the context shifts, nothing throws', async () => {
    const model = await syntheticSource({ ...SMALL, nLayers: 1 });
    const engine = await testEngine();
    await engine.load(model.source, { ctxSize: 1024, batchSize: 64, vramLimit: LIMIT, kvCacheDynamic: true });
    expect(engine.kvCacheStats).toMatchObject({ capacity: 256, maxCapacity: 1024 });
    engine.allocator.injectFailure((purpose) => purpose === 'kv');
    const prompt = ' Once upon a time the little girl went to the market.'.repeat(30);
    const run = await greedy(engine, prompt, 80);
    engine.allocator.injectFailure(undefined);
    expect(run.tokens.length).toBe(80);
    expect(engine.kvCacheStats).toMatchObject({ capacity: 256, maxCapacity: 256 });
    expect(run.warnings.some((w) => /the context holds 256/.test(w))).toBe(true);
    expect(run.warnings.some((w) => w.startsWith('clw-ctx-overflow: context full (256 tokens)'))).toBe(true);
    await engine.unload();
  });
});
