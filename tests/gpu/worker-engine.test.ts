// createWorkerEngine over a comlink channel to exposeEngine, in one Node
// process (a MessageChannel stands in for the Web Worker; the page's
// Playwright tests cover a real one): the same replies as createEngine,
// chunks in order, ClawError codes kept, abort and dropped streams
// handled on the engine's side of the channel.

import { readFileSync } from 'node:fs';
import type { Endpoint } from 'comlink';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import { ClawError, createEngine, createWorkerEngine, exposeEngine, type ChatCompletionChunk, type WebClawEngine } from '../../src/index-node';
import { STORIES_260K, haveModels } from '../unit/gguf-helpers';

const MESSAGES = [{ role: 'user' as const, content: 'Tell me a story.' }];

describe.skipIf(!haveModels)('createWorkerEngine through a comlink channel (stories260K)', () => {
  let remote: WebClawEngine;
  let local: WebClawEngine;
  let channel: MessageChannel;
  const progress: string[] = [];

  beforeAll(async () => {
    ensureSwiftShaderFallback();
    channel = new MessageChannel();
    exposeEngine(channel.port1 as unknown as Endpoint, { gpu: getRuntimeGpu() });
    const model = new Blob([readFileSync(STORIES_260K)]);
    remote = await createWorkerEngine(channel.port2 as unknown as Endpoint, { model, ctxSize: 256, onProgress: (p) => progress.push(p.phase) });
    local = await createEngine({ model: STORIES_260K, ctxSize: 256 });
  });
  afterAll(async () => {
    await remote?.unload();
    await local?.unload();
    channel?.port1.close();
    channel?.port2.close();
  });

  it('loads with progress and answers like the engine in this thread, streamed and not', async () => {
    expect(progress).toContain('ready');
    expect(remote.info.nLayers).toBe(5);
    const request = { messages: MESSAGES, temperature: 0, max_tokens: 16 };
    const want = await local.chat.completions.create(request);
    const got = await remote.chat.completions.create(request);
    expect(got.webclaw.generated_token_ids).toEqual(want.webclaw.generated_token_ids);
    expect(got.choices[0].message.content).toBe(want.choices[0].message.content);
    const stream = await remote.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(want.choices[0].message.content);
    expect(chunks[chunks.length - 1].usage?.completion_tokens).toBe(want.usage.completion_tokens);
    const text = await remote.completions.create({ prompt: 'Once upon a time', temperature: 0, max_tokens: 8 });
    const textLocal = await local.completions.create({ prompt: 'Once upon a time', temperature: 0, max_tokens: 8 });
    expect(text.choices[0].text).toBe(textLocal.choices[0].text);
  });

  it('errors arrive as ClawError with their codes', async () => {
    const e = await remote.chat.completions.create({ messages: MESSAGES, top_p: 7 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ClawError);
    expect((e as ClawError).code).toBe('clw-bad-request');
    expect((e as ClawError).details.param).toBe('top_p');
  });

  it('an abort signal, a loop left early and a stream never read do not block the next request', async () => {
    const controller = new AbortController();
    const aborted = await remote.completions.create({ prompt: 'Once upon a time', max_tokens: 300, stream: true, signal: controller.signal });
    let n = 0;
    const reading = (async () => {
      for await (const c of aborted) if (c.choices[0]?.text && ++n === 2) controller.abort();
    })();
    const e = await reading.catch((err: unknown) => err);
    expect((e as ClawError).code).toBe('clw-aborted');
    const left = await remote.completions.create({ prompt: 'Once upon a time', max_tokens: 300, stream: true });
    for await (const c of left) if (c.choices[0]?.text) break;
    await remote.completions.create({ prompt: 'Once upon a time', max_tokens: 10, stream: true });
    const next = await remote.completions.create({ prompt: 'Once upon a time', temperature: 0, max_tokens: 4 });
    expect(next.usage?.completion_tokens).toBe(4);
  });

  it('compatibility() and gpuBytesInUse() come through', async () => {
    expect((await remote.compatibility()).architecture).toBe('llama');
    // The worker's engine holds the weights (stories260K: about 1 MB of f32) and the KV cache, within its budget.
    const inUse = await remote.gpuBytesInUse();
    expect(inUse).toBeGreaterThan(1e6);
    expect(inUse).toBeLessThanOrEqual(remote.info.budgetBytes!);
  });
});
