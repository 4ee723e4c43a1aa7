// The page's remote-server client (src/ui/remote-server.ts) and the reply
// stream both engines feed (src/ui/reply-stream.ts), against a stubbed
// fetch: URL forms, the models call, server-sent events split anywhere, the
// API key, and clw-remote-failed for a server that is down or refuses.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GenerateEvent } from '../../src/engine/types';
import { apiBase, connectRemote } from '../../src/ui/remote-server';
import { streamReply } from '../../src/ui/reply-stream';

afterEach(() => vi.unstubAllGlobals());

const chunk = (delta: object, finish: string | null = null) => ({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });

/** A fake server: /v1/models, and a chat stream cut into 7-byte pieces. */
function stubServer(seen: { url: string; init?: RequestInit }[]) {
  vi.stubGlobal('fetch', async (url: URL, init?: RequestInit) => {
    seen.push({ url: String(url), init });
    if (String(url).endsWith('/models')) return new Response(JSON.stringify({ data: [{ id: 'm7' }] }));
    const events = [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, 'stop'), { choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } }];
    const text = events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join('') + 'data: [DONE]\n\n' + 'data: {"after":"done"}\n\n';
    const bytes = new TextEncoder().encode(text);
    return new Response(new ReadableStream({ start(c) { for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7)); c.close(); } }));
  });
}

describe('remote server client', () => {
  it('takes a server URL with or without /v1, http(s) only', () => {
    expect(apiBase('http://127.0.0.1:8080').href).toBe('http://127.0.0.1:8080/v1');
    expect(apiBase(' https://host/api/v1/ ').href).toBe('https://host/api/v1');
    for (const bad of ['ftp://host', 'not a url', 'http://user:pw@host']) expect(() => apiBase(bad)).toThrow(expect.objectContaining({ code: 'clw-bad-request' }));
  });

  it('streams a chat reply through the page events, with the API key and the measured statistics', async () => {
    const seen: { url: string; init?: RequestInit }[] = [];
    stubServer(seen);
    const remote = await connectRemote({ url: 'http://127.0.0.1:9/', apiKey: 'sk-1' });
    expect(remote.modelId).toBe('m7');
    const events: GenerateEvent[] = [];
    await streamReply(remote, [{ role: 'user', content: 'hi' }], { temperature: 0, maxTokens: 5 }, new AbortController().signal, (e) => events.push(e));
    expect(events.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text)).toEqual(['Hel', 'lo']);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'stop', stats: { nPrompt: 4, nGenerated: 2 } });
    const post = seen[1];
    expect(post.url).toBe('http://127.0.0.1:9/v1/chat/completions');
    expect(new Headers(post.init?.headers).get('authorization')).toBe('Bearer sk-1');
    expect(JSON.parse(String(post.init?.body))).toMatchObject({ model: 'm7', stream: true, temperature: 0, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
  });

  it('a server that is down or refuses is clw-remote-failed naming it and what it said', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(connectRemote({ url: 'http://127.0.0.1:9' })).rejects.toMatchObject({ code: 'clw-remote-failed', message: expect.stringContaining('http://127.0.0.1:9') });
    vi.stubGlobal('fetch', async () => new Response(JSON.stringify({ error: { message: 'bad key' } }), { status: 401 }));
    await expect(connectRemote({ url: 'http://127.0.0.1:9' })).rejects.toMatchObject({ code: 'clw-remote-failed', message: expect.stringContaining('bad key'), fix: expect.stringContaining('API key') });
  });
});

describe('reply stream: tools', () => {
  it('sends tools and the history with its calls, and joins streamed call pieces into one tool_calls event', async () => {
    const sent: Record<string, unknown>[] = [];
    const pieces = [
      chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"ci' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] }),
      chunk({}, 'tool_calls'),
    ];
    const backend = {
      chat: { completions: { create: async (params: Record<string, unknown>) => { sent.push(params); return (async function* () { yield* pieces; })(); } } },
      completions: { create: async () => { throw new Error('not a chat'); } },
    };
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const history = [
      { role: 'user' as const, content: 'weather?' },
      { role: 'assistant' as const, content: '', toolCalls: [{ id: 'c0', type: 'function' as const, function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool' as const, content: '{"t":3}', toolCallId: 'c0' },
    ];
    const events: GenerateEvent[] = [];
    await streamReply(backend as never, history, { tools, toolChoice: 'auto', responseFormat: { type: 'json_object' } }, new AbortController().signal, (e) => events.push(e));
    expect(sent[0].tools).toEqual(tools);
    expect(sent[0].tool_choice).toBe('auto');
    expect(sent[0].response_format).toEqual({ type: 'json_object' });
    expect(sent[0].messages).toEqual([
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: '', tool_calls: history[1].toolCalls },
      { role: 'tool', content: '{"t":3}', tool_call_id: 'c0' },
    ]);
    expect(events.find((e) => e.type === 'tool_calls')).toEqual({ type: 'tool_calls', calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] });
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'stop' });
  });
});
