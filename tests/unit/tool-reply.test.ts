// A reply read for tool calls, end to end on the CPU: the engine's
// generation loop (src/engine/generation.ts) over a scripted model whose
// greedy output is a given text (a real tokenizer, control and user-defined
// marker tokens included), then the OpenAI API's shapes (src/api/run.ts):
// the call's text never streams, the calls come as a tool_calls event /
// message.tool_calls / stream deltas with finish_reason 'tool_calls', and a
// malformed call is text with a clw-tool-call-invalid warning.

import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { runChat, type GeneratingEngine } from '../../src/api/run';
import type { ChatCompletion, ChatCompletionChunk, CompletionStream } from '../../src/api/types';
import { chatFormatterFor } from '../../src/engine/chat';
import { runGeneration } from '../../src/engine/generation';
import { forcedOpening, forcedRemainder } from '../../src/tools/forced';
import { parseToolCalls } from '../../src/tools/parse';
import { checkGenerateOptions, checkInput } from '../../src/engine/request-options';
import type { Session } from '../../src/engine/session';
import type { ChatMessage, GenerateEvent, GenerateOptions, ToolDefinition } from '../../src/engine/types';
import { createTokenizer } from '../../src/tokenizer';
import { spmFile, spmVocab } from './tokenizer-fixture';
import { mulberry32 } from './gguf-helpers';

const HERMES_TEMPLATE =
  "{% if tools %}<tools>{% for t in tools %}{{ t.function.name }} {% endfor %}</tools>{% endif %}" +
  "{% for m in messages %}{{ m.role }}: {{ m.content }}{% if m.tool_calls %}<tool_call>{{ m.tool_calls[0].function.name }}</tool_call>{% endif %}\n{% endfor %}assistant:";
const LLAMA3_TEMPLATE = "{% if tools %}<|start_header_id|>tools{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}{{ '<|python_tag|>' if false }}";

const TOOLS: ToolDefinition[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
const ASK: ChatMessage[] = [{ role: 'user', content: 'Weather?' }];

/** A session whose model greedily writes `reply` (then EOS): logits one-hot on the next scripted token. */
function scriptedSession(template: string, reply: string): Session {
  const vocab = spmVocab([
    { text: '<|python_tag|>', type: 3 },
    { text: '<tool_call>', type: 4 },
    { text: '</tool_call>', type: 4 },
    // A space is U+2581 to SPM; without this piece it would fall back to that character's bytes.
    { text: '\u2581' },
  ]);
  const file = spmFile(vocab, { 'tokenizer.chat_template': template, 'tokenizer.ggml.add_space_prefix': false });
  const tokenizer = createTokenizer(file);
  const script = [...tokenizer.encode(reply, { addSpecial: false, parseSpecial: true }), 2];
  const nVocab = tokenizer.vocabSize;
  let step = 0;
  const model = {
    scratch: { capacity: 4096 },
    // Not a recurrent model: the KV cache alone is its memory.
    recurrentPosition: null,
    reserve: async () => true,
    tokenPipeline: async () => null,
    eval: async () => {
      const logits = new Float32Array(nVocab);
      logits[script[Math.min(step++, script.length - 1)]] = 1;
      return logits;
    },
  };
  return { file, hp: { nVocab }, model, tokenizer, chat: chatFormatterFor(file), ctxSize: 4096, cached: [], info: {} } as unknown as Session;
}

/** A session whose model's logits are fresh random numbers at every step: only a grammar can make its output valid. */
function randomSession(template: string, seed: number): Session {
  const s = scriptedSession(template, '');
  const random = mulberry32(seed);
  const nVocab = s.hp.nVocab;
  (s.model as unknown as { eval: () => Promise<Float32Array> }).eval = async () => Float32Array.from({ length: nVocab }, () => random() * 4);
  return s;
}

async function generate(s: Session, input: ChatMessage[], options: GenerateOptions): Promise<GenerateEvent[]> {
  checkInput(input);
  checkGenerateOptions(options);
  const events: GenerateEvent[] = [];
  await runGeneration(s, input, { temperature: 0, ...options }, async (e) => void events.push(e), { onContextShift: () => undefined });
  return events;
}

const streamedText = (events: GenerateEvent[]) => events.map((e) => (e.type === 'token' ? e.text : '')).join('');

describe('generation with tools', () => {
  it('hermes: the text before the call streams, the call comes as a tool_calls event before done', async () => {
    const events = await generate(scriptedSession(HERMES_TEMPLATE, 'Checking.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'), ASK, { tools: TOOLS });
    expect(streamedText(events)).toBe('Checking.');
    const calls = events.find((e) => e.type === 'tool_calls');
    expect(calls).toMatchObject({ calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] });
    expect(events.map((e) => e.type).slice(-2)).toEqual(['tool_calls', 'done']);
  });

  it('llama 3: a control-token <|python_tag|> (printed as nothing without tools) opens the call', async () => {
    const reply = 'Sure<|python_tag|>{"name": "get_weather", "parameters": {}}';
    const withTools = await generate(scriptedSession(LLAMA3_TEMPLATE, reply), ASK, { tools: TOOLS });
    expect(streamedText(withTools)).toBe('Sure');
    expect(withTools.some((e) => e.type === 'tool_calls')).toBe(true);
    // Without tools the same reply is plain text (the control token prints nothing), and no call is read.
    const without = await generate(scriptedSession(LLAMA3_TEMPLATE, reply), ASK, {});
    expect(streamedText(without)).toBe('Sure{"name": "get_weather", "parameters": {}}');
    expect(without.some((e) => e.type === 'tool_calls')).toBe(false);
  });

  it("a malformed call becomes text with a clw-tool-call-invalid warning; tool_choice 'none' reads no calls", async () => {
    const reply = '<tool_call>{"name": "get_weather", "arguments": {"city": }</tool_call>';
    const events = await generate(scriptedSession(HERMES_TEMPLATE, reply), ASK, { tools: TOOLS });
    expect(streamedText(events)).toBe(reply);
    expect(events.find((e) => e.type === 'warning')).toMatchObject({ code: 'clw-tool-call-invalid' });
    expect(events.some((e) => e.type === 'tool_calls')).toBe(false);
    const none = await generate(scriptedSession(HERMES_TEMPLATE, '<tool_call>{"name": "get_weather"}</tool_call>'), ASK, { tools: TOOLS, toolChoice: 'none' });
    expect(none.some((e) => e.type === 'tool_calls')).toBe(false);
    const prompt = none.find((e) => e.type === 'prompt');
    expect(prompt).toBeDefined();
  });

  it("a named tool_choice begins the assistant's turn with the call's opening; the model writes the arguments", async () => {
    const s = scriptedSession(HERMES_TEMPLATE, '{"city": "Paris"}}\n</tool_call>');
    const events = await generate(s, ASK, { tools: TOOLS, toolChoice: { type: 'function', function: { name: 'get_weather' } } });
    const prompt = events.find((e) => e.type === 'prompt') as { tokenIds: number[] };
    expect(s.tokenizer.decode(prompt.tokenIds).endsWith('assistant:<tool_call>\n{"name": "get_weather", "arguments": ')).toBe(true);
    expect(streamedText(events)).toBe('');
    expect(events.find((e) => e.type === 'tool_calls')).toMatchObject({ calls: [{ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] });
  });

  it('a forced opening, arguments that follow the schema and the closing text parse as that call (the grammar hook)', () => {
    const named = { type: 'function' as const, function: { name: 'get_weather' } };
    for (const syntax of ['hermes', 'llama3'] as const) {
      const rest = forcedRemainder(syntax, named, TOOLS)!;
      expect(rest.schema).toEqual({ type: 'object' });
      const reply = `${forcedOpening(syntax, named)}{"city": "Paris"}${rest.closing}`;
      expect(parseToolCalls(reply, syntax)).toEqual({ kind: 'calls', content: '', calls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    }
    expect(forcedRemainder('hermes', 'required', TOOLS)).toBeNull();
  });

  it("a named tool_choice constrains the arguments by the function's schema: random logits still give calls that validate", async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 6 }, unit: { enum: ['c', 'f'] }, hourly: { type: 'boolean' } },
      required: ['city', 'unit'],
    };
    const tools: ToolDefinition[] = [{ type: 'function', function: { name: 'get_weather', parameters: schema } }];
    const validate = new Ajv({ strict: false }).compile(schema);
    for (const [template, seed] of [[HERMES_TEMPLATE, 1], [HERMES_TEMPLATE, 2], [LLAMA3_TEMPLATE, 3], [LLAMA3_TEMPLATE, 4]] as const) {
      const events = await generate(randomSession(template, seed), ASK, { tools, toolChoice: { type: 'function', function: { name: 'get_weather' } }, temperature: 1, seed, maxTokens: 400 });
      const calls = events.find((e) => e.type === 'tool_calls') as { calls: { function: { name: string; arguments: string } }[] } | undefined;
      expect(calls, `seed ${seed}: ${JSON.stringify(events.filter((e) => e.type !== 'prompt'))}`).toBeDefined();
      expect(calls!.calls[0].function.name).toBe('get_weather');
      expect(validate(JSON.parse(calls!.calls[0].function.arguments)), calls!.calls[0].function.arguments).toBe(true);
    }
    // Unconstrained, the same random model writes no valid call.
    const free = await generate(randomSession(HERMES_TEMPLATE, 1), ASK, { tools, toolChoice: 'required', temperature: 1, seed: 1, maxTokens: 60 });
    expect(free.some((e) => e.type === 'tool_calls')).toBe(false);
  });

  it("a schema the grammar cannot express leaves the arguments free, with a warning", async () => {
    const tools: ToolDefinition[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { n: { type: 'integer', minimum: 3 } } } } }];
    const events = await generate(scriptedSession(HERMES_TEMPLATE, '{"n": 5}}\n</tool_call>'), ASK, { tools, toolChoice: { type: 'function', function: { name: 'get_weather' } } });
    expect(events.find((e) => e.type === 'warning')).toMatchObject({ code: 'clw-bad-request', message: expect.stringMatching(/not constrained.*minimum/) });
    expect(events.find((e) => e.type === 'tool_calls')).toMatchObject({ calls: [{ function: { arguments: '{"n":5}' } }] });
  });

  it('bad tools, tool choices and tool messages are clw-bad-request naming the field', () => {
    const fails = (f: () => void, field: RegExp) => expect(f).toThrow(field);
    fails(() => checkGenerateOptions({ tools: [{ type: 'function', function: { name: 'a b' } }] }), /tools\[0\]\.function\.name/);
    fails(() => checkGenerateOptions({ tools: [...TOOLS, ...TOOLS] }), /unique/);
    fails(() => checkGenerateOptions({ toolChoice: 'required' }), /toolChoice/);
    fails(() => checkGenerateOptions({ tools: TOOLS, toolChoice: { type: 'function', function: { name: 'other' } } }), /toolChoice\.function\.name/);
    fails(() => checkInput([{ role: 'user', content: 'x', toolCallId: 'a' }]), /messages\[0\]\.toolCallId/);
    fails(() => checkInput([{ role: 'assistant', content: '', toolCalls: [{ id: 1 } as never] }]), /messages\[0\]\.toolCalls\[0\]/);
  });
});

/** The API over the scripted model (events gathered, then replayed). */
function apiEngine(template: string, reply: string): GeneratingEngine {
  const s = scriptedSession(template, reply);
  return {
    tokenizer: s.tokenizer,
    async *generate(input, options = {}) {
      yield* await generate(s, input as ChatMessage[], options);
    },
  };
}

describe('the OpenAI API with tools', () => {
  const CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
  const params = { messages: [{ role: 'user' as const, content: 'Weather?' }], tools: TOOLS, max_tokens: 200 };

  it('message.tool_calls with an id, content null, finish_reason tool_calls', async () => {
    const r = (await runChat(apiEngine(HERMES_TEMPLATE, CALL), 'm', params)) as ChatCompletion;
    const choice = r.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([{ id: expect.stringMatching(/^[A-Za-z0-9]{9}$/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
  });

  it('streamed: a tool_calls delta (index, id, name, arguments), then finish_reason tool_calls; no call text in content deltas', async () => {
    const stream = (await runChat(apiEngine(HERMES_TEMPLATE, `Let me see. ${CALL}`), 'm', { ...params, stream: true })) as CompletionStream<ChatCompletionChunk>;
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(content).toBe('Let me see. ');
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(deltas).toEqual([{ index: 0, id: expect.stringMatching(/^[A-Za-z0-9]{9}$/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('tool_calls');
  });

  it("assistant tool_calls and role 'tool' messages go back to the template", async () => {
    let seen: ChatMessage[] = [];
    const engine: GeneratingEngine = {
      tokenizer: null,
      async *generate(input) {
        seen = input as ChatMessage[];
      },
    };
    const calls = [{ id: 'abcdefghi', type: 'function' as const, function: { name: 'get_weather', arguments: '{}' } }];
    await runChat(engine, 'm', { ...params, messages: [...params.messages, { role: 'assistant', content: null, tool_calls: calls }, { role: 'tool', content: 'sunny', tool_call_id: 'abcdefghi' }] });
    expect(seen.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: calls },
      { role: 'tool', content: 'sunny', toolCallId: 'abcdefghi' },
    ]);
  });
});
