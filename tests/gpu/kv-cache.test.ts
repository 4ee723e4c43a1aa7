// The KV cache grows in chunks as positions are used, without changing the
// output; a full context shifts (dropping the oldest tokens after the kept
// prefix, keys re-rotated in place) instead of failing.

import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { bytesLimit, greedy, syntheticSource, testEngine } from './budget-helpers';

const TINY = { nEmbd: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, nFf: 128, ctxLength: 2048, type: GgmlType.F32, seed: 5 };
const LIMIT = bytesLimit(256 * 2 ** 20);

describe('KV cache', () => {
  it('grows in chunks as a sequence gets longer, with the same logits as a cache allocated whole', async () => {
    const model = await syntheticSource(TINY);
    const tokens = Array.from({ length: 300 }, (_, i) => (i === 0 ? 1 : 3 + ((i * 37) % 250)));
    const engine = await testEngine();

    await engine.load(model.source, { ctxSize: 2048, batchSize: 64, vramLimit: LIMIT, kvCacheDynamic: false });
    expect(engine.kvCacheStats).toEqual({ capacity: 2048, maxCapacity: 2048, growths: 0 });
    const whole = await engine.nextTokenLogits(tokens);
    await engine.unload();

    await engine.load(model.source, { ctxSize: 2048, batchSize: 64, vramLimit: LIMIT, kvCacheDynamic: true });
    expect(engine.kvCacheStats!.capacity).toBe(256);
    const grown = await engine.nextTokenLogits(tokens);
    const stats = engine.kvCacheStats!;
    expect(stats.growths).toBeGreaterThanOrEqual(1);
    expect(stats.capacity).toBeGreaterThanOrEqual(300);
    expect(stats.capacity).toBeLessThan(2048);
    expect(Array.from(grown)).toEqual(Array.from(whole));
    await engine.unload();
  });

  it('shifts a full context during generation and keeps generating, with a clw-ctx-overflow warning', async () => {
    const model = await syntheticSource(TINY);
    const engine = await testEngine();
    await engine.load(model.source, { ctxSize: 64, batchSize: 16, vramLimit: LIMIT });
    const run = await greedy(engine, 'Once upon a time the little girl', 80);
    expect(run.tokens.length).toBe(80);
    expect(run.warnings.filter((w) => w.startsWith('clw-ctx-overflow: context full (64 tokens): dropped 31 older tokens'))).toHaveLength(1);
    expect(engine.contextShifts).toBe(1);

    // The cache now holds BOS and everything after the dropped half (the last generated token is never evaluated):
    // asking for those tokens' logits reuses it all and evaluates only the last one.
    const all = [...run.prompt, ...run.tokens];
    const kept = [all[0], ...all.slice(1 + 31, all.length - 1)];
    const logits = await engine.nextTokenLogits(kept);
    expect(logits.every(Number.isFinite)).toBe(true);
    await engine.unload();
  });

  it('truncates a prompt longer than the whole context, keeping BOS and the end, with a warning', async () => {
    const model = await syntheticSource(TINY);
    const engine = await testEngine();
    await engine.load(model.source, { ctxSize: 64, batchSize: 16, vramLimit: LIMIT });
    const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const run = await greedy(engine, long, 4);
    expect(run.warnings.some((w) => /clw-ctx-overflow: the prompt has \d+ tokens but the context holds 64/.test(w))).toBe(true);
    expect(run.prompt.length).toBeLessThanOrEqual(64);
    expect(run.prompt[0]).toBe(1);
    await engine.unload();
  });

  it('runs a 3000-token conversation on a 2048-token context to the end: the cache grows, the context shifts, nothing throws', async () => {
    // The smallest model: SwiftShader decodes a few dozen tokens per second at best.
    const model = await syntheticSource({ ...TINY, nEmbd: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, nFf: 64 });
    const engine = await testEngine();
    await engine.load(model.source, { ctxSize: 2048, batchSize: 128, vramLimit: LIMIT });
    const tk = engine.tokenizer!;
    const sentence = ' Once upon a time the little girl went to the market.';
    // Tokens per sentence in running text (measured on 20 repeats), to size the turns.
    const perSentence = tk.encode(sentence.repeat(20), { addSpecial: false }).length / 20;
    const userTurn = (tokens: number) => sentence.repeat(Math.floor(tokens / perSentence));

    // Turn 1: a 1500-token prompt and 600 generated tokens cross 2048, so
    // the context shifts. Turn 2 adds to the whole conversation, which no
    // longer fits: the prompt is truncated, and generating shifts again.
    let conversation = userTurn(1520);
    expect(tk.encode(conversation, { addSpecial: true }).length).toBeGreaterThan(2048 - 600);
    const conversationTokens: number[] = [];
    const warnings: string[] = [];
    let generated = 0;
    for (let turn = 0; turn < 2; turn++) {
      const run = await greedy(engine, conversation, 600);
      warnings.push(...run.warnings);
      generated += run.tokens.length;
      conversation += tk.decode(run.tokens) + userTurn(400);
      if (turn === 0) conversationTokens.push(...run.prompt, ...run.tokens);
      if (turn === 0) expect(engine.kvCacheStats!.growths).toBeGreaterThanOrEqual(1);
    }
    const total = tk.encode(conversation, { addSpecial: true }).length;
    expect(total).toBeGreaterThanOrEqual(3000);
    expect(conversationTokens.length).toBeGreaterThan(2048);
    expect(generated).toBe(1200);
    expect(engine.contextShifts).toBeGreaterThanOrEqual(2);
    expect(warnings.some((w) => w.startsWith('clw-ctx-overflow: the prompt has'))).toBe(true);
    expect(warnings.filter((w) => w.startsWith('clw-ctx-overflow: context full')).length).toBeGreaterThanOrEqual(2);
    await engine.unload();
  }, 300_000);
});
