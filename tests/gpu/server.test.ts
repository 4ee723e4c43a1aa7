// `claw-infer serve` on stories260K, driven by the official `openai` npm
// client on 127.0.0.1: streamed and non-streamed replies give the CLI's
// greedy tokens, 8 concurrent clients all complete with the reply each gets
// alone, and malformed requests get 4xx JSON bodies with clw-* codes.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../fixtures/pack-install';
import { STORIES_260K, haveModels } from '../unit/gguf-helpers';

const CLI = path.join(repoRoot, 'bin/claw-infer.mjs');
const N = 24;

function cliGreedy(args: string[]): { text: string; generated_token_ids: number[] } {
  const r = spawnSync(process.execPath, [CLI, 'run', '--model', STORIES_260K, '--temp', '0', '--n-predict', String(N), '--json', ...args], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`claw-infer run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Starts the server on a free port and resolves with its base URL once it listens. */
function startServe(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--model', STORIES_260K, '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      err += d;
      const m = /on (http:\/\/\S+)\/v1/.exec(err);
      if (m) resolve({ child, url: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`claw-infer serve exited ${code}: ${err}`)));
  });
}

describe.skipIf(!haveModels)('claw-infer serve with the openai client', () => {
  let child: ChildProcess;
  let url: string;
  let client: OpenAI;
  let cliChat: ReturnType<typeof cliGreedy>;
  let cliRaw: ReturnType<typeof cliGreedy>;

  beforeAll(async () => {
    // The CLI runs first: spawnSync blocks this process, and with it the client's sockets.
    cliChat = cliGreedy(['--prompt', 'Tell me a story.', '--chat']);
    cliRaw = cliGreedy(['--prompt', 'Once upon a time']);
    ({ child, url } = await startServe([]));
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('listens on loopback only by default and lists the model', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['stories260K.gguf']);
  });

  it('chat replies, streamed and not, are the CLI greedy tokens', async () => {
    const want = cliChat;
    const whole = await client.chat.completions.create({ model: 'stories260K.gguf', messages: [{ role: 'user', content: 'Tell me a story.' }], temperature: 0, max_tokens: N });
    expect((whole as unknown as { webclaw: { generated_token_ids: number[] } }).webclaw.generated_token_ids).toEqual(want.generated_token_ids);
    expect(whole.choices[0].message.content).toBe(want.text);
    expect(whole.usage?.completion_tokens).toBe(want.generated_token_ids.length);
    const stream = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'Tell me a story.' }], temperature: 0, max_tokens: N, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(want.text);
    expect(finish).toBe(whole.choices[0].finish_reason);
    expect(usage?.completion_tokens).toBe(want.generated_token_ids.length);
  });

  it('a raw completion is the CLI greedy continuation', async () => {
    const want = cliRaw;
    const r = await client.completions.create({ model: 'x', prompt: 'Once upon a time', temperature: 0, max_tokens: N });
    expect(r.choices[0].text).toBe(want.text);
    const stream = await client.completions.create({ model: 'x', prompt: 'Once upon a time', temperature: 0, max_tokens: N, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(want.text);
  });

  it('8 concurrent clients all complete, each with the reply it gets alone', async () => {
    const prompts = ['Once upon a time', 'The cat', 'Lily and Tom', 'One day', 'The sun', 'A big dog', 'In the park', 'Mom said'];
    const alone: string[] = [];
    for (const p of prompts) alone.push((await client.completions.create({ model: 'x', prompt: p, temperature: 0, max_tokens: 8 })).choices[0].text);
    const together = await Promise.all(
      prompts.map(async (p, i) => {
        const c = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
        if (i % 2 === 0) return (await c.completions.create({ model: 'x', prompt: p, temperature: 0, max_tokens: 8 })).choices[0].text;
        let text = '';
        for await (const chunk of await c.completions.create({ model: 'x', prompt: p, temperature: 0, max_tokens: 8, stream: true })) text += chunk.choices[0]?.text ?? '';
        return text;
      }),
    );
    expect(together).toEqual(alone);
  });

  it('malformed requests get 4xx with a clw-* code in a JSON body', async () => {
    const e = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'Hi' }], temperature: -3 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect((e as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('clw-bad-request');
    expect((e as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temperature');
    const streamed = await client.chat.completions.create({ model: 'x', messages: [], stream: true }).catch((err: unknown) => err);
    expect((streamed as InstanceType<typeof OpenAI.APIError>).status).toBe(400);

    const notJson = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"messages": [' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('clw-bad-request');
    const huge = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ prompt: 'x'.repeat(5 * 2 ** 20) }) });
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe('clw-bad-request');
    const missing = await fetch(`${url}/v1/embeddings`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('clw-bad-request');
  });

  it('a client that disconnects mid-stream does not block the next request', async () => {
    const controller = new AbortController();
    const stream = await client.completions.create({ model: 'x', prompt: 'Once upon a time', max_tokens: 400, stream: true }, { signal: controller.signal });
    let seen = 0;
    try {
      for await (const chunk of stream) if (chunk.choices[0]?.text && ++seen === 2) controller.abort();
    } catch {
      // the client's own abort error
    }
    const next = await client.completions.create({ model: 'x', prompt: 'Once upon a time', temperature: 0, max_tokens: 4 });
    expect(next.usage?.completion_tokens).toBe(4);
  });
});
