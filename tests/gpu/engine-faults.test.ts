// Concurrency and faults on one engine (stories260K on Dawn): eight
// requests at once with one aborted midway (the other seven equal their
// results alone), and the GPU device lost during a load and during a
// generation (the caller sees clw-device-lost, and the next request runs).
//
// Tokens are compared exactly: every run here is the same arithmetic as the
// run alone it is compared with. Each prompt (at least 3 tokens after BOS)
// is evaluated as one batch after what is cached: nothing (after a load) or
// BOS only (consecutive prompts share no other first token), and the batch
// kernels compute each token's row on its own, so its rows do not depend on
// where the batch starts or how many tokens it holds (measured: the same
// logits bit for bit on both lanes); the draws then go through the decode
// pass over the same rows.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent, GenerateOptions } from '../../src/engine/types';
import { ClawError } from '../../src/errors';
import { BytesSource } from '../../src/gguf/source';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import { STORIES_260K, haveModels, noModelsReason } from '../unit/gguf-helpers';

const PROMPTS = ['Once upon a time', 'The cat', 'Lily had a ball', 'One day, a boy', 'The sun was', 'Tom and his dog', 'A little bird', 'In the park'];
const greedy: GenerateOptions = { temperature: 0, maxTokens: 10 };

interface Run {
  tokens: number[];
  reason?: string;
  warnings: string[];
  error?: ClawError;
}

async function run(it: AsyncIterable<GenerateEvent>, onToken?: (n: number) => void): Promise<Run> {
  const r: Run = { tokens: [], warnings: [] };
  try {
    for await (const e of it) {
      if (e.type === 'token' && e.tokenId >= 0) {
        r.tokens.push(e.tokenId);
        onToken?.(r.tokens.length);
      } else if (e.type === 'done') r.reason = e.reason;
      else if (e.type === 'warning') r.warnings.push(e.code);
    }
  } catch (e) {
    r.error = e as ClawError;
  }
  return r;
}

describe.skipIf(!haveModels)('concurrency and faults', () => {
  if (!haveModels) console.warn(noModelsReason);
  let engine: ClawEngine;
  let source: BytesSource;
  const alone = new Map<string, number[]>();

  beforeAll(async () => {
    ensureSwiftShaderFallback();
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    source = new BytesSource(readFileSync(STORIES_260K), 'stories260K.gguf');
    await engine.load(source, { ctxSize: 256 });
    for (const p of PROMPTS) alone.set(p, (await run(engine.generate(p, greedy))).tokens);
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  // The queue runs them in order: each prompt after the one before it in PROMPTS, as alone (the first after
  // the last, where alone it came after nothing).
  it('8 requests at once, one aborted midway: the other 7 give their results alone', async () => {
    const controller = new AbortController();
    const aborted = 3;
    const runs = await Promise.all(
      PROMPTS.map((p, i) =>
        i === aborted
          ? run(engine.generate(p, { ...greedy, signal: controller.signal }), (n) => n === 4 && controller.abort())
          : run(engine.generate(p, greedy)),
      ),
    );
    runs.forEach((r, i) => {
      if (i === aborted) {
        expect(r.reason).toBe('abort');
        expect(r.tokens).toEqual(alone.get(PROMPTS[i])!.slice(0, r.tokens.length));
        expect(r.tokens.length).toBeLessThan(greedy.maxTokens!);
      } else {
        expect(r.error).toBeUndefined();
        expect(r.tokens).toEqual(alone.get(PROMPTS[i]));
      }
    });
  });

  it('the device lost during a generation: that request ends with clw-device-lost, the next one answers as before', async () => {
    const before = engine.deviceRecoveries;
    const lost = await run(engine.generate(PROMPTS[0], { ...greedy, maxTokens: 200 }), (n) => n === 3 && engine.ctx.device.destroy());
    expect(lost.error).toBeInstanceOf(ClawError);
    expect(lost.error!.code).toBe('clw-device-lost');
    // After the recovery's reload nothing is cached, as before PROMPTS[0] alone.
    const next = await run(engine.generate(PROMPTS[0], greedy));
    expect(next.error).toBeUndefined();
    expect(next.warnings).toContain('clw-device-lost');
    expect(next.tokens).toEqual(alone.get(PROMPTS[0]));
    expect(engine.deviceRecoveries).toBe(before + 1);
  });

  it('the device lost during a load: the load fails with clw-device-lost, the next load and request work', async () => {
    let destroyed = false;
    const failed = engine.load(source, { ctxSize: 256 }, (p) => {
      if (p.phase === 'upload' && !destroyed) {
        destroyed = true;
        engine.ctx.device.destroy();
      }
    });
    await expect(failed).rejects.toMatchObject({ code: 'clw-device-lost' });
    await engine.load(source, { ctxSize: 256 });
    // Nothing cached; alone, BOS was (the same rows after it either way).
    const next = await run(engine.generate(PROMPTS[1], greedy));
    expect(next.error).toBeUndefined();
    expect(next.tokens).toEqual(alone.get(PROMPTS[1]));
  });
});
