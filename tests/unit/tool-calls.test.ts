// Tool-call parsing (src/tools/parse.ts, pythonic.ts) on each syntax the
// supported models write, malformed calls included (text or a reason, never
// a throw), and the streaming split (stream.ts): no part of a call is ever
// streamed as content, however the reply is cut into pieces.

import { describe, expect, it } from 'vitest';
import { parseToolCalls, type ToolCallParse } from '../../src/tools/parse';
import { ToolCallSplitter } from '../../src/tools/stream';
import type { ToolCallSyntax } from '../../src/tools/syntax';
import { newToolCallId } from '../../src/tools/reader';

const call = (name: string, args: unknown) => ({ name, arguments: JSON.stringify(args) });

describe('parsing tool calls', () => {
  const cases: { syntax: ToolCallSyntax; text: string; want: ToolCallParse }[] = [
    // Qwen / Hermes: tags, text around them, several calls, arguments as an object or as JSON text.
    { syntax: 'hermes', text: '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>', want: { kind: 'calls', content: '', calls: [call('get_weather', { city: 'Paris' })] } },
    {
      syntax: 'hermes',
      text: '<think>\nweather?\n</think>\n\n<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "b", "arguments": "{\\"x\\": [1, 2]}"}\n</tool_call>',
      want: { kind: 'calls', content: '<think>\nweather?\n</think>', calls: [call('a', {}), call('b', { x: [1, 2] })] },
    },
    // The reply ended (EOS) before the closing tag.
    { syntax: 'hermes', text: '<tool_call>{"name": "a", "arguments": {"q": "}"}}', want: { kind: 'calls', content: '', calls: [call('a', { q: '}' })] } },
    { syntax: 'hermes', text: 'Just text, no call.', want: { kind: 'text' } },
    // Llama 3.x: bare JSON, "parameters" or "arguments", after <|python_tag|>, several separated by ';'.
    { syntax: 'llama3', text: '{"name": "get_weather", "parameters": {"city": "Paris"}}', want: { kind: 'calls', content: '', calls: [call('get_weather', { city: 'Paris' })] } },
    {
      syntax: 'llama3',
      text: '<|python_tag|>{"name": "a", "arguments": {"n": 1}}; {"name": "b", "parameters": {}}',
      want: { kind: 'calls', content: '', calls: [call('a', { n: 1 }), call('b', {})] },
    },
    // A JSON answer that is not a call, without the tag, is an answer.
    { syntax: 'llama3', text: '{"temperature": 21}', want: { kind: 'text' } },
    { syntax: 'llama3', text: 'It is sunny.', want: { kind: 'text' } },
    // Mistral v3: a JSON list; v11: name[ARGS]{...} per call, maybe with [CALL_ID].
    {
      syntax: 'mistral',
      text: '[TOOL_CALLS] [{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {}, "id": "abcdefghi"}]',
      want: { kind: 'calls', content: '', calls: [call('a', { x: 1 }), call('b', {})] },
    },
    { syntax: 'mistral', text: '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]b[CALL_ID]123456789[ARGS]{}', want: { kind: 'calls', content: '', calls: [call('get_weather', { city: 'Paris' }), call('b', {})] } },
    // LFM2: a Python list of keyword calls.
    {
      syntax: 'lfm2',
      text: "<|tool_call_start|>[get_weather(city=\"Paris\", days=3), note(text='it\\'s', tags=['a', \"b\"], opts={'x': None, \"y\": True}, n=-1.5e2)]<|tool_call_end|>Checking.",
      want: { kind: 'calls', content: 'Checking.', calls: [call('get_weather', { city: 'Paris', days: 3 }), call('note', { text: "it's", tags: ['a', 'b'], opts: { x: null, y: true }, n: -150 })] },
    },
    // Gemma 4: its own notation, <|"|> quoting strings.
    {
      syntax: 'gemma4',
      text: '<|tool_call>call:get_weather{city:<|"|>Paris, "FR"<|"|>,days:3,opts:{<|"|>metric<|"|>:true,tags:[<|"|>a<|"|>,null]}}<tool_call|>',
      want: { kind: 'calls', content: '', calls: [call('get_weather', { city: 'Paris, "FR"', days: 3, opts: { metric: true, tags: ['a', null] } })] },
    },
  ];
  for (const c of cases) {
    it(`${c.syntax}: ${JSON.stringify(c.text.slice(0, 50))}`, () => {
      expect(parseToolCalls(c.text, c.syntax)).toEqual(c.want);
    });
  }

  const malformed: { syntax: ToolCallSyntax; text: string; reason: RegExp }[] = [
    { syntax: 'hermes', text: '<tool_call>\n{"name": "a", "arguments": {"x": 1}\n</tool_call>', reason: /JSON|Expected|position/ },
    { syntax: 'hermes', text: '<tool_call>{"arguments": {}}</tool_call>', reason: /"name"/ },
    { syntax: 'hermes', text: '<tool_call>{"name": "a b", "arguments": {}}</tool_call>', reason: /not a function name/ },
    { syntax: 'hermes', text: '<tool_call>{"name": "a", "arguments": [1]}</tool_call>', reason: /not an object/ },
    { syntax: 'hermes', text: '<tool_call>{"name": "a", "arguments": "{oops"}</tool_call>', reason: /JSON|Expected|position/ },
    { syntax: 'llama3', text: '<|python_tag|>{"name": "a", "parameters": {"x": 1}', reason: /cut short/ },
    { syntax: 'llama3', text: '<|python_tag|>brave_search.call(query="x")', reason: /expected a JSON object/ },
    { syntax: 'llama3', text: '{"name": "a", "parameters": {}} and then text', reason: /expected a JSON object/ },
    { syntax: 'mistral', text: '[TOOL_CALLS]get_weather{"city": "Paris"}', reason: /no \[ARGS\]/ },
    { syntax: 'mistral', text: '[TOOL_CALLS][{"name": "a"}] extra', reason: /unexpected text/ },
    { syntax: 'lfm2', text: '<|tool_call_start|>[get_weather("Paris")]<|tool_call_end|>', reason: /keyword argument/ },
    { syntax: 'lfm2', text: '<|tool_call_start|>[f(x="unterminated)]', reason: /unterminated string/ },
    { syntax: 'lfm2', text: '<|tool_call_start|>[f(x=os.system)]', reason: /expected a value/ },
    { syntax: 'gemma4', text: '<|tool_call>get_weather{city:<|"|>Paris<|"|>}<tool_call|>', reason: /expected "call:"/ },
    { syntax: 'gemma4', text: '<|tool_call>call:f{city:<|"|>Paris}<tool_call|>', reason: /unterminated string/ },
  ];
  for (const c of malformed) {
    it(`malformed ${c.syntax}: ${JSON.stringify(c.text.slice(0, 50))} is invalid with a reason`, () => {
      const r = parseToolCalls(c.text, c.syntax);
      expect(r.kind).toBe('invalid');
      expect((r as { reason: string }).reason).toMatch(c.reason);
    });
  }

  it('call ids are nine letters and digits (what Mistral templates accept), each new', () => {
    const ids = new Set(Array.from({ length: 50 }, newToolCallId));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{9}$/);
  });
});

/** Feeds `text` to a splitter in pieces of `size`; what streamed, and the end. */
function split(syntax: ToolCallSyntax, text: string, size: number) {
  const s = new ToolCallSplitter(syntax);
  let streamed = '';
  for (let i = 0; i < text.length; i += size) streamed += s.push(text.slice(i, i + size));
  return { streamed, end: s.finish() };
}

describe('streaming with tools: call text is held, never streamed', () => {
  const replies: { syntax: ToolCallSyntax; text: string; content: string; calls: number; after?: string }[] = [
    { syntax: 'hermes', text: 'Let me check.\n<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>', content: 'Let me check.\n', calls: 1 },
    { syntax: 'llama3', text: '  {"name": "a", "parameters": {"x": "<tool_call>"}}', content: '', calls: 1 },
    { syntax: 'llama3', text: 'Sure.<|python_tag|>{"name": "a", "parameters": {}}', content: 'Sure.', calls: 1 },
    { syntax: 'mistral', text: '[TOOL_CALLS]a[ARGS]{}', content: '', calls: 1 },
    { syntax: 'lfm2', text: 'On it. <|tool_call_start|>[a(x=1)]<|tool_call_end|>', content: 'On it. ', calls: 1 },
    { syntax: 'gemma4', text: 'Ok <|tool_call>call:a{x:1}<tool_call|>', content: 'Ok ', calls: 1 },
  ];
  for (const r of replies) {
    it(`${r.syntax}: ${JSON.stringify(r.text.slice(0, 40))}, in pieces of 1, 3 and all`, () => {
      for (const size of [1, 3, r.text.length]) {
        const { streamed, end } = split(r.syntax, r.text, size);
        expect(streamed).toBe(r.content);
        expect(end.calls.length).toBe(r.calls);
        expect(end.problem).toBeUndefined();
      }
    });
  }

  it('plain text streams whole; text that only looks like an opener is let go once it cannot be one', () => {
    const { streamed, end } = split('hermes', 'a <tool b <tool_c>', 1);
    expect(streamed + end.content).toBe('a <tool b <tool_c>');
    expect(end.calls).toEqual([]);
    // Llama 3: a reply that starts with text streams, even if a '{' comes later.
    expect(split('llama3', 'Use {"name": 1} here', 1).streamed).toBe('Use {"name": 1} here');
  });

  it('a malformed call is given back as text with the reason', () => {
    const { streamed, end } = split('hermes', 'Hi <tool_call>{"name": "a", "arguments": {', 2);
    expect(streamed).toBe('Hi ');
    expect(end.content).toBe('<tool_call>{"name": "a", "arguments": {');
    expect(end.calls).toEqual([]);
    expect(end.problem).toMatch(/cut short|JSON|Expected|position/);
  });

  it('a JSON answer (not a call) from Llama 3 comes back whole at the end', () => {
    const { streamed, end } = split('llama3', '{"temperature": 21}', 4);
    expect(streamed).toBe('');
    expect(end).toEqual({ content: '{"temperature": 21}', calls: [] });
  });
});
