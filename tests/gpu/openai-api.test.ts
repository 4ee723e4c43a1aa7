// The OpenAI-shaped API (src/api) on stories260K, through the package's Node
// entry: greedy replies equal the engine's own generate() tokens, streamed
// chunks add up to the whole reply, usage counts what ran, logprobs are the
// model's log-softmax, errors stay ClawError, and no way of dropping a
// stream wedges the request queue.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { ChatMessage, GenerateOptions } from '../../src/engine/types';
import { openFileSource } from '../../src/gguf/source-node';
import type { ByteSource } from '../../src/gguf/types';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import { ClawError, createEngine, type ChatCompletionChunk, type Completion, type WebClawEngine } from '../../src/index-node';
import { STORIES_260K, haveModels, noModelsReason } from '../unit/gguf-helpers';

const PROMPT = 'Once upon a time';
const MESSAGES: ChatMessage[] = [{ role: 'user', content: 'Tell me a story about a cat.' }];

async function reference(engine: ClawEngine, input: string | ChatMessage[], options: GenerateOptions) {
  const tokens: number[] = [];
  let text = '';
  let prompt: number[] = [];
  for await (const e of engine.generate(input, options)) {
    if (e.type === 'prompt') prompt = e.tokenIds;
    if (e.type === 'token') {
      if (e.tokenId >= 0) tokens.push(e.tokenId);
      text += e.text;
    }
  }
  return { tokens, text, prompt };
}

function logSoftmax(logits: Float32Array, id: number): number {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return logits[id] - max - Math.log(sum);
}

async function expectClawError(p: Promise<unknown>, code: string): Promise<ClawError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ClawError);
  expect((e as ClawError).code).toBe(code);
  return e as ClawError;
}

describe.skipIf(!haveModels)('OpenAI API over the engine (stories260K)', () => {
  let api: WebClawEngine;
  let ref: ClawEngine;
  let refSource: ByteSource;

  beforeAll(async () => {
    ensureSwiftShaderFallback();
    api = await createEngine({ model: STORIES_260K, ctxSize: 512 });
    ref = await ClawEngine.create({ gpu: getRuntimeGpu() });
    refSource = await openFileSource(STORIES_260K);
    await ref.load(refSource, { ctxSize: 512 });
  });
  afterAll(async () => {
    await api?.unload();
    await ref?.destroy();
    await refSource?.close?.();
  });

  it('a greedy chat completion gives the engine tokens, text and usage', async () => {
    const want = await reference(ref, MESSAGES, { temperature: 0, maxTokens: 24 });
    const r = await api.chat.completions.create({ messages: MESSAGES, temperature: 0, max_tokens: 24 });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('stories260K.gguf');
    expect(r.webclaw.generated_token_ids).toEqual(want.tokens);
    expect(r.webclaw.prompt_token_ids).toEqual(want.prompt);
    expect(r.choices[0].message).toEqual({ role: 'assistant', content: want.text, refusal: null });
    expect(r.usage.prompt_tokens).toBe(want.prompt.length);
    expect(r.usage.completion_tokens).toBe(want.tokens.length);
    expect(r.usage.total_tokens).toBe(want.prompt.length + want.tokens.length);
    expect(r.choices[0].finish_reason).toBe(want.tokens.length === 24 ? 'length' : 'stop');
  });

  it('streamed chunks add up to the non-streamed reply, then finish_reason and usage', async () => {
    const whole = await api.chat.completions.create({ messages: MESSAGES, temperature: 0, max_tokens: 24 });
    const stream = await api.chat.completions.create({ messages: MESSAGES, temperature: 0, max_tokens: 24, stream: true, stream_options: { include_usage: true } });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    // The first chunk already names the prompt's tokens (a chat view shows the context in use from it).
    expect(chunks[0].webclaw?.prompt_token_ids).toEqual(whole.webclaw.prompt_token_ids);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id)).toBe(true);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(whole.choices[0].message.content);
    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishing).toHaveLength(1);
    expect(finishing[0].choices[0].finish_reason).toBe(whole.choices[0].finish_reason);
    expect(finishing[0].webclaw?.generated_token_ids).toEqual(whole.webclaw.generated_token_ids);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBe(whole.usage.completion_tokens);
    expect(last.usage?.prompt_tokens).toBe(whole.usage.prompt_tokens);
  });

  it('a raw-prompt completion equals generate() on the same prompt, streamed or not', async () => {
    const want = await reference(ref, PROMPT, { temperature: 0, maxTokens: 30 });
    const r = await api.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 30 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0].text).toBe(want.text);
    expect(r.webclaw?.generated_token_ids).toEqual(want.tokens);
    const stream = await api.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 30, stream: true });
    const parts: Completion[] = [];
    for await (const c of stream) parts.push(c);
    expect(parts.map((c) => c.choices[0]?.text ?? '').join('')).toBe(want.text);
  });

  it('max_tokens ends with finish_reason length; a stop string ends with stop and is not in the text', async () => {
    const short = await api.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 5 });
    expect(short.choices[0].finish_reason).toBe('length');
    expect(short.usage?.completion_tokens).toBe(5);
    const full = await api.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 30 });
    const stopAt = full.choices[0].text.indexOf('Lily');
    expect(stopAt).toBeGreaterThan(0);
    const stopped = await api.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 30, stop: ['Lily'] });
    expect(stopped.choices[0].finish_reason).toBe('stop');
    expect(stopped.choices[0].text).toBe(full.choices[0].text.slice(0, stopAt));
  });

  it('logprobs are the log-softmax of the model logits; greedy picks the top alternative', async () => {
    const r = await api.chat.completions.create({ messages: MESSAGES, temperature: 0, max_tokens: 4, logprobs: true, top_logprobs: 3 });
    const content = r.choices[0].logprobs!.content;
    expect(content).toHaveLength(r.webclaw.generated_token_ids!.length);
    const tk = ref.tokenizer!;
    const ids = r.webclaw.generated_token_ids!;
    for (let i = 0; i < ids.length; i++) {
      const logits = await ref.nextTokenLogits([...r.webclaw.prompt_token_ids!, ...ids.slice(0, i)]);
      expect(content[i].logprob).toBeCloseTo(logSoftmax(logits, ids[i]), 4);
      expect(content[i].bytes).toEqual(Array.from(tk.tokenBytes(ids[i])));
      expect(content[i].top_logprobs).toHaveLength(3);
      expect(content[i].top_logprobs[0].logprob).toBeCloseTo(content[i].logprob, 6);
      expect(content[i].top_logprobs[0].logprob).toBeGreaterThanOrEqual(content[i].top_logprobs[2].logprob);
    }
    const stream = await api.chat.completions.create({ messages: MESSAGES, temperature: 0, max_tokens: 4, logprobs: true, top_logprobs: 3, stream: true });
    const streamed: typeof content = [];
    for await (const c of stream) streamed.push(...(c.choices[0]?.logprobs?.content ?? []));
    // The same tokens; the values agree to float precision (the repeat reuses the cached prompt, so its last token runs alone, not in a batch).
    // On the f16 path a batch multiplies in f16 tiles and one token in f32: they agree to f16's precision.
    expect(streamed.map((e) => e.token)).toEqual(content.map((e) => e.token));
    const digits = api.info.dtype === 'f16' ? 2 : 4;
    streamed.forEach((e, i) => expect(e.logprob).toBeCloseTo(content[i].logprob, digits));
    const legacy = await api.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 3, logprobs: 2 });
    expect(legacy.choices[0].logprobs!.token_logprobs).toHaveLength(3);
    expect(Object.keys(legacy.choices[0].logprobs!.top_logprobs[0]).length).toBeLessThanOrEqual(2);
  });

  it('the same seed gives the same sampled reply; WebClaw extras (top_k, min_p, repeat_penalty) are accepted', async () => {
    const params = { prompt: PROMPT, temperature: 1, seed: 42, max_tokens: 16, top_k: 20, min_p: 0.02, repeat_penalty: 1.1 };
    const a = await api.completions.create(params);
    const b = await api.completions.create(params);
    expect(b.choices[0].text).toBe(a.choices[0].text);
  });

  it('bad requests are ClawError clw-bad-request naming the field, before any stream starts', async () => {
    const e = await expectClawError(api.chat.completions.create({ messages: MESSAGES, n: 2 }), 'clw-bad-request');
    expect(e.details.param).toBe('n');
    await expectClawError(api.chat.completions.create({ messages: [], stream: true }), 'clw-bad-request');
    await expectClawError(api.chat.completions.create({ messages: MESSAGES, temperature: -1 }), 'clw-bad-request');
    await expectClawError(api.completions.create({ prompt: PROMPT, ...({ tools: [{}] } as object) }), 'clw-bad-request');
    await expectClawError(api.chat.completions.create({ messages: MESSAGES, response_format: { type: 'grammar', grammar: 'root ::= ("a"' } }), 'clw-bad-request');
    // Fields that ask for nothing, as some clients send them, are accepted.
    const plain = await api.chat.completions.create({ messages: MESSAGES, max_tokens: 2, ...({ response_format: { type: 'text' }, tools: [], tool_choice: 'none', logit_bias: {} } as object) });
    expect(plain.usage.completion_tokens).toBeLessThanOrEqual(2);
    // Found by the engine (no tokens at all), still before the stream starts.
    await expectClawError(api.completions.create({ prompt: '', add_bos: false, stream: true }), 'clw-bad-request');
  });

  it('a stream never read, one left midway, and one broken out of do not block the next request', async () => {
    await api.completions.create({ prompt: PROMPT, max_tokens: 10, stream: true });
    const left = await api.completions.create({ prompt: PROMPT, max_tokens: 20, stream: true });
    const it = left[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    const broken = await api.completions.create({ prompt: PROMPT, max_tokens: 200, stream: true });
    for await (const c of broken) if (c.choices[0]?.text) break;
    const next = await api.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 5 });
    expect(next.usage?.completion_tokens).toBe(5);
  });

  it('an aborted request fails with clw-aborted', async () => {
    const controller = new AbortController();
    const stream = await api.completions.create({ prompt: PROMPT, max_tokens: 200, stream: true, signal: controller.signal });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const c of stream) {
        seen.push(c.choices[0]?.text ?? '');
        if (seen.length === 2) controller.abort();
      }
    })();
    await expectClawError(reading, 'clw-aborted');
    const pre = new AbortController();
    pre.abort();
    await expectClawError(api.completions.create({ prompt: PROMPT, max_tokens: 5, signal: pre.signal }), 'clw-aborted');
  });

  it('compatibility() reports the loaded file; models.list() names it', async () => {
    const report = await api.compatibility();
    expect(report.architecture).toBe('llama');
    expect(report.verdict).not.toBe('will-not-run');
    const models = await api.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['stories260K.gguf']);
  });
});

describe.skipIf(!haveModels)('engine options', () => {
  it('reach the engine: a matvec search at load (kernels.matvec auto) leaves its report in info', { timeout: 120_000 }, async () => {
    const api = await createEngine({ model: STORIES_260K, ctxSize: 256, kernels: { matvec: 'auto', matvecCandidates: [{ label: 'only', matvec: {} }] } });
    try {
      expect(api.info.matvecTuning?.chosen).toBe('only');
      expect(api.info.matvecTuning?.candidates[0].ms).toBeGreaterThan(0);
    } finally {
      await api.unload();
    }
  });
});

describe.skipIf(!haveModels)('after unload', () => {
  it('requests fail with clw-bad-request', async () => {
    const api = await createEngine({ model: STORIES_260K, ctxSize: 256 });
    await api.unload();
    await expectClawError(api.completions.create({ prompt: PROMPT, max_tokens: 2 }), 'clw-bad-request');
  });
});

if (!haveModels) console.warn(noModelsReason);
