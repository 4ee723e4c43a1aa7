// A model whose chat template misbehaves (a synthetic llama carrying a
// recursive template): chat requests stop with clw-template-limit, and the
// engine goes on: a raw prompt and a conversation the template handles both
// give their tokens.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent } from '../../src/engine/types';
import { ClawError } from '../../src/errors';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType, GgufValueType } from '../../src/gguf/types';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import { makeSyntheticModel } from '../fixtures/synthetic-model';

const TEMPLATE =
  "{% if messages[0]['content'] == 'ok' %}User: ok\nAssistant:{% else %}" +
  '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}{% endif %}';

const model = makeSyntheticModel({
  nEmbd: 32,
  nLayers: 1,
  nHeads: 2,
  nKvHeads: 2,
  nFf: 64,
  ctxLength: 64,
  type: GgmlType.F32,
  seed: 3,
  extraMetadata: [{ key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: TEMPLATE }],
});

async function run(it: AsyncIterable<GenerateEvent>): Promise<{ tokens: number; error?: ClawError }> {
  let tokens = 0;
  try {
    for await (const e of it) if (e.type === 'token') tokens++;
  } catch (e) {
    return { tokens, error: e as ClawError };
  }
  return { tokens };
}

describe('a hostile chat template', () => {
  let engine: ClawEngine;
  beforeAll(async () => {
    ensureSwiftShaderFallback();
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    await engine.load(new BytesSource(model, 'hostile-template.gguf'), { ctxSize: 64 });
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  it('stops a chat request with clw-template-limit naming the limit; a raw prompt and a benign conversation still run', async () => {
    const options = { temperature: 0, maxTokens: 4 };
    const chat = await run(engine.generate([{ role: 'user', content: 'Hi' }], options));
    expect(chat.tokens).toBe(0);
    expect(chat.error).toBeInstanceOf(ClawError);
    expect(chat.error!.code).toBe('clw-template-limit');
    expect(chat.error!.details.limit).toBe('depth');
    expect(chat.error!.fix).toMatch(/raw prompt/);

    expect(await run(engine.generate('Hi', options))).toEqual({ tokens: 4 });
    expect(await run(engine.generate([{ role: 'user', content: 'ok' }], options))).toEqual({ tokens: 4 });
    expect((await run(engine.generate([{ role: 'user', content: 'Hi again' }], options))).error?.code).toBe('clw-template-limit');
  });
});
