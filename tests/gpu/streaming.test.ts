// Layers that do not fit the budget stream through reusable buffers: the
// output must be the all-resident output, bit for bit, and the allocator's
// peak must stay within the budget.

import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { bytesLimit, greedy, modelBytesLeft, syntheticSource, testEngine } from './budget-helpers';

const SHAPE = { nEmbd: 256, nLayers: 8, nHeads: 4, nKvHeads: 1, nFf: 1024, ctxLength: 128, type: GgmlType.Q8_0, seed: 11 };
const LOAD = { ctxSize: 128, batchSize: 16 };
const PROMPT = 'Once upon a time the little girl';
const PROBE = [1, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310];

describe('streamed layers', () => {
  it('runs a model under a budget of 40% of its weights, with the all-resident greedy output and logits', async () => {
    const model = await syntheticSource(SHAPE);
    // Streamed layers run the batch path; so does the all-resident reference
    // here (not the one-token decode pass, whose summation order differs), so
    // the comparison below is bit for bit.
    const engine = await testEngine({ decodePass: false });
    const activationsBefore = engine.allocator.liveBytesByPurpose().activations;

    const resident = await engine.load(model.source, { ...LOAD, vramLimit: bytesLimit(64 * 2 ** 20) });
    expect(resident.residentLayers).toBe(SHAPE.nLayers);
    const expected = await greedy(engine, PROMPT, 8);
    const expectedLogits = await engine.nextTokenLogits(PROBE);
    await engine.unload();

    const budget = 0.4 * model.tensorBytes;
    engine.allocator.resetPeak();
    const info = await engine.load(model.source, { ...LOAD, vramLimit: bytesLimit(budget) });
    expect(info.residentLayers).toBeLessThan(SHAPE.nLayers);
    expect(info.plan).toMatch(/layers resident, \d+ streamed/);
    const streamed = await greedy(engine, PROMPT, 8);
    const streamedLogits = await engine.nextTokenLogits(PROBE);
    // The layers really streamed: every pass (a prefill chunk or a token) uploads each streamed layer.
    const stats = engine.streamStats!;
    expect(stats).not.toBeNull();
    expect(stats.uploads).toBeGreaterThanOrEqual((SHAPE.nLayers - info.residentLayers!) * 8);
    expect(stats.bytes).toBeGreaterThan(0);

    expect(streamed.tokens).toEqual(expected.tokens);
    expect(Array.from(streamedLogits)).toEqual(Array.from(expectedLogits));
    expect(engine.allocator.peakBytes).toBeLessThanOrEqual(budget);
    await engine.unload();
    // Only the kernels' own buffers (uniform ring, read-back staging) stay.
    expect(modelBytesLeft(engine, activationsBefore)).toBe(0);
  });

  it('streams from the file when no CPU memory is allowed for the weights, with the same output', async () => {
    const model = await syntheticSource(SHAPE);
    const inMemory = await testEngine();
    await inMemory.load(model.source, { ...LOAD, nGpuLayers: 2, vramLimit: bytesLimit(64 * 2 ** 20) });
    const expected = await inMemory.nextTokenLogits(PROBE);
    await inMemory.unload();

    const fromFile = await testEngine({ streamCacheBytes: 0 });
    const info = await fromFile.load(model.source, { ...LOAD, nGpuLayers: 2, vramLimit: bytesLimit(64 * 2 ** 20) });
    expect(info.residentLayers).toBe(2);
    expect(Array.from(await fromFile.nextTokenLogits(PROBE))).toEqual(Array.from(expected));
    expect(fromFile.streamStats!.uploads).toBeGreaterThanOrEqual(SHAPE.nLayers - 2);
    await fromFile.unload();
  });
});
