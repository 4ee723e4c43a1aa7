// @vitest-environment jsdom
// The page's output settings and tool-call display, without a browser: the
// JSON toggle and schema box become the agreed responseFormat (json_object
// when the box is empty, json_schema when it holds a schema, a clear
// clw-bad-request when it does not parse), the tools box becomes tool
// definitions, a conversation's tool calls go back with its history, and a
// call is shown as a block with its name and arguments, as text.

import { describe, expect, it } from 'vitest';
import type { ToolCall } from '../../src/engine/types';
import { chatMessages } from '../../src/ui/conversations';
import { responseFormatFrom, toolsFrom } from '../../src/ui/output-settings';
import { toolCallsElement } from '../../src/ui/tool-calls';

const fails = (f: () => unknown, message: RegExp) => expect(f).toThrow(message);

describe('the JSON output toggle and schema box', () => {
  it('off: no format; on and empty: json_object; on with a schema: json_schema', () => {
    expect(responseFormatFrom(false, '{"type": "object"}')).toBeUndefined();
    expect(responseFormatFrom(true, '  ')).toEqual({ type: 'json_object' });
    expect(responseFormatFrom(true, '{"type": "object", "properties": {"a": {"type": "number"}}}')).toEqual({
      type: 'json_schema',
      json_schema: { name: 'page', schema: { type: 'object', properties: { a: { type: 'number' } } } },
    });
  });

  it('a schema that is not JSON, or not an object, is a clear clw-bad-request', () => {
    fails(() => responseFormatFrom(true, '{"type": object}'), /JSON schema box is not valid: it is not valid JSON/);
    fails(() => responseFormatFrom(true, '[1, 2]'), /must be a JSON object/);
  });
});

describe('the tools box', () => {
  it('takes OpenAI tools or bare functions; empty is none', () => {
    expect(toolsFrom('')).toBeUndefined();
    expect(toolsFrom('[{"name": "f", "parameters": {"type": "object"}}, {"type": "function", "function": {"name": "g"}}]')).toEqual([
      { type: 'function', function: { name: 'f', parameters: { type: 'object' } } },
      { type: 'function', function: { name: 'g' } },
    ]);
  });

  it('refuses what is not a list of named functions, saying why', () => {
    fails(() => toolsFrom('{"name": "f"}'), /tools box is not valid: they must be a JSON list/);
    fails(() => toolsFrom('[{"name": "two words"}]'), /tools\[0\]\.function\.name/);
    fails(() => toolsFrom('[{"name": "f"'), /not valid JSON/);
  });
});

const CALL: ToolCall = { id: 'abcdefghi', type: 'function', function: { name: 'get_weather', arguments: '{"city":"<b>Paris</b>"}' } };

describe('tool calls in the conversation', () => {
  it('a block per call: the name, and the arguments pretty-printed as text', () => {
    const el = toolCallsElement([CALL]);
    expect(el.querySelectorAll('[data-testid="tool-call"]')).toHaveLength(1);
    expect(el.querySelector('[data-testid="tool-call-name"]')!.textContent).toBe('get_weather');
    expect(el.querySelector('[data-testid="tool-call-arguments"]')!.textContent).toBe('{\n  "city": "<b>Paris</b>"\n}');
    expect(el.querySelector('b')).toBeNull();
  });

  it("a reply's calls go back with the history", () => {
    const turns = [
      { role: 'user' as const, content: 'Weather?' },
      { role: 'assistant' as const, content: '', toolCalls: [CALL] },
    ];
    expect(chatMessages({ systemPrompt: '', turns })).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', toolCalls: [CALL] },
    ]);
  });
});
