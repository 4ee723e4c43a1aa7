// The engine's request queue cannot be wedged by a caller (stories260K on
// Dawn): an iterator never read, closed before its first event, or
// abandoned mid-stream; an abort before the request, while it waits its
// turn, during the prefill, during decoding and while the caller has stopped
// reading. After each, a following request completes with the tokens it
// gives alone, and load/unload still run.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent, GenerateOptions } from '../../src/engine/types';
import { ClawError } from '../../src/errors';
import { BytesSource } from '../../src/gguf/source';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import { STORIES_260K, haveModels, noModelsReason } from '../unit/gguf-helpers';

const greedy: GenerateOptions = { temperature: 0, maxTokens: 8 };
const PROMPT = 'Once upon a time, there was a little girl named Lily.';
/** Long enough for many prefill chunks at batch 8. */
const LONG_PROMPT = Array.from({ length: 12 }, () => PROMPT).join(' ');

async function tokensOf(it: AsyncIterable<GenerateEvent>): Promise<number[]> {
  const out: number[] = [];
  for await (const e of it) if (e.type === 'token' && e.tokenId >= 0) out.push(e.tokenId);
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return e instanceof ClawError ? e.code : String(e);
  }
}

describe.skipIf(!haveModels)('the engine queue cannot be wedged', () => {
  if (!haveModels) console.warn(noModelsReason);
  let engine: ClawEngine;
  let source: BytesSource;
  let alone: number[];

  beforeAll(async () => {
    ensureSwiftShaderFallback();
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    source = new BytesSource(readFileSync(STORIES_260K), 'stories260K.gguf');
    await engine.load(source, { ctxSize: 256, batchSize: 8 });
    alone = await tokensOf(engine.generate(PROMPT, greedy));
    expect(alone.length).toBe(greedy.maxTokens);
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  it('an iterator that is never read holds nothing: a later request, unload and load all complete', async () => {
    const unread = engine.generate(PROMPT, greedy);
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
    await engine.unload();
    await engine.load(source, { ctxSize: 256, batchSize: 8 });
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
    expect(unread).toBeDefined();
  });

  it('.return() before next() ends the request without running it', async () => {
    const it = engine.generate(PROMPT, greedy);
    expect(await it.return(undefined)).toEqual({ done: true, value: undefined });
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
  });

  it('an abort before the first next() gives clw-aborted and runs nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await codeOf(engine.generate(PROMPT, { ...greedy, signal: controller.signal }).next())).toBe('clw-aborted');
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
  });

  it('an abort while waiting behind a request that holds the queue ends the waiting one at once', async () => {
    const holder = engine.generate(PROMPT, { ...greedy, maxTokens: 100 });
    expect((await holder.next()).done).toBe(false);
    const controller = new AbortController();
    const waiting = engine.generate(PROMPT, { ...greedy, signal: controller.signal }).next();
    controller.abort();
    expect(await codeOf(waiting)).toBe('clw-aborted');
    await holder.return(undefined);
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
  });

  it('an abort during the prefill gives clw-aborted, and the KV cache stays consistent', async () => {
    const controller = new AbortController();
    const run = (async () => {
      for await (const e of engine.generate(LONG_PROMPT, { ...greedy, signal: controller.signal })) {
        if (e.type === 'prompt') {
          expect(e.tokenIds.length).toBeGreaterThan(3 * 8);
          controller.abort();
        }
        if (e.type === 'token') throw new Error('the prefill was not aborted');
      }
    })();
    expect(await codeOf(run)).toBe('clw-aborted');
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
  });

  it('an abort during decoding ends with reason abort', async () => {
    const controller = new AbortController();
    let reason = '';
    let seen = 0;
    for await (const e of engine.generate(PROMPT, { ...greedy, maxTokens: 100, signal: controller.signal })) {
      if (e.type === 'token' && ++seen === 2) controller.abort();
      if (e.type === 'done') reason = e.reason;
    }
    expect(reason).toBe('abort');
    expect(seen).toBeLessThan(100);
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
  });

  it('an abort while the caller has stopped reading frees the queue', async () => {
    const controller = new AbortController();
    const it = engine.generate(PROMPT, { ...greedy, maxTokens: 100, signal: controller.signal });
    await it.next();
    const next = tokensOf(engine.generate(PROMPT, greedy));
    controller.abort();
    expect(await next).toEqual(alone);
  });

  it('bad input fails at the first next() with clw-bad-request naming it, holds no turn, and the engine goes on', async () => {
    const bad: [string | unknown, GenerateOptions | Record<string, unknown>][] = [
      [PROMPT, { maxTokens: -5 }],
      [PROMPT, { maxTokens: 0 }],
      [PROMPT, { maxTokens: 1.5 }],
      [PROMPT, { maxTokens: 2 ** 40 }],
      [PROMPT, { temperature: NaN }],
      [PROMPT, { topP: Infinity }],
      [PROMPT, { stop: [''] }],
      [PROMPT, { maxTokenz: 5 }],
      [[], {}],
      [[{ role: 'wizard', content: 'hi' }], {}],
      [42, {}],
    ];
    for (const [input, options] of bad) {
      const it = engine.generate(input as string, options as GenerateOptions);
      expect(await codeOf(it.next())).toBe('clw-bad-request');
    }
    await expect(engine.load(source, { ctxSize: -1 })).rejects.toMatchObject({ code: 'clw-bad-request' });
    await expect(engine.load(source, { batchSize: 0 })).rejects.toMatchObject({ code: 'clw-bad-request' });
    await expect(engine.inspect(source, { kvType: 'f8' as 'f16' })).rejects.toMatchObject({ code: 'clw-bad-request' });
    // The loaded model was not touched.
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
  });

  it('empty, 1 MB, NUL and lone-surrogate prompts are tokens like any other text', async () => {
    expect(await codeOf(tokensOf(engine.generate('', { ...greedy, addBos: false })))).toBe('clw-bad-request');
    for (const prompt of ['a\u0000b', 'x\ud800y', '\udfff', 'word '.repeat(200_000)]) {
      const out = await tokensOf(engine.generate(prompt, { ...greedy, maxTokens: 2 }));
      expect(out.length).toBeLessThanOrEqual(2);
    }
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
  });

  it('.return() in the middle of a reply frees the queue', async () => {
    const it = engine.generate(PROMPT, { ...greedy, maxTokens: 100 });
    await it.next();
    await it.next();
    await it.return(undefined);
    expect(await tokensOf(engine.generate(PROMPT, greedy))).toEqual(alone);
  });
});
